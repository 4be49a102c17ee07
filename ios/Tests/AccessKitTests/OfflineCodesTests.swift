import AccessCore
import AccessKit
import Foundation
import XCTest

/// Offline codes from Swift against the real server: what ``AccessKit/giveOfflineAccess``
/// returns matches the server's record, and its reference field (the first 7 digits, see
/// docs/offline-codes.md) names the kind, class and window that were asked for.
final class OfflineCodesTests: XCTestCase {
    private let epoch: Int64 = 1_704_067_200 // 2024-01-01T00:00Z, the codes' public epoch
    private let windowSlots: Int64 = 261_000
    private let nonces: Int64 = 9

    /// kind_class and the window's slot, decoded from a code's reference field.
    private func reference(_ code: String) -> (kindClass: Int64, slot: Int64) {
        let r = Int64(code.prefix(7)) ?? -1
        return (r / windowSlots / nonces, r % windowSlots)
    }

    /// The slot of a window of `hours` hours starting at `start` (the lock's arithmetic).
    private func slot(start: Date, hours: Int64) -> Int64 {
        let startHour = (Int64(start.timeIntervalSince1970) - epoch) / 3_600
        let base = (1..<max(hours, 1)).reduce(Int64(0)) { $0 + $1 + 2 }
        return base + startHour % (hours + 2)
    }

    private func listed(_ admin: Admin, _ lock: String) async throws -> [[String: Any]] {
        try await admin.request("GET", "/api/v1/locks/\(lock)/offline-codes")["items"] as? [[String: Any]] ?? []
    }

    func testAnOfflineCodeComesBackWithItsWindowAndMatchesTheServersRecord() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("o").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        // Paired on the server's side (the identity key a pairing phone reports): offline
        // codes need the code secret pairing installs.
        let identity = Data(repeating: 9, count: 32).base64EncodedString()
        try await admin.request("PUT", "/api/v1/locks/\(site.frontDoor)/identity", ["identity_public_key": identity])
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore())
        try await onboard(kit, admin, userType: "team_member", email: TestServer.email("offline"),
                          permissions: ["give_access"], access: units(site.unitA))
        _ = try await kit.syncNow()

        let hour = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3_600).rounded(.down) * 3_600)
        let window = TimeWindow(startsAt: hour, endsAt: hour + 2 * 3_600)
        let code = try await kit.giveOfflineAccess(site.frontDoor, kind: .window, window: window, codeClass: .tour,
                                                   label: "  Saturday tour ")
        XCTAssertNotNil(code.code.range(of: #"^\d{14}$"#, options: .regularExpression), code.code)
        XCTAssertEqual(code.lockId, site.frontDoor)
        XCTAssertEqual(code.kind, .window)
        XCTAssertEqual(code.class, .tour)
        XCTAssertEqual(code.label, "Saturday tour")
        XCTAssertEqual(code.startsAt, window.startsAt)
        XCTAssertEqual(code.endsAt, window.endsAt)
        XCTAssertEqual(code.validFrom, hour - 5 * 60)
        XCTAssertEqual(code.validUntil, window.endsAt + 5 * 60)
        let ref = reference(code.code)
        XCTAssertEqual(ref.kindClass, 1, "window/tour")
        XCTAssertEqual(ref.slot, slot(start: hour, hours: 2))

        // The server's record of it, as the Manage Access page lists it.
        let record = try await listed(admin, site.frontDoor).first { $0["id"] as? String == code.id }
        XCTAssertEqual(record?["code"] as? String, code.code)
        XCTAssertEqual(record?["class"] as? String, "tour")
        XCTAssertEqual(record?["label"] as? String, "Saturday tour")

        // One-time without a window: this hour plus 24 hours; guest when asked.
        let once = try await kit.giveOfflineAccess(site.frontDoor, kind: .oneTime, codeClass: .guest)
        XCTAssertEqual(once.kind, .oneTime)
        XCTAssertEqual(once.class, .guest)
        // (The hour may have turned since `hour` was read.)
        XCTAssertTrue(once.startsAt == hour || once.startsAt == hour + 3_600, "\(once.startsAt)")
        XCTAssertEqual(once.endsAt, once.startsAt + 24 * 3_600)
        XCTAssertEqual(reference(once.code).kindClass, 2, "one-time/guest")
        XCTAssertEqual(reference(once.code).slot, slot(start: once.startsAt, hours: 24))

        // Refused before anything is sent: a window off the hour, none at all, a lock out of scope.
        let before = try await listed(admin, site.frontDoor).count
        await assertThrowsInvalidInput {
            try await kit.giveOfflineAccess(site.frontDoor, kind: .window,
                                            window: TimeWindow(startsAt: hour + 60, endsAt: hour + 3_600))
        }
        await assertThrowsInvalidInput { try await kit.giveOfflineAccess(site.frontDoor, kind: .window) }
        await assertThrows(.notFound) { try await kit.giveOfflineAccess(site.garage, kind: .window, window: window) }
        let after = try await listed(admin, site.frontDoor).count
        XCTAssertEqual(after, before)
    }

    func testWithoutGiveAccessAnOfflineCodeIsRefusedAsNotAllowed() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("p").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore())
        try await onboard(kit, admin, userType: "team_member", email: TestServer.email("nooffline"),
                          permissions: ["view_logs"], access: units(site.unitA))
        _ = try await kit.syncNow()
        do {
            _ = try await kit.giveOfflineAccess(site.frontDoor, kind: .oneTime)
            XCTFail("an offline code without give_access went through")
        } catch AccessKitError.notAllowed(let message) {
            XCTAssertFalse(message.isEmpty)
        }
        let codes = try await listed(admin, site.frontDoor)
        XCTAssertEqual(codes.count, 0)
    }

    private func assertThrowsInvalidInput<T>(_ body: () async throws -> T, line: UInt = #line) async {
        do {
            _ = try await body()
            XCTFail("expected invalidInput, got a result", line: line)
        } catch AccessKitError.invalidInput(let message) {
            XCTAssertFalse(message.isEmpty, line: line)
        } catch {
            XCTFail("expected invalidInput, got \(error)", line: line)
        }
    }
}
