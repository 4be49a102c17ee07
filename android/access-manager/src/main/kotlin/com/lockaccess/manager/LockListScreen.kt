package com.lockaccess.manager

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import com.lockaccess.core.QueuedActionInfo
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import com.lockaccess.kit.SyncEvent
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.launch

/** The offline banner: shown while the server is out of reach, with what waits to be sent. */
@Composable
fun OfflineBanner(offline: Boolean, queued: List<QueuedActionInfo>, onRetry: () -> Unit) {
    if (!offline && queued.isEmpty()) return
    Surface(tonalElevation = 4.dp, modifier = Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp)) {
            if (offline) Text("Offline: locks and codes shown from this phone's copy.")
            if (queued.isNotEmpty()) {
                Text("${queued.size} change(s) waiting to be sent:")
                queued.forEach { Text("• ${it.description}") }
            }
            TextButton(onClick = onRetry) { Text("Retry now") }
        }
    }
}

/** Locks in scope from the cache, with search; a sync (with progress) refreshes them. */
@Composable
fun LockListScreen(kit: AccessKit, onOpen: (String) -> Unit, onSignedOut: () -> Unit) {
    val scope = rememberCoroutineScope()
    val query = remember { MutableStateFlow("") }
    val typed by query.collectAsState()
    val locks by remember { kit.searchResults(query) }.collectAsState(initial = emptyList())
    var progress by remember { mutableStateOf<SyncEvent.Progress?>(null) }
    var offline by remember { mutableStateOf(false) }
    var queued by remember { mutableStateOf(emptyList<QueuedActionInfo>()) }

    suspend fun refresh() {
        try {
            kit.sync().collect { event -> progress = event as? SyncEvent.Progress }
            offline = false
        } catch (e: AccessKitError) {
            offline = e.isTransient
            if (e.needsSignIn) onSignedOut()
        } finally {
            progress = null
            queued = kit.pendingActions()
            query.value = query.value + "" // re-run the search on the fresh cache
        }
    }
    LaunchedEffect(Unit) { refresh() }

    Column {
        OfflineBanner(offline, queued) { scope.launch { refresh() } }
        progress?.let { p ->
            if (p.total > 0) LinearProgressIndicator(progress = { p.done.toFloat() / p.total }, Modifier.fillMaxWidth())
            else LinearProgressIndicator(Modifier.fillMaxWidth())
        }
        OutlinedTextField(typed, { query.value = it }, label = { Text("Search by lock, unit or property") },
            modifier = Modifier.fillMaxWidth().padding(8.dp))
        LazyColumn {
            items(locks, key = { it.id }) { lock ->
                ListItem(
                    headlineContent = { Text(lock.name) },
                    supportingContent = { Text("${lock.propertyName} · ${lock.unitName} · ${lock.mode.name.lowercase()}") },
                    modifier = Modifier.clickable { onOpen(lock.id) },
                )
            }
        }
    }
}
