package com.lockaccess.app

import com.lockaccess.core.UserInfo
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job

/**
 * The app's root: which screen shows. [started] reads the cached user (offline too); any
 * error that needs sign-in ([AccessKitError.needsSignIn], e.g. access revoked) reported
 * through [problem] goes back to sign-in with the core's message.
 */
class SessionPresenter(
    private val kit: AccessKit,
    scope: CoroutineScope = presenterScope(),
) : Presenter<SessionState, NoEffect>(SessionState(), scope) {

    fun started(): Job = event {
        try {
            val user = kit.currentUser()
            update { s ->
                // A link opened (or a password reset begun) before the start wins over sign-in.
                if ((s.screen is Screen.Register || s.screen is Screen.PasswordReset) && user == null) s
                else s.copy(screen = if (user != null) Screen.Home(user) else Screen.SignIn, problem = null)
            }
        } catch (e: AccessKitError) {
            update { it.copy(screen = Screen.SignIn, problem = e.message) }
        }
    }

    fun openedLink(url: String) = update { it.copy(screen = Screen.Register(url), problem = null) }

    /** Sign-in's "Forgot password?": the reset screen, with the email typed so far. */
    fun forgotPassword(email: String = "") = update { it.copy(screen = Screen.PasswordReset(email), problem = null) }

    /** Back from registration or the password reset to sign-in. */
    fun backToSignIn() = update { it.copy(screen = Screen.SignIn, problem = null) }

    fun signedIn(user: UserInfo) = update { it.copy(screen = Screen.Home(user), problem = null) }

    /** Signs out (the core wipes the cache and the session) and shows sign-in. */
    fun signOut(): Job = event {
        try {
            kit.logout()
        } catch (_: AccessKitError) {
            // Signed out locally in any case (the core wipes first); nothing to show.
        }
        signedOut()
    }

    /** A screen already signed out (e.g. the doors' sign-out): show sign-in. */
    fun signedOut() = update { it.copy(screen = Screen.SignIn, problem = null) }

    /** An error a screen got: back to sign-in when it needs that, with the core's message. */
    fun problem(error: AccessKitError) {
        if (error.needsSignIn) update { it.copy(screen = Screen.SignIn, problem = error.message) }
    }
}

data class SessionState(
    val screen: Screen = Screen.Starting,
    /** Why the user is back at sign-in (e.g. access revoked). */
    val problem: String? = null,
)

sealed class Screen {
    data object Starting : Screen()
    data object SignIn : Screen()
    data class Register(val invitation: String) : Screen()

    /** Forgot password ([PasswordResetPresenter]), from sign-in with the email typed there. */
    data class PasswordReset(val email: String) : Screen()
    data class Home(val user: UserInfo) : Screen()
}
