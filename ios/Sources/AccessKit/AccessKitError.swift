import AccessCore
import Foundation

/// Every failure an ``AccessKit`` call can end with, as the screens handle it.
///
/// Mapped once, in ``AccessKitError/init(_:)``, from the generated `AccessError`; the
/// switch there is exhaustive, so a case added to the core breaks the build here instead
/// of reaching a screen unhandled. `errorDescription` is text a screen can show as it is.
///
/// ```swift
/// do { _ = try await kit.register(invitation: link, email: email, phone: phone, password: pw, name: name,
///                                 username: username) }
/// catch AccessKitError.invalidPhone(let message) { phoneError = message }
/// ```
public enum AccessKitError: Error, Equatable, Sendable {
    /// The phone does not follow the `+1` rule; the message says what to type.
    case invalidPhone(String)
    /// Some other input was refused, by the core or by the server.
    case invalidInput(String)
    case wrongSmsCode
    case smsCodeExpired
    case tooManyAttempts
    case invitationExpired
    /// Not an invitation link, or the invitation was voided (e.g. resent).
    case invitationInvalid(String)
    case invalidCredentials
    /// The user's permissions or access scope do not allow this; nothing was sent.
    case notAllowed(String)
    case notFound
    /// No connection to the server; actions that can wait were queued instead.
    case offline(String)
    case timeout
    /// Access was revoked: the core has wiped the cache and the session.
    case revoked
    /// This account belongs in the other app; the message names it.
    case wrongApp(String)
    case notSignedIn
    /// The server refused with a code the core has no case for.
    case server(code: String, message: String)
    /// The server answered something that is not the API.
    case badResponse(String)
    /// The local database or the secret store failed.
    case storage(String)
    /// The lock is not advertising nearby, or the link to it was lost: move closer.
    case lockOutOfRange(String)
    /// The lock did not answer in time.
    case lockTimeout(String)
    /// The lock refused the command; the message is the lock's own reason.
    case refusedByLock(String)
    /// The lock's mode does not let this user in now; the text says so.
    case notNow(String)
    case wrongPairingCode
    /// The Bluetooth stack failed (no adapter, Bluetooth off, a broken answer).
    case bluetooth(String)
    /// This device cannot set up a connection to the server at all (e.g. no usable TLS
    /// roots): not a network outage, so nothing is queued and retrying unchanged will not help.
    case clientSetup(String)
    /// The binding itself failed (a library that does not match its bindings, or a panic
    /// inside the core on a build that unwinds: the debug one; the shipped library aborts on
    /// a panic, see bindings/README.md): a bug, not user error.
    case `internal`(String)

    /// The one mapping from the generated error.
    public init(_ e: AccessError) {
        switch e {
        case .InvalidPhone(let m): self = .invalidPhone(m)
        case .InvalidInput(let m): self = .invalidInput(m)
        case .WrongSmsCode: self = .wrongSmsCode
        case .SmsCodeExpired: self = .smsCodeExpired
        case .TooManyAttempts: self = .tooManyAttempts
        case .InvitationExpired: self = .invitationExpired
        case .InvitationInvalid(let m): self = .invitationInvalid(m)
        case .InvalidCredentials: self = .invalidCredentials
        case .NotAllowed(let m): self = .notAllowed(m)
        case .NotFound: self = .notFound
        case .Offline(let m): self = .offline(m)
        case .Timeout: self = .timeout
        case .Revoked: self = .revoked
        case .WrongApp(let m): self = .wrongApp(m)
        case .NotSignedIn: self = .notSignedIn
        case .Server(let code, let m): self = .server(code: code, message: m)
        case .BadResponse(let m): self = .badResponse(m)
        case .Storage(let m): self = .storage(m)
        case .LockOutOfRange(let m): self = .lockOutOfRange(m)
        case .LockTimeout(let m): self = .lockTimeout(m)
        case .RefusedByLock(let reason): self = .refusedByLock(reason)
        case .NotNow(let m): self = .notNow(m)
        case .WrongPairingCode: self = .wrongPairingCode
        case .Bluetooth(let m): self = .bluetooth(m)
        case .ClientSetup(let reason): self = .clientSetup(reason)
        }
    }

    /// Whether trying again later, unchanged, may work (show "retry", keep queued work).
    /// The core's error this case stands for (`nil` for `.internal`): the kit's text and
    /// rules are the core's, computed from it.
    public var core: AccessError? {
        switch self {
        case .invalidPhone(let m): return .InvalidPhone(message: m)
        case .invalidInput(let m): return .InvalidInput(message: m)
        case .wrongSmsCode: return .WrongSmsCode
        case .smsCodeExpired: return .SmsCodeExpired
        case .tooManyAttempts: return .TooManyAttempts
        case .invitationExpired: return .InvitationExpired
        case .invitationInvalid(let m): return .InvitationInvalid(message: m)
        case .invalidCredentials: return .InvalidCredentials
        case .notAllowed(let m): return .NotAllowed(message: m)
        case .notFound: return .NotFound
        case .offline(let m): return .Offline(message: m)
        case .timeout: return .Timeout
        case .revoked: return .Revoked
        case .wrongApp(let m): return .WrongApp(message: m)
        case .notSignedIn: return .NotSignedIn
        case .server(let code, let m): return .Server(code: code, message: m)
        case .badResponse(let m): return .BadResponse(message: m)
        case .storage(let m): return .Storage(message: m)
        case .lockOutOfRange(let m): return .LockOutOfRange(message: m)
        case .lockTimeout(let m): return .LockTimeout(message: m)
        case .refusedByLock(let reason): return .RefusedByLock(reason: reason)
        case .notNow(let m): return .NotNow(message: m)
        case .wrongPairingCode: return .WrongPairingCode
        case .bluetooth(let m): return .Bluetooth(message: m)
        case .clientSetup(let reason): return .ClientSetup(reason: reason)
        case .internal: return nil
        }
    }

    /// Whether trying again later, unchanged, may work: the core's rule.
    public var isTransient: Bool { core.map { AccessCore.isTransient(error: $0) } ?? false }

    /// Whether the screen should go back to sign-in: the core's rule.
    public var needsSignIn: Bool { core.map { AccessCore.needsSignIn(error: $0) } ?? false }
}

extension AccessKitError: LocalizedError {
    /// The core's wording of the case.
    public var errorDescription: String? {
        switch core {
        case .some(let e): return errorMessage(error: e)
        case .none:
            guard case .internal(let m) = self else { return nil }
            return "Internal error in the access core: \(m)"
        }
    }
}

@inline(__always)
func mapped<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as AccessError {
        throw AccessKitError(e)
    } catch let e as AccessKitError {
        throw e
    } catch {
        throw AccessKitError.internal(String(describing: error))
    }
}

/// The synchronous twin of ``mapped(_:)`` (constructors).
@inline(__always)
func mappedSync<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as AccessError {
        throw AccessKitError(e)
    } catch {
        throw AccessKitError.internal(String(describing: error))
    }
}
