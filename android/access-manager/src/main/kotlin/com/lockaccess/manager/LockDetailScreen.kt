package com.lockaccess.manager

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
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
import androidx.compose.ui.unit.dp
import com.lockaccess.app.LockPresenter
import com.lockaccess.app.Outcome
import com.lockaccess.core.AccessCodeKind
import com.lockaccess.core.Action
import com.lockaccess.core.LockMode

/**
 * One lock: renders [LockPresenter]'s state. Each action shows as a button when the core
 * allows it and as the core's reason when not; the text typed for a rename or a code label
 * is the only state kept here.
 */
@Composable
fun LockDetailScreen(p: LockPresenter, onBack: () -> Unit) {
    val s by p.state.collectAsState()
    var name by remember { mutableStateOf("") }
    var label by remember { mutableStateOf("") }
    LaunchedEffect(p.lockId) { p.started() }
    Column(Modifier.padding(16.dp).verticalScroll(rememberScrollState())) {
        TextButton(onClick = onBack) { Text("Back") }
        val lock = s.lock ?: return@Column Text("Loading…")
        Text(lock.name)
        Text("${lock.propertyName} · ${lock.unitName} · ${lock.mode.name.lowercase()}" +
            (lock.battery?.let { " · battery $it%" } ?: ""))
        s.onSite?.let { Text("At the lock: ${it.mode.name.lowercase()}, battery ${it.battery}%, firmware ${it.firmware}") }
        s.door?.let { d ->
            Text(if (d.inStep) "In step with the platform" else "${d.pendingCodes} codes waiting for a phone at the lock")
            d.battery?.let { Text("Battery ${it}%" + if (d.lowBattery) " (low)" else "") }
            d.lastContactApp?.let { Text("Last contact by $it") }
        }
        when (val o = s.outcome) {
            Outcome.Done -> Text("Done")
            is Outcome.Given -> Text("Code ${o.code.code} given")
            is Outcome.Queued -> Text("Saved: it will be sent when you are back online")
            null -> {}
        }
        s.problem?.let { Text(it) }
        Button(onClick = { p.atTheLock() }) { Text("I'm at the lock: update it") }
        for (row in s.actions) {
            if (!row.allowed) {
                Text("${row.action.name.lowercase().replace('_', ' ')}: ${row.reason ?: ""}")
                continue
            }
            when (row.action) {
                Action.RENAME -> Row {
                    OutlinedTextField(name, { name = it }, label = { Text("New name") }, modifier = Modifier.weight(1f))
                    Button(onClick = { p.rename(name) }) { Text("Rename") }
                }
                Action.CHANGE_MODE -> Row {
                    LockMode.entries.forEach { m ->
                        TextButton(enabled = m != lock.mode, onClick = { p.changeMode(m) }) { Text(m.name.lowercase()) }
                    }
                }
                Action.GIVE_ACCESS -> Row {
                    OutlinedTextField(label, { label = it }, label = { Text("Code for…") }, modifier = Modifier.weight(1f))
                    Button(onClick = { p.giveCode(AccessCodeKind.PERMANENT, label.ifBlank { null }) }) { Text("Give a code") }
                }
                Action.RESET_CODES -> Button(onClick = { p.resetCodes() }) { Text("Reset all codes") }
                Action.VIEW_LOGS -> Button(onClick = { p.showLog() }) { Text("Access log") }
                Action.VIEW_MASTER_CODE -> Button(onClick = { p.revealMasterCode() }) {
                    Text(s.masterCode?.let { "Master code: $it" } ?: "Show the master code")
                }
                else -> {}
            }
        }
        if (s.codes.isNotEmpty()) Text("Access codes")
        s.codes.forEach { c ->
            Row {
                Text("${c.label ?: c.kind.name.lowercase()}: ${c.code} (${c.syncState.name.lowercase()}" +
                    (c.failureReason?.let { ": $it" } ?: "") + ")", Modifier.weight(1f))
                if (c.revokedAt != null) Text("revoked")
                else if (Action.GIVE_ACCESS in s.allowedActions) TextButton(onClick = { p.removeCode(c.id) }) { Text("Remove") }
            }
        }
        s.log?.forEach { e ->
            Text("${e.at} · ${e.action} · ${e.method}" + (e.userName?.let { " · $it" } ?: "") + (e.codeLabel?.let { " · $it" } ?: ""))
        }
        s.lockLog.forEach { Text(it) }
    }
}
