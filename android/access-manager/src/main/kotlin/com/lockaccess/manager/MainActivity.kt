package com.lockaccess.manager

import com.lockaccess.ui.RegistrationScreen
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import com.lockaccess.core.App
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.android.KeystoreSecretStore
import com.lockaccess.kit.android.LogcatLogger

/** Where the app is; a plain state instead of a navigation library keeps the shell small. */
sealed interface Screen {
    data class Register(val invitation: String) : Screen
    data object SignIn : Screen
    data object Locks : Screen
    data class Lock(val lockId: String) : Screen
    data class Logs(val lockId: String) : Screen
    data class Codes(val lockId: String) : Screen
    data class Pair(val unitId: String, val back: String) : Screen
}

class MainActivity : ComponentActivity() {
    private val kit by lazy {
        AccessKit.open(BuildConfig.SERVER_URL, filesDir.path, App.ACCESS_MANAGER,
            KeystoreSecretStore(applicationContext), LogcatLogger("AccessManager"))
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val invitation = intent?.data?.toString()
        setContent {
            MaterialTheme {
                var screen by remember { mutableStateOf<Screen>(if (invitation != null) Screen.Register(invitation) else Screen.Locks) }
                when (val s = screen) {
                    is Screen.Register -> RegistrationScreen(kit, "Access Manager", s.invitation, onDone = { screen = Screen.Locks })
                    Screen.SignIn -> SignInScreen(kit, onDone = { screen = Screen.Locks })
                    Screen.Locks -> LockListScreen(kit, onOpen = { screen = Screen.Lock(it) },
                        onSignedOut = { screen = Screen.SignIn })
                    is Screen.Lock -> LockDetailScreen(kit, s.lockId, onBack = { screen = Screen.Locks },
                        onLogs = { screen = Screen.Logs(s.lockId) }, onCodes = { screen = Screen.Codes(s.lockId) },
                        onPairInUnit = { unit -> screen = Screen.Pair(unit, s.lockId) })
                    is Screen.Pair -> PairingScreen(kit, s.unitId, onPaired = { screen = Screen.Lock(it) },
                        onBack = { screen = Screen.Lock(s.back) })
                    is Screen.Logs -> LogsScreen(kit, s.lockId, onBack = { screen = Screen.Lock(s.lockId) })
                    is Screen.Codes -> AccessCodesScreen(kit, s.lockId, onBack = { screen = Screen.Lock(s.lockId) })
                }
            }
        }
    }

    override fun onDestroy() {
        if (isFinishing) kit.close()
        super.onDestroy()
    }
}
