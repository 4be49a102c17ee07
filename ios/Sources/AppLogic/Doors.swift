import AccessCore
import AccessKit
import Foundation

/// The resident's own passcode on a door, and whether the lock has it.
public struct DoorPasscode: Equatable, Sendable {
    public enum State: Equatable, Sendable {
        /// Given on the platform, not on the lock yet (a phone's next contact installs it).
        case waiting
        case installed
        /// The lock refused it; `reason` is the lock's when the core has one.
        case failed(reason: String?)
    }

    public var code: String
    public var state: State
}

/// Opening one door, as the core reports it.
public enum UnlockState: Equatable, Sendable {
    case idle
    case searching
    case connecting
    case opened
    /// The lock is not in Bluetooth range (core's words).
    case outOfRange(message: String)
    /// The lock's mode does not let residents in now (core's words).
    case notNow(message: String)
    case failed(message: String)
}

/// Whether the resident may share a guest code for this door.
public enum ShareState: Equatable, Sendable {
    case allowed
    /// The core's reason.
    case notAllowed(reason: String)
}

public struct Door: Equatable, Sendable {
    public var lock: LockInfo
    public var passcode: DoorPasscode?
    public var unlock: UnlockState
    public var share: ShareState
}

public struct DoorsState: Equatable, Sendable {
    /// The banner while the server cannot be reached.
    public static let offlineBanner = "Offline: your doors still open with this phone"

    /// One door per lock of the resident's unit.
    public var doors: [Door] = []
    /// The server cannot be reached: the doors are the phone's copy (they still open).
    public var offline = false
    public var problem: String?
}

public enum DoorsEffect: Equatable, Sendable {
    /// Show the system share sheet with this text (a guest code).
    case shareText(String)
    /// The session ended (signed out, or an error that needs sign-in): the root goes back
    /// to sign-in (``SessionPresenter/problem(_:)``).
    case sessionEnded(AccessKitError)
}

/// NoKey Resident's home: the resident's doors, each opened over Bluetooth with the phone's
/// signed credential (offline too), their passcode's state, and guest codes to share.
public final class DoorsPresenter: Presenter<DoorsState>, @unchecked Sendable {
    /// What a shared guest code says about when it opens (guest codes open in vacant and
    /// maintenance modes).
    public static let guestCodeNote =
        "Type it on the door's keypad. It opens while the door is in vacant or maintenance mode."

    public let effects = Effects<DoorsEffect>()
    private let kit: AccessKit
    private let bluetooth: BluetoothPresenter

    public init(kit: AccessKit, bluetooth: BluetoothPresenter) {
        self.kit = kit
        self.bluetooth = bluetooth
        super.init(DoorsState())
    }

    /// Shows the phone's copy first, then syncs.
    public func started() async {
        await reload()
        await refresh()
    }

    /// Syncs with the server (replaying what waits), then shows the result; offline, the
    /// copy stays and the banner shows.
    public func refresh() async {
        do {
            _ = try await kit.syncNow()
            update { $0.offline = false; $0.problem = nil }
        } catch {
            let e = kitError(error)
            if e.needsSignIn { return effects.send(.sessionEnded(e)) }
            update {
                if e.isTransient { $0.offline = true } else { $0.problem = message(e) }
            }
        }
        await reload()
    }

    /// Opens a door over Bluetooth, showing the phases the core reports.
    public func unlock(_ lockId: String) async {
        bluetooth.check()
        switch bluetooth.state {
        case .ready: break
        case .mustAsk:
            bluetooth.ask()
            return setUnlock(lockId, .failed(message: BluetoothPresenter.refusedMessage))
        case .refused(let m), .refusedForever(let m), .off(let m):
            return setUnlock(lockId, .failed(message: m))
        }
        setUnlock(lockId, .idle)
        do {
            try await kit.unlock(lockId) { [weak self] phase in
                switch phase {
                case .searching: self?.setUnlock(lockId, .searching)
                case .connecting: self?.setUnlock(lockId, .connecting)
                case .opened: self?.setUnlock(lockId, .opened)
                }
            }
            setUnlock(lockId, .opened)
        } catch {
            let e = kitError(error)
            switch e {
            case .lockOutOfRange: setUnlock(lockId, .outOfRange(message: message(e)))
            case .notNow: setUnlock(lockId, .notNow(message: message(e)))
            default:
                if e.needsSignIn { effects.send(.sessionEnded(e)) }
                setUnlock(lockId, .failed(message: message(e)))
            }
        }
        // A contact may have installed the passcode.
        await reload()
    }

