import AccessCore
import AccessKit
import Foundation

// MARK: registration

/// Where registration stands.
public enum RegistrationStep: Equatable, Sendable {
    /// The form: invitation, email, phone, password, name, username.
    case details
    /// The SMS code was sent; `registrationId` completes it.
    case smsCode(registrationId: String)
    /// Registered and signed in.
    case done(UserInfo)
}

public struct RegistrationState: Equatable, Sendable {
    /// The app being registered for (its name heads the form).
    public var app: App
    /// The invitation link, or the code from the invitation mail, as typed or opened.
    public var invitation = ""
    public var email = ""
    public var phone = ""
    /// The core's `checkPhone` message while the phone does not follow the `+1` rule; nil
    /// while the field is empty or right.
    public var phoneProblem: String?
    public var password = ""
    public var name = ""
    /// 3 to 32 of a-z 0-9 . _ -, unique in the organization (the server says when it is taken).
    public var username = ""
    /// The core's `checkUsername` message (the rule's sentence) while the username does not
    /// follow the rule; nil while the field is empty or right.
    public var usernameProblem: String?
    public var smsCode = ""
    public var step: RegistrationStep = .details
    public var busy = false
    /// What went wrong last, in the core's words.
    public var problem: String?
}

/// Registration from an invitation: the link the phone opened or the code typed from the
/// mail, the details with the `+1` phone and the username checked as they are typed (a wrong
/// username stops `submit` before anything is sent), then the texted code.
public final class RegistrationPresenter: Presenter<RegistrationState>, @unchecked Sendable {
    private let kit: AccessKit

    public init(kit: AccessKit, app: App, invitation: String = "") {
        self.kit = kit
        super.init(RegistrationState(app: app, invitation: invitation))
    }

    /// The phone opened an invitation link (universal link / app link).
    public func openedLink(_ url: String) {
        update {
            $0.invitation = url
            $0.step = .details
            $0.problem = nil
        }
    }

    /// The invitation field, where the code from the mail can be typed.
    public func invitationChanged(_ text: String) { update { $0.invitation = text; $0.problem = nil } }
    public func emailChanged(_ text: String) { update { $0.email = text } }
    public func passwordChanged(_ text: String) { update { $0.password = text } }
    public func nameChanged(_ text: String) { update { $0.name = text } }
    public func smsCodeChanged(_ text: String) { update { $0.smsCode = text } }

    /// Checks the phone with the core's rule as it is typed.
    public func phoneChanged(_ text: String) {
        let problem = Self.phoneProblem(text)
        update {
            $0.phone = text
            $0.phoneProblem = problem
        }
    }

    /// Checks the username with the core's rule as it is typed.
    public func usernameChanged(_ text: String) {
        let problem = text.trimmingCharacters(in: .whitespaces).isEmpty ? nil : Self.usernameProblem(text)
        update {
            $0.username = text
            $0.usernameProblem = problem
        }
    }

    /// The rule's sentence for `username` (an empty one too), or nil when it follows the rule.
    static func usernameProblem(_ username: String) -> String? {
        do {
            _ = try AccessKit.checkUsername(username)
            return nil
        } catch {
            return message(error)
        }
    }

    static func phoneProblem(_ phone: String) -> String? {
        if phone.trimmingCharacters(in: .whitespaces).isEmpty { return nil }
        do {
            _ = try AccessKit.checkPhone(phone)
            return nil
        } catch {
            return message(error)
        }
    }

    /// Sends the details; the server texts a code to the phone.
    public func submit() async {
        let s = state
        guard case .details = s.step, !s.busy else { return }
        // An empty username too: the rule's sentence on the field, and nothing sent.
        if let problem = Self.usernameProblem(s.username) {
            update {
                $0.usernameProblem = problem
                $0.problem = problem
            }
            return
        }
        update {
            $0.busy = true
            $0.problem = nil
        }
        do {
            let id = try await kit.register(invitation: s.invitation.trimmingCharacters(in: .whitespacesAndNewlines),
                                            email: s.email, phone: s.phone, password: s.password, name: s.name,
                                            username: s.username)
            update {
                $0.step = .smsCode(registrationId: id)
                $0.busy = false
            }
        } catch {
            let e = kitError(error)
            update {
                $0.busy = false
                if case .invalidPhone(let m) = e { $0.phoneProblem = m }
                $0.problem = message(e)
            }
        }
    }

