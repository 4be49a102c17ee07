import AccessCore
import AccessKit
@testable import AppLogic
import XCTest

/// Each app's day through its presenters, against the real core, the real server and the
/// apps' virtual lock over BlueZoo (docs/app-screens.md, "Tests"). XCTest runs a class's
/// tests in name order: the manager pairs the lock first, the resident then lives with it.
final class AppDaysTests: XCTestCase {
    static let managerPermissions = ["give_access", "reset_codes", "view_logs", "rename_locks", "change_modes", "view_master_code"]

    // MARK: Access Manager

    func test1_AccessManagerDay() async throws {
        let admin = try await Admin.login()
        let tag = Env.tag()
        let propertyName = "Willow \(tag)"
        let unit = try await admin.unit(try await admin.property(propertyName), "Unit 9")
        let webLock = try await admin.lock(unit, "Front Door \(tag)")
        let email = Env.email("manager")
        let manager = try await admin.invite("team_member", email, permissions: Self.managerPermissions, unitIds: [unit])
        let kit = try Env.kit(.accessManager)
        let password = try await registerWithKit(kit, admin, email: email)
        try await kit.logout()
        await kit.useBluetoothAdapter(AppLock.phoneAdapter)

        // ---- signs in ----
        let session = SessionPresenter(kit: kit)
        await session.started()
        XCTAssertEqual(session.state.screen, .signIn)
        let signIn = SignInPresenter(kit: kit)
        signIn.emailChanged(email)
        signIn.passwordChanged(password)
        await signIn.submit()
        let user = try XCTUnwrap(signIn.state.signedIn, "\(signIn.state)")
        session.signedIn(user)
        XCTAssertEqual(session.state.screen, .home(user))

        // ---- the locks of their unit, searched ----
        let locks = LocksPresenter(kit: kit)
        let listed = Recorder(locks)
        await locks.started()
        XCTAssertEqual(locks.state.locks.map(\.id), [webLock])
        XCTAssertEqual(locks.state.locks.first?.paired, false)
        XCTAssertEqual(locks.state.sync, .idle)
        XCTAssertFalse(locks.state.offline)
        XCTAssertTrue(listed.states.contains { if case .running = $0.sync { return true } else { return false } })
        await locks.queryChanged("nothing like this")
        XCTAssertEqual(locks.state.locks.count, 0)
        await locks.queryChanged("Willow")
        XCTAssertEqual(locks.state.locks.map(\.id), [webLock])

        // ---- pairs onto the lock created on the web ----
        let pairing = PairingPresenter(kit: kit)
        await pairing.started()
        guard case .choosePlace(let places) = pairing.state.step else { return XCTFail("\(pairing.state)") }
        let place = try XCTUnwrap(places.first { $0.unitId == unit }, "\(places)")
        XCTAssertEqual(place.propertyName, propertyName)
        XCTAssertEqual(place.unitName, "Unit 9")
        XCTAssertEqual(place.waitingLocks.map(\.id), [webLock])
        await pairing.chooseWaitingLock(webLock)
        guard case .scanning(let nearby) = pairing.state.step else { return XCTFail("\(pairing.state)") }
        XCTAssertFalse(pairing.state.busy)
        let device = try XCTUnwrap(nearby.first { $0.tag.hasPrefix(AppLock.tag) }, "\(nearby)")
        XCTAssertFalse(device.paired)
        pairing.chooseDevice(device.deviceId)
        XCTAssertEqual(pairing.state.step, .enterCode(device))

        // The lock out of range, then back.
        try await AppLock.outOfRange()
        pairing.codeChanged(AppLock.pairingCode)
        await pairing.pair()
        try await AppLock.inRange()
        guard case .failed(let away, let canRetryAway) = pairing.state.step else { return XCTFail("\(pairing.state)") }
        XCTAssertTrue(canRetryAway)
        XCTAssertTrue(away.localizedCaseInsensitiveContains("range"), away)
        await pairing.retry()
        XCTAssertEqual(pairing.state.step, .enterCode(device))

        // A wrong code, then the right one.
        pairing.codeChanged("1111111111")
        await pairing.pair()
        XCTAssertEqual(pairing.state.step, .failed(message: AccessKitError.wrongPairingCode.errorDescription!, canRetry: true))
        await pairing.retry()
        XCTAssertEqual(pairing.state.step, .enterCode(device))
        XCTAssertEqual(pairing.state.code, "")
        pairing.codeChanged(AppLock.pairingCode)
        let steps = Recorder(pairing)
        await pairing.pair()
        guard case .paired(let paired) = pairing.state.step else { return XCTFail("not paired: \(pairing.state)") }
        XCTAssertEqual(paired.id, webLock, "paired onto the web-created record")
        XCTAssertEqual(paired.unitId, unit)
        XCTAssertTrue(steps.states.contains { $0.step == .pairing(.keyExchange) }, "\(steps.states.map(\.step))")
        let lockId = paired.id
        AppDay.unitId = unit
        AppDay.propertyName = propertyName
        AppDay.lockId = lockId
        let serverSide = try await admin.lockInfo(lockId)
        XCTAssertEqual(serverSide["paired"] as? Bool, true, "\(serverSide)")

        // Pairing it again: the lock is paired already.
        await pairing.chooseUnit(unit, name: "Second door \(tag)")
        guard case .scanning(let again) = pairing.state.step else { return XCTFail("\(pairing.state)") }
        let pairedDevice = try XCTUnwrap(again.first { $0.deviceId == device.deviceId }, "\(again)")
        pairing.chooseDevice(pairedDevice.deviceId)
        pairing.codeChanged(AppLock.pairingCode)
        await pairing.pair()
        guard case .failed(let already, _) = pairing.state.step else { return XCTFail("\(pairing.state)") }
        XCTAssertTrue(already.contains("already paired"), already)

        // ---- the lock screen: every action allowed ----
        await locks.refresh()
        let lock = LockPresenter(kit: kit, lockId: lockId)
        await lock.started()
        XCTAssertEqual(lock.state.lock?.paired, true)
        XCTAssertEqual(lock.state.actions.map(\.action), LockPresenter.screenActions)
        XCTAssertTrue(lock.state.actions.allSatisfy(\.allowed), "\(lock.state.actions)")

        // At the lock: the first contacts carried the door update; status and battery read there.
        await lock.atTheLock()
        XCTAssertNil(lock.state.problem)
        let onSite = try XCTUnwrap(lock.state.onSite)
        XCTAssertFalse(onSite.firmware.isEmpty)
        XCTAssertGreaterThan(onSite.battery, 0)
        // The door as the platform knows it after that contact: in step, by this app.
        let door = try XCTUnwrap(lock.state.door)
        XCTAssertTrue(door.inStep, "\(door)")
        XCTAssertEqual(door.pendingCodes, 0)
        XCTAssertEqual(door.lastContactApp, "Access Manager")
        XCTAssertNotNil(door.battery)

        // ---- changes its mode and renames it ----
        await lock.changeMode(.resident)
        XCTAssertEqual(lock.state.outcome, .done, "\(lock.state)")
        XCTAssertEqual(lock.state.lock?.mode, .resident)
        await lock.rename("Main Door \(tag)")
        XCTAssertEqual(lock.state.outcome, .done)
        XCTAssertEqual(lock.state.lock?.name, "Main Door \(tag)")
        let renamed = try await admin.lockInfo(lockId)
        XCTAssertEqual(renamed["name"] as? String, "Main Door \(tag)")
        XCTAssertEqual(renamed["mode"] as? String, "resident")

        // ---- gives a code, and revokes it: it leaves the lock at the next contact ----
        await lock.giveCode(.permanent, label: "Cleaner \(tag)", window: nil)
        XCTAssertEqual(lock.state.outcome, .done, "\(lock.state)")
        let given = try XCTUnwrap(lock.state.codes.first { $0.label == "Cleaner \(tag)" }, "\(lock.state.codes)")
        XCTAssertEqual(given.code.count >= 4, true)
        await lock.atTheLock()
        XCTAssertNil(lock.state.problem)
        let installedBefore = try XCTUnwrap(lock.state.onSite).accessCodes
        await lock.removeCode(given.id)
        XCTAssertNil(lock.state.problem)
        XCTAssertEqual(lock.state.outcome, .done)
        XCTAssertNotNil(lock.state.codes.first { $0.id == given.id }?.revokedAt, "\(lock.state.codes)")
        await lock.atTheLock()
        XCTAssertEqual(try XCTUnwrap(lock.state.onSite).accessCodes, installedBefore - 1, "the lock dropped the code")

        // ---- reads its log and its master code ----
        await lock.showLog()
        XCTAssertNil(lock.state.problem)
        XCTAssertFalse(lock.state.log.isEmpty)
        XCTAssertTrue(lock.state.log.contains { $0.action.contains("rename") || $0.action.contains("mode") }, "\(lock.state.log.map(\.action))")
        await lock.revealMasterCode()
        let master = try XCTUnwrap(lock.state.masterCode)
        XCTAssertFalse(master.isEmpty)

        // ---- resets the codes: a new master code, carried to the lock by the next contact ----
        await lock.resetCodes()
        XCTAssertEqual(lock.state.outcome, .done, "\(lock.state)")
        await lock.revealMasterCode()
        XCTAssertNotEqual(lock.state.masterCode, master)
        await lock.atTheLock()
        XCTAssertNil(lock.state.problem)

        // ---- the lock out of range ----
        try await AppLock.outOfRange()
        await lock.atTheLock()
        try await AppLock.inRange()
        XCTAssertEqual(lock.state.problem?.isEmpty, false, "\(lock.state)")
        XCTAssertTrue(lock.state.problem?.localizedCaseInsensitiveContains("range") == true, "\(lock.state.problem ?? "")")

        // ---- loses the network and keeps working from the cache ----
        try await Server.whileDown {
            await locks.refresh()
            XCTAssertTrue(locks.state.offline)
            XCTAssertEqual(locks.state.locks.map(\.id), [lockId], "the list from the phone's copy")
            await lock.rename("Offline Door \(tag)")
            XCTAssertEqual(lock.state.outcome, .queued)
            XCTAssertEqual(lock.state.lock?.name, "Offline Door \(tag)")
            await lock.changeMode(.maintenance)
            XCTAssertEqual(lock.state.outcome, .queued)
            await lock.showLog()
            XCTAssertTrue(lock.state.problem?.contains("No connection to the server") == true, "\(lock.state.problem ?? "")")
            await locks.refresh()
            XCTAssertEqual(locks.state.queued.map(\.kind), ["rename", "change_mode"])
            // Meanwhile, on the platform, the mode permission is taken away (applied once back).
        }
        try await admin.setPermissions(manager, Self.managerPermissions.filter { $0 != "change_modes" })

        // Back online: the rename goes through, the mode change is refused (a failed replay).
        await locks.refresh()
        XCTAssertFalse(locks.state.offline)
        XCTAssertEqual(locks.state.queued.count, 0)
        let failed = try XCTUnwrap(locks.state.failed.first, "\(locks.state)")
        XCTAssertEqual(failed.kind, "change_mode")
        XCTAssertEqual(failed.errorMessage?.isEmpty, false)
        let back = try await admin.lockInfo(lockId)
        XCTAssertEqual(back["name"] as? String, "Offline Door \(tag)")
        XCTAssertEqual(back["mode"] as? String, "resident")
        await locks.dismissFailed(failed.id)
        XCTAssertEqual(locks.state.failed.count, 0)

        // ---- the permission taken away disappears from the lock screen ----
        await lock.started()
        let modeRow = try XCTUnwrap(lock.state.actions.first { $0.action == .changeMode })
        XCTAssertFalse(modeRow.allowed)
        XCTAssertEqual(modeRow.reason?.isEmpty, false)
        XCTAssertFalse(lock.state.allows(.changeMode))
        XCTAssertTrue(lock.state.allows(.rename))
        // Called anyway, the core refuses.
        await lock.changeMode(.vacant)
        XCTAssertNil(lock.state.outcome)
        XCTAssertEqual(lock.state.problem?.isEmpty, false)
        XCTAssertEqual(lock.state.lock?.mode, .resident)

        // ---- without `reset_codes` (pairing), the unit is no place to pair ----
        try await admin.setPermissions(manager, ["view_logs"])
        await locks.refresh()
        await pairing.started()
        guard case .choosePlace(let none) = pairing.state.step else { return XCTFail("\(pairing.state)") }
        XCTAssertFalse(none.contains { $0.unitId == unit }, "\(none)")
        await pairing.chooseUnit(unit, name: "Side door \(tag)")
        if case .scanning(let seen) = pairing.state.step, let any = seen.first {
            pairing.chooseDevice(any.deviceId)
        }
        pairing.codeChanged(AppLock.pairingCode)
        await pairing.pair()
        if case .scanning = pairing.state.step { return XCTFail("no lock nearby to try: \(pairing.state)") }
        guard case .failed(let refused, let canRetry) = pairing.state.step else { return XCTFail("\(pairing.state)") }
        XCTAssertFalse(canRetry)
        XCTAssertFalse(refused.isEmpty)
        // Leave the manager able to change modes for the resident's day.
        try await admin.setPermissions(manager, Self.managerPermissions)

        // ---- signs out ----
        var ended: [LocksEffect] = []
        let watching = locks.effects.observe { ended.append($0) }
        await locks.signOut()
        watching.cancel()
        XCTAssertEqual(ended, [.sessionEnded(.notSignedIn)])
        session.problem(.notSignedIn)
        XCTAssertEqual(session.state.screen, .signIn)
        XCTAssertNil(session.state.problem)
        let nobody = try await kit.currentUser()
        XCTAssertNil(nobody)
    }

