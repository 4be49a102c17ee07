package com.lockaccess.app

import com.lockaccess.core.UserInfo
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job

/** Sign-in with email and password; the core refuses an account of the other app. */
class SignInPresenter(
    private val kit: AccessKit,
    scope: CoroutineScope = presenterScope(),
) : Presenter<SignInState, NoEffect>(SignInState(), scope) {

    fun emailChanged(text: String) = update { it.copy(email = text) }

    fun passwordChanged(text: String) = update { it.copy(password = text) }

    fun submit(): Job = event {
        val s = state.value
        if (s.busy) return@event
        update { it.copy(busy = true, problem = null) }
        try {
            val user = kit.login(s.email, s.password)
            update { it.copy(busy = false, signedIn = user, password = "") }
        } catch (e: AccessKitError) {
            update { it.copy(busy = false, problem = e.message) }
        }
    }
}

data class SignInState(
    val email: String = "",
    val password: String = "",
    val busy: Boolean = false,
    val problem: String? = null,
    val signedIn: UserInfo? = null,
)
