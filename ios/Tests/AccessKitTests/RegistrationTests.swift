import AccessCore
import AccessKit
import XCTest

/// The seed's flow from the app: invitation, +1 phone, SMS code, login, sync, list, search.
final class RegistrationTests: XCTestCase {
    func newKit(_ userType: String = "team_member", secrets: SecretStore = InMemorySecretStore()) throws -> AccessKit {
        try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: appFor(userType), secrets: secrets)
    }

    func testAPhoneWithoutPlusOneIsTheTypedInvalidPhoneErrorWithWhatToType() async throws {
        let admin = try await Admin.login()
        let email = TestServer.email("nophone")
        _ = try await admin.invite("team_member", email, permissions: ["view_logs"], access: allLocks)
        let link = try await admin.invitationLink(email)
        let kit = try newKit()
        do {
            _ = try await kit.register(invitation: link, email: email, phone: "5551234567", password: "pw-123456789", name: "Pat")
            XCTFail("a phone without +1 was accepted")
        } catch AccessKitError.invalidPhone(let message) {
            XCTAssertTrue(message.contains("+15551234567"), message)
        }
        do {
            _ = try await kit.register(invitation: link, email: email, phone: "+1 555 CALL NOW", password: "pw-123456789", name: "Pat")
            XCTFail("letters after +1 were accepted")
        } catch AccessKitError.invalidPhone(let message) {
            XCTAssertTrue(message.contains("digits"), message)
        }
        let me = try await kit.currentUser()
        XCTAssertNil(me)
    }

    func testRegisterWithTheSmsCodeThenLoginSyncListAndSearch() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("t").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let invited = TestServer.email("pat"), used = TestServer.email("pat.personal")
        _ = try await admin.invite("team_member", invited, permissions: ["rename_locks", "view_logs"], access: units(site.unitA))
        let link = try await admin.invitationLink(invited)
        let kit = try newKit()

        let phone = TestServer.phone()
        let digits = Array(phone.dropFirst(2))
        let formatted = "+1 (\(String(digits[0..<3]))) \(String(digits[3..<6]))-\(String(digits[6...]))"
        let registration = try await kit.register(invitation: link, email: used, phone: formatted, password: "pw-123456789", name: "Pat Doe")
        let code = try await admin.smsCode(phone)
        await assertThrows(.wrongSmsCode) { try await kit.verifySms(registrationId: registration, code: code == "000000" ? "111111" : "000000") }
        let me = try await kit.verifySms(registrationId: registration, code: code)
        XCTAssertEqual(me.userType, .teamMember)
        XCTAssertEqual(me.email, used)
        XCTAssertEqual(Set(me.permissions), [.renameLocks, .viewLogs])
        XCTAssertFalse(me.allLocks)
        XCTAssertEqual(me.unitIds, [site.unitA])

        let summary = try await kit.syncNow()
        XCTAssertTrue(summary.full)
        XCTAssertEqual(summary.totalLocks, 2)
        let names = try await kit.locks().map(\.name)
        XCTAssertEqual(names, ["Front Door \(tag)", "Patio \(tag)"])
        let front = try await kit.search("front").map(\.name)
        XCTAssertEqual(front, ["Front Door \(tag)"])
        let unit = try await kit.search("4B")
        XCTAssertEqual(unit.count, 2)
        let firstByName = try await kit.search("4B", limit: 1).map(\.name)
        XCTAssertEqual(firstByName, ["Front Door \(tag)"])
        let garage = try await kit.search("Garage")
        XCTAssertEqual(garage.count, 0)
        await assertThrows(.notFound) { try await kit.lock(site.garage) }

        try await kit.logout()
        let nobody = try await kit.currentUser()
        XCTAssertNil(nobody)
        let wiped = try await kit.locks()
        XCTAssertEqual(wiped.count, 0)
        await assertThrows(.notSignedIn) { try await kit.syncNow() }
        await assertThrows(.invalidCredentials) { try await kit.login(email: used, password: "wrong-password") }
        let again = try await kit.login(email: used, password: "pw-123456789")
        XCTAssertEqual(again.email, used)
        _ = try await kit.syncNow()
        let back = try await kit.locks()
        XCTAssertEqual(back.count, 2)
    }

    func testAResidentAccountIsRefusedByAccessManagerAndSeesItsPasscodeInNokey() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("r").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let email = TestServer.email("resident")
        let resident = try newKit("resident")
        try await onboard(resident, admin, userType: "resident", email: email, permissions: [], access: units(site.unitB))
        _ = try await resident.syncNow()
        let names = try await resident.locks().map(\.name)
        XCTAssertEqual(names, ["Garage \(tag)"])
        let passcodes = try await resident.myPasscodes()
        XCTAssertTrue(passcodes.allSatisfy { $0.lockId == site.garage }, "\(passcodes)")

        let manager = try newKit("team_member")
        do {
            _ = try await manager.login(email: email, password: "pw-123456789")
            XCTFail("Access Manager accepted a resident")
        } catch AccessKitError.wrongApp(let message) {
            XCTAssertTrue(message.localizedCaseInsensitiveContains("NoKey"), message)
        }
    }
}
