package com.lockaccess.app

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * What a phone tells about Bluetooth (declared in access-kit, where the Android
 * implementation `com.lockaccess.kit.android.AndroidBluetoothPlatform` lives; tests script one).
 */
typealias BluetoothPlatform = com.lockaccess.kit.BluetoothPlatform

/**
 * The Bluetooth permission and adapter state, before anything talks to a lock. Every text
 * here is fixed UI text: the permission flow is the phone's, not the core's.
 */
class BluetoothPresenter(private val platform: BluetoothPlatform) {
    private val mutable = MutableStateFlow<BluetoothState>(BluetoothState.MustAsk)
    val state: StateFlow<BluetoothState> = mutable.asStateFlow()

    /** Reads the platform again (app start, back from the settings). */
    fun check(): BluetoothState {
        val next = when {
            !platform.hasPermission() ->
                // Only the answer to a prompt tells "refused" and "refused for good": until
                // the user grants it, that answer stays.
                mutable.value.takeIf { it is BluetoothState.Refused || it is BluetoothState.RefusedForever }
                    ?: BluetoothState.MustAsk
            !platform.isOn() -> BluetoothState.Off(OFF)
            else -> BluetoothState.Ready
        }
        mutable.value = next
        return next
    }

    /** The user tapped "allow Bluetooth": the system prompt, or the settings when refused for good. */
    fun ask() {
        if (mutable.value is BluetoothState.RefusedForever) platform.openSettings() else platform.requestPermission()
    }

    /** The system prompt's answer; [canAskAgain] false when the user chose "don't ask again". */
    fun permissionResult(granted: Boolean, canAskAgain: Boolean) {
        mutable.value = when {
            granted -> if (platform.isOn()) BluetoothState.Ready else BluetoothState.Off(OFF)
            canAskAgain -> BluetoothState.Refused(REFUSED)
            else -> BluetoothState.RefusedForever(REFUSED_FOREVER)
        }
    }

    /** The adapter was switched on or off. */
    fun bluetoothChanged(on: Boolean) {
        mutable.value = when {
            !platform.hasPermission() -> mutable.value.takeIf { it !is BluetoothState.Ready && it !is BluetoothState.Off }
                ?: BluetoothState.MustAsk
            on -> BluetoothState.Ready
            else -> BluetoothState.Off(OFF)
        }
    }

    companion object {
        const val REFUSED = "Bluetooth is needed to open your doors. Allow it to continue."
        const val REFUSED_FOREVER =
            "Bluetooth is turned off for this app. Allow \"Nearby devices\" in the app's settings to open your doors."
        const val OFF = "Bluetooth is off. Turn it on to open your doors."
    }
}

sealed class BluetoothState {
    /** The text to show, if any. */
    open val message: String? get() = null

    data object Ready : BluetoothState()

    /** Not asked yet: show why, then [BluetoothPresenter.ask]. */
    data object MustAsk : BluetoothState()

    data class Refused(override val message: String) : BluetoothState()

    /** "Don't ask again": only the system settings can grant it ([BluetoothPresenter.ask] opens them). */
    data class RefusedForever(override val message: String) : BluetoothState()

    data class Off(override val message: String) : BluetoothState()
}
