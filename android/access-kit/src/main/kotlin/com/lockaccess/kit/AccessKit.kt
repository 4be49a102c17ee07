package com.lockaccess.kit

import com.lockaccess.core.AccessClient
import com.lockaccess.core.Account
import com.lockaccess.core.ActionQueue
import com.lockaccess.core.AccessCodeInfo
import com.lockaccess.core.AccessCodeKind
import com.lockaccess.core.Action
import com.lockaccess.core.ActionGate
import com.lockaccess.core.ActionOutcome
import com.lockaccess.core.App
import com.lockaccess.core.ClientConfig
import com.lockaccess.core.DoorInfo
import com.lockaccess.core.CoreLogger
import com.lockaccess.core.GiveAccessOutcome
import com.lockaccess.core.LockInfo
import com.lockaccess.core.Locks
import com.lockaccess.core.LockMode
import com.lockaccess.core.LockStatusInfo
import com.lockaccess.core.LogReadSummary
import com.lockaccess.core.NearbyLock
import com.lockaccess.core.OfflineCodeClass
import com.lockaccess.core.OfflineCodeInfo
import com.lockaccess.core.OfflineCodes
import com.lockaccess.core.OnSite
import com.lockaccess.core.PairingPhase
import com.lockaccess.core.PairingPlace
import com.lockaccess.core.PairingProgress
import com.lockaccess.core.ScanListener
import com.lockaccess.core.LogEntryInfo
import com.lockaccess.core.PasscodeInfo
import com.lockaccess.core.QueuedActionInfo
import com.lockaccess.core.ReplaySummary
import com.lockaccess.core.SecretStore
import com.lockaccess.core.SyncPhase
import com.lockaccess.core.SyncProgress
import com.lockaccess.core.SyncSummary
import com.lockaccess.core.TimeWindow
import com.lockaccess.core.UnlockPhase
import com.lockaccess.core.UnlockProgress
import com.lockaccess.core.UserInfo
import com.lockaccess.core.checkPhone
import com.lockaccess.core.checkPassword as coreCheckPassword
import com.lockaccess.core.checkUsername as coreCheckUsername
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.mapLatest

/**
 * The apps' one entry point to the core: an [AccessClient] and the objects it hands out
 * ([Account], [Locks], [ActionQueue], [OnSite], [OfflineCodes]) behind suspend functions
 * that throw [AccessKitError], and Flows where a screen watches something progress.
 *
 * All logic (the `+1` phone rule, permission gates, the offline cache and queue) is in the
 * core; this layer only adapts names and types. Close it when the app process no longer
 * needs it (the Rust object and its SQLite connection are released at once).
 *
 * ```
 * val kit = AccessKit.open(serverUrl, filesDir.path, App.ACCESS_MANAGER, KeystoreSecretStore(ctx))
 * val id = kit.register(link, email, "+1 555 123 4567", password, name, "pat.doe")
 * kit.verifySms(id, code)
 * kit.sync().collect { event -> progressBar.show(event) }
 * ```
 */
class AccessKit private constructor(private val client: AccessClient) : AutoCloseable {
    private val closed = AtomicBoolean(false)
    private val account: Account = client.account()
    private val lockList: Locks = client.locks()
    private val actionQueue: ActionQueue = client.queue()
    private val onSite: OnSite = client.onSite()
    private val offlineCodes: OfflineCodes = client.offlineCodes()

