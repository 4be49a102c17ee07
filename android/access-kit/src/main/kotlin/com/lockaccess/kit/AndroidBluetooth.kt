package com.lockaccess.kit

/**
 * Hands the core's Bluetooth library (btleplug) the JVM on Android: its Android backend
 * drives the radio through btleplug's Java classes, which access-kit's Gradle build packages
 * (and `consumer-rules.pro` keeps). Call [init] once, from the main thread (whose class
 * loader sees the app's classes, as btleplug's README asks), before [AccessKit.open]:
 *
 * ```
 * class ResidentApp : Application() {
 *     override fun onCreate() { super.onCreate(); AndroidBluetooth.init(this) }
 * }
 * ```
 *
 * The native side is `Java_com_lockaccess_kit_AndroidBluetooth_nativeInit` in
 * `core/src/android.rs`; a failure is thrown as a [RuntimeException] with its reason.
 */
object AndroidBluetooth {
    /** Loads the core library and hands btleplug the JVM; [context] is the app's Context. */
    fun init(context: Any) {
        System.loadLibrary("access_core")
        nativeInit(context)
    }

    @JvmStatic
    external fun nativeInit(context: Any)
}
