import AccessCore
import Foundation

/// Every failure an ``AccessKit`` call can end with, as the screens handle it.
///
/// Mapped once, in ``AccessKitError/init(_:)``, from the generated `AccessError`; the
/// switch there is exhaustive, so a case added to the core breaks the build here instead
/// of reaching a screen unhandled. `errorDescription` is text a screen can show as it is.
///
/// ```swift
/// do { _ = try await kit.register(invitation: link, email: email, phone: phone, password: pw, name: name) }
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
        case .WrongPairingCode: self = .wrongPairingCode
        case .Bluetooth(let m): self = .bluetooth(m)
        case .ClientSetup(let reason): self = .clientSetup(reason)
        }
    }

    /// Whether trying again later, unchanged, may work (show "retry", keep queued work).
    public var isTransient: Bool {
        switch self {
        case .offline, .timeout, .badResponse, .lockOutOfRange, .lockTimeout: return true
        default: return false
        }
    }

    /// Whether the screen should go back to sign-in.
    public var needsSignIn: Bool { self == .notSignedIn || self == .revoked }
}

extension AccessKitError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case .invalidPhone(let m), .invalidInput(let m), .invitationInvalid(let m), .notAllowed(let m),
             .wrongApp(let m):
            return m
        case .wrongSmsCode: return "The SMS code is wrong."
        case .smsCodeExpired: return "The SMS code has expired: register again to get a new one."
        case .tooManyAttempts: return "Too many attempts: wait a moment and try again."
        case .invitationExpired: return "This invitation has expired: ask your administrator to resend it."
        case .invalidCredentials: return "Wrong email or password."
        case .notFound: return "Not found."
        case .offline(let m): return "No connection to the server: \(m)"
        case .timeout: return "The server did not answer in time."
        case .revoked: return "Your access has been revoked."
        case .notSignedIn: return "You are not signed in."
        case .server(let code, let m): return "Server error \(code): \(m)"
        case .badResponse(let m): return "Unexpected answer from the server: \(m)"
        case .storage(let m): return "Local storage failed: \(m)"
        case .lockOutOfRange(let m): return "The lock is out of range: \(m)"
        case .lockTimeout(let m): return "The lock did not answer in time: \(m)"
        case .refusedByLock(let m): return "The lock refused: \(m)"
        case .wrongPairingCode: return "Wrong pairing code: check the code printed on the lock."
        case .bluetooth(let m): return "Bluetooth: \(m)"
        case .clientSetup(let m): return "This device cannot set up a connection to the server: \(m)"
        case .internal(let m): return "Internal error in the access core: \(m)"
        }
    }
}

/// Runs `body`, turning the core's errors into ``AccessKitError``.
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
