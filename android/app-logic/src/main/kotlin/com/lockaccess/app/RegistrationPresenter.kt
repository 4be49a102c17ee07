package com.lockaccess.app

import com.lockaccess.core.App
import com.lockaccess.core.UserInfo
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job

/**
 * Registration from an invitation: the link tapped in the email ([openedLink]) or the code
 * typed by hand ([invitationChanged]), then the details, then the code texted to the phone.
 * The phone and the username are checked by the core as the user types
 * ([RegistrationState.phoneProblem], [RegistrationState.usernameProblem]); a wrong username
 * stops [submit] before anything is sent.
 */
class RegistrationPresenter(
    private val kit: AccessKit,
    val app: App,
    scope: CoroutineScope = presenterScope(),
) : Presenter<RegistrationState, NoEffect>(RegistrationState(), scope) {

    fun openedLink(url: String) = update { it.copy(invitation = url, problem = null) }

    fun invitationChanged(text: String) = update { it.copy(invitation = text, problem = null) }

    fun emailChanged(text: String) = update { it.copy(email = text) }

    /** The core's `checkPhone` on every change; no message while the field is empty. */
    fun phoneChanged(text: String) = update { it.copy(phone = text, phoneProblem = AccessKit.phoneProblem(text)) }

    fun passwordChanged(text: String) = update { it.copy(password = text) }

    fun nameChanged(text: String) = update { it.copy(name = text) }

    /** The core's `checkUsername` on every change; no message while the field is empty. */
    fun usernameChanged(text: String) =
        update { it.copy(username = text, usernameProblem = AccessKit.usernameProblem(text)) }

    fun smsCodeChanged(text: String) = update { it.copy(smsCode = text) }

    fun submit(): Job = event {
        val s = state.value
        if (s.busy || s.step !is RegistrationStep.Details) return@event
        // An empty username too: the rule's sentence on the field, and nothing sent.
        try {
            AccessKit.checkUsername(s.username)
        } catch (e: AccessKitError) {
            update { it.copy(usernameProblem = e.message, problem = e.message) }
            return@event
        }
        update { it.copy(busy = true, problem = null) }
        try {
            val id = kit.register(s.invitation, s.email, s.phone, s.password, s.name, s.username)
            update { it.copy(busy = false, step = RegistrationStep.SmsCode(id)) }
        } catch (e: AccessKitError) {
            update {
                it.copy(busy = false, problem = e.message,
                    phoneProblem = if (e is AccessKitError.InvalidPhone) e.message else it.phoneProblem)
            }
        }
    }

    fun verify(): Job = event {
        val s = state.value
        val step = s.step as? RegistrationStep.SmsCode ?: return@event
        if (s.busy) return@event
        update { it.copy(busy = true, problem = null) }
        try {
            val user = kit.verifySms(step.registrationId, s.smsCode)
            update { it.copy(busy = false, step = RegistrationStep.Done(user)) }
        } catch (e: AccessKitError) {
            update { it.copy(busy = false, problem = e.message) }
        }
    }
}

data class RegistrationState(
    val invitation: String = "",
    val email: String = "",
    val phone: String = "",
    /** The core's word on the phone typed so far; null while empty or right. */
    val phoneProblem: String? = null,
    val password: String = "",
    val name: String = "",
    /** 3 to 32 of a-z 0-9 . _ -, unique in the organization (the server says when it is taken). */
    val username: String = "",
    /** The core's word on the username typed so far (the rule's sentence); null while empty or right. */
    val usernameProblem: String? = null,
    val smsCode: String = "",
    val step: RegistrationStep = RegistrationStep.Details,
    val busy: Boolean = false,
    /** The core's message for the last refusal. */
    val problem: String? = null,
)

sealed class RegistrationStep {
    data object Details : RegistrationStep()
    data class SmsCode(val registrationId: String) : RegistrationStep()
    data class Done(val user: UserInfo) : RegistrationStep()
}
