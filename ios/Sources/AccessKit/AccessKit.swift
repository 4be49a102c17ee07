import AccessCore
import Foundation

/// The apps' one entry point to the core: an `AccessClient` and the objects it hands out
/// (`Account`, `Locks`, `ActionQueue`, `OnSite`, `OfflineCodes`) behind async methods that
/// throw ``AccessKitError``, and `AsyncStream`s where a screen watches something progress.
///
/// All logic (the `+1` phone rule, permission gates, the offline cache and queue) is in the
/// core; this layer only adapts names and types. The Rust object (and its SQLite
/// connection) is released when the last reference to the kit goes.
///
/// ```swift
/// let kit = try AccessKit(serverURL: url, dataDirectory: dir, app: .accessManager,
///                         secrets: KeychainSecretStore(service: "com.lockaccess.manager"))
/// let id = try await kit.register(invitation: link, email: email, phone: "+1 555 123 4567",
///                                 password: pw, name: name, username: "pat.doe")
/// _ = try await kit.verifySms(registrationId: id, code: code)
/// for try await event in kit.sync() { progress.show(event) }
/// ```
public final class AccessKit: @unchecked Sendable {
    // `AccessClient` and its objects are thread-safe (their Rust side is `Send + Sync`).
    private let client: AccessClient
    private let account: Account
    private let lockList: Locks
    private let actionQueue: ActionQueue
    private let onSite: OnSite
    private let offlineCodes: OfflineCodes

    private static let counter = LiveCounter()

    /// Kits alive in this process. Each holds a Rust `AccessClient` and the five objects it
    /// handed out (``coreObjectsPerKit`` in all); the leak tests compare it before and after
    /// a burst of work.
    public static var liveCount: Int { counter.value }

    /// Rust objects one kit holds: the client and its five sub-objects.
    public static let coreObjectsPerKit = 6

    /// Opens the core for `app` with its cache in `dataDirectory` (created if needed), the
    /// session secret in `secrets` and, when given, core logs sent to `logger`.
    public init(
        serverURL: String, dataDirectory: String, app: App, secrets: SecretStore,
        logger: CoreLogger? = nil, requestTimeoutMs: UInt32? = nil
    ) throws {
        let config = ClientConfig(
            serverUrl: serverURL, dataDir: dataDirectory, app: app, requestTimeoutMs: requestTimeoutMs)
        let client = try mappedSync { try AccessClient(config: config, secrets: secrets, logger: logger) }
        self.client = client
        account = client.account()
        lockList = client.locks()
        actionQueue = client.queue()
        onSite = client.onSite()
        offlineCodes = client.offlineCodes()
        Self.counter.add(1)
    }

    deinit { Self.counter.add(-1) }

    // MARK: account

    /// Starts registration from an invitation link (or its token). The phone must follow
    /// the `+1` rule (``PhoneRule``); a wrong one fails with ``AccessKitError/invalidPhone(_:)``
    /// before anything is sent. The username must follow the username rule
    /// (``checkUsername(_:)``); a wrong one fails with ``AccessKitError/invalidInput(_:)`` before
    /// anything is sent, and one another user of the organization has is refused by the
    /// server. Returns the registration id for ``verifySms(registrationId:code:)``.
    public func register(invitation: String, email: String, phone: String, password: String, name: String,
                         username: String) async throws -> String
    {
        try await mapped {
            try await account.registerFromInvitation(
                linkOrToken: invitation, email: email, phone: phone, password: password, name: name,
                username: username)
        }
    }

    /// Completes registration with the code texted to the phone, and signs in.
    public func verifySms(registrationId: String, code: String) async throws -> UserInfo {
        try await mapped { try await account.verifySms(registrationId: registrationId, code: code) }
    }

    public func login(email: String, password: String) async throws -> UserInfo {
        try await mapped { try await account.login(email: email, password: password) }
    }

    /// Forgot password, first step: the server mails a reset link to `email` and texts a
    /// 6-digit code to the account's phone. Returns the server's sentence, the same whether
    /// the email has an account or not.
    public func requestPasswordReset(email: String) async throws -> String {
        try await mapped { try await account.requestPasswordReset(email: email) }
    }

