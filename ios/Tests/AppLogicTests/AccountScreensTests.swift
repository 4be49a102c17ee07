import AccessCore
import AccessKit
@testable import AppLogic
import XCTest

/// Registration, sign-in and the session root, each error state of docs/app-screens.md
/// reached against the real server.
final class AccountScreensTests: XCTestCase {
    func testAnExpiredInvitationSaysSoAndTheResentOneRegisters() async throws {
        let admin = try await Admin.login()
        let email = Env.email("late")
        let tag = Env.tag()
        let unit = try await admin.unit(try await admin.property("Elm \(tag)"), "Unit 2")
        let user = try await admin.invite("resident", email, permissions: [], unitIds: [unit])
        let expired = try await admin.invitationCode(email)
        try await Server.expireInvitations()

        let reg = RegistrationPresenter(kit: try Env.kit(.nokeyResident), app: .nokeyResident)
        reg.invitationChanged(expired)
        reg.emailChanged(email)
        reg.phoneChanged(Env.phone())
        reg.passwordChanged("pw-123456789")
        reg.nameChanged("Kim Late")
        reg.usernameChanged(Env.username(email))
        await reg.submit()
        XCTAssertEqual(reg.state.step, .details)
        XCTAssertEqual(reg.state.problem, AccessKitError.invitationExpired.errorDescription, "\(reg.state)")

        // Resent: a new code, and the registration goes on.
        try await admin.resendInvite(user)
        let fresh = try await admin.invitationCode(email)
        XCTAssertNotEqual(fresh, expired)
        reg.invitationChanged(fresh)
        await reg.submit()
        guard case .smsCode = reg.state.step else { return XCTFail("no SMS step: \(reg.state)") }
    }

