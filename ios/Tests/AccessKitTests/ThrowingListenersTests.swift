import AccessCore
import AccessKit
import Foundation
import XCTest

struct ListenerGone: Error {}

/// Counts its records, and throws from every one, as a logger whose sink is gone.
final class ThrowingLogger: CoreLogger, @unchecked Sendable {
    private let lock = NSLock()
    private var _calls = 0
    var calls: Int { lock.lock(); defer { lock.unlock() }; return _calls }

    func log(level: LogLevel, target: String, message: String) throws {
        lock.lock(); _calls += 1; lock.unlock()
        throw ListenerGone()
    }
}

/// Records each phase, then throws, as a progress bar whose screen is gone.
final class ThrowingProgress: SyncProgress, @unchecked Sendable {
    private let lock = NSLock()
    private var _phases: [SyncPhase] = []
    var phases: [SyncPhase] { lock.lock(); defer { lock.unlock() }; return _phases }

    func onProgress(phase: SyncPhase, done: UInt64, total: UInt64) throws {
        lock.lock(); _phases.append(phase); lock.unlock()
        throw ListenerGone()
    }
}

/// Records each lock it is told of, then throws.
final class ThrowingScan: ScanListener, @unchecked Sendable {
    private let lock = NSLock()
    private var _told: [NearbyLock] = []
    var told: [NearbyLock] { lock.lock(); defer { lock.unlock() }; return _told }

    func onLock(lock nearby: NearbyLock) throws {
        lock.lock(); _told.append(nearby); lock.unlock()
        throw ListenerGone()
    }
}

/// Why the shipped library can be built with `panic = "abort"`: a Swift logger or listener
/// that throws is not a Rust panic. The core's listener methods are `throws`, UniFFI hands
/// any error to the core as `CallbackError`, and the core drops it (a lost log record, a
/// missed progress step) and carries on. Without that mapping, the debug build would fail
/// these calls with `AccessKitError.internal` and the shipped build would abort; these tests
/// assert that the calls succeed with correct results and that the same objects keep working.
final class ThrowingListenersTests: XCTestCase {
    func testALoggerThatThrowsFromEveryCallBreaksNoCall() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("tl").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let email = TestServer.email("throwing-logger")
        let logger = ThrowingLogger()
        setLogger(logger: logger, maxLevel: .trace)
        defer { setLogger(logger: nil, maxLevel: .info) }
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore())
        try await onboard(kit, admin, userType: "team_member", email: email, permissions: ["view_logs"],
                          access: units(site.unitA))
        let summary = try await kit.syncNow()
        XCTAssertEqual(summary.totalLocks, 2)
        let names = try await kit.locks().map(\.name)
        XCTAssertEqual(Set(names), ["Front Door \(tag)", "Patio \(tag)"])
        try await kit.logout()
        let nobody = try await kit.currentUser()
        XCTAssertNil(nobody)
        // The core did log, and every record threw.
        XCTAssertGreaterThan(logger.calls, 0)
        // Same kit, same logger: it signs in and syncs again.
        let me = try await kit.login(email: email, password: "pw-123456789")
        XCTAssertEqual(me.userType, .teamMember)
        let again = try await kit.syncNow()
        XCTAssertEqual(again.totalLocks, 2)
    }

    func testASyncProgressThatThrowsBreaksNeitherTheSyncNorItsResult() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("tp").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let dir = TestServer.deviceDir()
        let secrets = InMemorySecretStore()
        do {
            let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: dir, app: .accessManager, secrets: secrets)
            try await onboard(kit, admin, userType: "team_member", email: TestServer.email("throwing-progress"),
                              permissions: ["view_logs"], access: units(site.unitA))
        }
        // The kit's own progress forwards into a stream and never throws: an app's listener
        // given to the core directly may.
        let client = try AccessClient(
            config: ClientConfig(serverUrl: TestServer.url, dataDir: dir, app: .accessManager, requestTimeoutMs: nil),
            secrets: secrets, logger: nil)
        let progress = ThrowingProgress()
        let summary = try await client.sync(progress: progress)
        XCTAssertTrue(summary.full)
        XCTAssertEqual(summary.totalLocks, 2)
        let names = try await client.locks().list().map(\.name)
        XCTAssertEqual(Set(names), ["Front Door \(tag)", "Patio \(tag)"])
        // Told of every phase, although each call threw.
        let phases = progress.phases
        XCTAssertEqual(phases.first, .replaying, "\(phases)")
        XCTAssertTrue(phases.contains(.downloading), "\(phases)")
        XCTAssertEqual(phases.last, .finished, "\(phases)")
        // The same client and listener: the next sync and the search answer.
        let again = try await client.sync(progress: progress)
        XCTAssertFalse(again.full)
        XCTAssertEqual(again.totalLocks, 2)
        let found = try await client.locks().search(query: "patio").map(\.name)
        XCTAssertEqual(found, ["Patio \(tag)"])
    }

    func testAScanListenerThatThrowsDoesNotStopTheScan() async throws {
        let client = try AccessClient(
            config: ClientConfig(serverUrl: TestServer.url, dataDir: TestServer.deviceDir(), app: .accessManager,
                                 requestTimeoutMs: nil),
            secrets: InMemorySecretStore(), logger: nil)
        await client.onSite().useBluetoothAdapter(address: TestServer.env("ACCESS_TEST_PHONE_ADAPTER"))
        let listener = ThrowingScan()
        let seen = try await client.onSite().scan(durationMs: 2_000, listener: listener)
        // The virtual lock advertises (fresh, or paired if BleTests ran first).
        XCTAssertFalse(seen.isEmpty, "no lock seen")
        XCTAssertEqual(Set(seen.map(\.deviceId)), Set(listener.told.map(\.deviceId)))
        // Same client: the next scan answers too.
        let next = try await client.onSite().scan(durationMs: 2_000, listener: listener)
        XCTAssertFalse(next.isEmpty)
    }
}