    /// Completes registration with the texted code, and signs in.
    public func verify() async {
        let s = state
        guard case .smsCode(let id) = s.step, !s.busy else { return }
        update {
            $0.busy = true
            $0.problem = nil
        }
        do {
            let user = try await kit.verifySms(registrationId: id, code: s.smsCode.trimmingCharacters(in: .whitespaces))
            update {
                $0.step = .done(user)
                $0.busy = false
            }
        } catch {
            update {
                $0.busy = false
                $0.problem = message(error)
            }
        }
    }
}

// MARK: sign-in

public struct SignInState: Equatable, Sendable {
    public var email = ""
    public var password = ""
    public var busy = false
    public var problem: String?
    public var signedIn: UserInfo?
}

public final class SignInPresenter: Presenter<SignInState>, @unchecked Sendable {
    private let kit: AccessKit

    public init(kit: AccessKit) {
        self.kit = kit
        super.init(SignInState())
    }

    public func emailChanged(_ text: String) { update { $0.email = text } }
    public func passwordChanged(_ text: String) { update { $0.password = text } }

    public func submit() async {
        let s = state
        guard !s.busy else { return }
        update {
            $0.busy = true
            $0.problem = nil
        }
        do {
            let user = try await kit.login(email: s.email.trimmingCharacters(in: .whitespaces), password: s.password)
            update {
                $0.busy = false
                $0.signedIn = user
                $0.password = ""
            }
        } catch {
            update {
                $0.busy = false
                $0.problem = message(error)
            }
        }
    }
}

// MARK: password reset

/// Where a password reset stands.
public enum PasswordResetStep: Equatable, Sendable {
    /// The email to send the link to.
    case request
    /// The link and the code are on their way: `sentence` is the server's (nil for a link
    /// the phone opened).
    case confirm(sentence: String?)
    /// The password is set and every session of the account ended: ``PasswordResetState/done``.
    case done
}

public struct PasswordResetState: Equatable, Sendable {
    public static let emptyCode = "Enter the 6-digit code we texted to your phone."
    public static let done = "Done: sign in with the new password."

    public var email = ""
    /// The link from the reset mail, or the code (its token) the mail gives to type.
    public var link = ""
    public var smsCode = ""
    /// Empty, or wrong (the core's word); nil otherwise.
    public var codeProblem: String?
    public var newPassword = ""
    /// The core's password rule's sentence when it refuses the password; nil otherwise.
    public var passwordProblem: String?
    public var step: PasswordResetStep = .request
    public var busy = false
    /// The core's message for the last refusal (a used or expired link, offline, ...).
    public var problem: String?
}

/// Forgot password, in two steps. `.request`: the email; ``request()`` asks the server,
/// which mails a reset link and texts a code to the account's phone, and shows the server's
/// sentence. `.confirm`: the link (or its token) from the mail, the texted code and the new
/// password; ``confirm()`` sets it and every session of the account ends (`.done`: sign in
/// with the new password). An empty code and a short password are shown on their fields and
/// nothing is sent; the server's refusals (a wrong code, a used, replaced or expired link)
/// are the core's words.
public final class PasswordResetPresenter: Presenter<PasswordResetState>, @unchecked Sendable {
    private let kit: AccessKit

    public init(kit: AccessKit, email: String = "") {
        self.kit = kit
        super.init(PasswordResetState(email: email))
    }

    public func emailChanged(_ text: String) { update { $0.email = text; $0.problem = nil } }

    /// Asks for a reset link and code; on success shows the server's sentence and the next step.
    public func request() async {
        let s = state
        guard case .request = s.step, !s.busy else { return }
        update {
            $0.busy = true
            $0.problem = nil
        }
        do {
            let sentence = try await kit.requestPasswordReset(email: s.email)
            update {
                $0.busy = false
                $0.step = .confirm(sentence: sentence)
            }
        } catch {
            update {
                $0.busy = false
                $0.problem = message(error)
            }
        }
    }

    /// A reset link the phone opened (or pasted before asking): straight to the second step.
    public func openedLink(_ url: String) {
        update {
            $0.link = url
            $0.problem = nil
            if case .confirm = $0.step {} else { $0.step = .confirm(sentence: nil) }
        }
    }

