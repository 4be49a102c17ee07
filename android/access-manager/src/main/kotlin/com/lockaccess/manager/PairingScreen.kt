package com.lockaccess.manager

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import com.lockaccess.app.PairingPresenter
import com.lockaccess.app.PairingStep

/**
 * Pairing: renders [PairingPresenter]'s steps. First the property and unit (a lock created on
 * the web and waiting, or a new one named here), then the lock nearby, then its code.
 */
@Composable
fun PairingScreen(p: PairingPresenter, onPaired: (String) -> Unit, onBack: () -> Unit) {
    val s by p.state.collectAsState()
    var newName by remember { mutableStateOf("") }
    LaunchedEffect(Unit) { p.started() }
    Column(Modifier.padding(16.dp)) {
        TextButton(onClick = onBack) { Text("Back") }
        when (val step = s.step) {
            PairingStep.Loading -> LinearProgressIndicator()
            is PairingStep.ChoosePlace -> {
                if (step.places.isEmpty()) Text("There is no unit where you may pair a lock.")
                OutlinedTextField(newName, { newName = it }, label = { Text("Name for a new lock") })
                LazyColumn {
                    step.places.forEach { place ->
                        item(key = place.unitId) { Text("${place.propertyName} · ${place.unitName}") }
                        items(place.waitingLocks, key = { it.id }) { lock ->
                            ListItem(headlineContent = { Text("${lock.name} (waiting to be paired)") },
                                modifier = Modifier.clickable { p.chooseWaitingLock(lock.id) })
                        }
                        item(key = place.unitId + "-new") {
                            TextButton(enabled = newName.isNotBlank(), onClick = { p.chooseUnit(place.unitId, newName) }) {
                                Text("A new lock in ${place.unitName}")
                            }
                        }
                    }
                }
            }
            is PairingStep.Scanning -> {
                Text("Looking for locks nearby…")
                LinearProgressIndicator()
                LazyColumn {
                    items(step.nearby, key = { it.deviceId }) { n ->
                        ListItem(headlineContent = { Text(n.name ?: n.tag) },
                            supportingContent = { Text(if (n.paired) "already paired" else "ready to pair") },
                            modifier = Modifier.clickable { p.chooseDevice(n.deviceId) })
                    }
                }
            }
            is PairingStep.EnterCode -> {
                Text("Type the pairing code printed on ${step.device.name ?: step.device.tag}")
                OutlinedTextField(s.code, p::codeChanged, label = { Text("Pairing code") },
                    keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword))
                Button(onClick = { p.pair() }) { Text("Pair") }
            }
            is PairingStep.Pairing -> {
                Text(step.phase?.name?.lowercase()?.replace('_', ' ') ?: "Starting…")
                LinearProgressIndicator()
            }
            is PairingStep.Paired -> {
                Text("${step.lock.name} is paired")
                Button(onClick = { onPaired(step.lock.id) }) { Text("Open it") }
            }
            is PairingStep.Failed -> {
                Text(step.message)
                Row {
                    if (step.canRetry) Button(onClick = { p.retry() }) { Text("Try again") }
                    TextButton(onClick = onBack) { Text("Cancel") }
                }
            }
        }
    }
}
