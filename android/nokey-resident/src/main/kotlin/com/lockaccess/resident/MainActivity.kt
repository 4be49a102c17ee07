package com.lockaccess.resident

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.lifecycle.lifecycleScope
import com.lockaccess.app.BluetoothPresenter
import com.lockaccess.app.DoorsEffect
import com.lockaccess.app.DoorsPresenter
import com.lockaccess.app.PasswordResetPresenter
import com.lockaccess.app.RegistrationPresenter
import com.lockaccess.app.Screen
import com.lockaccess.app.SessionPresenter
import com.lockaccess.app.SignInPresenter
import com.lockaccess.core.App
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.android.AndroidBluetoothPlatform
import com.lockaccess.kit.android.KeystoreSecretStore
import com.lockaccess.kit.android.LogcatLogger
import com.lockaccess.ui.PasswordResetScreen
import com.lockaccess.ui.RegistrationScreen
import com.lockaccess.ui.SignInScreen
import kotlinx.coroutines.launch

/** NoKey Resident: the session root picks the screen; each screen renders its presenter. */
class MainActivity : ComponentActivity() {
    private val kit by lazy {
        AccessKit.open(BuildConfig.SERVER_URL, filesDir.path, App.NOKEY_RESIDENT,
            KeystoreSecretStore(applicationContext), LogcatLogger("NoKeyResident"))
    }
    private val platform by lazy { AndroidBluetoothPlatform(this) }
    private val bluetooth by lazy { BluetoothPresenter(platform) }
    private val session by lazy { SessionPresenter(kit, lifecycleScope) }
    private val doors by lazy { DoorsPresenter(kit, bluetooth, lifecycleScope) }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        intent?.data?.let { session.openedLink(it.toString()) }
        session.started()
        bluetooth.check()
        lifecycleScope.launch {
            doors.effects.collect { e ->
                when (e) {
                    is DoorsEffect.ShareText -> startActivity(Intent.createChooser(
                        Intent(Intent.ACTION_SEND).setType("text/plain").putExtra(Intent.EXTRA_TEXT, e.text), null))
                    DoorsEffect.SignedOut -> session.signedOut()
                    is DoorsEffect.NeedsSignIn -> session.problem(e.error)
                }
            }
        }
        setContent {
            MaterialTheme {
                val s by session.state.collectAsState()
                when (val screen = s.screen) {
                    Screen.Starting -> Text("NoKey Resident")
                    Screen.SignIn -> SignInScreen(remember { SignInPresenter(kit, lifecycleScope) },
                        onRegister = { session.openedLink("") }, onForgotPassword = session::forgotPassword,
                        onDone = session::signedIn)
                    is Screen.PasswordReset -> PasswordResetScreen(
                        remember(screen) { PasswordResetPresenter(kit, screen.email, lifecycleScope) },
                        onBack = session::backToSignIn)
                    is Screen.Register -> RegistrationScreen(
                        remember(screen.invitation) {
                            RegistrationPresenter(kit, App.NOKEY_RESIDENT, lifecycleScope).apply { openedLink(screen.invitation) }
                        },
                        "NoKey Resident", onDone = session::signedIn)
                    is Screen.Home -> DoorsScreen(doors, bluetooth)
                }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        intent.data?.let { session.openedLink(it.toString()) }
    }

    override fun onResume() {
        super.onResume()
        bluetooth.check()
    }

    /** The permission prompt's answer; the presenter decides what it means. */
    @Suppress("OVERRIDE_DEPRECATION")
    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        super.onRequestPermissionsResult(requestCode, permissions, grantResults)
        bluetooth.permissionResult(granted = platform.hasPermission(), canAskAgain = platform.canAskAgain())
    }

    override fun onDestroy() {
        if (isFinishing) kit.close()
        super.onDestroy()
    }
}