    /// Forgot password, second step: the mail's link (or its token), the texted code and the
    /// new password. Every session of the account ends: sign in again with the new password.
    /// A used, replaced or expired link fails with ``AccessKitError/invalidInput(_:)`` (the
    /// server's sentence), a wrong code with ``AccessKitError/wrongSmsCode``.
    public func confirmPasswordReset(linkOrToken: String, smsCode: String, newPassword: String) async throws {
        try await mapped {
            try await account.confirmPasswordReset(linkOrToken: linkOrToken, smsCode: smsCode, newPassword: newPassword)
        }
    }

    /// Signs out and wipes the cache, the queue and the stored session.
    public func logout() async throws { try await mapped { try await account.logout() } }

    /// The signed-in user as last synced, or `nil`. Works offline.
    public func currentUser() async throws -> UserInfo? { try await mapped { try await account.currentUser() } }

    /// The core's `+1` rule for a phone field, as the user types: the number normalized
    /// (`+15551234567`), or ``AccessKitError/invalidPhone(_:)`` saying what to type. Local:
    /// nothing is sent.
    public static func checkPhone(_ phone: String) throws -> String {
        try mappedSync { try AccessCore.checkPhone(phone: phone) }
    }

    /// The core's username rule (3 to 32 of a-z 0-9 . _ -) for a field, as the user types:
    /// the username in lower case, or ``AccessKitError/invalidInput(_:)`` with the rule's
    /// sentence. Local: nothing is sent.
    public static func checkUsername(_ username: String) throws -> String {
        try mappedSync { try AccessCore.checkUsername(username: username) }
    }

    /// The core's password rule (at least 8 characters), shared with the server: returns, or
    /// fails with ``AccessKitError/invalidInput(_:)`` and the rule's sentence. Local: nothing
    /// is sent.
    public static func checkPassword(_ password: String) throws {
        try mappedSync { try AccessCore.checkPassword(password: password) }
    }

    // MARK: sync

    /// Replays queued actions, then syncs the cache; returns what changed.
    public func syncNow() async throws -> SyncSummary { try await mapped { try await client.sync(progress: nil) } }

