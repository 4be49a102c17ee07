package com.lockaccess.kit

import com.lockaccess.core.AccessException
import com.lockaccess.core.checkPhone
import com.lockaccess.core.errorMessage
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
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

    /** The kit's words and rules are the core's: its text, what may work later, sign-in. */
    @Test
    fun kitErrorsCarryTheCoresTextAndRules() {
        val outOfRange = AccessException.LockOutOfRange("not advertising").toKitError()
        assertEquals(errorMessage(AccessException.LockOutOfRange("not advertising")), outOfRange.message)
        assertTrue(outOfRange.isTransient)
        // A case only the core's rule knew: a server failure may pass.
        assertTrue(AccessException.Server("internal", "boom").toKitError().isTransient)
        assertFalse(AccessException.WrongSmsCode().toKitError().isTransient)
        assertTrue(AccessException.Revoked().toKitError().needsSignIn)
        assertFalse(AccessException.Offline("x").toKitError().needsSignIn)
    }
}
