import AccessCore
import AccessKit
import XCTest

/// The AsyncStreams of AccessKit over the real core: sync progress and search-as-you-type.
final class KitStreamsTests: XCTestCase {
    func testSyncProgressIsAStreamEndingWithTheSummaryAndSearchResultsFollowTheQueries() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("s").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore())
        try await onboard(kit, admin, userType: "team_member", email: TestServer.email("streams"), permissions: [],
                          access: units(site.unitA, site.unitB))
        var events: [SyncEvent] = []
        for try await e in kit.sync() { events.append(e) }
        guard case .finished(let summary)? = events.last else { return XCTFail("no summary: \(events)") }
        XCTAssertEqual(summary.totalLocks, 3)
        var phases: [SyncPhase] = []
        for case .progress(let phase, let done, let total) in events {
            if phases.last != phase { phases.append(phase) }
            if phase == .saving { XCTAssertTrue(done <= total && total == 3, "\(done)/\(total)") }
        }
        XCTAssertEqual(phases.first, .replaying)
        XCTAssertTrue(phases.contains(.saving), "\(phases)")
        XCTAssertEqual(phases.last, .finished)

        let typed = AsyncStream<String> { c in
            for q in ["", "g", "ga", "ga", "garage \(tag)", "patio \(tag)"] { c.yield(q) }
            c.finish()
        }
        var lists: [[String]] = []
        for try await list in kit.searchResults(typed) { lists.append(list.map(\.name)) }
        XCTAssertEqual(lists.count, 5, "\(lists)") // the repeated "ga" is not searched twice
        XCTAssertEqual(lists[0].count, 3)
        XCTAssertEqual(lists[3], ["Garage \(tag)"])
        XCTAssertEqual(lists[4], ["Patio \(tag)"])
    }

    func testAFailedSyncEndsTheStreamWithTheTypedError() async throws {
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore())
        do {
            for try await _ in kit.sync() {}
            XCTFail("a sync without a session finished")
        } catch AccessKitError.notSignedIn {}
    }
}