    /// A sync as a stream: ``SyncEvent/progress(phase:done:total:)`` while it runs, then one
    /// ``SyncEvent/finished(_:)``; a failure ends the stream with ``AccessKitError``.
    /// Cancelling the consuming task cancels the sync.
    public func sync() -> AsyncThrowingStream<SyncEvent, Error> {
        AsyncThrowingStream { continuation in
            let progress = StreamProgress(continuation)
            let task = Task {
                do {
                    let summary = try await mapped { try await self.client.sync(progress: progress) }
                    continuation.yield(.finished(summary))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Sends queued actions now, in order.
    public func replayQueue() async throws -> ReplaySummary { try await mapped { try await actionQueue.replay() } }

    // MARK: locks (cache: all work offline)

    public func locks() async throws -> [LockInfo] { try await mapped { try await lockList.list() } }

    /// Locks whose name, unit or property contain every word of `query`, the first `limit`
    /// by name; all when blank.
    public func search(_ query: String, limit: UInt32 = 100) async throws -> [LockInfo] {
        if query.trimmingCharacters(in: .whitespaces).isEmpty { return try await locks() }
        return try await mapped { try await lockList.search(query: query, limit: limit) }
    }

    /// Results for a search field: one list per distinct query, in order.
    public func searchResults<Queries: AsyncSequence & Sendable>(_ queries: Queries)
        -> AsyncThrowingStream<[LockInfo], Error> where Queries.Element == String
    {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var last: String?
                    for try await q in queries where q != last {
                        last = q
                        continuation.yield(try await self.search(q))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func lock(_ lockId: String) async throws -> LockInfo {
        try await mapped { try await lockList.get(lockId: lockId) }
    }

    /// The actions the user may take on a lock: the detail screen shows only these.
    public func allowedActions(_ lockId: String) async throws -> Set<Action> {
        Set(try await mapped { try await lockList.allowedActions(lockId: lockId) })
    }

    /// Every action on a lock with whether the user may take it and, when not, the core's
    /// reason: the lock screen shows the allowed ones and says why the others are not there.
    public func actionGates(_ lockId: String) async throws -> [ActionGate] {
        try await mapped { try await lockList.actionGates(lockId: lockId) }
    }

    public func accessCodes(_ lockId: String) async throws -> [AccessCodeInfo] {
        try await mapped { try await lockList.accessCodes(lockId: lockId) }
    }

    public func myPasscodes() async throws -> [PasscodeInfo] { try await mapped { try await lockList.myPasscodes() } }

    // MARK: gated actions

    /// Renames a lock; `.queued` when offline (sent on the next replay).
    /// Revokes one given code on the platform; it leaves the lock at the next contact.
    /// Queued when offline (the code shows revoked at once).
    public func revokeCode(_ lockId: String, codeId: String) async throws -> ActionOutcome {
        try await mapped { try await lockList.revokeCode(lockId: lockId, codeId: codeId) }
    }

    public func rename(_ lockId: String, to name: String) async throws -> ActionOutcome {
        try await mapped { try await lockList.rename(lockId: lockId, name: name) }
    }

    /// Changes a lock's mode; queued when offline.
    public func changeMode(_ lockId: String, to mode: LockMode) async throws -> ActionOutcome {
        try await mapped { try await lockList.changeMode(lockId: lockId, mode: mode) }
    }

    /// Creates an access code of `kind`; `window` only (and always) for time-window codes.
    public func giveAccess(_ lockId: String, kind: AccessCodeKind, label: String? = nil, window: TimeWindow? = nil)
        async throws -> GiveAccessOutcome
    {
        try await mapped { try await lockList.giveAccess(lockId: lockId, kind: kind, label: label, window: window) }
    }

    /// Gives an offline code: 14 digits the lock checks by itself, so the visitor can open a
    /// lock no phone has visited. `.window` needs a `window` on the hour of 1 hour to 30 days;
    /// `.oneTime` without one is valid this hour plus 24 hours. `codeClass` picks the
    /// lock-mode row (guest or tour; default: tour when the lock is in tour mode). Needs the
    /// network; throws ``AccessKitError/notAllowed(_:)`` (nothing sent) without `give_access`
    /// on the lock and ``AccessKitError/invalidInput(_:)`` for a bad window.
    ///
    /// ```swift
    /// let hour = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600)
    /// let code = try await kit.giveOfflineAccess(lockId, kind: .window,
    ///     window: TimeWindow(startsAt: hour, endsAt: hour + 2 * 3600), codeClass: .tour, label: "Saturday tour")
    /// show(code.code, code.validFrom, code.validUntil)
    /// ```
    public func giveOfflineAccess(
        _ lockId: String, kind: AccessCodeKind, window: TimeWindow? = nil, codeClass: OfflineCodeClass? = nil,
        label: String? = nil
    ) async throws -> OfflineCodeInfo {
        try await mapped {
            try await offlineCodes.give(lockId: lockId, kind: kind, class: codeClass, label: label, window: window)
        }
    }

    /// Shares a guest's code (a resident for the doors of their own unit, a team member with
    /// `give_access`): an offline time-window code of the guest class, which the lock checks
    /// by itself. The core and the server bound the window (on the hour; for residents at
    /// most 7 days) and refuse with ``AccessKitError/invalidInput(_:)`` or
    /// ``AccessKitError/notAllowed(_:)``, nothing sent.
    public func shareGuestCode(_ lockId: String, window: TimeWindow, label: String? = nil) async throws -> OfflineCodeInfo {
        try await giveOfflineAccess(lockId, kind: .window, window: window, codeClass: .guest, label: label)
    }

    /// Resets the lock's access codes. Needs the network.
    public func resetCodes(_ lockId: String) async throws { try await mapped { try await lockList.resetCodes(lockId: lockId) } }

    /// The lock's access log, newest first. Needs the network.
    public func logs(_ lockId: String) async throws -> [LogEntryInfo] {
        try await mapped { try await lockList.viewLogs(lockId: lockId) }
    }

    /// How far the lock is in step with the platform (codes waiting, battery, last
    /// contact). Needs the network.
    public func door(_ lockId: String) async throws -> DoorInfo {
        try await mapped { try await lockList.door(lockId: lockId) }
    }

    /// The lock's master code. Needs the network.
    public func masterCode(_ lockId: String) async throws -> String {
        try await mapped { try await lockList.viewMasterCode(lockId: lockId) }
    }

    // MARK: offline queue

    /// Actions waiting for the network, oldest first (the "queued" banner).
    public func pendingActions() async throws -> [QueuedActionInfo] { try await mapped { try await actionQueue.pending() } }

    /// Actions the server refused on replay, with why.
    public func failedActions() async throws -> [QueuedActionInfo] { try await mapped { try await actionQueue.failed() } }

    public func dismissFailedAction(_ actionId: String) async throws {
        try await mapped { try await actionQueue.dismissFailed(actionId: actionId) }
    }

    // MARK: Bluetooth LE (the core talks to the locks; these only adapt the shapes)

    /// Uses the adapter with this address (nil: the default one) for the next commands.
    public func useBluetoothAdapter(_ address: String?) async {
        await onSite.useBluetoothAdapter(address: address)
    }

    /// Fetches fresh signed credentials for the locks in scope, for opening them offline.
    public func refreshCredentials() async throws -> UInt32 { try await mapped { try await account.refreshCredentials() } }

    /// Locks advertising nearby, as a stream: each lock once, as it is first seen, during
    /// `durationMs`; the stream then finishes. Cancelling the consumer stops the scan.
    public func scan(durationMs: UInt32 = 5_000) -> AsyncThrowingStream<NearbyLock, Error> {
        AsyncThrowingStream { continuation in
            let listener = StreamScanListener(continuation)
            let task = Task {
                do {
                    _ = try await mapped { try await self.onSite.scan(durationMs: durationMs, listener: listener) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Pairs a factory-fresh lock on site under `unitId`, proving the `pairingCode` printed
    /// on it: a stream of ``PairingEvent/phase(_:)`` ending with ``PairingEvent/paired(_:)``.
    public func pair(unitId: String, deviceId: String, pairingCode: String, name: String)
        -> AsyncThrowingStream<PairingEvent, Error>
    {
        AsyncThrowingStream { continuation in
            let progress = StreamPairingProgress(continuation)
            let task = Task {
                do {
                    let lock = try await mapped {
                        try await self.onSite.pair(
                            unitId: unitId, deviceId: deviceId, pairingCode: pairingCode, name: name, progress: progress)
                    }
                    continuation.yield(.paired(lock))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Opens the lock over BLE with a signed credential (cached: works offline).
    public func unlock(_ lockId: String) async throws {
        try await mapped { try await onSite.unlock(lockId: lockId, progress: nil) }
    }

    /// Opens the lock, telling `progress` each phase as the core reports it (`.opened` when
    /// the lock says so). A lock whose mode does not let this user in now fails with
    /// ``AccessKitError/notNow(_:)``.
    public func unlock(_ lockId: String, progress: @escaping @Sendable (UnlockPhase) -> Void) async throws {
        try await mapped { try await onSite.unlock(lockId: lockId, progress: ClosureUnlockProgress(progress)) }
    }

    /// Units where the user may pair, each with its web-created locks not paired yet. Needs
    /// the network.
    public func pairingPlaces() async throws -> [PairingPlace] { try await mapped { try await onSite.pairingPlaces() } }

    /// Pairs the lock on site onto a lock record created on the web (``pairingPlaces()``),
    /// proving the `pairingCode` printed on it: the same stream as
    /// ``pair(unitId:deviceId:pairingCode:name:)``.
    public func pairOnto(lockId: String, deviceId: String, pairingCode: String) -> AsyncThrowingStream<PairingEvent, Error> {
        AsyncThrowingStream { continuation in
            let progress = StreamPairingProgress(continuation)
            let task = Task {
                do {
                    let lock = try await mapped {
                        try await self.onSite.pairOnto(
                            lockId: lockId, deviceId: deviceId, pairingCode: pairingCode, progress: progress)
                    }
                    continuation.yield(.paired(lock))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func lockNow(_ lockId: String) async throws { try await mapped { try await onSite.lock(lockId: lockId) } }

    /// Battery, firmware, mode and clock, read from the lock.
    public func readStatus(_ lockId: String) async throws -> LockStatusInfo {
        try await mapped { try await onSite.readStatus(lockId: lockId) }
    }

    /// Reads the lock's log since the last read; uploaded when the network is there.
    public func readLockLog(_ lockId: String) async throws -> LogReadSummary {
        try await mapped { try await onSite.readLog(lockId: lockId) }
    }

    public func setModeOnLock(_ lockId: String, to mode: LockMode) async throws {
        try await mapped { try await onSite.setMode(lockId: lockId, mode: mode) }
    }

    /// Installs a given access code (from the cache) in the lock over Bluetooth; the lock's
    /// confirmation goes to the server (queued when offline).
    public func installAccessCode(_ lockId: String, codeId: String) async throws {
        try await mapped { try await onSite.installAccessCode(lockId: lockId, codeId: codeId) }
    }

    /// Removes an access code from the lock over Bluetooth.
    public func removeAccessCode(_ lockId: String, codeId: String) async throws {
        try await mapped { try await onSite.removeAccessCode(lockId: lockId, codeId: codeId) }
    }

    /// Sends what earlier lock contacts left to upload (contact reports, log pages); returns
    /// how many log entries the server took.
    public func uploadLockLogs() async throws -> UInt64 { try await mapped { try await onSite.uploadLockLogs() } }

    /// Brings the lock in line with the platform now: carries its door update (fetched fresh
    /// when online), the only thing that moves its clock and revocation list, and answers the
    /// lock's status after it.
    public func bringInLine(_ lockId: String) async throws -> LockStatusInfo {
        try await mapped { try await onSite.bringInLine(lockId: lockId) }
    }
}

/// What ``AccessKit/pair(unitId:deviceId:pairingCode:name:)`` reports.
public enum PairingEvent: Equatable, Sendable {
    case phase(PairingPhase)
    /// Paired and registered: the lock as the server now knows it.
    case paired(LockInfo)
}

/// Forwards scan results into a stream.
private final class StreamScanListener: ScanListener, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<NearbyLock, Error>.Continuation
    init(_ c: AsyncThrowingStream<NearbyLock, Error>.Continuation) { continuation = c }
    func onLock(lock: NearbyLock) { continuation.yield(lock) }
}

/// Forwards unlock phases to a closure.
private final class ClosureUnlockProgress: UnlockProgress, @unchecked Sendable {
    private let tell: @Sendable (UnlockPhase) -> Void
    init(_ tell: @escaping @Sendable (UnlockPhase) -> Void) { self.tell = tell }
    func onPhase(phase: UnlockPhase) { tell(phase) }
}

/// Forwards pairing phases into a stream.
private final class StreamPairingProgress: PairingProgress, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<PairingEvent, Error>.Continuation
    init(_ c: AsyncThrowingStream<PairingEvent, Error>.Continuation) { continuation = c }
    func onPhase(phase: PairingPhase) { continuation.yield(.phase(phase)) }
}

/// What ``AccessKit/sync()`` reports.
public enum SyncEvent: Equatable, Sendable {
    /// `done` and `total` count bytes while downloading and rows while saving.
    case progress(phase: SyncPhase, done: UInt64, total: UInt64)
    case finished(SyncSummary)
}

/// Forwards the core's progress callbacks into a stream.
private final class StreamProgress: SyncProgress, @unchecked Sendable {
    private let continuation: AsyncThrowingStream<SyncEvent, Error>.Continuation

    init(_ continuation: AsyncThrowingStream<SyncEvent, Error>.Continuation) { self.continuation = continuation }

    func onProgress(phase: SyncPhase, done: UInt64, total: UInt64) {
        continuation.yield(.progress(phase: phase, done: done, total: total))
    }
}

/// A thread-safe counter.
final class LiveCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    var value: Int { lock.lock(); defer { lock.unlock() }; return count }

    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
}
