package com.lockaccess.resident

import android.app.Application
import com.lockaccess.kit.AndroidBluetooth

/** Hands the app's context to the core's Bluetooth layer before any screen opens the kit. */
class NoKeyResidentApplication : Application() {
    override fun onCreate() {
        super.onCreate()
        AndroidBluetooth.init(this)
    }
}
