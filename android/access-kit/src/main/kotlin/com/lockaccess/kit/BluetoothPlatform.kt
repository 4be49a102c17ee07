package com.lockaccess.kit

/**
 * What a phone tells about Bluetooth: the one interface a real phone implements (Android:
 * `ContextCompat.checkSelfPermission` and `shouldShowRequestPermissionRationale` for
 * `BLUETOOTH_SCAN`/`BLUETOOTH_CONNECT` on API 31+, `ACCESS_FINE_LOCATION` before, and the
 * adapter's state; iOS: `CBManager.authorization` and `CBCentralManager.state`).
 */
interface BluetoothPlatform {
    /** Whether the app holds the permissions it needs to scan and connect. */
    fun hasPermission(): Boolean

    /** Whether Bluetooth is on. */
    fun isOn(): Boolean

    /** Shows the system's permission prompt; the answer comes back through app-logic's `BluetoothPresenter.permissionResult`. */
    fun requestPermission()

    /** Opens the app's page in the system settings (after "don't ask again"). */
    fun openSettings()
}
