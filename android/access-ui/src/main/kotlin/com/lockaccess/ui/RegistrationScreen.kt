package com.lockaccess.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.collectAsState
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import com.lockaccess.app.PasswordResetPresenter
import com.lockaccess.app.PasswordResetStep
import com.lockaccess.app.RegistrationPresenter
import com.lockaccess.app.RegistrationStep
import com.lockaccess.app.SignInPresenter
import com.lockaccess.core.UserInfo
import com.lockaccess.kit.PhoneRule

/**
 * Registration: renders [RegistrationPresenter]'s state and forwards what the user does. The
 * invitation field takes the link or the code typed from the email; the phone field shows
 * the core's word on the number as it is typed.
 */
@Composable
fun RegistrationScreen(p: RegistrationPresenter, appName: String, onDone: (UserInfo) -> Unit) {
    val s by p.state.collectAsState()
    val step = s.step
    LaunchedEffect(step) { if (step is RegistrationStep.Done) onDone(step.user) }
    Column(Modifier.padding(24.dp).fillMaxWidth(), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        when (step) {
            RegistrationStep.Details -> {
                Text("Create your $appName account")
                OutlinedTextField(s.invitation, p::invitationChanged, label = { Text("Invitation link or code") })
                OutlinedTextField(s.name, p::nameChanged, label = { Text("Name") })
                OutlinedTextField(s.email, p::emailChanged, label = { Text("Email") },
                    keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email))
                OutlinedTextField(s.username, p::usernameChanged, label = { Text("Username") },
                    isError = s.usernameProblem != null,
                    supportingText = { Text(s.usernameProblem ?: "3 to 32 of a-z 0-9 . _ -, e.g. jane.doe") })
                OutlinedTextField(s.phone, p::phoneChanged, label = { Text("Mobile phone") },
                    isError = s.phoneProblem != null, supportingText = { Text(s.phoneProblem ?: PhoneRule.HINT) },
                    keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Phone))
                OutlinedTextField(s.password, p::passwordChanged, label = { Text("Password") },
                    visualTransformation = PasswordVisualTransformation())
                Button(enabled = !s.busy, onClick = { p.submit() }) { Text("Send me the SMS code") }
            }
            is RegistrationStep.SmsCode -> {
                Text("Enter the 6-digit code we texted to ${s.phone}")
                OutlinedTextField(s.smsCode, p::smsCodeChanged, label = { Text("SMS code") },
                    keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword))
                Button(enabled = !s.busy, onClick = { p.verify() }) { Text("Verify") }
            }
            is RegistrationStep.Done -> Text("Welcome, ${step.user.name}")
        }
        s.problem?.let { Text(it) }
    }
}

/**
 * Sign-in: renders [SignInPresenter]'s state; [onDone] once signed in; [onForgotPassword]
 * with the email typed so far.
 */
@Composable
fun SignInScreen(
    p: SignInPresenter,
    onRegister: () -> Unit,
    onForgotPassword: (String) -> Unit,
    onDone: (UserInfo) -> Unit,
) {
    val s by p.state.collectAsState()
    LaunchedEffect(s.signedIn) { s.signedIn?.let(onDone) }
    Column(Modifier.padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        OutlinedTextField(s.email, p::emailChanged, label = { Text("Email") })
        OutlinedTextField(s.password, p::passwordChanged, label = { Text("Password") },
            visualTransformation = PasswordVisualTransformation())
        Button(enabled = !s.busy, onClick = { p.submit() }) { Text("Sign in") }
        Button(onClick = onRegister) { Text("I have an invitation code") }
        Button(onClick = { onForgotPassword(s.email) }) { Text("Forgot password?") }
        s.problem?.let { Text(it) }
    }
}

/**
 * Forgot password: renders [PasswordResetPresenter]'s two steps (the email, then the link,
 * the texted code and the new password); [onBack] goes to sign-in.
 */
@Composable
fun PasswordResetScreen(p: PasswordResetPresenter, onBack: () -> Unit) {
    val s by p.state.collectAsState()
    Column(Modifier.padding(24.dp).fillMaxWidth(), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        when (val step = s.step) {
            PasswordResetStep.Request -> {
                Text("Reset your password")
                OutlinedTextField(s.email, p::emailChanged, label = { Text("Email") },
                    keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email))
                Button(enabled = !s.busy, onClick = { p.request() }) { Text("Send me a reset link") }
            }
            is PasswordResetStep.Confirm -> {
                step.sentence?.let { Text(it) }
                OutlinedTextField(s.link, p::linkChanged, label = { Text("Link or code from the email") })
                OutlinedTextField(s.smsCode, p::smsCodeChanged, label = { Text("SMS code") },
                    isError = s.codeProblem != null, supportingText = { s.codeProblem?.let { Text(it) } },
                    keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword))
                OutlinedTextField(s.newPassword, p::newPasswordChanged, label = { Text("New password") },
                    isError = s.passwordProblem != null, supportingText = { s.passwordProblem?.let { Text(it) } },
                    visualTransformation = PasswordVisualTransformation())
                Button(enabled = !s.busy, onClick = { p.confirm() }) { Text("Set the new password") }
                Button(onClick = p::startOver) { Text("Send a new link") }
            }
            PasswordResetStep.Done -> Text(PasswordResetPresenter.DONE)
        }
        s.problem?.let { Text(it) }
        Button(onClick = onBack) { Text("Back to sign-in") }
    }
}
