package com.lockaccess.resident

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.ListItem
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import com.lockaccess.core.LockInfo
import com.lockaccess.core.PasscodeInfo
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError

/**
 * The resident's home: the locks of their unit(s) and their own passcode on each, from the
 * cache (works with no network; an offline banner says so). Unlocking over Bluetooth joins
 * with the core's BLE layer.
 */
@Composable
fun HomeScreen(kit: AccessKit) {
    var locks by remember { mutableStateOf(emptyList<LockInfo>()) }
    var passcodes by remember { mutableStateOf(emptyMap<String, PasscodeInfo>()) }
    var offline by remember { mutableStateOf(false) }
    var error by remember { mutableStateOf<String?>(null) }
    LaunchedEffect(Unit) {
        try {
            kit.syncNow()
        } catch (e: AccessKitError) {
            offline = e.isTransient
            if (!e.isTransient) error = e.message
        }
        locks = kit.locks()
        passcodes = kit.myPasscodes().associateBy { it.lockId }
    }
    Column {
        if (offline) {
            Surface(tonalElevation = 4.dp, modifier = Modifier.fillMaxWidth()) {
                Text("Offline: showing the codes saved on this phone.", Modifier.padding(12.dp))
            }
        }
        error?.let { Text(it, Modifier.padding(16.dp)) }
        LazyColumn {
            items(locks, key = { it.id }) { lock ->
                val code = passcodes[lock.id]
                ListItem(
                    headlineContent = { Text(lock.name) },
                    supportingContent = {
                        Text(code?.let { "Your passcode: ${it.code} (${it.syncState.name.lowercase()})" } ?: lock.unitName)
                    },
                )
            }
        }
    }
}
