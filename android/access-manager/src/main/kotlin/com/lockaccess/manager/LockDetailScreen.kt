package com.lockaccess.manager

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import com.lockaccess.core.AccessCodeInfo
import com.lockaccess.core.AccessCodeKind
import com.lockaccess.core.Action
import com.lockaccess.core.ActionOutcome
import com.lockaccess.core.GiveAccessOutcome
import com.lockaccess.core.LockInfo
import com.lockaccess.core.LockMode
import com.lockaccess.core.LogEntryInfo
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import kotlinx.coroutines.launch

/** One lock, with a button for each action the core says this user may take, and no others. */
@Composable
fun LockDetailScreen(
    kit: AccessKit,
    lockId: String,
    onBack: () -> Unit,
    onLogs: () -> Unit,
    onCodes: () -> Unit,
    onPairInUnit: (String) -> Unit,
) {
    val scope = rememberCoroutineScope()
    var lock by remember { mutableStateOf<LockInfo?>(null) }
    var allowed by remember { mutableStateOf(emptySet<Action>()) }
    var newName by remember { mutableStateOf("") }
    var message by remember { mutableStateOf<String?>(null) }
    LaunchedEffect(lockId) {
        lock = kit.lock(lockId)
        allowed = kit.allowedActions(lockId)
        newName = lock?.name.orEmpty()
    }

    fun act(block: suspend () -> String) {
        scope.launch {
            message = try { block() } catch (e: AccessKitError) { e.message }
            lock = kit.lock(lockId)
        }
    }
    fun outcome(o: ActionOutcome) = when (o) {
        ActionOutcome.Done -> "Done."
        is ActionOutcome.Queued -> "Offline: saved on this phone, sent when the connection is back."
    }

    val l = lock ?: return
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        TextButton(onClick = onBack) { Text("‹ Locks") }
        Text(l.name)
        Text("${l.propertyName} · ${l.unitName} · mode ${l.mode.name.lowercase()}")
        l.battery?.let { Text("Battery $it%") }
        if (Action.UNLOCK in allowed) {
            Button(onClick = { act { kit.unlock(lockId); "Unlocked." } }) { Text("Unlock (Bluetooth)") }
        }
        if (Action.RENAME in allowed) {
            OutlinedTextField(newName, { newName = it }, label = { Text("Name") })
            Button(onClick = { act { outcome(kit.rename(lockId, newName)) } }) { Text("Rename") }
        }
        if (Action.CHANGE_MODE in allowed) {
            LockMode.entries.filter { it != l.mode }.forEach { mode ->
                Button(onClick = { act { outcome(kit.changeMode(lockId, mode)) } }) { Text("Switch to ${mode.name.lowercase()}") }
            }
        }
        if (Action.GIVE_ACCESS in allowed) {
            Button(onClick = {
                act {
                    when (val o = kit.giveAccess(lockId, AccessCodeKind.ONE_TIME, "Visitor")) {
                        is GiveAccessOutcome.Created -> "One-time code ${o.code.code} (first use within 24 h)"
                        is GiveAccessOutcome.Queued -> "Offline: the code is created when the connection is back."
                    }
                }
            }) { Text("Give a one-time code") }
            TextButton(onClick = onCodes) { Text("Access codes") }
        }
        if (Action.RESET_CODES in allowed) {
            Button(onClick = { act { kit.resetCodes(lockId); "Codes reset." } }) { Text("Reset codes") }
        }
        if (Action.VIEW_MASTER_CODE in allowed) {
            Button(onClick = { act { "Master code: ${kit.masterCode(lockId)}" } }) { Text("Show master code") }
        }
        if (Action.VIEW_LOGS in allowed) TextButton(onClick = onLogs) { Text("Access log") }
        if (Action.PAIR in allowed) TextButton(onClick = { onPairInUnit(l.unitId) }) { Text("Pair a new lock in ${l.unitName}") }
        message?.let { Text(it) }
    }
}

/** The access log: who (user or whose code) did what, how, when. */
@Composable
fun LogsScreen(kit: AccessKit, lockId: String, onBack: () -> Unit) {
    var entries by remember { mutableStateOf(emptyList<LogEntryInfo>()) }
    var error by remember { mutableStateOf<String?>(null) }
    LaunchedEffect(lockId) {
        try { entries = kit.logs(lockId) } catch (e: AccessKitError) { error = e.message }
    }
    Column {
        TextButton(onClick = onBack) { Text("‹ Lock") }
        error?.let { Text(it, Modifier.padding(16.dp)) }
        LazyColumn {
            items(entries, key = { it.id }) { e ->
                val who = e.userName ?: e.codeLabel?.let { "code $it" } ?: "unknown"
                ListItem(headlineContent = { Text("${e.action} by $who") },
                    supportingContent = { Text("${e.at} · ${e.method} · from ${e.source}") })
            }
        }
    }
}

/** Access codes of a lock and whether the lock has each one (waiting, installed, failed). */
@Composable
fun AccessCodesScreen(kit: AccessKit, lockId: String, onBack: () -> Unit) {
    var codes by remember { mutableStateOf(emptyList<AccessCodeInfo>()) }
    LaunchedEffect(lockId) { codes = kit.accessCodes(lockId) }
    Column {
        TextButton(onClick = onBack) { Text("‹ Lock") }
        LazyColumn {
            items(codes, key = { it.id }) { c ->
                ListItem(headlineContent = { Text("${c.label ?: c.kind.name.lowercase()} · ${c.code}") },
                    supportingContent = { Text(c.syncState.name.lowercase() + (c.failureReason?.let { ": $it" } ?: "")) })
            }
        }
    }
}
