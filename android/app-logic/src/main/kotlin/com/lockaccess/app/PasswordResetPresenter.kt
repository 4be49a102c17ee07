package com.lockaccess.app

import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job

/**
 * Forgot password, in two steps. [PasswordResetStep.Request]: the email; [request] asks the
 * server, which mails a reset link and texts a code to the account's phone, and shows the
 * server's sentence. [PasswordResetStep.Confirm]: the link (or its token) from the mail, the
 * texted code and the new password; [confirm] sets it and every session of the account
 * ends ([PasswordResetStep.Done]: sign in with the new password).
 *
 * An empty code and a password the core's rule refuses ([AccessKit.passwordProblem]) are
 * shown on their fields and nothing is sent; the server's refusals (a wrong code, a used, replaced or
 * expired link) are the core's words.
 */
class PasswordResetPresenter(
    private val kit: AccessKit,
    email: String = "",
    scope: CoroutineScope = presenterScope(),
) : Presenter<PasswordResetState, NoEffect>(PasswordResetState(email = email), scope) {

    companion object {
        const val EMPTY_CODE = "Enter the 6-digit code we texted to your phone."
        const val DONE = "Done: sign in with the new password."
    }

    fun emailChanged(text: String) = update { it.copy(email = text, problem = null) }

    /** Asks for a reset link and code; on success shows the server's sentence and the next step. */
    fun request(): Job = event {
        val s = state.value
        if (s.busy || s.step !is PasswordResetStep.Request) return@event
        update { it.copy(busy = true, problem = null) }
        try {
            val sentence = kit.requestPasswordReset(s.email)
            update { it.copy(busy = false, step = PasswordResetStep.Confirm(sentence)) }
        } catch (e: AccessKitError) {
            update { it.copy(busy = false, problem = e.message) }
        }
    }

    /** A reset link the phone opened (or pasted before asking): straight to the second step. */
    fun openedLink(url: String) = update {
        it.copy(link = url, problem = null,
            step = it.step as? PasswordResetStep.Confirm ?: PasswordResetStep.Confirm(null))
    }

    fun linkChanged(text: String) = update { it.copy(link = text, problem = null) }

    fun smsCodeChanged(text: String) = update { it.copy(smsCode = text, codeProblem = null, problem = null) }

    fun newPasswordChanged(text: String) = update { it.copy(newPassword = text, passwordProblem = null, problem = null) }

    /** Back to the first step (e.g. the link expired: ask for a new one). */
    fun startOver() = update {
        PasswordResetState(email = it.email)
    }

    /** Sets the new password with the link and the code. */
    fun confirm(): Job = event {
        val s = state.value
        if (s.busy || s.step !is PasswordResetStep.Confirm) return@event
        val codeProblem = if (s.smsCode.isBlank()) EMPTY_CODE else null
        val passwordProblem = AccessKit.passwordProblem(s.newPassword)
        if (codeProblem != null || passwordProblem != null) {
            update { it.copy(codeProblem = codeProblem, passwordProblem = passwordProblem, problem = null) }
            return@event
        }
        update { it.copy(busy = true, problem = null, codeProblem = null, passwordProblem = null) }
        try {
            kit.confirmPasswordReset(s.link, s.smsCode, s.newPassword)
            update { it.copy(busy = false, step = PasswordResetStep.Done, newPassword = "", smsCode = "") }
        } catch (e: AccessKitError) {
            update {
                it.copy(busy = false, problem = e.message,
                    codeProblem = if (e is AccessKitError.WrongSmsCode) e.message else null)
            }
        }
    }
}

data class PasswordResetState(
    val email: String = "",
    /** The link from the reset mail, or the code (its token) the mail gives to type. */
    val link: String = "",
    val smsCode: String = "",
    /** Empty, or wrong (the core's word); null otherwise. */
    val codeProblem: String? = null,
    val newPassword: String = "",
    /** The core's password rule's sentence when it refuses the password; null otherwise. */
    val passwordProblem: String? = null,
    val step: PasswordResetStep = PasswordResetStep.Request,
    val busy: Boolean = false,
    /** The core's message for the last refusal (a used or expired link, offline, ...). */
    val problem: String? = null,
)

sealed class PasswordResetStep {
    /** The email to send the link to. */
    data object Request : PasswordResetStep()

    /** The link and code are on their way; [sentence] is the server's (null for an opened link). */
    data class Confirm(val sentence: String?) : PasswordResetStep()

    /** The password is set and every session ended: [PasswordResetPresenter.DONE]. */
    data object Done : PasswordResetStep()
}
