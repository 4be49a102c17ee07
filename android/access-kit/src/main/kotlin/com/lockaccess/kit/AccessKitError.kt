package com.lockaccess.kit

import com.lockaccess.core.AccessException
import com.lockaccess.core.InternalException

/**
 * Every failure an [AccessKit] call can end with, as the screens handle it.
 *
 * Mapped once, in [toKitError], from the generated [AccessException]; the `when` there is
 * exhaustive, so a case added to the core's error enum breaks the build here instead of
 * reaching a screen unhandled. [message] is text a screen can show as it is.
 *
 * ```
 * try { kit.register(link, email, phone, password, name) }
 * catch (e: AccessKitError.InvalidPhone) { phoneField.error = e.message }
 * ```
 */
sealed class AccessKitError(override val message: String, cause: Throwable?) : Exception(message, cause) {
    /** The phone does not follow the `+1` rule; [message] says what to type. */
    class InvalidPhone(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** Some other input was refused, by the core or by the server. */
    class InvalidInput(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class WrongSmsCode(cause: Throwable? = null) : AccessKitError("The SMS code is wrong.", cause)

    class SmsCodeExpired(cause: Throwable? = null) :
        AccessKitError("The SMS code has expired: register again to get a new one.", cause)

    class TooManyAttempts(cause: Throwable? = null) :
        AccessKitError("Too many attempts: wait a moment and try again.", cause)

    class InvitationExpired(cause: Throwable? = null) :
        AccessKitError("This invitation has expired: ask your administrator to resend it.", cause)

    /** Not an invitation link, or the invitation was voided (e.g. resent). */
    class InvitationInvalid(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class InvalidCredentials(cause: Throwable? = null) : AccessKitError("Wrong email or password.", cause)

    /** The user's permissions or access scope do not allow this; nothing was sent. */
    class NotAllowed(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class NotFound(cause: Throwable? = null) : AccessKitError("Not found.", cause)

    /** No connection to the server; actions that can wait were queued instead. */
    class Offline(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class Timeout(cause: Throwable? = null) : AccessKitError("The server did not answer in time.", cause)

    /** Access was revoked: the core has wiped the cache and the session. */
    class Revoked(cause: Throwable? = null) : AccessKitError("Your access has been revoked.", cause)

    /** This account belongs in the other app; [message] names it. */
    class WrongApp(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class NotSignedIn(cause: Throwable? = null) : AccessKitError("You are not signed in.", cause)

    /** The server refused with a code the core has no case for. */
    class Server(val code: String, message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** The server answered something that is not the API. */
    class BadResponse(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** The local database or the secret store failed. */
    class Storage(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** The lock is not advertising nearby, or the link to it was lost: move closer. */
    class LockOutOfRange(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** The lock did not answer in time. */
    class LockTimeout(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** The lock refused the command; [message] carries the lock's own reason. */
    class RefusedByLock(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class WrongPairingCode(cause: Throwable? = null) :
        AccessKitError("Wrong pairing code: check the code printed on the lock.", cause)

    /** The Bluetooth stack failed (no adapter, Bluetooth off, a broken answer). */
    class Bluetooth(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /**
     * This device cannot set up a connection to the server at all (e.g. no usable TLS
     * roots): not a network outage, so nothing is queued and retrying unchanged will not help.
     */
    class ClientSetup(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /**
     * The binding itself failed: a library that does not match its bindings, or a panic
     * inside the core on a build that unwinds (the debug one; the shipped library aborts on
     * a panic, see bindings/README.md). A bug, not user error.
     */
    class Internal(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** Whether trying again later, unchanged, may work (show "retry", keep queued work). */
    val isTransient: Boolean
        get() = this is Offline || this is Timeout || this is BadResponse || this is LockOutOfRange ||
            this is LockTimeout

    /** Whether the screen should go back to sign-in. */
    val needsSignIn: Boolean
        get() = this is NotSignedIn || this is Revoked
}

/** The one mapping from the generated exception to [AccessKitError]. */
fun AccessException.toKitError(): AccessKitError = when (this) {
    is AccessException.InvalidPhone -> AccessKitError.InvalidPhone(reason, this)
    is AccessException.InvalidInput -> AccessKitError.InvalidInput(reason, this)
    is AccessException.WrongSmsCode -> AccessKitError.WrongSmsCode(this)
    is AccessException.SmsCodeExpired -> AccessKitError.SmsCodeExpired(this)
    is AccessException.TooManyAttempts -> AccessKitError.TooManyAttempts(this)
    is AccessException.InvitationExpired -> AccessKitError.InvitationExpired(this)
    is AccessException.InvitationInvalid -> AccessKitError.InvitationInvalid(reason, this)
    is AccessException.InvalidCredentials -> AccessKitError.InvalidCredentials(this)
    is AccessException.NotAllowed -> AccessKitError.NotAllowed(reason, this)
    is AccessException.NotFound -> AccessKitError.NotFound(this)
    is AccessException.Offline -> AccessKitError.Offline("No connection to the server: $reason", this)
    is AccessException.Timeout -> AccessKitError.Timeout(this)
    is AccessException.Revoked -> AccessKitError.Revoked(this)
    is AccessException.WrongApp -> AccessKitError.WrongApp(reason, this)
    is AccessException.NotSignedIn -> AccessKitError.NotSignedIn(this)
    is AccessException.Server -> AccessKitError.Server(code, "Server error $code: $reason", this)
    is AccessException.BadResponse ->
        AccessKitError.BadResponse("Unexpected answer from the server: $reason", this)
    is AccessException.Storage -> AccessKitError.Storage("Local storage failed: $reason", this)
    is AccessException.LockOutOfRange -> AccessKitError.LockOutOfRange("The lock is out of range: $reason", this)
    is AccessException.LockTimeout -> AccessKitError.LockTimeout("The lock did not answer in time: $reason", this)
    is AccessException.RefusedByLock -> AccessKitError.RefusedByLock("The lock refused: $reason", this)
    is AccessException.WrongPairingCode -> AccessKitError.WrongPairingCode(this)
    is AccessException.Bluetooth -> AccessKitError.Bluetooth("Bluetooth: $reason", this)
    is AccessException.ClientSetup ->
        AccessKitError.ClientSetup("This device cannot set up a connection to the server: $reason", this)
}

/** Runs [block], turning the core's exception into [AccessKitError]. */
internal inline fun <T> mapped(block: () -> T): T =
    try {
        block()
    } catch (e: AccessException) {
        throw e.toKitError()
    } catch (e: InternalException) {
        throw AccessKitError.Internal("Internal error in the access core: ${e.message}", e)
    }
