import Foundation

/// What the system says about this app's Bluetooth permission.
public enum BluetoothAuthorization: Equatable, Sendable {
    case granted
    /// Never asked: the system prompt can be shown.
    case notDetermined
    /// Refused; `canAskAgain` is false when only the system settings can change it.
    case denied(canAskAgain: Bool)
}

/// The one interface a real phone implements: on iOS `CBManager.authorization` and
/// `CBCentralManager.state`; on Android the permission checks. Tests give a scripted one.
public protocol BluetoothPlatform: AnyObject {
    func authorization() -> BluetoothAuthorization
    func isBluetoothOn() -> Bool
    /// Shows the system prompt; its answer comes back as
    /// ``BluetoothPresenter/permissionResult(granted:canAskAgain:)``.
    func requestPermission()
    /// Opens this app's page of the system settings.
    func openSettings()
}

public enum BluetoothState: Equatable, Sendable {
    case ready
    /// The app must ask for the permission (explain, then show the system prompt).
    case mustAsk
    /// Refused, can ask again.
    case refused(message: String)
    /// Refused for good: only the system settings can allow it (the screen offers them).
    case refusedForever(message: String)
    /// Allowed, but Bluetooth is off.
    case off(message: String)
}

/// Whether this phone can talk to the locks now, and what to tell the user when not.
public final class BluetoothPresenter: Presenter<BluetoothState>, @unchecked Sendable {
    public static let refusedMessage =
        "Bluetooth permission is needed to open doors with this phone. Allow it when asked."
    public static let refusedForeverMessage =
        "Bluetooth permission is turned off for this app. Turn it on in Settings to open doors with this phone."
    public static let offMessage = "Bluetooth is off. Turn it on to open doors with this phone."

    private let platform: BluetoothPlatform

    public init(platform: BluetoothPlatform) {
        self.platform = platform
        super.init(.mustAsk)
    }

    /// Reads the permission and the radio from the platform.
    public func check() {
        let on = platform.isBluetoothOn()
        let next: BluetoothState
        switch platform.authorization() {
        case .granted: next = on ? .ready : .off(message: Self.offMessage)
        case .notDetermined: next = .mustAsk
        case .denied(let canAskAgain): next = Self.refusal(canAskAgain: canAskAgain)
        }
        update { $0 = next }
    }

    /// Shows the system prompt (from ``BluetoothState/mustAsk`` or ``BluetoothState/refused(message:)``).
    public func ask() { platform.requestPermission() }

    /// Opens the system settings (from ``BluetoothState/refusedForever(message:)``).
    public func openSettings() { platform.openSettings() }

    /// The system prompt's answer.
    public func permissionResult(granted: Bool, canAskAgain: Bool) {
        let next: BluetoothState =
            granted ? (platform.isBluetoothOn() ? .ready : .off(message: Self.offMessage))
            : Self.refusal(canAskAgain: canAskAgain)
        update { $0 = next }
    }

    /// The radio was turned on or off.
    public func bluetoothChanged(on: Bool) {
        update { state in
            switch state {
            case .ready where !on: state = .off(message: Self.offMessage)
            case .off where on: state = .ready
            default: break
            }
        }
    }

    private static func refusal(canAskAgain: Bool) -> BluetoothState {
        canAskAgain ? .refused(message: refusedMessage) : .refusedForever(message: refusedForeverMessage)
    }
}
