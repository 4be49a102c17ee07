package com.lockaccess.app

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The permission flow with a scripted phone: every state of [BluetoothPresenter]. */
class BluetoothPresenterTest {
    @Test
    fun grantedAtThePromptIsReady() {
        val phone = ScriptedBluetooth(permission = false)
        val bt = BluetoothPresenter(phone)
        assertEquals(BluetoothState.MustAsk, bt.check())
        bt.ask()
        assertEquals(1, phone.prompts)
        phone.permission = true
        bt.permissionResult(granted = true, canAskAgain = true)
        assertEquals(BluetoothState.Ready, bt.state.value)
        assertEquals(BluetoothState.Ready, bt.check())
    }

    @Test
    fun refusedOnceCanBeAskedAgain() {
        val phone = ScriptedBluetooth(permission = false)
        val bt = BluetoothPresenter(phone)
        bt.check()
        bt.ask()
        bt.permissionResult(granted = false, canAskAgain = true)
        val refused = bt.state.value
        assertTrue(refused is BluetoothState.Refused, refused.toString())
        assertEquals(BluetoothPresenter.REFUSED, refused.message)
        bt.ask()
        assertEquals(2, phone.prompts, "refused once: the prompt again")
        assertEquals(0, phone.settingsOpened)
    }

    @Test
    fun refusedForeverOffersTheSettingsAndStaysUntilGranted() {
        val phone = ScriptedBluetooth(permission = false)
        val bt = BluetoothPresenter(phone)
        bt.check()
        bt.ask()
        bt.permissionResult(granted = false, canAskAgain = false)
        assertTrue(bt.state.value is BluetoothState.RefusedForever, bt.state.value.toString())
        assertEquals(BluetoothPresenter.REFUSED_FOREVER, bt.state.value.message)
        // Back from elsewhere, still no permission: still refused for good, not "must ask".
        assertTrue(bt.check() is BluetoothState.RefusedForever)
        bt.ask()
        assertEquals(1, phone.settingsOpened, "refused for good: the system settings")
        assertEquals(1, phone.prompts, "no prompt the system would not show")
        // Granted in the settings.
        phone.permission = true
        assertEquals(BluetoothState.Ready, bt.check())
    }

    @Test
    fun bluetoothOffThenOn() {
        val phone = ScriptedBluetooth(permission = true, on = false)
        val bt = BluetoothPresenter(phone)
        val off = bt.check()
        assertTrue(off is BluetoothState.Off, off.toString())
        assertEquals(BluetoothPresenter.OFF, off.message)
        phone.on = true
        bt.bluetoothChanged(on = true)
        assertEquals(BluetoothState.Ready, bt.state.value)
        phone.on = false
        bt.bluetoothChanged(on = false)
        assertTrue(bt.state.value is BluetoothState.Off)
        // Granted while off: off, not ready.
        val fresh = BluetoothPresenter(ScriptedBluetooth(permission = false, on = false))
        fresh.permissionResult(granted = true, canAskAgain = true)
        assertTrue(fresh.state.value is BluetoothState.Off, fresh.state.value.toString())
    }
}