    companion object {
        private val live = AtomicInteger(0)

        /**
         * Kits opened and not yet closed in this process. Each one holds a Rust
         * `AccessClient` and the five objects it handed out ([CORE_OBJECTS_PER_KIT] in all);
         * the leak tests compare it (and the core's own handles) before and after a burst of
         * work.
         */
        val liveCount: Int
            get() = live.get()

        /** Rust objects one open kit holds: the client and its five sub-objects. */
        const val CORE_OBJECTS_PER_KIT = 6

        /**
         * Opens the core for [app] with its cache in [dataDir] (created if needed), its
         * session secret in [secrets] and, when given, core logs sent to [logger].
         */
        fun open(
            serverUrl: String,
            dataDir: String,
            app: App,
            secrets: SecretStore,
            logger: CoreLogger? = null,
            requestTimeoutMs: UInt? = null,
        ): AccessKit {
            val client = mapped { AccessClient(ClientConfig(serverUrl, dataDir, app, requestTimeoutMs), secrets, logger) }
            live.incrementAndGet()
            return AccessKit(client)
        }

        /**
         * The core's word on a phone number as typed (its `checkPhone`): null when it follows
         * the `+1` rule or is still empty, else the message saying what to type.
         */
        fun phoneProblem(phone: String): String? =
            if (phone.isBlank()) null
            else try {
                mapped { checkPhone(phone) }
                null
            } catch (e: AccessKitError) {
                e.message
            }

        /**
         * The core's username rule (`checkUsername`: 3 to 32 of a-z 0-9 . _ -): the username
         * in lower case, or [AccessKitError.InvalidInput] with the rule's sentence. Local:
         * nothing is sent.
         */
        fun checkUsername(username: String): String = mapped { coreCheckUsername(username) }

        /**
         * The core's password rule (`checkPassword`: at least 8 characters), shared with the
         * server: [AccessKitError.InvalidInput] with the rule's sentence. Local: nothing is sent.
         */
        fun checkPassword(password: String) = mapped { coreCheckPassword(password) }

        /** The core's word on a new password: null when it follows the rule, else its sentence. */
        fun passwordProblem(password: String): String? =
            try {
                checkPassword(password)
                null
            } catch (e: AccessKitError) {
                e.message
            }

        /**
         * The core's word on a username as typed: null when it follows the rule or is still
         * empty, else the rule's sentence.
         */
        fun usernameProblem(username: String): String? =
            if (username.isBlank()) null
            else try {
                checkUsername(username)
                null
            } catch (e: AccessKitError) {
                e.message
            }
    }

    /** Releases the Rust object now rather than when the garbage collector gets to it. */
    override fun close() {
        if (closed.compareAndSet(false, true)) {
            listOf(account, lockList, actionQueue, onSite, offlineCodes).forEach { it.close() }
            client.close()
            live.decrementAndGet()
        }
    }

    // --- account ----------------------------------------------------------------------

    /**
     * Starts registration from an invitation link (or its token). The phone must follow
     * the `+1` rule ([PhoneRule]); a wrong one fails with [AccessKitError.InvalidPhone]
     * before anything is sent. The [username] must follow the username rule ([checkUsername]);
     * a wrong one fails with [AccessKitError.InvalidInput] before anything is sent, and one
     * another user of the organization has is refused by the server. Returns the
     * registration id for [verifySms].
     */
    suspend fun register(
        invitation: String,
        email: String,
        phone: String,
        password: String,
        name: String,
        username: String,
    ): String = mapped { account.registerFromInvitation(invitation, email, phone, password, name, username) }

    /** Completes registration with the code texted to the phone, and signs in. */
    suspend fun verifySms(registrationId: String, code: String): UserInfo =
        mapped { account.verifySms(registrationId, code) }

    suspend fun login(email: String, password: String): UserInfo = mapped { account.login(email, password) }

    /**
     * Forgot password, first step: the server mails a reset link to [email] and texts a
     * 6-digit code to the account's phone. Returns the server's sentence, the same whether
     * the email has an account or not.
     */
    suspend fun requestPasswordReset(email: String): String = mapped { account.requestPasswordReset(email) }

    /**
     * Forgot password, second step: the mail's link (or its token), the texted code and the
     * new password. Every session of the account ends: sign in again with the new password.
     * A used, replaced or expired link fails with [AccessKitError.InvalidInput] (the
     * server's sentence), a wrong code with [AccessKitError.WrongSmsCode].
     */
    suspend fun confirmPasswordReset(linkOrToken: String, smsCode: String, newPassword: String) =
        mapped { account.confirmPasswordReset(linkOrToken, smsCode, newPassword) }

