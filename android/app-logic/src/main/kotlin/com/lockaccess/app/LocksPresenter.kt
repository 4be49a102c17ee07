package com.lockaccess.app

import com.lockaccess.core.LockInfo
import com.lockaccess.core.QueuedActionInfo
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import com.lockaccess.kit.SyncEvent
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job

/**
 * Access Manager's lock list: search-as-you-type over the cache, sync with progress, the
 * offline banner with the actions waiting for the network and those the server refused.
 */
class LocksPresenter(
    private val kit: AccessKit,
    scope: CoroutineScope = presenterScope(),
) : Presenter<LocksState, LocksEffect>(LocksState(), scope) {
    private var searching: Job? = null

    fun started(): Job = event {
        search(state.value.query)
        readQueue()
        sync()
    }

    fun queryChanged(query: String): Job {
        update { it.copy(query = query) }
        searching?.cancel()
        return event { search(query) }.also { searching = it }
    }

    fun refresh(): Job = event { sync() }

    fun dismissFailed(actionId: String): Job = event {
        try {
            kit.dismissFailedAction(actionId)
            readQueue()
        } catch (e: AccessKitError) {
            update { it.copy(problem = e.message) }
        }
    }

    fun signOut(): Job = event {
        try {
            kit.logout()
        } catch (_: AccessKitError) {
            // Wiped locally in any case.
        }
        update { LocksState() }
        emit(LocksEffect.SignedOut)
    }

    private suspend fun sync() {
        if (state.value.sync is SyncState.Running) return
        update { it.copy(sync = SyncState.Running(0, 0), problem = null) }
        try {
            kit.sync().collect { e ->
                if (e is SyncEvent.Progress) update { it.copy(sync = SyncState.Running(e.done, e.total)) }
            }
            update { it.copy(sync = SyncState.Idle, offline = false) }
        } catch (e: AccessKitError) {
            update { it.copy(sync = SyncState.Failed(e.message), offline = e.isTransient) }
            if (e.needsSignIn) emit(LocksEffect.NeedsSignIn(e))
        }
        search(state.value.query)
        readQueue()
    }

    private suspend fun search(query: String) {
        try {
            val found = kit.search(query)
            update { if (it.query == query) it.copy(locks = found) else it }
        } catch (e: AccessKitError) {
            update { it.copy(problem = e.message) }
        }
    }

    private suspend fun readQueue() {
        try {
            val queued = kit.pendingActions()
            val failed = kit.failedActions()
            update { it.copy(queued = queued, failed = failed) }
        } catch (e: AccessKitError) {
            update { it.copy(problem = e.message) }
        }
    }
}

data class LocksState(
    val query: String = "",
    /** Search results from the cache (all locks while the query is blank). */
    val locks: List<LockInfo> = emptyList(),
    val sync: SyncState = SyncState.Idle,
    /** The server could not be reached: the list is the cache, actions are queued. */
    val offline: Boolean = false,
    /** Actions waiting for the network. */
    val queued: List<QueuedActionInfo> = emptyList(),
    /** Actions the server refused on replay, with the server's reason. */
    val failed: List<QueuedActionInfo> = emptyList(),
    val problem: String? = null,
)

sealed class SyncState {
    data object Idle : SyncState()
    data class Running(val done: Long, val total: Long) : SyncState()
    data class Failed(val message: String) : SyncState()
}

sealed class LocksEffect {
    data object SignedOut : LocksEffect()
    data class NeedsSignIn(val error: AccessKitError) : LocksEffect()
}