    /// Makes a guest code for `lockId` valid from `from` until `until`, and asks for the
    /// share sheet with its text. Returns the text (nil when refused; `problem` says why).
    @discardableResult
    public func shareGuestCode(_ lockId: String, from: Date, until: Date, label: String?) async -> String? {
        guard let door = state.doors.first(where: { $0.lock.id == lockId }) else { return nil }
        if case .notAllowed(let reason) = door.share {
            update { $0.problem = reason }
            return nil
        }
        do {
            let code = try await kit.shareGuestCode(lockId, window: TimeWindow(startsAt: from, endsAt: until), label: label)
            let text = Self.shareText(door: door.lock, code: code)
            update { $0.problem = nil }
            effects.send(.shareText(text))
            return text
        } catch {
            let e = kitError(error)
            if e.needsSignIn { effects.send(.sessionEnded(e)) }
            update { $0.problem = message(e) }
            return nil
        }
    }

    /// Signs out: the core wipes this phone's copy and session.
    public func signOut() async {
        do {
            try await kit.logout()
            update { $0 = DoorsState() }
            effects.send(.sessionEnded(.notSignedIn))
        } catch {
            update { $0.problem = message(error) }
        }
    }

    static func shareText(door: LockInfo, code: OfflineCodeInfo) -> String {
        let f = DateFormatter()
        f.dateStyle = .medium
        f.timeStyle = .short
        let who = code.label.map { "\($0): y" } ?? "Y"
        return "\(who)our code for \(door.name) (\(door.propertyName), \(door.unitName)) is \(code.code).\n"
            + "Valid from \(f.string(from: code.startsAt)) until \(f.string(from: code.endsAt)).\n"
            + guestCodeNote
    }

    private func setUnlock(_ lockId: String, _ unlock: UnlockState) {
        update {
            if let i = $0.doors.firstIndex(where: { $0.lock.id == lockId }) { $0.doors[i].unlock = unlock }
        }
    }

    /// The doors from the phone's copy, keeping each door's unlock state.
    private func reload() async {
        do {
            let locks = try await kit.locks()
            let passcodes = try await kit.myPasscodes()
            var doors: [Door] = []
            for lock in locks {
                let gates = (try? await kit.actionGates(lock.id)) ?? []
                let gate = gates.first { $0.action == .shareGuestCode }
                let share: ShareState =
                    gate?.allowed == true ? .allowed : .notAllowed(reason: gate?.reason ?? "")
                let passcode = passcodes.first { $0.lockId == lock.id }.map {
                    DoorPasscode(code: $0.code, state: Self.passcodeState($0.syncState, reason: $0.failureReason))
                }
                doors.append(Door(lock: lock, passcode: passcode, unlock: .idle, share: share))
            }
            update { s in
                let before = Dictionary(s.doors.map { ($0.lock.id, $0.unlock) }, uniquingKeysWith: { a, _ in a })
                s.doors = doors.map { var d = $0; d.unlock = before[d.lock.id] ?? .idle; return d }
            }
        } catch {
            let e = kitError(error)
            if e.needsSignIn { return effects.send(.sessionEnded(e)) }
            update { $0.problem = message(e) }
        }
    }

    static func passcodeState(_ s: CodeSyncState, reason: String?) -> DoorPasscode.State {
        switch s {
        case .pending: return .waiting
        case .installed: return .installed
        case .failed: return .failed(reason: reason)
        }
    }
}