    /** Signs out and wipes the cache, the queue and the stored session. */
    suspend fun logout() = mapped { account.logout() }

    /** The signed-in user as last synced, or `null`. Works offline. */
    suspend fun currentUser(): UserInfo? = mapped { account.currentUser() }

    // --- sync -------------------------------------------------------------------------

    /** Replays queued actions, then syncs the cache; returns what changed. */
    suspend fun syncNow(): SyncSummary = mapped { client.sync(null) }

    /**
     * A sync as a cold Flow: [SyncEvent.Progress] while it runs, then one
     * [SyncEvent.Finished]; a failure ends the flow with [AccessKitError].
     */
    fun sync(): Flow<SyncEvent> = callbackFlow {
        val progress = object : SyncProgress {
            override fun onProgress(phase: SyncPhase, done: ULong, total: ULong) {
                trySend(SyncEvent.Progress(phase, done.toLong(), total.toLong()))
            }
        }
        val summary = mapped { client.sync(progress) }
        send(SyncEvent.Finished(summary))
        close()
        awaitClose()
    }

    /** Sends queued actions now, in order. */
    suspend fun replayQueue(): ReplaySummary = mapped { actionQueue.replay() }

    // --- locks (cache: all work offline) ----------------------------------------------

    suspend fun locks(): List<LockInfo> = mapped { lockList.list() }

    /**
     * Locks whose name, unit or property contain every word of [query], the first [limit] by
     * name; all when blank.
     */
    suspend fun search(query: String, limit: UInt = 100u): List<LockInfo> =
        if (query.isBlank()) locks() else mapped { lockList.search(query, limit) }

    /**
     * Results for a search field: a new list for each distinct query, a new query
     * cancelling the search still running for the previous one.
     */
    @OptIn(ExperimentalCoroutinesApi::class)
    fun searchResults(queries: Flow<String>): Flow<List<LockInfo>> =
        queries.distinctUntilChanged().mapLatest { search(it) }

    suspend fun lock(lockId: String): LockInfo = mapped { lockList.get(lockId) }

    /**
     * Every action on a lock, each with whether the user may take it now and, when not, the
     * core's reason (a screen shows the reason instead of the button).
     */
    suspend fun actionGates(lockId: String): List<ActionGate> = mapped { lockList.actionGates(lockId) }

    /** The actions the user may take on a lock: the detail screen shows only these. */
    suspend fun allowedActions(lockId: String): Set<Action> = mapped { lockList.allowedActions(lockId).toSet() }

    suspend fun accessCodes(lockId: String): List<AccessCodeInfo> = mapped { lockList.accessCodes(lockId) }

    suspend fun myPasscodes(): List<PasscodeInfo> = mapped { lockList.myPasscodes() }

    // --- gated actions ----------------------------------------------------------------

    /** Renames a lock; [ActionOutcome.Queued] when offline (sent on the next replay). */
    suspend fun rename(lockId: String, name: String): ActionOutcome = mapped { lockList.rename(lockId, name) }

    /** Changes a lock's mode; queued when offline. */
    suspend fun changeMode(lockId: String, mode: LockMode): ActionOutcome =
        mapped { lockList.changeMode(lockId, mode) }

    /** Creates an access code of [kind]; [window] only (and always) for time-window codes. */
    suspend fun giveAccess(
        lockId: String,
        kind: AccessCodeKind,
        label: String? = null,
        window: TimeWindow? = null,
    ): GiveAccessOutcome = mapped { lockList.giveAccess(lockId, kind, label, window) }

