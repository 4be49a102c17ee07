@testable import AppLogic
import XCTest

/// The Bluetooth permission and radio on a scripted phone: every state, and what the
/// presenter asks of the system.
final class BluetoothPresenterTests: XCTestCase {
    func testAFirstLaunchMustAskThenTheAnswerDecides() {
        let phone = ScriptedBluetooth(.notDetermined)
        let bluetooth = BluetoothPresenter(platform: phone)
        bluetooth.check()
        XCTAssertEqual(bluetooth.state, .mustAsk)
        bluetooth.ask()
        XCTAssertEqual(phone.prompts, 1)
        bluetooth.permissionResult(granted: false, canAskAgain: true)
        XCTAssertEqual(bluetooth.state, .refused(message: BluetoothPresenter.refusedMessage))
        bluetooth.permissionResult(granted: false, canAskAgain: false)
        XCTAssertEqual(bluetooth.state, .refusedForever(message: BluetoothPresenter.refusedForeverMessage))
        bluetooth.openSettings()
        XCTAssertEqual(phone.settingsOpened, 1)
        phone.auth = .granted
        bluetooth.permissionResult(granted: true, canAskAgain: true)
        XCTAssertEqual(bluetooth.state, .ready)
    }

    func testTheRadioTurnedOffAndOnAgain() {
        let phone = ScriptedBluetooth(.granted, on: false)
        let bluetooth = BluetoothPresenter(platform: phone)
        bluetooth.check()
        XCTAssertEqual(bluetooth.state, .off(message: BluetoothPresenter.offMessage))
        bluetooth.bluetoothChanged(on: true)
        XCTAssertEqual(bluetooth.state, .ready)
        bluetooth.bluetoothChanged(on: false)
        XCTAssertEqual(bluetooth.state, .off(message: BluetoothPresenter.offMessage))
        // A permission answer while the radio is off still shows it off.
        bluetooth.permissionResult(granted: true, canAskAgain: true)
        XCTAssertEqual(bluetooth.state, .off(message: BluetoothPresenter.offMessage))
    }

    func testASettingsRefusalIsReadAsRefusedForeverAndPublishedToObservers() {
        let phone = ScriptedBluetooth(.denied(canAskAgain: false))
        let bluetooth = BluetoothPresenter(platform: phone)
        let seen = Recorder(bluetooth)
        bluetooth.check()
        phone.auth = .denied(canAskAgain: true)
        bluetooth.check()
        XCTAssertEqual(seen.states, [.mustAsk, .refusedForever(message: BluetoothPresenter.refusedForeverMessage),
                                     .refused(message: BluetoothPresenter.refusedMessage)])
        XCTAssertFalse(BluetoothPresenter.refusedMessage.isEmpty)
    }

    func testStatesComeAsAnAsyncStreamAndObserversStopWhenCancelled() async {
        let phone = ScriptedBluetooth(.notDetermined)
        let bluetooth = BluetoothPresenter(platform: phone)
        var iterator = bluetooth.states.makeAsyncIterator()
        let first = await iterator.next()
        XCTAssertEqual(first, .mustAsk, "the state now comes first")
        bluetooth.permissionResult(granted: true, canAskAgain: true)
        let second = await iterator.next()
        XCTAssertEqual(second, .ready)
        phone.on = false
        bluetooth.bluetoothChanged(on: false)
        let third = await iterator.next()
        XCTAssertEqual(third, .off(message: BluetoothPresenter.offMessage))

        var told = 0
        let watching = bluetooth.observe { _ in told += 1 }
        bluetooth.bluetoothChanged(on: true)
        watching.cancel()
        bluetooth.bluetoothChanged(on: false)
        XCTAssertEqual(told, 2, "the state now, one change, nothing after cancel")
    }
}