    func testRegistrationRefusesABadCodeAPhoneWithoutPlusOneAWrongSmsCodeAndNoNetwork() async throws {
        let admin = try await Admin.login()
        let email = Env.email("res")
        let tag = Env.tag()
        let unit = try await admin.unit(try await admin.property("Birch \(tag)"), "Unit 1")
        _ = try await admin.invite("resident", email, permissions: [], unitIds: [unit])

        // No network: the kit cannot reach the server.
        let away = RegistrationPresenter(kit: try Env.offlineKit(.nokeyResident), app: .nokeyResident)
        away.invitationChanged(try await admin.invitationCode(email))
        away.emailChanged(email)
        away.phoneChanged(Env.phone())
        away.passwordChanged("pw-123456789")
        away.nameChanged("Sam Lee")
        away.usernameChanged(Env.username(email))
        await away.submit()
        XCTAssertEqual(away.state.step, .details)
        XCTAssertTrue(away.state.problem?.contains("No connection to the server") == true, "\(away.state)")

        let reg = RegistrationPresenter(kit: try Env.kit(.nokeyResident), app: .nokeyResident)
        let seen = Recorder(reg)
        // A code that is no invitation.
        reg.invitationChanged("not-an-invitation")
        reg.emailChanged(email)
        reg.passwordChanged("pw-123456789")
        reg.nameChanged("Sam Lee")
        reg.phoneChanged(Env.phone())

        // The username as it is typed: nothing while empty, the rule's sentence otherwise; on
        // submit an empty or wrong one stays on its field and nothing is sent.
        let early = Env.phone()
        reg.phoneChanged(early)
        reg.invitationChanged(try await admin.invitationCode(email))
        await reg.submit()
        let empty = try XCTUnwrap(reg.state.usernameProblem)
        XCTAssertTrue(empty.hasPrefix("Choose a username."), empty)
        XCTAssertEqual(reg.state.problem, empty)
        XCTAssertEqual(reg.state.step, .details)
        reg.usernameChanged("sa")
        XCTAssertTrue(reg.state.usernameProblem?.contains("3 to 32") == true, "\(reg.state)")
        reg.usernameChanged("")
        XCTAssertNil(reg.state.usernameProblem)
        reg.usernameChanged("sam lee")
        let spaced = try XCTUnwrap(reg.state.usernameProblem)
        XCTAssertTrue(spaced.contains("may not contain ' '"), spaced)
        await reg.submit()
        XCTAssertEqual(reg.state.usernameProblem, spaced)
        XCTAssertEqual(reg.state.step, .details)
        let texted = try await admin.messages("sms", to: early)
        XCTAssertTrue(texted.isEmpty, "no code sent with a wrong username: \(texted)")
        let username = Env.username(email)
        reg.usernameChanged(username.uppercased())
        XCTAssertNil(reg.state.usernameProblem)

        reg.invitationChanged("not-an-invitation")
        await reg.submit()
        XCTAssertEqual(reg.state.step, .details)
        XCTAssertNotNil(reg.state.problem)
        XCTAssertTrue(seen.states.contains { $0.busy }, "busy while sending")
        XCTAssertFalse(reg.state.busy)

        // The phone is checked with the core's rule as it is typed; empty is no problem.
        reg.invitationChanged(try await admin.invitationCode(email))
        XCTAssertNil(reg.state.problem)
        reg.phoneChanged("5551234567")
        let phoneProblem = try XCTUnwrap(reg.state.phoneProblem)
        XCTAssertTrue(phoneProblem.contains("+15551234567"), phoneProblem)
        reg.phoneChanged("")
        XCTAssertNil(reg.state.phoneProblem)
        reg.phoneChanged("555 123")
        XCTAssertNotNil(reg.state.phoneProblem)
        await reg.submit()
        XCTAssertEqual(reg.state.step, .details, "nothing sent with a wrong phone")
        XCTAssertEqual(reg.state.problem, reg.state.phoneProblem)

        let phone = Env.phone()
        let digits = Array(phone.dropFirst(2))
        reg.phoneChanged("+1 (\(String(digits[0..<3]))) \(String(digits[3..<6]))-\(String(digits[6...]))")
        XCTAssertNil(reg.state.phoneProblem)
        await reg.submit()
        guard case .smsCode = reg.state.step else { return XCTFail("no SMS step: \(reg.state)") }
        let code = try await admin.smsCode(phone)
        reg.smsCodeChanged(code == "000000" ? "111111" : "000000")
        await reg.verify()
        XCTAssertEqual(reg.state.problem, AccessKitError.wrongSmsCode.errorDescription)
        guard case .smsCode = reg.state.step else { return XCTFail("left the SMS step: \(reg.state)") }
        reg.smsCodeChanged(code)
        await reg.verify()
        guard case .done(let user) = reg.state.step else { return XCTFail("not registered: \(reg.state)") }
        XCTAssertEqual(user.userType, .resident)
        XCTAssertNil(reg.state.problem)
        // Kept in lower case.
        let detail = try await admin.request("GET", "/api/v1/users/\(user.id)")
        XCTAssertEqual(detail["username"] as? String, username)

        // Someone else of the organization choosing the same username (in another case): the
        // server's sentence, and the form stays.
        let other = Env.email("res")
        _ = try await admin.invite("resident", other, permissions: [], unitIds: [unit])
        let second = RegistrationPresenter(kit: try Env.kit(.nokeyResident), app: .nokeyResident)
        second.openedLink(try await admin.invitationLink(other))
        second.emailChanged(other)
        second.phoneChanged(Env.phone())
        second.passwordChanged("pw-123456789")
        second.nameChanged("Sam Other")
        second.usernameChanged(username.uppercased())
        await second.submit()
        XCTAssertEqual(second.state.problem, "This username is taken in your organization; choose another one.")
        XCTAssertEqual(second.state.step, .details)
        second.usernameChanged(Env.username(other))
        await second.submit()
        guard case .smsCode = second.state.step else { return XCTFail("no SMS step: \(second.state)") }
    }

    func testATeamMembersInvitationOpenedInNoKeyResidentNamesTheRightApp() async throws {
        let admin = try await Admin.login()
        let email = Env.email("staff")
        let unit = try await admin.unit(try await admin.property("Cedar \(Env.tag())"), "Unit 2")
        _ = try await admin.invite("team_member", email, permissions: ["view_logs"], unitIds: [unit])

        let reg = RegistrationPresenter(kit: try Env.kit(.nokeyResident), app: .nokeyResident)
        let link = try await admin.invitationLink(email)
        // The server's link is Access Manager's (the path that app claims: AppFilesTests).
        XCTAssertTrue(link.contains("/invite/access-manager?"), link)
        reg.openedLink(link)
        reg.emailChanged(email)
        let phone = Env.phone()
        reg.phoneChanged(phone)
        reg.passwordChanged("pw-123456789")
        reg.nameChanged("Kim Staff")
        reg.usernameChanged(Env.username(email))
        await reg.submit()
        if case .smsCode = reg.state.step {
            reg.smsCodeChanged(try await admin.smsCode(phone))
            await reg.verify()
        }
        if case .done = reg.state.step { XCTFail("NoKey Resident registered a team member") }
        let problem = try XCTUnwrap(reg.state.problem)
        XCTAssertTrue(problem.contains("Access Manager"), problem)

        // The same account in Access Manager's sign-in works; in NoKey's it is the wrong app.
        let wrong = SignInPresenter(kit: try Env.kit(.nokeyResident))
        wrong.emailChanged(email)
        wrong.passwordChanged("pw-123456789")
        await wrong.submit()
        XCTAssertNil(wrong.state.signedIn)
        XCTAssertTrue(wrong.state.problem?.contains("Access Manager") == true, "\(wrong.state)")
        let right = SignInPresenter(kit: try Env.kit(.accessManager))
        right.emailChanged(email)
        right.passwordChanged("pw-123456789")
        await right.submit()
        XCTAssertEqual(right.state.signedIn?.email, email)
        XCTAssertNil(right.state.problem)
        XCTAssertEqual(right.state.password, "")
    }