    /**
     * Gives an offline code: 14 digits the lock checks by itself, so the visitor can open
     * a lock no phone has visited. [AccessCodeKind.WINDOW] needs a [window] on the hour of
     * 1 hour to 30 days; [AccessCodeKind.ONE_TIME] without one is valid this hour plus
     * 24 hours. [codeClass] picks the lock-mode row (guest or tour; default: tour when the
     * lock is in tour mode). Needs the network; fails with [AccessKitError.NotAllowed]
     * (nothing sent) without `give_access` on the lock and [AccessKitError.InvalidInput]
     * for a bad window.
     *
     * ```
     * val hour = Instant.now().truncatedTo(ChronoUnit.HOURS)
     * val code = kit.giveOfflineAccess(lockId, AccessCodeKind.WINDOW,
     *     TimeWindow(hour, hour.plus(2, ChronoUnit.HOURS)), OfflineCodeClass.TOUR, "Saturday tour")
     * show(code.code, code.validFrom, code.validUntil)
     * ```
     */
    suspend fun giveOfflineAccess(
        lockId: String,
        kind: AccessCodeKind,
        window: TimeWindow? = null,
        codeClass: OfflineCodeClass? = null,
        label: String? = null,
    ): OfflineCodeInfo = mapped { offlineCodes.give(lockId, kind, codeClass, label, window) }

    /**
     * Revokes one given code on the platform: it leaves the lock at the next contact (any
     * phone's). Offline it shows revoked at once and is queued ([ActionOutcome.Queued]).
     */
    suspend fun revokeCode(lockId: String, codeId: String): ActionOutcome = mapped { lockList.revokeCode(lockId, codeId) }

    /** Resets the lock's access codes. Needs the network. */
    suspend fun resetCodes(lockId: String) = mapped { lockList.resetCodes(lockId) }

    /** The lock's access log, newest first. Needs the network. */
    suspend fun logs(lockId: String): List<LogEntryInfo> = mapped { lockList.viewLogs(lockId) }

    /** The lock's master code. Needs the network. */
    suspend fun masterCode(lockId: String): String = mapped { lockList.viewMasterCode(lockId) }

    /** How far the lock is in step with the platform (codes waiting, battery, last contact). Needs the network. */
    suspend fun door(lockId: String): DoorInfo = mapped { lockList.door(lockId) }

    // --- offline queue ----------------------------------------------------------------

    /** Actions waiting for the network, oldest first (the "queued" banner). */
    suspend fun pendingActions(): List<QueuedActionInfo> = mapped { actionQueue.pending() }

    /** Actions the server refused on replay, with why. */
    suspend fun failedActions(): List<QueuedActionInfo> = mapped { actionQueue.failed() }

    suspend fun dismissFailedAction(actionId: String) = mapped { actionQueue.dismissFailed(actionId) }

    // --- Bluetooth LE (the core talks to the locks; these only adapt the shapes) ---------

    /** Uses the adapter with this address (null: the default one) for the next commands. */
    suspend fun useBluetoothAdapter(address: String?) = mapped { onSite.useBluetoothAdapter(address) }

    /** Fetches fresh signed credentials for the locks in scope, for opening them offline. */
    suspend fun refreshCredentials(): UInt = mapped { account.refreshCredentials() }

    /**
     * Locks advertising nearby, as a Flow: each lock once, as it is first seen, during
     * [durationMs]; the flow then completes. Cancelling the collector stops the scan.
     */
    fun scan(durationMs: UInt = 5_000u): Flow<NearbyLock> = callbackFlow {
        val listener = object : ScanListener {
            override fun onLock(lock: NearbyLock) {
                trySend(lock)
            }
        }
        mapped { onSite.scan(durationMs, listener) }
        close()
        awaitClose()
    }

    /**
     * Pairs a factory-fresh lock on site under [unitId], proving the [pairingCode] printed
     * on it: a Flow of [PairingEvent.Phase] ending with [PairingEvent.Paired].
     */
    fun pair(unitId: String, deviceId: String, pairingCode: String, name: String): Flow<PairingEvent> = callbackFlow {
        val progress = object : PairingProgress {
            override fun onPhase(phase: PairingPhase) {
                trySend(PairingEvent.Phase(phase))
            }
        }
        val lock = mapped { onSite.pair(unitId, deviceId, pairingCode, name, progress) }
        send(PairingEvent.Paired(lock))
        close()
        awaitClose()
    }

