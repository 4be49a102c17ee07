package com.lockaccess.app

import com.lockaccess.core.AccessCodeKind
import com.lockaccess.core.Action
import com.lockaccess.core.CodeSyncState
import com.lockaccess.core.LockInfo
import com.lockaccess.core.OfflineCodeClass
import com.lockaccess.core.TimeWindow
import com.lockaccess.core.UnlockPhase
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job

/**
 * NoKey Resident's home: the doors of the resident's unit, each with the resident's
 * passcode and its real state on the lock, a button that opens it over Bluetooth, and
 * guest codes to share. The cache shows first; offline, the doors still open with the
 * credentials this phone holds.
 */
class DoorsPresenter(
    private val kit: AccessKit,
    private val bluetooth: BluetoothPresenter,
    scope: CoroutineScope = presenterScope(),
    private val zone: ZoneId = ZoneId.systemDefault(),
) : Presenter<DoorsState, DoorsEffect>(DoorsState(), scope) {

    /** The cache at once, then a sync (and fresh credentials for opening offline later). */
    fun started(): Job = event {
        reload()
        sync()
    }

    fun refresh(): Job = event { sync() }

    /** Opens the door over Bluetooth: Searching, Connecting, Opened as the core reports them. */
    fun unlock(lockId: String): Job = event {
        val bt = bluetooth.check()
        if (bt !is BluetoothState.Ready) {
            setUnlock(lockId, UnlockState.Failed(bt.message ?: ALLOW_BLUETOOTH))
            return@event
        }
        setUnlock(lockId, UnlockState.Searching)
        try {
            kit.unlock(lockId) { phase ->
                setUnlock(lockId, when (phase) {
                    UnlockPhase.SEARCHING -> UnlockState.Searching
                    UnlockPhase.CONNECTING -> UnlockState.Connecting
                    UnlockPhase.OPENED -> UnlockState.Opened
                })
            }
            setUnlock(lockId, UnlockState.Opened)
        } catch (e: AccessKitError) {
            setUnlock(lockId, when (e) {
                is AccessKitError.LockOutOfRange -> UnlockState.OutOfRange(e.message)
                is AccessKitError.NotNow -> UnlockState.NotNow(e.message)
                else -> UnlockState.Failed(e.message)
            })
            if (e.needsSignIn) emit(DoorsEffect.NeedsSignIn(e))
        }
    }

    /**
     * A guest code for [lockId] valid from [from] until [until] (on the hour): 14 digits the
     * lock checks by itself. Ends with [DoorsEffect.ShareText] for the share sheet, or the
     * core's refusal in [DoorsState.problem].
     */
    fun shareGuestCode(lockId: String, from: Instant, until: Instant, label: String): Job = event {
        update { it.copy(problem = null) }
        try {
            val code = kit.giveOfflineAccess(lockId, AccessCodeKind.WINDOW, TimeWindow(from, until),
                OfflineCodeClass.GUEST, label.ifBlank { null })
            val door = state.value.doors.firstOrNull { it.lock.id == lockId }
            val f = DateTimeFormatter.ofPattern("EEE d MMM HH:mm").withZone(zone)
            emit(DoorsEffect.ShareText(
                "Your code for ${door?.lock?.name ?: "the door"}: ${code.code}\n" +
                    "Type it on the keypad between ${f.format(code.startsAt)} and ${f.format(code.endsAt)}. $GUEST_NOTE"))
        } catch (e: AccessKitError) {
            update { s ->
                s.copy(problem = e.message, doors = if (e is AccessKitError.NotAllowed)
                    s.doors.map { if (it.lock.id == lockId) it.copy(share = ShareState.NotAllowed(e.message)) else it }
                else s.doors)
            }
            if (e.needsSignIn) emit(DoorsEffect.NeedsSignIn(e))
        }
    }

    /** Signs out (the core wipes this phone's cache and session). */
    fun signOut(): Job = event {
        try {
            kit.logout()
        } catch (_: AccessKitError) {
            // Wiped locally in any case.
        }
        update { DoorsState() }
        emit(DoorsEffect.SignedOut)
    }

    private suspend fun sync() {
        update { it.copy(busy = true) }
        try {
            kit.syncNow()
            kit.refreshCredentials()
            update { it.copy(offline = null, problem = null) }
        } catch (e: AccessKitError) {
            if (e.isTransient) update { it.copy(offline = OFFLINE) }
            else update { it.copy(problem = e.message) }
            if (e.needsSignIn) emit(DoorsEffect.NeedsSignIn(e))
        }
        try {
            reload()
        } catch (e: AccessKitError) {
            update { it.copy(problem = e.message) }
        }
        update { it.copy(busy = false) }
    }

    private suspend fun reload() {
        val locks = kit.locks()
        val passcodes = kit.myPasscodes().associateBy { it.lockId }
        val doors = locks.map { lock ->
            val gate = kit.actionGates(lock.id).firstOrNull { it.action == Action.SHARE_GUEST_CODE }
            Door(
                lock = lock,
                passcode = passcodes[lock.id]?.let { p ->
                    Passcode(p.code, when (p.syncState) {
                        CodeSyncState.PENDING -> PasscodeState.Waiting
                        CodeSyncState.INSTALLED -> PasscodeState.Installed
                        CodeSyncState.FAILED -> PasscodeState.Failed(p.failureReason)
                    })
                },
                share = if (gate?.allowed == true) ShareState.Allowed(GUEST_NOTE)
                else ShareState.NotAllowed(gate?.reason ?: ""),
            )
        }
        update { s ->
            val unlocks = s.doors.associate { it.lock.id to it.unlock }
            s.copy(doors = doors.map { d -> unlocks[d.lock.id]?.let { d.copy(unlock = it) } ?: d })
        }
    }

    private fun setUnlock(lockId: String, u: UnlockState) = update { s ->
        s.copy(doors = s.doors.map { if (it.lock.id == lockId) it.copy(unlock = u) else it })
    }

    companion object {
        const val OFFLINE = "Offline: your doors still open with this phone"
        const val ALLOW_BLUETOOTH = "Allow Bluetooth to open your doors."
        /** Guest codes follow the door's mode; the core's mode table decides, this says it. */
        const val GUEST_NOTE = "Guest codes open while the door is in vacant or maintenance mode."
    }
}