    // MARK: NoKey Resident

    func test2_NoKeyResidentDay() async throws {
        let admin = try await Admin.login()
        let unit = try XCTUnwrap(AppDay.unitId, "the manager's day pairs the apps' lock first")
        let lockId = try XCTUnwrap(AppDay.lockId)
        // The property manager's phone moves the lock's mode at the lock (set-up, not a screen here).
        let staff = try Env.kit(.accessManager)
        let staffEmail = Env.email("pm")
        _ = try await admin.invite("team_member", staffEmail, permissions: ["change_modes", "view_logs"], unitIds: [unit])
        try await registerWithKit(staff, admin, email: staffEmail)
        _ = try await staff.syncNow()
        await staff.useBluetoothAdapter(AppLock.phoneAdapter)

        let email = Env.email("resident")
        let resident = try await admin.invite("resident", email, permissions: [], unitIds: [unit])
        let kit = try Env.kit(.nokeyResident)
        await kit.useBluetoothAdapter(AppLock.phoneAdapter)

        // ---- registers from the invitation code typed from the mail ----
        let session = SessionPresenter(kit: kit)
        await session.started()
        XCTAssertEqual(session.state.screen, .signIn)
        let reg = RegistrationPresenter(kit: kit, app: .nokeyResident)
        reg.invitationChanged(try await admin.invitationCode(email))
        reg.emailChanged(email)
        let phone = Env.phone()
        reg.phoneChanged(phone)
        XCTAssertNil(reg.state.phoneProblem)
        reg.passwordChanged("pw-123456789")
        reg.nameChanged("Robin Resident")
        reg.usernameChanged(Env.username(email))
        XCTAssertNil(reg.state.usernameProblem)
        await reg.submit()
        guard case .smsCode = reg.state.step else { return XCTFail("\(reg.state)") }
        reg.smsCodeChanged(try await admin.smsCode(phone))
        await reg.verify()
        guard case .done(let user) = reg.state.step else { return XCTFail("\(reg.state)") }
        XCTAssertEqual(user.userType, .resident)
        session.signedIn(user)
        XCTAssertEqual(session.state.screen, .home(user))

        // ---- sees their door, and their passcode waiting for the lock ----
        let radio = ScriptedBluetooth(.notDetermined)
        let bluetooth = BluetoothPresenter(platform: radio)
        let doors = DoorsPresenter(kit: kit, bluetooth: bluetooth)
        var effects: [DoorsEffect] = []
        let watching = doors.effects.observe { effects.append($0) }
        defer { watching.cancel() }
        await doors.started()
        XCTAssertFalse(doors.state.offline)
        XCTAssertNil(doors.state.problem)
        XCTAssertEqual(doors.state.doors.map(\.lock.id), [lockId])
        var door = try XCTUnwrap(doors.state.door(lockId))
        XCTAssertEqual(door.unlock, .idle)
        XCTAssertEqual(door.share, .allowed)
        let passcode = try XCTUnwrap(door.passcode, "a resident has a passcode on their door")
        XCTAssertEqual(passcode.state, .waiting)

        // ---- Bluetooth not allowed: nothing goes to the lock ----
        await doors.unlock(lockId)
        XCTAssertEqual(radio.prompts, 1, "the system prompt is shown")
        XCTAssertEqual(doors.state.door(lockId)?.unlock, .failed(message: BluetoothPresenter.refusedMessage))
        radio.auth = .denied(canAskAgain: false)
        await doors.unlock(lockId)
        XCTAssertEqual(doors.state.door(lockId)?.unlock, .failed(message: BluetoothPresenter.refusedForeverMessage))
        radio.auth = .granted

        // ---- opens it over Bluetooth ----
        let seen = Recorder(doors)
        await doors.unlock(lockId)
        XCTAssertEqual(doors.state.door(lockId)?.unlock, .opened, "\(doors.state)")
        let phases = seen.states.dropFirst().compactMap { $0.door(lockId)?.unlock }
        XCTAssertTrue(phases.contains(.opened), "\(phases)")
        XCTAssertTrue(phases.contains(.connecting), "the core tells the phases before Opened: \(phases)")
        XCTAssertFalse(phases.contains { if case .failed = $0 { return true } else { return false } }, "\(phases)")

        // ---- the passcode's real state: the contact installed it ----
        await doors.refresh()
        door = try XCTUnwrap(doors.state.door(lockId))
        let installed = try XCTUnwrap(door.passcode)
        XCTAssertEqual(installed.code, passcode.code)
        XCTAssertEqual(installed.state, .installed, "after a contact the lock has the passcode")
        let typed = try await AppLock.keypad(installed.code)
        XCTAssertTrue(typed.hasPrefix("virtual-lock keypad Opened"), typed)

        // ---- shares a guest code ----
        let (from, until) = hourWindow(3)
        let shared = await doors.shareGuestCode(lockId, from: from, until: until, label: "Alex")
        let text = try XCTUnwrap(shared, "\(doors.state)")
        XCTAssertEqual(effects.last, .shareText(text))
        XCTAssertTrue(text.contains(DoorsPresenter.guestCodeNote), text)
        let codeRange = try XCTUnwrap(text.range(of: #"\d{14}"#, options: .regularExpression), text)
        let guestCode = String(text[codeRange])
        // A week and more is refused by the core, nothing shared.
        let (_, tooLate) = hourWindow(8 * 24)
        let refused = await doors.shareGuestCode(lockId, from: from, until: tooLate, label: "Long stay")
        XCTAssertNil(refused)
        XCTAssertEqual(doors.state.problem?.isEmpty, false)
        XCTAssertEqual(effects.last, .shareText(text), "no share sheet for a refused code")

        // Guest codes open in vacant and maintenance mode: not while residents live here.
        let whileResident = try await AppLock.keypad(guestCode)
        XCTAssertTrue(whileResident.hasPrefix("virtual-lock keypad Refused"), whileResident)

        // ---- the guest's code opens at the keypad in vacant mode, where residents are refused ----
        try await staff.setModeOnLock(lockId, to: .vacant)
        let guestTyped = try await AppLock.keypad(guestCode)
        XCTAssertTrue(guestTyped.hasPrefix("virtual-lock keypad Opened"), guestTyped)
        await doors.refresh()
        XCTAssertEqual(doors.state.door(lockId)?.lock.mode, .vacant)
        await doors.unlock(lockId)
        guard case .notNow(let notNow)? = doors.state.door(lockId)?.unlock else {
            return XCTFail("a resident opened in vacant mode: \(doors.state)")
        }
        XCTAssertFalse(notNow.isEmpty)
        try await staff.setModeOnLock(lockId, to: .resident)
        await doors.refresh()

        // ---- out of range ----
        try await AppLock.outOfRange()
        await doors.unlock(lockId)
        try await AppLock.inRange()
        guard case .outOfRange(let away)? = doors.state.door(lockId)?.unlock else {
            return XCTFail("not out of range: \(doors.state)")
        }
        XCTAssertFalse(away.isEmpty)

        // ---- offline, the door still opens ----
        try await Server.whileDown {
            await doors.refresh()
            XCTAssertTrue(doors.state.offline)
            XCTAssertEqual(doors.state.doors.map(\.lock.id), [lockId])
            await doors.unlock(lockId)
            XCTAssertEqual(doors.state.door(lockId)?.unlock, .opened, "\(doors.state)")
        }
        await doors.refresh()
        XCTAssertFalse(doors.state.offline)

        // ---- the platform moves the resident to another unit, and back ----
        let elsewhere = try await admin.unit(try await admin.property("Aspen \(Env.tag())"), "Unit 1")
        try await admin.request("PUT", "/api/v1/users/\(resident)/access", ["type": "units", "unit_ids": [elsewhere]])
        await doors.refresh()
        XCTAssertNil(doors.state.door(lockId), "\(doors.state)")
        try await admin.request("PUT", "/api/v1/users/\(resident)/access", ["type": "units", "unit_ids": [unit]])
        await doors.refresh()
        XCTAssertEqual(doors.state.doors.map(\.lock.id), [lockId])

        // ---- signs out ----
        await doors.signOut()
        XCTAssertEqual(effects.last, .sessionEnded(.notSignedIn))
        XCTAssertTrue(doors.state.doors.isEmpty)
        session.problem(.notSignedIn)
        XCTAssertEqual(session.state.screen, .signIn)
        let nobody = try await kit.currentUser()
        XCTAssertNil(nobody)
    }
}
