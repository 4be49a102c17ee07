package com.lockaccess.manager

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import com.lockaccess.app.LocksPresenter
import com.lockaccess.app.SyncState
import com.lockaccess.ui.Banner

/** The lock list: renders [LocksPresenter]'s state (search, sync, offline queue) and forwards events. */
@Composable
fun LockListScreen(p: LocksPresenter, onOpen: (String) -> Unit, onPair: () -> Unit) {
    val s by p.state.collectAsState()
    LaunchedEffect(Unit) { p.started() }
    Column {
        when (val sync = s.sync) {
            is SyncState.Running -> if (sync.total > 0) LinearProgressIndicator(
                progress = { sync.done.toFloat() / sync.total }, modifier = Modifier.fillMaxWidth())
            else LinearProgressIndicator(Modifier.fillMaxWidth())
            is SyncState.Failed -> if (!s.offline) Text(sync.message, Modifier.padding(12.dp))
            SyncState.Idle -> {}
        }
        if (s.offline) Banner("Offline: showing saved locks." +
            if (s.queued.isNotEmpty()) " ${s.queued.size} change(s) will be sent when you are back online." else "")
        s.failed.forEach { f ->
            Row(Modifier.padding(horizontal = 12.dp)) {
                Text("${f.description}: ${f.errorMessage ?: ""}", Modifier.weight(1f))
                TextButton(onClick = { p.dismissFailed(f.id) }) { Text("Dismiss") }
            }
        }
        OutlinedTextField(s.query, { p.queryChanged(it) }, label = { Text("Search locks") },
            modifier = Modifier.fillMaxWidth().padding(12.dp))
        LazyColumn(Modifier.weight(1f)) {
            items(s.locks, key = { it.id }) { lock ->
                ListItem(
                    headlineContent = { Text(lock.name) },
                    supportingContent = { Text("${lock.propertyName} · ${lock.unitName} · ${lock.mode.name.lowercase()}") },
                    modifier = Modifier.clickable { onOpen(lock.id) },
                )
            }
        }
        Row(Modifier.padding(12.dp)) {
            TextButton(onClick = { p.refresh() }) { Text("Sync") }
            TextButton(onClick = onPair) { Text("Pair a lock") }
            TextButton(onClick = { p.signOut() }) { Text("Sign out") }
        }
    }
}