    /**
     * Opens the lock over BLE with a signed credential (cached: works offline), telling
     * [onPhase] each step as the core reports it (searching, connecting, opened). Fails
     * with [AccessKitError.NotNow] when the lock's mode does not let this user in now.
     */
    suspend fun unlock(lockId: String, onPhase: ((UnlockPhase) -> Unit)? = null) {
        val progress = onPhase?.let { f ->
            object : UnlockProgress {
                override fun onPhase(phase: UnlockPhase) = f(phase)
            }
        }
        mapped { onSite.unlock(lockId, progress) }
    }

    /**
     * The units where the user may pair a lock, each with the locks created on the platform
     * for it and not paired yet. Needs the network.
     */
    suspend fun pairingPlaces(): List<PairingPlace> = mapped { onSite.pairingPlaces() }

    /**
     * Pairs a factory-fresh lock on site onto [lockId], a lock created on the platform and
     * not paired yet: a Flow of [PairingEvent.Phase] ending with [PairingEvent.Paired].
     */
    fun pairOnto(lockId: String, deviceId: String, pairingCode: String): Flow<PairingEvent> = callbackFlow {
        val progress = object : PairingProgress {
            override fun onPhase(phase: PairingPhase) {
                trySend(PairingEvent.Phase(phase))
            }
        }
        val lock = mapped { onSite.pairOnto(lockId, deviceId, pairingCode, progress) }
        send(PairingEvent.Paired(lock))
        close()
        awaitClose()
    }

    suspend fun lockNow(lockId: String) = mapped { onSite.lock(lockId) }

    /** Battery, firmware, mode and clock, read from the lock. */
    suspend fun readStatus(lockId: String): LockStatusInfo = mapped { onSite.readStatus(lockId) }

    /** Reads the lock's log since the last read; uploaded when the network is there. */
    suspend fun readLockLog(lockId: String): LogReadSummary = mapped { onSite.readLog(lockId) }

    suspend fun setModeOnLock(lockId: String, mode: LockMode) = mapped { onSite.setMode(lockId, mode) }

    suspend fun renameOnLock(lockId: String, name: String) = mapped { onSite.rename(lockId, name) }

    suspend fun resetCodesOnLock(lockId: String): UInt = mapped { onSite.resetCodes(lockId) }

    suspend fun installAccessCode(lockId: String, codeId: String) = mapped { onSite.installAccessCode(lockId, codeId) }

    suspend fun removeAccessCode(lockId: String, codeId: String) = mapped { onSite.removeAccessCode(lockId, codeId) }

    /**
     * Brings the lock in line with the platform now: carries its door update (fetched fresh
     * when online), the only thing that moves its clock and revocation list, and answers the
     * lock's status after it.
     */
    suspend fun bringInLine(lockId: String): LockStatusInfo = mapped { onSite.bringInLine(lockId) }

    /** Sends what contacts brought back (contact reports, lock log pages) now; how many log entries the server took. */
    suspend fun uploadLockLogs(): ULong = mapped { onSite.uploadLockLogs() }
}

/** What [AccessKit.pair] reports. */
sealed class PairingEvent {
    data class Phase(val phase: PairingPhase) : PairingEvent()

    /** Paired and registered: the lock as the server now knows it. */
    data class Paired(val lock: LockInfo) : PairingEvent()
}

/** What [AccessKit.sync] reports. */
sealed class SyncEvent {
    /** [done] and [total] count bytes while downloading and rows while saving. */
    data class Progress(val phase: SyncPhase, val done: Long, val total: Long) : SyncEvent()

    data class Finished(val summary: SyncSummary) : SyncEvent()
}
