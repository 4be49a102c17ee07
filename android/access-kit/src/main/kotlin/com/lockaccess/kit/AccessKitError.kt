package com.lockaccess.kit

import com.lockaccess.core.AccessException
import com.lockaccess.core.InternalException
import com.lockaccess.core.errorMessage
import com.lockaccess.core.isTransient as coreIsTransient
import com.lockaccess.core.needsSignIn as coreNeedsSignIn

/**
 * Every failure an [AccessKit] call can end with, as the screens handle it.
 *
 * Mapped once, in [toKitError], from the generated [AccessException]; the `when` there is
 * exhaustive, so a case added to the core's error enum breaks the build here instead of
 * reaching a screen unhandled. [message], [isTransient] and [needsSignIn] are the core's
 * own (`errorMessage`, `isTransient`, `needsSignIn`): the kit keeps no copy of them.
 *
 * ```
 * try { kit.register(link, email, phone, password, name, username) }
 * catch (e: AccessKitError.InvalidPhone) { phoneField.error = e.message }
 * ```
 */
sealed class AccessKitError(override val message: String, cause: Throwable?) : Exception(message, cause) {
    /** The core's error behind this one (none for [Internal]). */
    val core: AccessException? get() = cause as? AccessException

    /** The phone does not follow the `+1` rule; [message] says what to type. */
    class InvalidPhone(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** Some other input was refused, by the core or by the server. */
    class InvalidInput(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class WrongSmsCode(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class SmsCodeExpired(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class TooManyAttempts(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class InvitationExpired(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** Not an invitation link, or the invitation was voided (e.g. resent). */
    class InvitationInvalid(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class InvalidCredentials(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** The user's permissions or access scope do not allow this; nothing was sent. */
    class NotAllowed(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class NotFound(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** No connection to the server; actions that can wait were queued instead. */
    class Offline(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class Timeout(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** Access was revoked: the core has wiped the cache and the session. */
    class Revoked(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    /** This account belongs in the other app; [message] names it. */
    class WrongApp(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class NotSignedIn(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

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

    /** The lock's mode does not let this user in now; [message] says so. */
    class NotNow(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

    class WrongPairingCode(message: String, cause: Throwable? = null) : AccessKitError(message, cause)

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
        get() = core?.let { coreIsTransient(it) } ?: false

    /** Whether the screen should go back to sign-in. */
    val needsSignIn: Boolean
        get() = core?.let { coreNeedsSignIn(it) } ?: false
}

/** The one mapping from the generated exception to [AccessKitError]. */
fun AccessException.toKitError(): AccessKitError {
    val text = errorMessage(this)
    return when (this) {
        is AccessException.InvalidPhone -> AccessKitError.InvalidPhone(text, this)
        is AccessException.InvalidInput -> AccessKitError.InvalidInput(text, this)
        is AccessException.WrongSmsCode -> AccessKitError.WrongSmsCode(text, this)
        is AccessException.SmsCodeExpired -> AccessKitError.SmsCodeExpired(text, this)
        is AccessException.TooManyAttempts -> AccessKitError.TooManyAttempts(text, this)
        is AccessException.InvitationExpired -> AccessKitError.InvitationExpired(text, this)
        is AccessException.InvitationInvalid -> AccessKitError.InvitationInvalid(text, this)
        is AccessException.InvalidCredentials -> AccessKitError.InvalidCredentials(text, this)
        is AccessException.NotAllowed -> AccessKitError.NotAllowed(text, this)
        is AccessException.NotFound -> AccessKitError.NotFound(text, this)
        is AccessException.Offline -> AccessKitError.Offline(text, this)
        is AccessException.Timeout -> AccessKitError.Timeout(text, this)
        is AccessException.Revoked -> AccessKitError.Revoked(text, this)
        is AccessException.WrongApp -> AccessKitError.WrongApp(text, this)
        is AccessException.NotSignedIn -> AccessKitError.NotSignedIn(text, this)
        is AccessException.Server -> AccessKitError.Server(code, text, this)
        is AccessException.BadResponse -> AccessKitError.BadResponse(text, this)
        is AccessException.Storage -> AccessKitError.Storage(text, this)
        is AccessException.LockOutOfRange -> AccessKitError.LockOutOfRange(text, this)
        is AccessException.LockTimeout -> AccessKitError.LockTimeout(text, this)
        is AccessException.RefusedByLock -> AccessKitError.RefusedByLock(text, this)
        is AccessException.NotNow -> AccessKitError.NotNow(text, this)
        is AccessException.WrongPairingCode -> AccessKitError.WrongPairingCode(text, this)
        is AccessException.Bluetooth -> AccessKitError.Bluetooth(text, this)
        is AccessException.ClientSetup -> AccessKitError.ClientSetup(text, this)
    }
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
