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
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import com.lockaccess.kit.PhoneRule
import kotlinx.coroutines.launch

/**
 * Registration from the invitation: email (any address), the `+1` phone with its rule shown
 * under the field from the start, a password, then the SMS code. The rule is checked by the
 * core; its message lands under the phone field. One screen for both apps: [appName] is the
 * app's display name ("Access Manager", "NoKey Resident").
 */
@Composable
fun RegistrationScreen(kit: AccessKit, appName: String, invitation: String, onDone: () -> Unit) {
    val scope = rememberCoroutineScope()
    var email by remember { mutableStateOf("") }
    var phone by remember { mutableStateOf(PhoneRule.PREFIX) }
    var name by remember { mutableStateOf("") }
    var password by remember { mutableStateOf("") }
    var registrationId by remember { mutableStateOf<String?>(null) }
    var code by remember { mutableStateOf("") }
    var phoneError by remember { mutableStateOf<String?>(null) }
    var error by remember { mutableStateOf<String?>(null) }
    var busy by remember { mutableStateOf(false) }

    Column(Modifier.padding(24.dp).fillMaxWidth(), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        if (registrationId == null) {
            Text("Create your $appName account")
            OutlinedTextField(name, { name = it }, label = { Text("Name") })
            OutlinedTextField(email, { email = it }, label = { Text("Email (any address you like)") },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email))
            OutlinedTextField(phone, { phone = it; phoneError = null }, label = { Text("Mobile phone") },
                isError = phoneError != null,
                supportingText = { Text(phoneError ?: PhoneRule.HINT) },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Phone))
            OutlinedTextField(password, { password = it }, label = { Text("Password") },
                visualTransformation = PasswordVisualTransformation())
            Button(enabled = !busy, onClick = {
                busy = true
                scope.launch {
                    try {
                        registrationId = kit.register(invitation, email, phone, password, name)
                    } catch (e: AccessKitError.InvalidPhone) {
                        phoneError = e.message
                    } catch (e: AccessKitError) {
                        error = e.message
                    } finally {
                        busy = false
                    }
                }
            }) { Text("Send me the SMS code") }
        } else {
            Text("Enter the 6-digit code we texted to $phone")
            OutlinedTextField(code, { code = it }, label = { Text("SMS code") },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword))
            Button(enabled = !busy, onClick = {
                busy = true
                scope.launch {
                    try {
                        kit.verifySms(registrationId!!, code)
                        onDone()
                    } catch (e: AccessKitError.SmsCodeExpired) {
                        registrationId = null
                        error = e.message
                    } catch (e: AccessKitError) {
                        error = e.message
                    } finally {
                        busy = false
                    }
                }
            }) { Text("Verify") }
        }
        error?.let { Text(it) }
    }
}

/** Email and password sign-in, for a device that already has an account. */
@Composable
fun SignInScreen(kit: AccessKit, onDone: () -> Unit) {
    val scope = rememberCoroutineScope()
    var email by remember { mutableStateOf("") }
    var password by remember { mutableStateOf("") }
    var error by remember { mutableStateOf<String?>(null) }
    Column(Modifier.padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        OutlinedTextField(email, { email = it }, label = { Text("Email") })
        OutlinedTextField(password, { password = it }, label = { Text("Password") },
            visualTransformation = PasswordVisualTransformation())
        Button(onClick = {
            scope.launch {
                try {
                    kit.login(email, password)
                    onDone()
                } catch (e: AccessKitError) {
                    error = e.message // WrongApp names the right app for the account
                }
            }
        }) { Text("Sign in") }
        error?.let { Text(it) }
    }
}
