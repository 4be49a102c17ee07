package com.lockaccess.kit

import com.lockaccess.core.AccessException
import com.lockaccess.core.checkPhone
import com.lockaccess.core.errorMessage
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The core's text through the generated bindings: the `+1` phone rule for live validation
 * (`checkPhone`) and the core's wording of every error case (`errorMessage`), no server needed.
 */
class CoreTextTest {
    @Test
    fun checkPhoneNormalizesWhatTheServerAccepts() {
        assertEquals("+15551234567", checkPhone("+1 (555) 123-4567"))
        assertEquals("+15551234567", checkPhone(" +1.555.123.4567 "))
    }

    @Test
    fun checkPhoneRefusesWithTheExpectedForm() {
        for (typed in listOf("", "5551234567", "+44 20 7946 0958", "+1 555 123")) {
            val e = assertThrows(AccessException.InvalidPhone::class.java) { checkPhone(typed) }
            assertTrue(e.reason.contains("+15551234567"), "$typed: ${e.reason}")
        }
    }

    @Test
    fun errorMessageIsTheCoreTextOfUnitAndFieldCases() {
        assertEquals("The SMS code is wrong.", errorMessage(AccessException.WrongSmsCode()))
        assertEquals("Your access has been revoked.", errorMessage(AccessException.Revoked()))
        assertEquals(
            "No connection to the server: connection refused",
            errorMessage(AccessException.Offline("connection refused")),
        )
        assertEquals("Server error teapot: short", errorMessage(AccessException.Server("teapot", "short")))
    }

    /** Until the kit takes its text from `errorMessage`, its copies must not drift from it. */
    @Test
    fun kitErrorTextMatchesTheCoreForEveryCase() {
        val d = "detail"
        val every = listOf(
            AccessException.InvalidPhone(d), AccessException.InvalidInput(d), AccessException.WrongSmsCode(),
            AccessException.SmsCodeExpired(), AccessException.TooManyAttempts(),
            AccessException.InvitationExpired(), AccessException.InvitationInvalid(d),
            AccessException.InvalidCredentials(), AccessException.NotAllowed(d), AccessException.NotFound(),
            AccessException.Offline(d), AccessException.Timeout(), AccessException.Revoked(),
            AccessException.WrongApp(d), AccessException.NotSignedIn(), AccessException.Server("c", d),
            AccessException.BadResponse(d), AccessException.Storage(d), AccessException.LockOutOfRange(d),
            AccessException.LockTimeout(d), AccessException.RefusedByLock(d), AccessException.WrongPairingCode(),
            AccessException.Bluetooth(d), AccessException.ClientSetup(d),
        )
        for (e in every) {
            assertEquals(errorMessage(e), e.toKitError().message, e::class.simpleName)
        }
    }
}
