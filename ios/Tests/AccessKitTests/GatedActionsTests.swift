import AccessCore
import AccessKit
import XCTest

/// Permission gates seen from Swift: allowed, refused with the typed error, and revoked.
final class GatedActionsTests: XCTestCase {
    func testAnAllowedActionReachesTheServerAndARefusedOneIsTypedNotAllowed() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("g").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore())
        try await onboard(kit, admin, userType: "team_member", email: TestServer.email("rename"),
                          permissions: ["rename_locks"], access: units(site.unitA))
        _ = try await kit.syncNow()
        let allowed = try await kit.allowedActions(site.frontDoor)
        XCTAssertTrue(allowed.contains(.rename))
        XCTAssertFalse(allowed.contains(.changeMode))
        XCTAssertFalse(allowed.contains(.viewMasterCode))

        let done = try await kit.rename(site.frontDoor, to: "Main Entrance \(tag)")
        XCTAssertEqual(done, .done)
        let serverName = try await admin.lockInfo(site.frontDoor)["name"] as? String
        XCTAssertEqual(serverName, "Main Entrance \(tag)")

        let modeBefore = try await admin.lockInfo(site.frontDoor)["mode"] as? String
        do {
            _ = try await kit.changeMode(site.frontDoor, to: .tour)
            XCTFail("change mode without the permission went through")
        } catch AccessKitError.notAllowed(let message) {
            XCTAssertFalse(message.isEmpty)
        }
        let modeAfter = try await admin.lockInfo(site.frontDoor)["mode"] as? String
        XCTAssertEqual(modeBefore, modeAfter, "a refused action must not reach the server")
        do {
            _ = try await kit.masterCode(site.frontDoor)
            XCTFail("master code without the permission")
        } catch AccessKitError.notAllowed {}
        await assertThrows(.notFound) { try await kit.rename(site.garage, to: "Nope") }
        let pending = try await kit.pendingActions()
        XCTAssertEqual(pending.count, 0)
    }

    func testARevokedUserSeesRevokedAndIsWiped() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("v").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore())
        let user = try await onboard(kit, admin, userType: "team_member", email: TestServer.email("revoked"),
                                     permissions: ["view_logs"], access: units(site.unitA))
        _ = try await kit.syncNow()
        let before = try await kit.locks()
        XCTAssertEqual(before.count, 2)
        _ = try await kit.logs(site.frontDoor) // allowed (view_logs) before the revocation
        try await admin.revoke(user)
        await assertThrows(.revoked) { try await kit.syncNow() }
        let me = try await kit.currentUser()
        XCTAssertNil(me)
        let after = try await kit.locks()
        XCTAssertEqual(after.count, 0)
        await assertThrows(.notSignedIn) { try await kit.logs(site.frontDoor) }
    }
}
