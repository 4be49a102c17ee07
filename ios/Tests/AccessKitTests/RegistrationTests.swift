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
            _ = try await kit.register(invitation: link, email: email, phone: "5551234567", password: "pw-123456789", name: "Pat",
                                       username: "pat.nophone")
            XCTFail("a phone without +1 was accepted")
        } catch AccessKitError.invalidPhone(let message) {
            XCTAssertTrue(message.contains("+15551234567"), message)
        }
        do {
            _ = try await kit.register(invitation: link, email: email, phone: "+1 555 CALL NOW", password: "pw-123456789", name: "Pat",
                                       username: "pat.nophone")
            XCTFail("letters after +1 were accepted")
        } catch AccessKitError.invalidPhone(let message) {
            XCTAssertTrue(message.contains("digits"), message)
        }
        let me = try await kit.currentUser()
        XCTAssertNil(me)
    }

    func testAUsernameOutsideTheRuleIsRefusedBeforeAnyRequest() async throws {
        // The core's rule, local: lower case, trimmed; the rule's sentence otherwise.
        XCTAssertEqual(try AccessKit.checkUsername(" Kim.Lee "), "kim.lee")
        XCTAssertEqual(try AccessKit.checkUsername("kim_lee-2"), "kim_lee-2")
        for (bad, says) in [("k", "3 to 32"), ("kim lee", "may not contain ' '"), (String(repeating: "x", count: 33), "3 to 32")] {
            do {
                _ = try AccessKit.checkUsername(bad)
                XCTFail("\(bad) was accepted")
            } catch AccessKitError.invalidInput(let message) {
                XCTAssertTrue(message.contains(says), message)
            }
        }

        // A kit whose server is nowhere: a request would fail as offline, so the username's
        // refusal proves nothing was sent.
        let link = "\(TestServer.url)/invite/access-manager?token=" + String(repeating: "a", count: 32)
        let kit = try AccessKit(serverURL: TestServer.nowhere, dataDirectory: TestServer.deviceDir(),
                                app: .accessManager, secrets: InMemorySecretStore())
        for bad in ["", "k", "kim lee", "kim@lee"] {
            do {
                _ = try await kit.register(invitation: link, email: "kim@example.test", phone: TestServer.phone(),
                                           password: "pw-123456789", name: "Kim", username: bad)
                XCTFail("the username \(bad) was accepted")
            } catch AccessKitError.invalidInput(let message) {
                XCTAssertTrue(message.contains("A username has 3 to 32 characters"), message)
            }
        }
        do {
            _ = try await kit.register(invitation: link, email: "kim@example.test", phone: TestServer.phone(),
                                       password: "pw-123456789", name: "Kim", username: "kim.lee")
            XCTFail("registered with no server")
        } catch AccessKitError.offline {}
    }

    func testAPasswordResetIsRefusedLocallyUntilItsInputsCanBeRight() async throws {
        let token = String(repeating: "b", count: 40)
        let away = try AccessKit(serverURL: TestServer.nowhere, dataDirectory: TestServer.deviceDir(),
                                 app: .accessManager, secrets: InMemorySecretStore())
        await assertThrows(.invalidInput("Enter the email address you sign in with.")) {
            try await away.requestPasswordReset(email: "not an email")
        }
        do {
            try await away.confirmPasswordReset(linkOrToken: "https://access.example.com/reset-password", smsCode: "123456",
                                                newPassword: "new-password-1")
            XCTFail("a link without a token was taken")
        } catch AccessKitError.invalidInput(let message) {
            XCTAssertTrue(message.contains("not a password reset link"), message)
        }
        await assertThrows(.wrongSmsCode) {
            try await away.confirmPasswordReset(linkOrToken: token, smsCode: " ", newPassword: "new-password-1")
        }
        await assertThrows(.invalidInput("The password must be at least 8 characters long.")) {
            try await away.confirmPasswordReset(linkOrToken: token, smsCode: "123456", newPassword: "short")
        }
        // Right-shaped inputs go to the server: here, nowhere.
        do {
            try await away.confirmPasswordReset(linkOrToken: token, smsCode: "123456", newPassword: "new-password-1")
            XCTFail("confirmed with no server")
        } catch AccessKitError.offline {}

        // The real server answers any email with the same sentence, and refuses an unknown link.
        let kit = try newKit()
        let sentence = try await kit.requestPasswordReset(email: TestServer.email("nobody"))
        XCTAssertTrue(sentence.hasPrefix("If this email belongs to an active account"), sentence)
        do {
            try await kit.confirmPasswordReset(linkOrToken: "\(TestServer.url)/reset-password?token=\(token)",
                                               smsCode: "123456", newPassword: "new-password-1")
            XCTFail("an unknown link was taken")
        } catch AccessKitError.invalidInput(let message) {
            XCTAssertTrue(message.contains("not valid any more"), message)
        }
    }

    func testRegisterWithTheSmsCodeThenLoginSyncListAndSearch() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("t").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let invited = TestServer.email("pat"), used = TestServer.email("pat.personal")
        let id = try await admin.invite("team_member", invited, permissions: ["rename_locks", "view_logs"], access: units(site.unitA))
        let link = try await admin.invitationLink(invited)
        let kit = try newKit()

        let phone = TestServer.phone()
        let digits = Array(phone.dropFirst(2))
        let formatted = "+1 (\(String(digits[0..<3]))) \(String(digits[3..<6]))-\(String(digits[6...]))"
        // The username as typed; the organization keeps it in lower case.
        let username = "Pat." + tag.suffix(8)
        let registration = try await kit.register(invitation: link, email: used, phone: formatted, password: "pw-123456789",
                                                  name: "Pat Doe", username: username)
        let code = try await admin.smsCode(phone)
        await assertThrows(.wrongSmsCode) { try await kit.verifySms(registrationId: registration, code: code == "000000" ? "111111" : "000000") }
        let me = try await kit.verifySms(registrationId: registration, code: code)
        XCTAssertEqual(me.userType, .teamMember)
        XCTAssertEqual(me.email, used)
        XCTAssertEqual(Set(me.permissions), [.renameLocks, .viewLogs])
        XCTAssertFalse(me.allLocks)
        XCTAssertEqual(me.unitIds, [site.unitA])
        let detail = try await admin.request("GET", "/api/v1/users/\(id)")
        XCTAssertEqual(detail["username"] as? String, username.lowercased())

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
