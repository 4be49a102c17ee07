package com.lockaccess.app

import com.lockaccess.core.App
import com.lockaccess.kit.Site
import com.lockaccess.kit.TestServer
import com.lockaccess.kit.get
import com.lockaccess.kit.onboard
import com.lockaccess.kit.units
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * Registration, sign-in and the session root against the real server: each error state of
 * their rows in docs/app-screens.md, with the core's wording.
 */
class AccountPresentersTest {
    private val admin = TestServer.admin

    @Test
    fun registrationRefusalsThenATypedCodeRegisters() = runBlocking<Unit> {
        val site = Site(admin, TestServer.email("reg").substringBefore('@'))
        val email = TestServer.email("res")
        admin.invite("resident", email, emptyList(), units(site.unitA))
        val phone = TestServer.phone()
        phone(App.NOKEY_RESIDENT).use { kit ->
            val p = RegistrationPresenter(kit, App.NOKEY_RESIDENT)
            // Invalid invitation: the core says what to do.
            p.invitationChanged("not-a-code")
            p.emailChanged(email)
            p.passwordChanged("pw-123456789")
            p.nameChanged("Robin Roe")
            p.phoneChanged(phone)

            // The username as the user types it: nothing while empty, the rule's sentence
            // otherwise; on submit an empty or wrong one stays on its field and nothing is sent.
            p.invitationChanged(admin.invitationLink(email))
            p.submit().join()
            val empty = p.state.value
            assertTrue(empty.usernameProblem!!.startsWith("Choose a username."), empty.toString())
            assertEquals(empty.usernameProblem, empty.problem)
            assertEquals(RegistrationStep.Details, empty.step)
            p.usernameChanged("ro")
            assertTrue(p.state.value.usernameProblem!!.contains("3 to 32"), p.state.value.toString())
            p.usernameChanged("")
            assertNull(p.state.value.usernameProblem)
            p.usernameChanged("robin roe")
            val spaced = p.state.value.usernameProblem
            assertTrue(spaced!!.contains("may not contain ' '"), spaced)
            p.submit().join()
            assertEquals(spaced, p.state.value.usernameProblem)
            assertEquals(RegistrationStep.Details, p.state.value.step)
            assertTrue(admin.messagesTo("sms", phone).isEmpty(), "no code sent with a wrong username")
            val username = TestServer.username(email)
            p.usernameChanged(username.uppercase())
            assertNull(p.state.value.usernameProblem)

            p.invitationChanged("not-a-code")
            p.submit().join()
            val invalid = p.state.value
            assertTrue(invalid.problem!!.contains("invitation", ignoreCase = true), invalid.toString())
            assertEquals(RegistrationStep.Details, invalid.step)

            // The phone as the user types it: nothing while empty, the core's message without +1.
            p.phoneChanged("")
            assertNull(p.state.value.phoneProblem)
            p.phoneChanged("555 123 4567")
            val noPlusOne = p.state.value.phoneProblem
            assertNotNull(noPlusOne)
            assertTrue(noPlusOne!!.contains("+1"), noPlusOne)
            p.phoneChanged(phone)
            assertNull(p.state.value.phoneProblem)

            // Offline: the server is down.
            p.invitationChanged(typedCode(admin.invitationLink(email)))
            TestServer.stop()
            try {
                p.submit().join()
            } finally {
                TestServer.start()
            }
            val offline = p.state.value.problem
            assertTrue(offline!!.startsWith("No connection to the server"), offline)
            assertEquals(RegistrationStep.Details, p.state.value.step)

            // The typed code, then a wrong SMS code, then the right one.
            p.submit().join()
            val sms = p.state.value.step
            assertTrue(sms is RegistrationStep.SmsCode, p.state.value.toString())
            val right = admin.smsCode(phone)
            p.smsCodeChanged(if (right == "000000") "111111" else "000000")
            p.verify().join()
            val wrong = p.state.value
            assertTrue(wrong.problem!!.contains("code", ignoreCase = true), wrong.toString())
            assertTrue(wrong.step is RegistrationStep.SmsCode)
            p.smsCodeChanged(right)
            p.verify().join()
            val done = p.state.value.step
            assertTrue(done is RegistrationStep.Done, p.state.value.toString())
            assertEquals(email, (done as RegistrationStep.Done).user.email)
            assertNull(p.state.value.problem)
            // Kept in lower case.
            assertEquals(username, admin.get("/api/v1/users/${done.user.id}")["username"])
        }

        // Someone else of the organization choosing the same username (in another case): the
        // server's sentence, and the form stays.
        val other = TestServer.email("res")
        admin.invite("resident", other, emptyList(), units(site.unitA))
        val otherPhone = TestServer.phone()
        phone(App.NOKEY_RESIDENT).use { kit ->
            val p = RegistrationPresenter(kit, App.NOKEY_RESIDENT)
            p.openedLink(admin.invitationLink(other))
            p.emailChanged(other)
            p.phoneChanged(otherPhone)
            p.passwordChanged("pw-123456789")
            p.nameChanged("Robin Other")
            p.usernameChanged(TestServer.username(email).uppercase())
            p.submit().join()
            assertEquals("This username is taken in your organization; choose another one.", p.state.value.problem)
            assertEquals(RegistrationStep.Details, p.state.value.step)
            p.usernameChanged(TestServer.username(other))
            p.submit().join()
            assertTrue(p.state.value.step is RegistrationStep.SmsCode, p.state.value.toString())
        }
    }

