package com.lockaccess.manager

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import com.lockaccess.core.NearbyLock
import com.lockaccess.core.PairingPhase
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import com.lockaccess.kit.PairingEvent
import kotlinx.coroutines.launch

/**
 * Pairing on site: scan (locks appear as the Flow emits them), pick the factory-fresh one,
 * type the code printed on it, and follow the phases to the end. The core checks that the
 * user may pair in [unitId] before anything reaches the lock or the server.
 */
@Composable
fun PairingScreen(kit: AccessKit, unitId: String, onPaired: (String) -> Unit, onBack: () -> Unit) {
    val scope = rememberCoroutineScope()
    val nearby = remember { mutableStateListOf<NearbyLock>() }
    var scanning by remember { mutableStateOf(false) }
    var chosen by remember { mutableStateOf<NearbyLock?>(null) }
    var code by remember { mutableStateOf("") }
    var name by remember { mutableStateOf("") }
    var phase by remember { mutableStateOf<PairingPhase?>(null) }
    var error by remember { mutableStateOf<String?>(null) }

    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        TextButton(onClick = onBack) { Text("‹ Back") }
        Button(enabled = !scanning, onClick = {
            nearby.clear()
            scanning = true
            scope.launch {
                try {
                    kit.scan().collect { lock -> if (!lock.paired) nearby += lock }
                } catch (e: AccessKitError) {
                    error = e.message
                } finally {
                    scanning = false
                }
            }
        }) { Text(if (scanning) "Looking for new locks…" else "Scan for new locks") }
        nearby.forEach { lock ->
            ListItem(headlineContent = { Text(lock.name ?: lock.tag) },
                supportingContent = { Text("Signal ${lock.rssi ?: "?"} dBm") },
                modifier = Modifier.clickable { chosen = lock })
        }
        chosen?.let { lock ->
            OutlinedTextField(code, { code = it }, label = { Text("Pairing code printed on the lock") },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword))
            OutlinedTextField(name, { name = it }, label = { Text("Lock name, e.g. Front door") })
            Button(enabled = phase == null, onClick = {
                error = null
                scope.launch {
                    try {
                        kit.pair(unitId, lock.deviceId, code, name).collect { event ->
                            when (event) {
                                is PairingEvent.Phase -> phase = event.phase
                                is PairingEvent.Paired -> onPaired(event.lock.id)
                            }
                        }
                    } catch (e: AccessKitError) {
                        error = e.message // WrongPairingCode, LockOutOfRange, NotAllowed, ...
                        phase = null
                    }
                }
            }) { Text("Pair") }
        }
        phase?.let { p ->
            LinearProgressIndicator(progress = { (p.ordinal + 1f) / PairingPhase.entries.size }, Modifier.fillMaxWidth())
            Text(
                when (p) {
                    PairingPhase.CONNECTING -> "Connecting to the lock…"
                    PairingPhase.REGISTERING -> "Registering it under the unit…"
                    PairingPhase.KEY_EXCHANGE -> "Checking the pairing code…"
                    PairingPhase.INSTALLING -> "Installing keys, time and master code…"
                    PairingPhase.DONE -> "Paired."
                },
            )
        }
        error?.let { Text(it) }
    }
}
