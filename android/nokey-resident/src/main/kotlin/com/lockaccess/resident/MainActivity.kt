package com.lockaccess.resident

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

class MainActivity : ComponentActivity() {
    private val kit by lazy {
        AccessKit.open(BuildConfig.SERVER_URL, filesDir.path, App.NOKEY_RESIDENT,
            KeystoreSecretStore(applicationContext), LogcatLogger("NoKeyResident"))
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val invitation = intent?.data?.toString()
        setContent {
            MaterialTheme {
                var registering by remember { mutableStateOf(invitation != null) }
                if (registering && invitation != null) {
                    RegistrationScreen(kit, "NoKey Resident", invitation, onDone = { registering = false })
                } else {
                    HomeScreen(kit)
                }
            }
        }
    }

    override fun onDestroy() {
        if (isFinishing) kit.close()
        super.onDestroy()
    }
}