    @Test
    fun anExpiredInvitationSaysSoAndTheResentOneRegisters() = runBlocking<Unit> {
        val site = Site(admin, TestServer.email("late").substringBefore('@'))
        val email = TestServer.email("late")
        val user = admin.invite("resident", email, emptyList(), units(site.unitA))
        val expired = mailedCode(email)
        TestServer.expireInvitations()
        phone(App.NOKEY_RESIDENT).use { kit ->
            val p = RegistrationPresenter(kit, App.NOKEY_RESIDENT)
            p.invitationChanged(expired)
            p.emailChanged(email)
            p.phoneChanged(TestServer.phone())
            p.passwordChanged("pw-123456789")
            p.nameChanged("Kim Late")
            p.usernameChanged(TestServer.username(email))
            p.submit().join()
            assertEquals(RegistrationStep.Details, p.state.value.step)
            assertEquals("This invitation has expired: ask your administrator to resend it.", p.state.value.problem)
            // Resent: a new code, and the registration goes on.
            admin.post("/api/v1/users/$user/resend-invite", emptyMap<String, Any>())
            val fresh = mailedCode(email)
            assertTrue(fresh != expired, "a new code")
            p.invitationChanged(fresh)
            p.submit().join()
            assertTrue(p.state.value.step is RegistrationStep.SmsCode, p.state.value.toString())
        }
    }

    @Test
    fun aResidentRegisteringInAccessManagerIsToldWhichAppIsTheirs() = runBlocking<Unit> {
        val site = Site(admin, TestServer.email("wa").substringBefore('@'))
        val email = TestServer.email("res")
        admin.invite("resident", email, emptyList(), units(site.unitA))
        val phone = TestServer.phone()
        phone(App.ACCESS_MANAGER).use { kit ->
            val p = RegistrationPresenter(kit, App.ACCESS_MANAGER)
            p.openedLink(admin.invitationLink(email))
            p.emailChanged(email)
            p.phoneChanged(phone)
            p.passwordChanged("pw-123456789")
            p.nameChanged("Robin Roe")
            p.usernameChanged(TestServer.username(email))
            p.submit().join()
            assertTrue(p.state.value.step is RegistrationStep.SmsCode, p.state.value.toString())
            p.smsCodeChanged(admin.smsCode(phone))
            p.verify().join()
            val s = p.state.value
            assertTrue(s.problem!!.contains("NoKey", ignoreCase = true), s.toString())
            assertTrue(s.step !is RegistrationStep.Done)
            assertNull(kit.currentUser())
        }
    }

