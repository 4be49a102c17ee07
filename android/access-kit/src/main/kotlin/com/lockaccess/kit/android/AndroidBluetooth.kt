package com.lockaccess.kit.android

/**
 * Hands the app's context to btleplug's Android side (through the core's
 * `Java_com_lockaccess_kit_android_AndroidBluetooth_nativeInit`). Call once, from the
 * Application or the first Activity, before opening the kit.
 */
object AndroidBluetooth {
    init {
        System.loadLibrary("access_core")
    }

    @JvmStatic
    external fun nativeInit(context: android.content.Context)
}
