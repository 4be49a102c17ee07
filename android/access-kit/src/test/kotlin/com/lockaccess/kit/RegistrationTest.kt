package com.lockaccess.kit

import com.lockaccess.core.Permission
import com.lockaccess.core.UserType
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The seed's flow from the app: invitation, +1 phone, SMS code, login, sync, list, search. */
class RegistrationTest {
    private val admin = TestServer.admin

    @Test
    fun aPhoneWithoutPlusOneIsTheTypedInvalidPhoneErrorWithWhatToType() = runBlocking<Unit> {
        val email = TestServer.email("nophone")
        admin.invite("team_member", email, listOf("view_logs"), allLocks)
        val link = admin.invitationLink(email)
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            val e = assertThrows<AccessKitError.InvalidPhone> {
                runBlocking { kit.register(link, email, "5551234567", "pw-123456789", "Pat", "pat.nophone") }
            }
            assertTrue(e.message.contains("+15551234567"), e.message)
            assertTrue(e.message.contains("+1"), e.message)
            // Letters after +1 are refused too, with their own explanation.
            val letters = assertThrows<AccessKitError.InvalidPhone> {
                runBlocking { kit.register(link, email, "+1 555 CALL NOW", "pw-123456789", "Pat", "pat.nophone") }
            }
            assertTrue(letters.message.contains("digits"), letters.message)
            assertNull(kit.currentUser())
        }
    }

    @Test
    fun aUsernameOutsideTheRuleIsRefusedBeforeAnyRequest() = runBlocking<Unit> {
        // The core's rule, local: lower case, trimmed; the rule's sentence otherwise.
        assertEquals("kim.lee", AccessKit.checkUsername(" Kim.Lee "))
        assertNull(AccessKit.usernameProblem(""))
        assertNull(AccessKit.usernameProblem("kim_lee-2"))
        assertTrue(AccessKit.usernameProblem("k")!!.contains("3 to 32"))
        assertTrue(AccessKit.usernameProblem("kim lee")!!.contains("may not contain"))
        assertThrows<AccessKitError.InvalidInput> { AccessKit.checkUsername("x".repeat(33)) }

        // A kit whose server is nowhere: a request would fail as Offline, so the username's
        // refusal proves nothing was sent.
        val link = "${TestServer.url}/invite/access-manager?token=" + "a".repeat(32)
        AccessKit.open(TestServer.NOWHERE, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            for (bad in listOf("", "k", "kim lee", "kim@lee")) {
                val e = assertThrows<AccessKitError.InvalidInput>(bad) {
                    runBlocking { kit.register(link, "kim@example.test", TestServer.phone(), "pw-123456789", "Kim", bad) }
                }
                assertTrue(e.message.contains("A username has 3 to 32 characters"), e.message)
            }
            assertThrows<AccessKitError.Offline> {
                runBlocking { kit.register(link, "kim@example.test", TestServer.phone(), "pw-123456789", "Kim", "kim.lee") }
            }
        }
    }

    @Test
    fun aPasswordResetIsRefusedLocallyUntilItsInputsCanBeRight() = runBlocking<Unit> {
        val token = "b".repeat(40)
        AccessKit.open(TestServer.NOWHERE, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            val email = assertThrows<AccessKitError.InvalidInput> { runBlocking { kit.requestPasswordReset("not an email") } }
            assertEquals("Enter the email address you sign in with.", email.message)
            val link = assertThrows<AccessKitError.InvalidInput> {
                runBlocking { kit.confirmPasswordReset("https://access.example.com/reset-password", "123456", "new-password-1") }
            }
            assertTrue(link.message.contains("not a password reset link"), link.message)
            assertThrows<AccessKitError.WrongSmsCode> { runBlocking { kit.confirmPasswordReset(token, " ", "new-password-1") } }
            val short = assertThrows<AccessKitError.InvalidInput> { runBlocking { kit.confirmPasswordReset(token, "123456", "short") } }
            assertTrue(short.message.contains("at least 8"), short.message)
            // Right-shaped inputs go to the server: here, nowhere.
            assertThrows<AccessKitError.Offline> { runBlocking { kit.confirmPasswordReset(token, "123456", "new-password-1") } }
            assertThrows<AccessKitError.Offline> { runBlocking { kit.requestPasswordReset("kim@example.test") } }
        }
        // The real server answers any email with the same sentence.
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            val sentence = kit.requestPasswordReset(TestServer.email("nobody"))
            assertTrue(sentence.startsWith("If this email belongs to an active account"), sentence)
            val gone = assertThrows<AccessKitError.InvalidInput> {
                runBlocking { kit.confirmPasswordReset("${TestServer.url}/reset-password?token=$token", "123456", "new-password-1") }
            }
            assertTrue(gone.message.contains("not valid any more"), gone.message)
        }
    }

    @Test
    fun registerWithTheSmsCodeThenLoginSyncListAndSearch() = runBlocking<Unit> {
        val tag = TestServer.email("t").substringBefore('@')
        val site = Site(admin, tag)
        val invited = TestServer.email("pat")
        val used = TestServer.email("pat.personal")
        val id = admin.invite("team_member", invited, listOf("rename_locks", "view_logs"), units(site.unitA))
        val link = admin.invitationLink(invited)
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            // Another email than the invited one, and a +1 number with punctuation.
            val phone = TestServer.phone()
            val formatted = "+1 (${phone.substring(2, 5)}) ${phone.substring(5, 8)}-${phone.substring(8)}"
            // The username as typed; the organization keeps it in lower case.
            val username = "Pat." + tag.takeLast(8)
            val registration = kit.register(link, used, formatted, "pw-123456789", "Pat Doe", username)
            val code = admin.smsCode(phone)
            val wrong = if (code == "000000") "111111" else "000000"
            assertThrows<AccessKitError.WrongSmsCode> { runBlocking { kit.verifySms(registration, wrong) } }
            val me = kit.verifySms(registration, code)
            assertEquals(UserType.TEAM_MEMBER, me.userType)
            assertEquals(used, me.email)
            assertEquals(setOf(Permission.RENAME_LOCKS, Permission.VIEW_LOGS), me.permissions.toSet())
            assertFalse(me.allLocks)
            assertEquals(listOf(site.unitA), me.unitIds)
            assertEquals(username.lowercase(), admin.get("/api/v1/users/$id")["username"])

            val summary = kit.syncNow()
            assertTrue(summary.full)
            assertEquals(2uL, summary.totalLocks)
            assertEquals(listOf("Front Door $tag", "Patio $tag"), kit.locks().map { it.name })
            assertEquals(listOf("Front Door $tag"), kit.search("front").map { it.name })
            assertEquals(2, kit.search("4B").size)
            assertEquals(listOf("Front Door $tag"), kit.search("4B", limit = 1u).map { it.name })
            assertEquals(2, kit.search("Oakwood $tag").size)
            assertEquals(0, kit.search("Garage").size)
            assertThrows<AccessKitError.NotFound> { runBlocking { kit.lock(site.garage) } }

            // Log out wipes; log in with the email used at registration.
            kit.logout()
            assertNull(kit.currentUser())
            assertEquals(0, kit.locks().size)
            assertThrows<AccessKitError.NotSignedIn> { runBlocking { kit.syncNow() } }
            assertThrows<AccessKitError.InvalidCredentials> { runBlocking { kit.login(used, "wrong-password") } }
            assertEquals(used, kit.login(used, "pw-123456789").email)
            kit.syncNow()
            assertEquals(2, kit.locks().size)
        }
    }

    @Test
    fun aResidentAccountIsRefusedByAccessManagerAndSeesItsPasscodeInNokey() = runBlocking<Unit> {
        val tag = TestServer.email("r").substringBefore('@')
        val site = Site(admin, tag)
        val email = TestServer.email("resident")
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("resident"), InMemorySecretStore()).use { kit ->
            onboard(kit, "resident", email, emptyList(), units(site.unitB))
            kit.syncNow()
            assertEquals(listOf("Garage $tag"), kit.locks().map { it.name })
            val passcodes = kit.myPasscodes()
            assertTrue(passcodes.any { it.lockId == site.garage && it.code.length >= 4 }, passcodes.toString())
        }
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { manager ->
            val e = assertThrows<AccessKitError.WrongApp> { runBlocking { manager.login(email, "pw-123456789") } }
            assertTrue(e.message.contains("NoKey", ignoreCase = true), e.message)
        }
    }
}
