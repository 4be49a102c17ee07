package com.lockaccess.app

import com.lockaccess.core.AccessCodeKind
import com.lockaccess.core.Action
import com.lockaccess.core.App
import com.lockaccess.core.CodeSyncState
import com.lockaccess.core.LockMode
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.TestServer
import com.lockaccess.kit.get
import com.lockaccess.kit.onboard
import com.lockaccess.kit.units
import java.time.Instant
import java.time.temporal.ChronoUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.MethodOrderer
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.TestMethodOrder

/**
 * Each app's day through its presenters (docs/app-screens.md, "Tests"), against the real
 * core, the real server and the apps' virtual lock on BlueZoo. In order: the manager pairs
 * the lock the resident then opens.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation::class)
class AppDaysTest {
    private val admin = TestServer.admin
    private val tag = TestServer.email("day").substringBefore('@')
    private val property = admin.property("Maple Court $tag")
    private val unit = admin.unit(property, "Unit 7")
    /** Created on the web, waiting for its hardware: the manager pairs the app lock onto it. */
    private val frontDoor = admin.lock(unit, "Front door $tag")
    private val backDoor = admin.lock(unit, "Back door $tag")
    private var paired = false
    /** The lock the manager paired (the web-created record the hardware became). */
    private lateinit var lockId: String
    private val kits = mutableListOf<AccessKit>()

    private suspend fun phoneFor(app: App) = phone(app).also { kits += it }

    @AfterAll
    fun close() = kits.forEach { it.close() }

    @Test
    @Order(1)
    fun accessManagerDay() = runBlocking<Unit> {
        val email = TestServer.email("manager")
        val all = listOf("give_access", "reset_codes", "view_logs", "rename_locks", "change_modes", "view_master_code")
        val managerId = phoneFor(App.ACCESS_MANAGER).let { k -> onboard(k, "team_member", email, all, units(unit)).also { k.logout() } }
        assertTrue(admin.invitationLink(email).contains("/invite/access-manager?token="), invitationMail(email))

        // ---- signs in ----
        val kit = phoneFor(App.ACCESS_MANAGER)
        val signIn = SignInPresenter(kit)
        signIn.emailChanged(email)
        signIn.passwordChanged("pw-123456789")
        signIn.submit().join()
        val user = signIn.state.value.signedIn
        assertNotNull(user, signIn.state.value.toString())
        val session = SessionPresenter(kit)
        session.signedIn(user!!)
        assertEquals(Screen.Home(user), session.state.value.screen)

        // ---- no pair permission: a colleague without it sees no place and is refused ----
        val colleague = phoneFor(App.ACCESS_MANAGER)
        onboard(colleague, "team_member", TestServer.email("viewer"), listOf("view_logs"), units(unit))
        val refused = PairingPresenter(colleague)
        refused.started().join()
        val none = refused.state.value.step
        assertTrue(none is PairingStep.ChoosePlace && none.places.none { it.unitId == unit }, none.toString())

        // ---- pairs onto the web-created lock of the unit ----
        val pairing = PairingPresenter(kit)
        pairing.started().join()
        val places = (pairing.state.value.step as? PairingStep.ChoosePlace)?.places
        val place = places?.singleOrNull { it.unitId == unit }
        assertNotNull(place, "the unit among $places")
        assertEquals(setOf(frontDoor, backDoor), place!!.waitingLocks.map { it.id }.toSet())
        assertEquals("Maple Court $tag", place.propertyName)
        pairing.chooseWaitingLock(frontDoor)
        val nearby = pairing.state.await("the app lock nearby") { s ->
            (s.step as? PairingStep.Scanning)?.nearby?.any { it.tag.startsWith(AppLock.tag) } == true
        }.step as PairingStep.Scanning
        val device = nearby.nearby.first { it.tag.startsWith(AppLock.tag) }
        assertFalse(device.paired)
        pairing.chooseDevice(device.deviceId)
        assertEquals(PairingStep.EnterCode(device), pairing.state.value.step)

        // Out of range.
        AppLock.outOfRange()
        try {
            pairing.codeChanged(AppLock.pairingCode)
            pairing.pair().join()
        } finally {
            AppLock.inRange()
        }
        val away = pairing.state.value.step
        assertTrue(away is PairingStep.Failed && away.canRetry && away.message.contains("lock"), away.toString())
        pairing.retry()
        assertEquals(PairingStep.EnterCode(device), pairing.state.value.step)

        // A wrong code.
        pairing.codeChanged("1111111111")
        pairing.pair().join()
        assertEquals(PairingStep.Failed("Wrong pairing code: check the code printed on the lock.", canRetry = true),
            pairing.state.value.step)
        pairing.retry()

        // The right one, phase by phase.
        val phases = mutableListOf<Any>()
        val watching = launch(Dispatchers.Default) {
            pairing.state.collect { s -> (s.step as? PairingStep.Pairing)?.phase?.let { if (phases.lastOrNull() != it) phases += it } }
        }
        pairing.codeChanged(AppLock.pairingCode)
        pairing.pair().join()
        watching.cancel()
        val done = pairing.state.value.step
        assertTrue(done is PairingStep.Paired, done.toString())
        lockId = (done as PairingStep.Paired).lock.id
        assertEquals(frontDoor, lockId)
        assertTrue(done.lock.paired, done.toString())
        assertTrue(phases.isNotEmpty(), "the core's phases")
        paired = true

        // Already paired: the same lock again, onto the other waiting record.
        val again = PairingPresenter(kit)
        again.started().join()
        again.chooseWaitingLock(backDoor)
        val seen = again.state.await("the paired lock nearby") { s ->
            (s.step as? PairingStep.Scanning)?.nearby?.any { it.deviceId == device.deviceId } == true
        }.step as PairingStep.Scanning
        assertTrue(seen.nearby.first { it.deviceId == device.deviceId }.paired, seen.toString())
        again.chooseDevice(device.deviceId)
        again.codeChanged(AppLock.pairingCode)
        again.pair().join()
        val twice = again.state.value.step
        assertTrue(twice is PairingStep.Failed, twice.toString())

        // The colleague without the permission, at the paired lock: the core refuses.
        refused.chooseWaitingLock(backDoor)
        refused.state.await("the lock nearby") { s ->
            (s.step as? PairingStep.Scanning)?.nearby?.any { it.deviceId == device.deviceId } == true
        }
        refused.chooseDevice(device.deviceId)
        refused.codeChanged(AppLock.pairingCode)
        refused.pair().join()
        val notAllowed = refused.state.value.step
        assertTrue(notAllowed is PairingStep.Failed && !notAllowed.canRetry && notAllowed.message.contains("permission"),
            notAllowed.toString())

        // ---- the lock: changes its mode and renames it ----
        val lock = LockPresenter(kit, lockId)
        lock.started().join()
        assertEquals(LockPresenter.SCREEN_ACTIONS, lock.state.value.actions.map { it.action })
        assertTrue(lock.state.value.actions.all { it.allowed }, lock.state.value.actions.toString())
        lock.changeMode(LockMode.MAINTENANCE).join()
        assertEquals(Outcome.Done, lock.state.value.outcome, lock.state.value.toString())
        assertEquals(LockMode.MAINTENANCE, lock.state.value.lock?.mode)
        assertEquals("maintenance", admin.lockInfo(lockId)["mode"])
        lock.rename("Front door $tag (east)").join()
        assertEquals(Outcome.Done, lock.state.value.outcome)
        assertEquals("Front door $tag (east)", lock.state.value.lock?.name)
        assertEquals("Front door $tag (east)", admin.lockInfo(lockId)["name"])

        // ---- gives a code, carries it to the lock, it opens; removes it ----
        lock.giveCode(AccessCodeKind.PERMANENT, "Cleaner").join()
        val given = (lock.state.value.outcome as? Outcome.Given)?.code
        assertNotNull(given, lock.state.value.toString())
        assertTrue(lock.state.value.codes.any { it.id == given!!.id })
        lock.atTheLock().join()
        val status = lock.state.value.onSite
        assertNotNull(status, lock.state.value.toString())
        assertEquals(LockMode.MAINTENANCE, status!!.mode)
        assertTrue(status.battery > 0u, status.toString())
        assertTrue(AppLock.keypad(given!!.code).contains("Opened"), "the given code at the keypad")
        // The door as the platform knows it after that contact: in step, by this app.
        val door = lock.state.value.door
        assertNotNull(door, lock.state.value.toString())
        assertTrue(door!!.inStep && door.pendingCodes == 0u, door.toString())
        assertEquals("Access Manager", door.lastContactApp, door.toString())
        assertNotNull(door.battery, door.toString())
        lock.removeCode(given.id).join()
        assertEquals(Outcome.Done, lock.state.value.outcome, lock.state.value.toString())
        assertNotNull(lock.state.value.codes.first { it.id == given.id }.revokedAt, lock.state.value.codes.toString())
        // The next contact takes it out of the lock.
        lock.atTheLock().join()
        assertNull(lock.state.value.problem, lock.state.value.toString())
        val revoked = AppLock.keypad(given.code)
        assertFalse(revoked.contains("Opened"), "a revoked code at the keypad: $revoked")

        // ---- reads its log and the master code ----
        lock.showLog().join()
        val log = lock.state.value.log
        assertNotNull(log, lock.state.value.toString())
        assertTrue(log!!.any { it.action.contains("rename") }, log.toString())
        lock.revealMasterCode().join()
        assertTrue(lock.state.value.masterCode?.all { it.isDigit() } == true, lock.state.value.toString())

        // ---- the list ----
        val list = LocksPresenter(kit)
        list.started().join()
        assertTrue(list.state.value.locks.any { it.id == lockId }, list.state.value.toString())
        list.queryChanged("east").join()
        assertEquals(listOf(lockId), list.state.value.locks.map { it.id })
        assertEquals(SyncState.Idle, list.state.value.sync)

        // ---- loses the network and keeps working from the cache ----
        TestServer.stop()
        try {
            list.refresh().join()
            assertTrue(list.state.value.offline, list.state.value.toString())
            assertTrue(list.state.value.sync is SyncState.Failed)
            assertEquals(listOf(lockId), list.state.value.locks.map { it.id }, "the cache")
            lock.rename("Front door $tag (offline)").join()
            assertTrue(lock.state.value.outcome is Outcome.Queued, lock.state.value.toString())
            assertTrue(lock.state.value.offline, lock.state.value.toString())
            assertEquals("Front door $tag (offline)", lock.state.value.lock?.name)
            list.refresh().join()
            assertEquals(listOf("rename"), list.state.value.queued.map { it.kind })
        } finally {
            TestServer.start()
        }
        list.refresh().join()
        assertFalse(list.state.value.offline, list.state.value.toString())
        assertEquals(emptyList<Any>(), list.state.value.queued)
        assertEquals("Front door $tag (offline)", admin.lockInfo(lockId)["name"])

        // ---- a replay the server refuses: the permission went away meanwhile ----
        TestServer.stop()
        try {
            lock.rename("Front door $tag (refused)").join()
            assertTrue(lock.state.value.outcome is Outcome.Queued, lock.state.value.toString())
        } finally {
            TestServer.start()
        }
        admin.setPermissions(managerId, all - "rename_locks")
        list.refresh().join()
        val failed = list.state.value.failed
        assertEquals(1, failed.size, list.state.value.toString())
        assertTrue(failed[0].errorMessage?.contains("permission") == true, failed.toString())
        list.dismissFailed(failed[0].id).join()
        assertEquals(emptyList<Any>(), list.state.value.failed)

        // ---- the permission taken away disappears from the lock's actions after a sync ----
        lock.started().join()
        val rename = lock.state.value.actions.first { it.action == Action.RENAME }
        assertFalse(rename.allowed, rename.toString())
        assertTrue(rename.reason?.contains("permission") == true, rename.toString())
        assertFalse(Action.RENAME in lock.state.value.allowedActions)
        assertTrue(Action.CHANGE_MODE in lock.state.value.allowedActions)
        lock.rename("Not allowed").join()
        assertTrue(lock.state.value.problem?.contains("permission") == true, lock.state.value.toString())
        assertEquals("Front door $tag (offline)", admin.lockInfo(lockId)["name"])

        // ---- the lock out of range ----
        AppLock.outOfRange()
        try {
            lock.atTheLock().join()
        } finally {
            AppLock.inRange()
        }
        assertTrue(lock.state.value.problem?.startsWith("The lock") == true, lock.state.value.toString())
        assertEquals(LockMode.MAINTENANCE, admin.lockInfo(lockId)["mode"].let { LockMode.valueOf(it.toString().uppercase()) })
    }

    @Test
    @Order(2)
    fun nokeyResidentDay() = runBlocking<Unit> {
        assertTrue(paired, "the manager's day paired the lock")
        val email = TestServer.email("resident")
        admin.invite("resident", email, emptyList(), units(unit))
        val kit = phoneFor(App.NOKEY_RESIDENT)
        val session = SessionPresenter(kit)
        session.started().join()
        assertEquals(Screen.SignIn, session.state.value.screen)

        // ---- registers from the code typed from the email ----
        val reg = RegistrationPresenter(kit, App.NOKEY_RESIDENT)
        // The mail's link opens this app's own path; the code on its own line is what is typed.
        assertTrue(admin.invitationLink(email).contains("/invite/nokey-resident?token="), invitationMail(email))
        val typed = mailedCode(email)
        assertEquals(typedCode(admin.invitationLink(email)), typed)
        reg.invitationChanged(typed)
        reg.emailChanged(email)
        reg.phoneChanged("555 867 5309")
        assertTrue(reg.state.value.phoneProblem?.contains("+1") == true, reg.state.value.toString())
        val phone = TestServer.phone()
        reg.phoneChanged(phone)
        assertNull(reg.state.value.phoneProblem)
        reg.passwordChanged("pw-123456789")
        reg.nameChanged("Robin Roe")
        reg.usernameChanged(TestServer.username(email))
        assertNull(reg.state.value.usernameProblem)
        reg.submit().join()
        assertTrue(reg.state.value.step is RegistrationStep.SmsCode, reg.state.value.toString())
        reg.smsCodeChanged(admin.smsCode(phone))
        reg.verify().join()
        val user = (reg.state.value.step as? RegistrationStep.Done)?.user
        assertNotNull(user, reg.state.value.toString())
        session.signedIn(user!!)
        assertEquals(Screen.Home(user), session.state.value.screen)

        // ---- sees their door and their passcode, not yet on the lock ----
        val bluetooth = BluetoothPresenter(ScriptedBluetooth())
        val doors = DoorsPresenter(kit, bluetooth)
        doors.started().join()
        // Every lock of the unit, the one waiting for its hardware too.
        assertTrue(doors.state.value.doors.map { it.lock.id }.containsAll(listOf(lockId, backDoor)), doors.state.value.toString())
        val door = doors.state.value.door(lockId)
        assertNull(doors.state.value.offline)
        val passcode = door.passcode
        assertNotNull(passcode, door.toString())
        passcode!!
        assertEquals(PasscodeState.Waiting, passcode.state, door.toString())
        assertTrue(door.share is ShareState.Allowed, door.toString())

        // ---- opens it over Bluetooth ----
        val unlocks = mutableListOf<UnlockState>()
        val watching = launch(Dispatchers.Default) {
            doors.state.collect { s ->
                s.doors.firstOrNull { it.lock.id == lockId }?.unlock?.let { if (unlocks.lastOrNull() != it) unlocks += it }
            }
        }
        doors.unlock(lockId).join()
        watching.cancel()
        assertEquals(UnlockState.Opened, doors.state.value.door(lockId).unlock, doors.state.value.toString())
        val order = listOf(UnlockState.Idle, UnlockState.Searching, UnlockState.Connecting, UnlockState.Opened)
        assertEquals(unlocks.sortedBy { order.indexOf(it) }, unlocks, "phases in order: $unlocks")

        // ---- their passcode's real state: the contact installed it ----
        // (The contact's report reaches the server beside the unlock: a refresh or two.)
        for (attempt in 1..20) {
            doors.refresh().join()
            if (doors.state.value.door(lockId).passcode?.state == PasscodeState.Installed) break
            delay(250)
        }
        assertEquals(PasscodeState.Installed, doors.state.value.door(lockId).passcode?.state, doors.state.value.toString())
        assertTrue(AppLock.keypad(passcode.code).contains("Opened"), "the passcode at the keypad")

        // ---- shares a guest code that opens at the keypad ----
        val hour = Instant.now().truncatedTo(ChronoUnit.HOURS)
        doors.shareGuestCode(lockId, hour, hour.plus(2, ChronoUnit.HOURS), "Sam").join()
        assertNull(doors.state.value.problem, doors.state.value.toString())
        val shared = withTimeout(10_000) { doors.effects.first() }
        assertTrue(shared is DoorsEffect.ShareText, shared.toString())
        val text = (shared as DoorsEffect.ShareText).text
        val code = Regex("\\b\\d{14}\\b").find(text)?.value
        assertNotNull(code, text)
        assertTrue(text.contains(DoorsPresenter.GUEST_NOTE), text)
        val opened = AppLock.keypad(code!!)
        assertTrue(opened.contains("Opened"), "the guest code at the keypad: $opened")

        // Refused: a window longer than a guest's.
        doors.shareGuestCode(lockId, hour, hour.plus(8, ChronoUnit.DAYS), "Too long").join()
        assertNotNull(doors.state.value.problem, doors.state.value.toString())

        // ---- out of range ----
        AppLock.outOfRange()
        try {
            doors.unlock(lockId).join()
        } finally {
            AppLock.inRange()
        }
        val away = doors.state.value.door(lockId).unlock
        assertTrue(away is UnlockState.OutOfRange, away.toString())

        // ---- offline, and the door still opens ----
        TestServer.stop()
        try {
            doors.refresh().join()
            assertEquals(DoorsPresenter.OFFLINE, doors.state.value.offline)
            assertTrue(doors.state.value.doors.any { it.lock.id == lockId }, "the cache")
            doors.unlock(lockId).join()
            assertEquals(UnlockState.Opened, doors.state.value.door(lockId).unlock, doors.state.value.toString())
        } finally {
            TestServer.start()
        }
        doors.refresh().join()
        assertNull(doors.state.value.offline)

        // ---- a mode that does not admit residents ----
        admin.request("PUT", "/api/v1/locks/$lockId/mode", mapOf("mode" to "vacant"))
        doors.refresh().join()
        // The lock has not heard yet: this contact opens, then carries the change to it.
        doors.unlock(lockId).join()
        assertEquals(UnlockState.Opened, doors.state.value.door(lockId).unlock, doors.state.value.toString())
        doors.unlock(lockId).join()
        val notNow = doors.state.value.door(lockId).unlock
        assertTrue(notNow is UnlockState.NotNow && notNow.message.isNotBlank(), notNow.toString())

        // ---- Bluetooth refused on the phone ----
        val refused = BluetoothPresenter(ScriptedBluetooth(permission = false))
        refused.permissionResult(granted = false, canAskAgain = true)
        val noBluetooth = DoorsPresenter(kit, refused)
        noBluetooth.started().join()
        noBluetooth.unlock(lockId).join()
        assertEquals(UnlockState.Failed(BluetoothPresenter.REFUSED), noBluetooth.state.value.door(lockId).unlock)

        // ---- signs out ----
        doors.signOut().join()
        assertEquals(DoorsEffect.SignedOut, withTimeout(10_000) { doors.effects.first() })
        session.signedOut()
        assertEquals(Screen.SignIn, session.state.value.screen)
        assertNull(kit.currentUser())
        assertEquals(emptyList<Any>(), doors.state.value.doors)
    }
}

private fun DoorsState.door(lockId: String): Door = doors.first { it.lock.id == lockId }