    @Test
    fun signInRefusals() = runBlocking<Unit> {
        val site = Site(admin, TestServer.email("si").substringBefore('@'))
        val staff = TestServer.email("staff")
        phone(App.ACCESS_MANAGER).use { kit ->
            onboard(kit, "team_member", staff, listOf("view_logs"), units(site.unitA))
            kit.logout()
        }
        val resident = TestServer.email("res")
        phone(App.NOKEY_RESIDENT).use { kit -> onboard(kit, "resident", resident, emptyList(), units(site.unitA)) }

        phone(App.ACCESS_MANAGER).use { kit ->
            val p = SignInPresenter(kit)
            // Wrong password.
            p.emailChanged(staff)
            p.passwordChanged("not-the-password")
            p.submit().join()
            assertEquals("Wrong email or password.", p.state.value.problem)
            assertNull(p.state.value.signedIn)
            // Wrong app: a resident in Access Manager.
            p.emailChanged(resident)
            p.passwordChanged("pw-123456789")
            p.submit().join()
            assertTrue(p.state.value.problem!!.contains("NoKey", ignoreCase = true), p.state.value.toString())
            assertNull(p.state.value.signedIn)
            // Offline.
            p.emailChanged(staff)
            p.passwordChanged("pw-123456789")
            TestServer.stop()
            try {
                p.submit().join()
            } finally {
                TestServer.start()
            }
            assertTrue(p.state.value.problem!!.startsWith("No connection to the server"), p.state.value.toString())
            // The right password signs in, and the session root shows home.
            p.submit().join()
            val user = p.state.value.signedIn
            assertEquals(staff, user?.email, p.state.value.toString())
            assertNull(p.state.value.problem)
            val session = SessionPresenter(kit)
            session.started().join()
            assertEquals(Screen.Home(user!!), session.state.value.screen)
        }

        // Too many attempts: the server's limit per email, told in the core's words.
        val target = TestServer.email("locked")
        phone(App.ACCESS_MANAGER).use { kit ->
            onboard(kit, "team_member", target, emptyList(), units(site.unitA))
            kit.logout()
            val p = SignInPresenter(kit)
            p.emailChanged(target)
            p.passwordChanged("wrong-password")
            val seen = mutableListOf<String?>()
            repeat(6) {
                p.submit().join()
                seen += p.state.value.problem
            }
            assertEquals("Wrong email or password.", seen.first(), seen.toString())
            assertEquals("Too many attempts: wait a moment and try again.", seen.last(), seen.toString())
            // Even the right password waits now.
            p.passwordChanged("pw-123456789")
            p.submit().join()
            assertNull(p.state.value.signedIn)
        }
    }

