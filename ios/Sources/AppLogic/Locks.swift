import AccessCore
import AccessKit
import Foundation

// MARK: the list

/// A sync as the list shows it.
public enum SyncState: Equatable, Sendable {
    case idle
    /// `done` of `total` (bytes while downloading, rows while saving).
    case running(done: UInt64, total: UInt64)
    case failed(message: String)
}

public struct LocksState: Equatable, Sendable {
    public static let offlineBanner = "Offline: locks and codes from this phone's copy; changes are sent when back online."

    public var query = ""
    /// Search results from the phone's copy (all locks while the query is blank).
    public var locks: [LockInfo] = []
    public var sync: SyncState = .idle
    /// The server cannot be reached: the list is the phone's copy and actions are queued.
    public var offline = false
    /// Actions waiting for the network, oldest first.
    public var queued: [QueuedActionInfo] = []
    /// Actions the server refused when they were sent, with why.
    public var failed: [QueuedActionInfo] = []
}

public enum LocksEffect: Equatable, Sendable {
    /// Signed out, or an error that needs sign-in.
    case sessionEnded(AccessKitError)
}

/// Access Manager's home: the locks in the user's scope from the phone's copy, searched as
/// the user types, a sync with progress, the offline banner and the offline queue.
public final class LocksPresenter: Presenter<LocksState>, @unchecked Sendable {
    public let effects = Effects<LocksEffect>()
    private let kit: AccessKit

    public init(kit: AccessKit) {
        self.kit = kit
        super.init(LocksState())
    }

    /// The copy first, then a sync.
    public func started() async {
        await reload()
        await refresh()
    }

    public func queryChanged(_ query: String) async {
        update { $0.query = query }
        await reload()
    }

    /// Replays the queue and syncs, with progress; offline, shows the banner and keeps the copy.
    public func refresh() async {
        update { $0.sync = .running(done: 0, total: 0) }
        do {
            for try await event in kit.sync() {
                if case .progress(_, let done, let total) = event { update { $0.sync = .running(done: done, total: total) } }
            }
            update {
                $0.sync = .idle
                $0.offline = false
            }
        } catch {
            let e = kitError(error)
            if e.needsSignIn {
                update { $0.sync = .idle }
                return effects.send(.sessionEnded(e))
            }
            update {
                if e.isTransient {
                    $0.offline = true
                    $0.sync = .idle
                } else {
                    $0.sync = .failed(message: message(e))
                }
            }
        }
        await reload()
    }

    /// Forgets an action the server refused.
    public func dismissFailed(_ actionId: String) async {
        do { try await kit.dismissFailedAction(actionId) } catch { update { $0.sync = .failed(message: message(error)) } }
        await reload()
    }

    public func signOut() async {
        do {
            try await kit.logout()
            update { $0 = LocksState() }
            effects.send(.sessionEnded(.notSignedIn))
        } catch {
            update { $0.sync = .failed(message: message(error)) }
        }
    }

    private func reload() async {
        do {
            let locks = try await kit.search(state.query)
            let queued = try await kit.pendingActions()
            let failed = try await kit.failedActions()
            update {
                $0.locks = locks
                $0.queued = queued
                $0.failed = failed
            }
        } catch {
            let e = kitError(error)
            if e.needsSignIn { return effects.send(.sessionEnded(e)) }
            update { $0.sync = .failed(message: message(e)) }
        }
    }
}

// MARK: one lock

/// One action of the lock screen: shown when allowed; otherwise hidden, with the core's reason.
public struct ActionRow: Equatable, Sendable {
    public var action: Action
    public var allowed: Bool
    public var reason: String?
}

/// How the last change went.
public enum Outcome: Equatable, Sendable {
    /// The server (or the lock) applied it.
    case done
    /// No network: applied to the phone's copy, sent when back online.
    case queued
}

public struct LockState: Equatable, Sendable {
    public var lock: LockInfo?
    /// One row per action of the lock screen, in the core's order.
    public var actions: [ActionRow] = []
    /// The lock's access codes, with whether the lock has them.
    public var codes: [AccessCodeInfo] = []
    /// The access log, newest first (after ``LockPresenter/showLog()``).
    public var log: [LogEntryInfo] = []
    public var masterCode: String?
    /// Status and battery read at the lock (after ``LockPresenter/atTheLock()``).
    public var onSite: LockStatusInfo?
    /// How far the lock is in step, as the platform knows from the last phone there (nil
    /// offline or before it loaded).
    public var door: DoorInfo?
    public var outcome: Outcome?
    public var problem: String?