    public func linkChanged(_ text: String) { update { $0.link = text; $0.problem = nil } }
    public func smsCodeChanged(_ text: String) { update { $0.smsCode = text; $0.codeProblem = nil; $0.problem = nil } }
    public func newPasswordChanged(_ text: String) {
        update { $0.newPassword = text; $0.passwordProblem = nil; $0.problem = nil }
    }

    /// Back to the first step (e.g. the link expired: ask for a new one).
    public func startOver() { update { $0 = PasswordResetState(email: $0.email) } }

    /// Sets the new password with the link and the code.
    public func confirm() async {
        let s = state
        guard case .confirm = s.step, !s.busy else { return }
        let codeProblem = s.smsCode.trimmingCharacters(in: .whitespaces).isEmpty ? PasswordResetState.emptyCode : nil
        let passwordProblem: String?
        do {
            try AccessKit.checkPassword(s.newPassword)
            passwordProblem = nil
        } catch {
            passwordProblem = message(error)
        }
        if codeProblem != nil || passwordProblem != nil {
            update {
                $0.codeProblem = codeProblem
                $0.passwordProblem = passwordProblem
                $0.problem = nil
            }
            return
        }
        update {
            $0.busy = true
            $0.problem = nil
            $0.codeProblem = nil
            $0.passwordProblem = nil
        }
        do {
            try await kit.confirmPasswordReset(linkOrToken: s.link.trimmingCharacters(in: .whitespacesAndNewlines),
                                               smsCode: s.smsCode, newPassword: s.newPassword)
            update {
                $0.busy = false
                $0.step = .done
                $0.smsCode = ""
                $0.newPassword = ""
            }
        } catch {
            let e = kitError(error)
            update {
                $0.busy = false
                $0.problem = message(e)
                $0.codeProblem = e == .wrongSmsCode ? message(e) : nil
            }
        }
    }
}

// MARK: session (the app's root)

public enum SessionScreen: Equatable, Sendable {
    case signIn
    case register(invitation: String)
    /// Forgot password (``PasswordResetPresenter``), from sign-in with the email typed there.
    case passwordReset(email: String)
    case home(UserInfo)
}

public struct SessionState: Equatable, Sendable {
    public var screen: SessionScreen = .signIn
    /// Why the app went back to sign-in (e.g. access revoked), in the core's words.
    public var problem: String?
}

/// The app's root: which screen shows, from the stored session (offline too), links the
/// phone opens, sign-in and sign-out, and errors that end the session.
public final class SessionPresenter: Presenter<SessionState>, @unchecked Sendable {
    private let kit: AccessKit

    public init(kit: AccessKit) {
        self.kit = kit
        super.init(SessionState())
    }

    /// Reads the signed-in user the core kept (works offline).
    public func started() async {
        do {
            let user = try await kit.currentUser()
            update { $0.screen = user.map(SessionScreen.home) ?? .signIn }
        } catch {
            update {
                $0.screen = .signIn
                $0.problem = message(error)
            }
        }
    }

    /// An invitation link opened the app.
    public func openedLink(_ url: String) { update { $0.screen = .register(invitation: url); $0.problem = nil } }

    /// Sign-in's "Forgot password?": the reset screen, with the email typed so far.
    public func forgotPassword(email: String = "") { update { $0.screen = .passwordReset(email: email); $0.problem = nil } }

    /// Back from registration or the password reset to sign-in.
    public func backToSignIn() { update { $0.screen = .signIn; $0.problem = nil } }

    /// Sign-in or registration finished.
    public func signedIn(_ user: UserInfo) { update { $0.screen = .home(user); $0.problem = nil } }

    /// Signs out: the core wipes the cache, the queue and the stored session.
    public func signOut() async {
        do {
            try await kit.logout()
            update { $0.screen = .signIn; $0.problem = nil }
        } catch {
            let e = kitError(error)
            update {
                if e.needsSignIn { $0.screen = .signIn }
                $0.problem = message(e)
            }
        }
    }

    /// An error from any screen: one that needs sign-in (revoked, signed out) ends the session.
    public func problem(_ error: AccessKitError) {
        guard error.needsSignIn else { return }
        update {
            $0.screen = .signIn
            // Signing out is not a problem to show.
            $0.problem = error == .notSignedIn ? nil : message(error)
        }
    }
}
