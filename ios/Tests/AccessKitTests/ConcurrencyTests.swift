import AccessCore
import AccessKit
import Foundation
import XCTest

/// Many concurrent calls from Swift tasks, then a count of what is still alive.
///
/// Four counts, before and after: the core's own count of its live exported objects
/// (`liveObjectCount()`: each Rust `AccessClient`, and each object it hands out, counts from
/// its making to its drop),
/// ``AccessKit/liveCount`` (Swift side), weak references to
/// the Swift secret stores handed to the core (Rust holds each one until its `AccessClient`
/// is freed, so a store that outlives its kit means a Rust object leaked), and the process's
/// open file descriptors (each live client holds its SQLite files and HTTP connections).
final class ConcurrencyTests: XCTestCase {
    private func openFds() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }

    /// The descriptor count once it stops moving: a released kit's HTTP connections close on
    /// the core's threads a little after the last reference goes.
    private func settledFds() async throws -> Int {
        var last = try openFds()
        var stableRounds = 0
        for _ in 0..<100 where stableRounds < 3 {
            try await Task.sleep(nanoseconds: 50_000_000)
            let now = try openFds()
            stableRounds = now == last ? stableRounds + 1 : 0
            last = now
        }
        return last
    }

    private final class Weak: @unchecked Sendable {
        weak var store: RecordingSecretStore?
        init(_ s: RecordingSecretStore) { store = s }
    }

    func testManyConcurrentCallsFromTasksThenEveryObjectIsFreed() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("c").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let email = TestServer.email("burst")
        do {
            let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                    secrets: InMemorySecretStore())
            try await onboard(kit, admin, userType: "team_member", email: email, permissions: ["view_logs", "rename_locks"],
                              access: units(site.unitA, site.unitB))
            // Warm-up: the first use starts the core's runtime threads for good.
            _ = try await kit.syncNow()
        }
        let coreObjectsBefore = liveObjectCount()
        let kitsBefore = AccessKit.liveCount
        let fdsBefore = try await settledFds()
        var weakStores: [Weak] = []

        do {
            var kits: [AccessKit] = []
            for _ in 0..<8 {
                let store = RecordingSecretStore()
                weakStores.append(Weak(store))
                kits.append(try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(),
                                          app: .accessManager, secrets: store))
            }
            XCTAssertEqual(AccessKit.liveCount, kitsBefore + 8)
            let perKit = UInt64(AccessKit.coreObjectsPerKit)
            XCTAssertEqual(liveObjectCount(), coreObjectsBefore + 8 * perKit, "a Rust AccessClient and its objects per kit")
            // Sign-ins one after another: the server takes at most 5 at once for one email
            // (each counts as a failure until its password checks out).
            for kit in kits {
                _ = try await kit.login(email: email, password: "pw-123456789")
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for kit in kits {
                    group.addTask {
                        _ = try await kit.syncNow()
                    }
                }
                try await group.waitForAll()
            }
            let expectAllowed = try await kits[0].allowedActions(site.frontDoor).count
            let allKits = kits
            // 400 calls at once across the kits: cache reads, searches, gates and network reads.
            let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for n in 0..<400 {
                    let kit = allKits[n % allKits.count]
                    group.addTask {
                        switch n % 5 {
                        case 0: return (n, try await kit.locks().count)
                        case 1: return (n, try await kit.search("Garage \(tag)").count)
                        case 2: return (n, try await kit.lock(site.patio).name == "Patio \(tag)" ? 1 : -1)
                        case 3: return (n, try await kit.allowedActions(site.frontDoor).count)
                        default:
                            _ = try await kit.logs(site.garage)
                            return (n, 1)
                        }
                    }
                }
                var out: [(Int, Int)] = []
                for try await r in group { out.append(r) }
                return out
            }
            XCTAssertEqual(results.count, 400)
            for (n, r) in results {
                let want = [3, 1, 1, expectAllowed, 1][n % 5]
                XCTAssertEqual(r, want, "call \(n)")
            }
            XCTAssertTrue(weakStores.allSatisfy { $0.store != nil })
            XCTAssertEqual(liveObjectCount(), coreObjectsBefore + 8 * perKit, "Rust objects during the burst")
            kits.removeAll()
        }

        XCTAssertEqual(liveObjectCount(), coreObjectsBefore, "Rust objects still alive after releasing every kit")
        XCTAssertEqual(AccessKit.liveCount, kitsBefore, "kits alive")
        XCTAssertTrue(weakStores.allSatisfy { $0.store == nil }, "secret stores still held by Rust")
        var fds = try openFds()
        for _ in 0..<100 where fds > fdsBefore {
            try await Task.sleep(nanoseconds: 50_000_000)
            fds = try openFds()
        }
        XCTAssertEqual(fds, fdsBefore, "open file descriptors after freeing everything")
    }
}
