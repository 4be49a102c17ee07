import AccessCore
import AccessKit
import XCTest

/// The offline queue from Swift: act with the server down, replay once it is back.
final class OfflineQueueTests: XCTestCase {
    func testActionsTakenWhileTheServerIsDownAreReplayedExactlyOnceWhenItIsBack() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("o").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore(), requestTimeoutMs: 5_000)
        try await onboard(kit, admin, userType: "team_member", email: TestServer.email("offline"),
                          permissions: ["rename_locks", "change_modes", "view_logs"], access: units(site.unitA))
        _ = try await kit.syncNow()

        try await TestServer.stop()
        do {
            let renamed = try await kit.rename(site.frontDoor, to: "Offline Name \(tag)")
            guard case .queued = renamed else { throw TestFailure("rename while offline: \(renamed)") }
            let moded = try await kit.changeMode(site.patio, to: .maintenance)
            guard case .queued = moded else { throw TestFailure("mode change while offline: \(moded)") }
            let front = try await kit.lock(site.frontDoor)
            XCTAssertEqual(front.name, "Offline Name \(tag)")
            let patio = try await kit.lock(site.patio)
            XCTAssertEqual(patio.mode, .maintenance)
            let kinds = try await kit.pendingActions().map(\.kind)
            XCTAssertEqual(kinds, ["rename", "change_mode"])
            do {
                _ = try await kit.logs(site.frontDoor)
                XCTFail("logs answered with the server down")
            } catch AccessKitError.offline {}
        } catch {
            try await TestServer.start()
            throw error
        }
        try await TestServer.start()

        let replay = try await kit.replayQueue()
        XCTAssertEqual(replay.sent, 2)
        XCTAssertEqual(replay.failed, 0)
        XCTAssertEqual(replay.pending, 0)
        let left = try await kit.pendingActions()
        XCTAssertEqual(left.count, 0)
        let name = try await admin.lockInfo(site.frontDoor)["name"] as? String
        XCTAssertEqual(name, "Offline Name \(tag)")
        let mode = try await admin.lockInfo(site.patio)["mode"] as? String
        XCTAssertEqual(mode, "maintenance")
        let again = try await kit.replayQueue()
        XCTAssertEqual(again.sent, 0)
        let logs = try await admin.request("GET", "/api/v1/locks/\(site.frontDoor)/logs?limit=1000")["items"] as? [[String: Any]] ?? []
        let renames = logs.filter { ($0["action"] as? String ?? "").contains("rename") }
        XCTAssertEqual(renames.count, 1, "\(renames)")
    }
}