    /// Whether the screen shows `action`.
    public func allows(_ action: Action) -> Bool { actions.contains { $0.action == action && $0.allowed } }
}

/// Access Manager's lock screen: the lock, the actions the core allows (the others hidden
/// with the core's reason), codes, log, master code, and what the phone does at the lock.
public final class LockPresenter: Presenter<LockState>, @unchecked Sendable {
    /// The actions the lock screen has rows for.
    public static let screenActions: [Action] = [.giveAccess, .resetCodes, .viewLogs, .rename, .changeMode, .viewMasterCode, .pair]

    public let lockId: String
    private let kit: AccessKit

    public init(kit: AccessKit, lockId: String) {
        self.kit = kit
        self.lockId = lockId
        super.init(LockState())
    }

    /// Reads the lock, its action gates and its codes from the phone's copy.
    public func started() async {
        do {
            let lock = try await kit.lock(lockId)
            let gates = try await kit.actionGates(lockId)
            let rows = Self.screenActions.compactMap { a in
                gates.first { $0.action == a }.map { ActionRow(action: a, allowed: $0.allowed, reason: $0.reason) }
            }
            let codes = (try? await kit.accessCodes(lockId)) ?? []
            update {
                $0.lock = lock
                $0.actions = rows
                $0.codes = codes
            }
        } catch {
            update { $0.problem = message(error) }
        }
        await reloadDoor()
    }

    public func rename(_ name: String) async {
        await change { try await self.kit.rename(self.lockId, to: name) }
    }

    public func changeMode(_ mode: LockMode) async {
        await change { try await self.kit.changeMode(self.lockId, to: mode) }
    }

    /// Gives an access code; queued when offline (the code appears after the next sync).
    public func giveCode(_ kind: AccessCodeKind, label: String?, window: TimeWindow?) async {
        await run {
            switch try await self.kit.giveAccess(self.lockId, kind: kind, label: label, window: window) {
            case .created: return .done
            case .queued: return .queued
            }
        }
    }

    /// Revokes a given code on the platform (queued when offline): it leaves the lock at
    /// the next contact, any phone's.
    public func removeCode(_ codeId: String) async {
        await change { try await self.kit.revokeCode(self.lockId, codeId: codeId) }
    }

    /// Resets the lock's codes (needs the network).
    public func resetCodes() async {
        await run {
            try await self.kit.resetCodes(self.lockId)
            return .done
        }
    }

    /// Reads the access log from the server.
    public func showLog() async {
        do {
            let log = try await kit.logs(lockId)
            update {
                $0.log = log
                $0.problem = nil
            }
        } catch {
            update { $0.problem = message(error) }
        }
    }

    public func revealMasterCode() async {
        do {
            let code = try await kit.masterCode(lockId)
            update {
                $0.masterCode = code
                $0.problem = nil
            }
        } catch {
            update { $0.problem = message(error) }
        }
    }

    /// A contact at the lock: carries the door update, reads the status and, when the user
    /// may view logs, the lock's log (uploaded when the network is there).
    public func atTheLock() async {
        do {
            let status = try await kit.bringInLine(lockId)
            if state.allows(.viewLogs) { _ = try await kit.readLockLog(lockId) }
            // The contact's news goes to the platform now, so the door shown next is this
            // one; offline it waits in the phone for the next upload.
            _ = try? await kit.uploadLockLogs()
            update {
                $0.onSite = status
                $0.problem = nil
            }
        } catch {
            update { $0.problem = message(error) }
        }
        await reloadLock()
    }

    private func change(_ body: @escaping () async throws -> ActionOutcome) async {
        await run {
            switch try await body() {
            case .done: return .done
            case .queued: return .queued
            }
        }
    }

    private func run(_ body: @escaping () async throws -> Outcome) async {
        do {
            let outcome = try await body()
            update {
                $0.outcome = outcome
                $0.problem = nil
            }
        } catch {
            update {
                $0.outcome = nil
                $0.problem = message(error)
            }
        }
        await reloadLock()
    }

    private func reloadLock() async {
        let lock = try? await kit.lock(lockId)
        let codes = try? await kit.accessCodes(lockId)
        update {
            if let lock { $0.lock = lock }
            if let codes { $0.codes = codes }
        }
        await reloadDoor()
    }

    /// The door as the platform knows it; offline the last one read stays.
    private func reloadDoor() async {
        if let door = try? await kit.door(lockId) {
            update { $0.door = door }
        }
    }
}