    func testSignInRefusesAWrongPasswordThenTooManyAttemptsAndNoNetwork() async throws {
        let admin = try await Admin.login()
        let email = Env.email("locked")
        let unit = try await admin.unit(try await admin.property("Elm \(Env.tag())"), "Unit 3")
        _ = try await admin.invite("team_member", email, permissions: ["view_logs"], unitIds: [unit])
        try await registerWithKit(try Env.kit(.accessManager), admin, email: email)

        let away = SignInPresenter(kit: try Env.offlineKit(.accessManager))
        away.emailChanged(email)
        away.passwordChanged("pw-123456789")
        await away.submit()
        XCTAssertNil(away.state.signedIn)
        XCTAssertTrue(away.state.problem?.contains("No connection to the server") == true, "\(away.state)")

        let signIn = SignInPresenter(kit: try Env.kit(.accessManager))
        signIn.emailChanged(email)
        signIn.passwordChanged("not-the-password")
        await signIn.submit()
        XCTAssertEqual(signIn.state.problem, AccessKitError.invalidCredentials.errorDescription)
        // The server counts failures per email: after five, even the right password waits.
        for _ in 0..<4 { await signIn.submit() }
        signIn.passwordChanged("pw-123456789")
        await signIn.submit()
        XCTAssertNil(signIn.state.signedIn)
        XCTAssertEqual(signIn.state.problem, AccessKitError.tooManyAttempts.errorDescription)
    }

    func testAForgottenPasswordIsResetWithTheMailedLinkAndTheTextedCodeOnce() async throws {
        let admin = try await Admin.login()
        let email = Env.email("forgot")
        let phone = Env.phone()
        let unit = try await admin.unit(try await admin.property("Ash \(Env.tag())"), "Unit 5")
        _ = try await admin.invite("team_member", email, permissions: ["view_logs"], unitIds: [unit])
        let kit = try Env.kit(.accessManager)
        try await registerWithKit(kit, admin, email: email, phone: phone)
        try await kit.logout()

        // Sign-in's "Forgot password?" opens the reset with the email typed there.
        let session = SessionPresenter(kit: kit)
        await session.started()
        XCTAssertEqual(session.state.screen, .signIn)
        session.forgotPassword(email: email)
        XCTAssertEqual(session.state.screen, .passwordReset(email: email))

        // Step 1: the email; the core refuses one that is none, then the server's sentence.
        let reset = PasswordResetPresenter(kit: kit, email: "not an email")
        let seen = Recorder(reset)
        await reset.request()
        XCTAssertEqual(reset.state.problem, "Enter the email address you sign in with.")
        XCTAssertEqual(reset.state.step, .request)
        reset.emailChanged(email.uppercased())
        XCTAssertNil(reset.state.problem)
        await reset.request()
        guard case .confirm(let told?) = reset.state.step else { return XCTFail("no second step: \(reset.state)") }
        XCTAssertTrue(told.hasPrefix("If this email belongs to an active account"), told)
        XCTAssertTrue(seen.states.contains { $0.busy }, "busy while sending")
        // An email without an account gets the very same sentence.
        let nobody = PasswordResetPresenter(kit: kit, email: Env.email("nobody"))
        await nobody.request()
        XCTAssertEqual(nobody.state.step, .confirm(sentence: told))
        let (link, code) = try await admin.passwordReset(email, phone: phone)

        // Step 2: an empty code and a short password stay on their fields; nothing is sent.
        reset.linkChanged(link)
        reset.newPasswordChanged("short")
        await reset.confirm()
        XCTAssertEqual(reset.state.codeProblem, PasswordResetState.emptyCode)
        XCTAssertEqual(reset.state.passwordProblem, "The password must be at least 8 characters long.")
        XCTAssertEqual(reset.state.step, .confirm(sentence: told))
        // A wrong code: the core's word on the code field, and the link still works after.
        reset.smsCodeChanged(code == "000000" ? "111111" : "000000")
        XCTAssertNil(reset.state.codeProblem)
        reset.newPasswordChanged("new-password-1")
        XCTAssertNil(reset.state.passwordProblem)
        await reset.confirm()
        XCTAssertEqual(reset.state.codeProblem, AccessKitError.wrongSmsCode.errorDescription)
        XCTAssertEqual(reset.state.problem, reset.state.codeProblem)
        XCTAssertEqual(reset.state.step, .confirm(sentence: told))
        // A link that is none.
        reset.smsCodeChanged(code)
        reset.linkChanged("https://access.example.com/reset-password")
        await reset.confirm()
        XCTAssertTrue(reset.state.problem?.contains("not a password reset link") == true, "\(reset.state)")
        // The mail's link and the texted code set the password.
        reset.linkChanged(link)
        await reset.confirm()
        XCTAssertEqual(reset.state.step, .done, "\(reset.state)")
        XCTAssertNil(reset.state.problem)
        XCTAssertEqual(reset.state.newPassword, "")
        session.backToSignIn()
        XCTAssertEqual(session.state.screen, .signIn)

        // The old password is refused at sign-in, the new one signs in.
        let signIn = SignInPresenter(kit: kit)
        signIn.emailChanged(email)
        signIn.passwordChanged("pw-123456789")
        await signIn.submit()
        XCTAssertEqual(signIn.state.problem, AccessKitError.invalidCredentials.errorDescription)
        XCTAssertNil(signIn.state.signedIn)
        signIn.passwordChanged("new-password-1")
        await signIn.submit()
        XCTAssertEqual(signIn.state.signedIn?.email, email, "\(signIn.state)")
        try await kit.logout()

        // The link is used up: the same link and code again are refused in the server's words.
        let again = PasswordResetPresenter(kit: kit)
        let token = try XCTUnwrap(URLComponents(string: link)?.queryItems?.first { $0.name == "token" }?.value)
        again.openedLink(token)
        XCTAssertEqual(again.state.step, .confirm(sentence: nil))
        again.smsCodeChanged(code)
        again.newPasswordChanged("new-password-2")
        await again.confirm()
        let refused = try XCTUnwrap(again.state.problem)
        XCTAssertTrue(refused.hasPrefix("This password reset link is not valid any more"), refused)
        XCTAssertEqual(again.state.step, .confirm(sentence: nil))
        signIn.passwordChanged("new-password-2")
        await signIn.submit()
        XCTAssertEqual(signIn.state.problem, AccessKitError.invalidCredentials.errorDescription,
                       "the refused reset changed nothing")
    }

