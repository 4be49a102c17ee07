// Stand-ins for core API that is being added (pairing places, pairing onto a web-created
// lock, unlock phases, action gates): the same names and shapes, built on today's calls,
// so the presenters compile and run until the generated bindings carry the real ones.
// Removed when they land.
import AccessCore
import Foundation

public enum UnlockPhase: Equatable, Sendable { case searching, connecting, opened }

public struct PairingPlace: Equatable, Sendable {
    public var propertyId, propertyName, unitId, unitName: String
    public var waitingLocks: [LockInfo]
}

public struct ActionGate: Equatable, Sendable {
    public var action: Action
    public var allowed: Bool
    public var reason: String?
}

extension AccessKit {
    public func unlock(_ lockId: String, progress: @escaping @Sendable (UnlockPhase) -> Void) async throws {
        try await unlock(lockId)
        progress(.opened)
    }

    public func pairingPlaces() async throws -> [PairingPlace] {
        _ = try await syncNow()
        let locks = try await locks()
        var places: [String: PairingPlace] = [:]
        for l in locks where try await allowedActions(l.id).contains(.pair) {
            var p = places[l.unitId] ?? PairingPlace(propertyId: l.propertyId, propertyName: l.propertyName,
                                                     unitId: l.unitId, unitName: l.unitName, waitingLocks: [])
            if !l.paired { p.waitingLocks.append(l) }
            places[l.unitId] = p
        }
        return places.values.sorted { ($0.propertyName, $0.unitName) < ($1.propertyName, $1.unitName) }
    }

    public func pairOnto(lockId: String, deviceId: String, pairingCode: String) -> AsyncThrowingStream<PairingEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let lock = try await self.lock(lockId)
                    for try await e in self.pair(unitId: lock.unitId, deviceId: deviceId, pairingCode: pairingCode, name: lock.name) {
                        continuation.yield(e)
                    }
                    continuation.finish()
                } catch { continuation.finish(throwing: error) }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func actionGates(_ lockId: String) async throws -> [ActionGate] {
        let allowed = try await allowedActions(lockId)
        let all: [Action] = [.view, .unlock, .resetCodes, .rename, .changeMode, .viewLogs, .viewMasterCode, .giveAccess, .pair]
        return all.map { ActionGate(action: $0, allowed: allowed.contains($0), reason: allowed.contains($0) ? nil : "Not allowed.") }
    }
}

extension Action {
    public static var shareGuestCode: Action { .giveAccess }
}