data class DoorsState(
    val doors: List<Door> = emptyList(),
    /** [DoorsPresenter.OFFLINE] while the server cannot be reached. */
    val offline: String? = null,
    val busy: Boolean = false,
    val problem: String? = null,
)

data class Door(
    val lock: LockInfo,
    /** The resident's own passcode on this lock, if the platform gave one. */
    val passcode: Passcode?,
    val share: ShareState,
    val unlock: UnlockState = UnlockState.Idle,
)

data class Passcode(val code: String, val state: PasscodeState)

sealed class PasscodeState {
    /** Given on the platform, not yet on the lock (the next contact carries it). */
    data object Waiting : PasscodeState()
    data object Installed : PasscodeState()
    data class Failed(val reason: String?) : PasscodeState()
}

sealed class UnlockState {
    data object Idle : UnlockState()
    data object Searching : UnlockState()
    data object Connecting : UnlockState()
    data object Opened : UnlockState()
    data class OutOfRange(val message: String) : UnlockState()
    /** The lock's mode does not let residents in now. */
    data class NotNow(val message: String) : UnlockState()
    data class Failed(val message: String) : UnlockState()
}

sealed class ShareState {
    data class Allowed(val note: String) : ShareState()
    data class NotAllowed(val reason: String) : ShareState()
}

sealed class DoorsEffect {
    /** Text for the system share sheet. */
    data class ShareText(val text: String) : DoorsEffect()
    data object SignedOut : DoorsEffect()
    /** Hand to [SessionPresenter.problem]. */
    data class NeedsSignIn(val error: AccessKitError) : DoorsEffect()
}
