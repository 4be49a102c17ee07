package com.lockaccess.app

import com.lockaccess.core.AccessCodeInfo
import com.lockaccess.core.AccessCodeKind
import com.lockaccess.core.Action
import com.lockaccess.core.ActionOutcome
import com.lockaccess.core.DoorInfo
import com.lockaccess.core.GiveAccessOutcome
import com.lockaccess.core.LockInfo
import com.lockaccess.core.LockMode
import com.lockaccess.core.LockStatusInfo
import com.lockaccess.core.LogEntryInfo
import com.lockaccess.core.TimeWindow
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job

/**
 * Access Manager's lock screen: one row per action with whether the user may take it and,
 * when not, the core's reason; the access codes with their install state; the log, the
 * master code, and what the lock itself says when the phone is at the door.
 */
class LockPresenter(
    private val kit: AccessKit,
    val lockId: String,
    scope: CoroutineScope = presenterScope(),
) : Presenter<LockState, LockEffect>(LockState(), scope) {

    /** The cache at once, then a sync (permissions and the lock as the platform has them now). */
    fun started(): Job = event {
        load()
        try {
            kit.syncNow()
            update { it.copy(offline = false) }
        } catch (e: AccessKitError) {
            fail(e)
        }
        load()
    }

    fun rename(name: String): Job = act { outcome(kit.rename(lockId, name)) }

    fun changeMode(mode: LockMode): Job = act { outcome(kit.changeMode(lockId, mode)) }

    /** A code of [kind]; [window] only (and always) for time-window codes. */
    fun giveCode(kind: AccessCodeKind, label: String?, window: TimeWindow? = null): Job = act {
        when (val given = kit.giveAccess(lockId, kind, label, window)) {
            is GiveAccessOutcome.Created -> update { it.copy(outcome = Outcome.Given(given.code)) }
            is GiveAccessOutcome.Queued -> update { it.copy(outcome = Outcome.Queued(given.actionId), offline = true) }
        }
    }

    /**
     * Revokes a given code on the platform: shown revoked at once, it leaves the lock at the
     * next contact (queued while offline).
     */
    fun removeCode(codeId: String): Job = act { outcome(kit.revokeCode(lockId, codeId)) }

    fun resetCodes(): Job = act {
        kit.resetCodes(lockId)
        update { it.copy(outcome = Outcome.Done) }
    }

    fun showLog(): Job = act {
        val log = kit.logs(lockId)
        update { it.copy(log = log) }
    }

    fun revealMasterCode(): Job = act {
        val code = kit.masterCode(lockId)
        update { it.copy(masterCode = code) }
    }

    /**
     * A contact with the lock: carries the door update (the platform's changes), reads the
     * lock's status and, when the user may view logs, its log.
     */
    fun atTheLock(): Job = act {
        val status = kit.bringInLine(lockId)
        update { it.copy(onSite = status) }
        if (state.value.actions.any { it.action == Action.VIEW_LOGS && it.allowed }) {
            val read = kit.readLockLog(lockId)
            update { it.copy(lockLog = read.lines) }
        }
        // The contact's news goes to the platform now, so the door shown next is this one.
        try {
            kit.uploadLockLogs()
        } catch (e: AccessKitError) {
            // Offline: it waits in the phone and goes with the next upload.
        }
        update { it.copy(outcome = Outcome.Done) }
    }

    private fun act(block: suspend () -> Unit): Job = event {
        update { it.copy(busy = true, problem = null, outcome = null) }
        try {
            block()
        } catch (e: AccessKitError) {
            fail(e)
        }
        try {
            load()
        } catch (e: AccessKitError) {
            fail(e)
        }
        update { it.copy(busy = false) }
    }

    private fun outcome(o: ActionOutcome) = update {
        when (o) {
            is ActionOutcome.Done -> it.copy(outcome = Outcome.Done, offline = false)
            is ActionOutcome.Queued -> it.copy(outcome = Outcome.Queued(o.actionId), offline = true)
        }
    }

    private fun fail(e: AccessKitError) {
        update { it.copy(problem = e.message, offline = e is AccessKitError.Offline || (e.isTransient && it.offline)) }
        if (e.needsSignIn) emit(LockEffect.NeedsSignIn(e))
    }

    private suspend fun load() {
        val lock = kit.lock(lockId)
        val gates = kit.actionGates(lockId).associateBy { it.action }
        val rows = SCREEN_ACTIONS.mapNotNull { a -> gates[a]?.let { ActionRow(a, it.allowed, it.reason) } }
        val codes = kit.accessCodes(lockId)
        update { it.copy(lock = lock, actions = rows, codes = codes) }
        // The door as the platform knows it; offline the last one read stays.
        val door = try {
            kit.door(lockId)
        } catch (e: AccessKitError) {
            null
        }
        if (door != null) update { it.copy(door = door) }
    }

    companion object {
        /** The buttons this screen has, in order; whether each may be used is the core's. */
        val SCREEN_ACTIONS = listOf(Action.GIVE_ACCESS, Action.RESET_CODES, Action.VIEW_LOGS, Action.RENAME,
            Action.CHANGE_MODE, Action.VIEW_MASTER_CODE, Action.PAIR)
    }
}

data class LockState(
    val lock: LockInfo? = null,
    val actions: List<ActionRow> = emptyList(),
    val codes: List<AccessCodeInfo> = emptyList(),
    /** The platform's log (after [LockPresenter.showLog]). */
    val log: List<LogEntryInfo>? = null,
    /** What the lock's own log said at the last contact. */
    val lockLog: List<String> = emptyList(),
    val masterCode: String? = null,
    /** Status and battery read at the lock. */
    val onSite: LockStatusInfo? = null,
    /** How far the lock is in step, as the platform knows from the last phone there (null offline or before it loaded). */
    val door: DoorInfo? = null,
    val outcome: Outcome? = null,
    val offline: Boolean = false,
    val busy: Boolean = false,
    val problem: String? = null,
) {
    /** The actions to show as buttons. */
    val allowedActions: List<Action> get() = actions.filter { it.allowed }.map { it.action }
}

/** One action of the screen: [reason] is the core's when not [allowed]. */
data class ActionRow(val action: Action, val allowed: Boolean, val reason: String?)

sealed class Outcome {
    data object Done : Outcome()
    data class Given(val code: AccessCodeInfo) : Outcome()
    /** Offline: applied to the cache, sent when the network is back. */
    data class Queued(val actionId: String) : Outcome()
}

sealed class LockEffect {
    data class NeedsSignIn(val error: AccessKitError) : LockEffect()
}