    @Test
    fun aForgottenPasswordIsResetWithTheMailedLinkAndTheTextedCodeOnce() = runBlocking<Unit> {
        val site = Site(admin, TestServer.email("pr").substringBefore('@'))
        val email = TestServer.email("forgot")
        val phone = TestServer.phone()
        phone(App.ACCESS_MANAGER).use { kit ->
            onboard(kit, "team_member", email, listOf("view_logs"), units(site.unitA), phone)
            kit.logout()

            // Sign-in's "Forgot password?" opens the reset with the email typed there.
            val session = SessionPresenter(kit)
            session.started().join()
            assertEquals(Screen.SignIn, session.state.value.screen)
            session.forgotPassword(email)
            assertEquals(Screen.PasswordReset(email), session.state.value.screen)

            // Step 1: the email; the core refuses one that is none, then the server's sentence.
            val p = PasswordResetPresenter(kit, "not an email")
            p.request().join()
            assertEquals("Enter the email address you sign in with.", p.state.value.problem)
            assertEquals(PasswordResetStep.Request, p.state.value.step)
            p.emailChanged(email.uppercase())
            assertNull(p.state.value.problem)
            p.request().join()
            val sent = p.state.value.step
            assertTrue(sent is PasswordResetStep.Confirm, p.state.value.toString())
            val sentence = (sent as PasswordResetStep.Confirm).sentence!!
            assertTrue(sentence.startsWith("If this email belongs to an active account"), sentence)
            assertNull(p.state.value.problem)
            // An email without an account gets the very same sentence.
            PasswordResetPresenter(kit, TestServer.email("nobody")).use { nobody ->
                nobody.request().join()
                assertEquals(PasswordResetStep.Confirm(sentence), nobody.state.value.step)
            }
            val (link, code) = admin.passwordReset(email, phone)

            // Step 2: an empty code and a short password stay on their fields; nothing is sent.
            p.linkChanged(link)
            p.newPasswordChanged("short")
            p.confirm().join()
            assertEquals(PasswordResetPresenter.EMPTY_CODE, p.state.value.codeProblem)
            assertEquals("The password must be at least 8 characters long.", p.state.value.passwordProblem)
            assertTrue(p.state.value.step is PasswordResetStep.Confirm)
            // A wrong code: the core's word on the code field, and the link still works after.
            p.smsCodeChanged(if (code == "000000") "111111" else "000000")
            assertNull(p.state.value.codeProblem)
            p.newPasswordChanged("new-password-1")
            assertNull(p.state.value.passwordProblem)
            p.confirm().join()
            assertEquals("The SMS code is wrong.", p.state.value.codeProblem)
            assertEquals(p.state.value.codeProblem, p.state.value.problem)
            assertTrue(p.state.value.step is PasswordResetStep.Confirm)
            // A link that is none.
            p.smsCodeChanged(code)
            p.linkChanged("https://access.example.com/reset-password")
            p.confirm().join()
            assertTrue(p.state.value.problem!!.contains("not a password reset link"), p.state.value.toString())
            // The mail's link and the texted code set the password.
            p.linkChanged(link)
            p.confirm().join()
            assertEquals(PasswordResetStep.Done, p.state.value.step, p.state.value.toString())
            assertNull(p.state.value.problem)
            assertEquals("", p.state.value.newPassword)
            session.backToSignIn()
            assertEquals(Screen.SignIn, session.state.value.screen)

            // The old password is refused at sign-in, the new one signs in.
            val signIn = SignInPresenter(kit)
            signIn.emailChanged(email)
            signIn.passwordChanged("pw-123456789")
            signIn.submit().join()
            assertEquals("Wrong email or password.", signIn.state.value.problem)
            assertNull(signIn.state.value.signedIn)
            signIn.passwordChanged("new-password-1")
            signIn.submit().join()
            assertEquals(email, signIn.state.value.signedIn?.email, signIn.state.value.toString())
            kit.logout()

            // The link is used up: the same link and code again are refused in the server's words.
            PasswordResetPresenter(kit).use { again ->
                again.openedLink(typedCode(link))
                assertEquals(PasswordResetStep.Confirm(null), again.state.value.step)
                again.smsCodeChanged(code)
                again.newPasswordChanged("new-password-2")
                again.confirm().join()
                val refused = again.state.value.problem
                assertTrue(refused!!.startsWith("This password reset link is not valid any more"), refused)
                assertTrue(again.state.value.step is PasswordResetStep.Confirm)
            }
            signIn.passwordChanged("new-password-2")
            signIn.submit().join()
            assertEquals("Wrong email or password.", signIn.state.value.problem, "the refused reset changed nothing")
        }
    }

    @Test
    fun theSessionStartsOfflineFromTheCacheAndGoesBackToSignInWhenRevoked() = runBlocking<Unit> {
        val site = Site(admin, TestServer.email("se").substringBefore('@'))
        phone(App.ACCESS_MANAGER).use { kit ->
            val user = onboard(kit, "team_member", TestServer.email("staff"), listOf("view_logs"), units(site.unitA))
            kit.syncNow()
            val session = SessionPresenter(kit)
            session.openedLink("https://access.example.com/invite/access-manager?token=abc")
            assertTrue(session.state.value.screen is Screen.Register)
            TestServer.stop()
            try {
                session.started().join()
            } finally {
                TestServer.start()
            }
            val home = session.state.value.screen
            assertTrue(home is Screen.Home, "the cached user, offline: $home")

            admin.revoke(user)
            val locks = LocksPresenter(kit)
            locks.refresh().join()
            val effect = withTimeout(10_000) { locks.effects.first() }
            assertTrue(effect is LocksEffect.NeedsSignIn, effect.toString())
            session.problem((effect as LocksEffect.NeedsSignIn).error)
            assertEquals(Screen.SignIn, session.state.value.screen)
            assertEquals("Your access has been revoked.", session.state.value.problem)
            session.started().join()
            assertEquals(Screen.SignIn, session.state.value.screen, "the core wiped the session")
        }
    }
}
