import AccessCore
import AccessKit
import Foundation

public enum PairingStep: Equatable, Sendable {
    /// Properties and units where the user may pair, each with its web-created locks waiting.
    case choosePlace([PairingPlace])
    /// Locks seen nearby so far (the scan runs while ``PairingState/busy``).
    case scanning([NearbyLock])
    /// The lock chosen; the code printed on it is typed next.
    case enterCode(NearbyLock)
    /// Pairing, at the phase the core last reported (nil before the first).
    case pairing(PairingPhase?)
    case paired(LockInfo)
    /// `canRetry`: trying again may work (a wrong code, the lock out of range, no network).
    case failed(message: String, canRetry: Bool)
}

/// What the pairing puts on the platform: a new lock of a unit, or a web-created lock record.
public enum PairingTarget: Equatable, Sendable {
    case newLock(unitId: String, name: String)
    case waitingLock(lockId: String)
}

public struct PairingState: Equatable, Sendable {
    public var step: PairingStep = .choosePlace([])
    public var target: PairingTarget?
    /// The pairing code as typed.
    public var code = ""
    public var busy = false
}

/// Pairing on site: choose the unit (or a lock created on the web for it), scan, choose the
/// factory-fresh lock, type the code printed on it, follow the phases.
public final class PairingPresenter: Presenter<PairingState>, @unchecked Sendable {
    private let kit: AccessKit
    private let scanMs: UInt32
    private var device: NearbyLock?

    public init(kit: AccessKit, scanMs: UInt32 = 4_000) {
        self.kit = kit
        self.scanMs = scanMs
        super.init(PairingState())
    }

    /// Loads the places where the user may pair (needs the network).
    public func started() async {
        update {
            $0 = PairingState()
            $0.busy = true
        }
        do {
            let places = try await kit.pairingPlaces()
            update {
                $0.step = .choosePlace(places)
                $0.busy = false
            }
        } catch {
            fail(error)
        }
    }

    /// A new lock for this unit, named `name`.
    public func chooseUnit(_ unitId: String, name: String) async {
        update { $0.target = .newLock(unitId: unitId, name: name) }
        await scan()
    }

    /// A lock created on the web for a unit, waiting to be paired.
    public func chooseWaitingLock(_ lockId: String) async {
        update { $0.target = .waitingLock(lockId: lockId) }
        await scan()
    }

    public func chooseDevice(_ deviceId: String) {
        guard case .scanning(let nearby) = state.step, let found = nearby.first(where: { $0.deviceId == deviceId }) else { return }
        device = found
        update {
            $0.step = .enterCode(found)
            $0.code = ""
        }
    }

    public func codeChanged(_ code: String) { update { $0.code = code } }

    /// Pairs the chosen lock with the typed code.
    public func pair() async {
        let s = state
        guard let device, let target = s.target, !s.busy else { return }
        update {
            $0.step = .pairing(nil)
            $0.busy = true
        }
        let events: AsyncThrowingStream<PairingEvent, Error>
        switch target {
        case .newLock(let unitId, let name):
            events = kit.pair(unitId: unitId, deviceId: device.deviceId, pairingCode: s.code, name: name)
        case .waitingLock(let lockId):
            events = kit.pairOnto(lockId: lockId, deviceId: device.deviceId, pairingCode: s.code)
        }
        do {
            for try await event in events {
                switch event {
                case .phase(let phase): update { $0.step = .pairing(phase) }
                case .paired(let lock):
                    update {
                        $0.step = .paired(lock)
                        $0.busy = false
                    }
                }
            }
        } catch {
            fail(error)
        }
    }

    /// After a failure: back to the code (the same lock) or, before a lock was chosen, to
    /// the start.
    public func retry() async {
        guard case .failed = state.step else { return }
        if let device, state.target != nil {
            update {
                $0.step = .enterCode(device)
                $0.code = ""
            }
        } else {
            await started()
        }
    }

    private func scan() async {
        device = nil
        update {
            $0.step = .scanning([])
            $0.busy = true
        }
        do {
            var nearby: [NearbyLock] = []
            for try await lock in kit.scan(durationMs: scanMs) where !nearby.contains(where: { $0.deviceId == lock.deviceId }) {
                nearby.append(lock)
                let seen = nearby
                update { $0.step = .scanning(seen) }
            }
            update { $0.busy = false }
        } catch {
            fail(error)
        }
    }

    private func fail(_ error: Error) {
        let e = kitError(error)
        update {
            $0.step = .failed(message: message(e), canRetry: e.isTransient || e == .wrongPairingCode)
            $0.busy = false
        }
    }
}