    func testTheSessionStartsFromTheStoredUserOfflineOpensLinksAndEndsWhenAccessIsRevoked() async throws {
        let admin = try await Admin.login()
        let email = Env.email("gone")
        let unit = try await admin.unit(try await admin.property("Fir \(Env.tag())"), "Unit 4")
        let user = try await admin.invite("resident", email, permissions: [], unitIds: [unit])
        let dir = Env.deviceDir()
        let secrets = InMemorySecretStore()
        let kit = try AccessKit(serverURL: Env.serverURL, dataDirectory: dir, app: .nokeyResident, secrets: secrets,
                                requestTimeoutMs: 5_000)

        let session = SessionPresenter(kit: kit)
        await session.started()
        XCTAssertEqual(session.state.screen, .signIn)
        let link = try await admin.invitationLink(email)
        XCTAssertTrue(link.contains("/invite/nokey-resident?"), link)
        session.openedLink(link)
        XCTAssertEqual(session.state.screen, .register(invitation: link))
        try await registerWithKit(kit, admin, email: email)
        let stored = try await kit.currentUser()
        let me = try XCTUnwrap(stored)
        session.signedIn(me)
        XCTAssertEqual(session.state.screen, .home(me))

        // The same phone (same data and secrets) with no network: the stored user, home.
        let offline = SessionPresenter(kit: try AccessKit(serverURL: "http://127.0.0.1:9", dataDirectory: dir,
                                                          app: .nokeyResident, secrets: secrets))
        await offline.started()
        XCTAssertEqual(offline.state.screen, .home(me))

        // Revoked on the platform: the next sync of the home screen ends the session.
        try await admin.revoke(user)
        let doors = DoorsPresenter(kit: kit, bluetooth: BluetoothPresenter(platform: ScriptedBluetooth()))
        var ended: [DoorsEffect] = []
        let watching = doors.effects.observe { ended.append($0) }
        await doors.refresh()
        watching.cancel()
        guard case .sessionEnded(let error)? = ended.last else { return XCTFail("the session did not end: \(ended)") }
        XCTAssertEqual(error, .revoked)
        session.problem(error)
        XCTAssertEqual(session.state.screen, .signIn)
        XCTAssertEqual(session.state.problem, AccessKitError.revoked.errorDescription)
    }
}
