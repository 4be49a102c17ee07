package com.lockaccess.manager

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.Column
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.lifecycle.lifecycleScope
import com.lockaccess.app.BluetoothPresenter
import com.lockaccess.app.LockEffect
import com.lockaccess.app.LockPresenter
import com.lockaccess.app.LocksEffect
import com.lockaccess.app.LocksPresenter
import com.lockaccess.app.PairingPresenter
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
import com.lockaccess.ui.BluetoothBanner
import com.lockaccess.ui.PasswordResetScreen
import com.lockaccess.ui.RegistrationScreen
import com.lockaccess.ui.SignInScreen
import kotlinx.coroutines.launch

/** Where the signed-in user is; a plain state instead of a navigation library keeps the shell small. */
private sealed interface Place {
    data object Locks : Place
    data class Lock(val lockId: String) : Place
    data object Pair : Place
}

/** Access Manager: the session root picks the screen; each screen renders its presenter. */
class MainActivity : ComponentActivity() {
    private val kit by lazy {
        AccessKit.open(BuildConfig.SERVER_URL, filesDir.path, App.ACCESS_MANAGER,
            KeystoreSecretStore(applicationContext), LogcatLogger("AccessManager"))
    }
    private val platform by lazy { AndroidBluetoothPlatform(this) }
    private val bluetooth by lazy { BluetoothPresenter(platform) }
    private val session by lazy { SessionPresenter(kit, lifecycleScope) }
    private val locks by lazy { LocksPresenter(kit, lifecycleScope) }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        intent?.data?.let { session.openedLink(it.toString()) }
        session.started()
        bluetooth.check()
        lifecycleScope.launch {
            locks.effects.collect { e ->
                when (e) {
                    LocksEffect.SignedOut -> session.signedOut()
                    is LocksEffect.NeedsSignIn -> session.problem(e.error)
                }
            }
        }
        setContent {
            MaterialTheme {
                val s by session.state.collectAsState()
                var place by remember { mutableStateOf<Place>(Place.Locks) }
                when (val screen = s.screen) {
                    Screen.Starting -> Text("Access Manager")
                    Screen.SignIn -> SignInScreen(remember { SignInPresenter(kit, lifecycleScope) },
                        onRegister = { session.openedLink("") }, onForgotPassword = session::forgotPassword,
                        onDone = session::signedIn)
                    is Screen.PasswordReset -> PasswordResetScreen(
                        remember(screen) { PasswordResetPresenter(kit, screen.email, lifecycleScope) },
                        onBack = session::backToSignIn)
                    is Screen.Register -> RegistrationScreen(
                        remember(screen.invitation) {
                            RegistrationPresenter(kit, App.ACCESS_MANAGER, lifecycleScope).apply { openedLink(screen.invitation) }
                        },
                        "Access Manager", onDone = session::signedIn)
                    is Screen.Home -> Column {
                        BluetoothBanner(bluetooth)
                        when (val at = place) {
                            Place.Locks -> LockListScreen(locks, onOpen = { place = Place.Lock(it) }, onPair = { place = Place.Pair })
                            is Place.Lock -> {
                                val lock = remember(at.lockId) { LockPresenter(kit, at.lockId, lifecycleScope) }
                                remember(lock) {
                                    lifecycleScope.launch {
                                        lock.effects.collect { if (it is LockEffect.NeedsSignIn) session.problem(it.error) }
                                    }
                                }
                                LockDetailScreen(lock, onBack = { place = Place.Locks })
                            }
                            Place.Pair -> PairingScreen(remember { PairingPresenter(kit, lifecycleScope) },
                                onPaired = { place = Place.Lock(it) }, onBack = { place = Place.Locks })
                        }
                    }
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
