import AccessCore
import AccessKit
import XCTest

/// Bluetooth LE from Swift through the real radio path: the core's btleplug transport on
/// BlueZoo's phone adapter (its private D-Bus relayed into the chroot), the `virtual-lock`
/// binary on the lock adapter, both started by the suite on the host (scripts/lib/shells.sh).
final class BleTests: XCTestCase {
    func testScanAsAStreamPairWithProgressThenUnlock() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("b").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: InMemorySecretStore())
        try await onboard(kit, admin, userType: "team_member", email: TestServer.email("tech"),
                          permissions: ["reset_codes"], access: units(site.unitA))
        _ = try await kit.syncNow()
        await kit.useBluetoothAdapter(TestServer.env("ACCESS_TEST_PHONE_ADAPTER"))

        var seen: [NearbyLock] = []
        for try await lock in kit.scan(durationMs: 3_000) { seen.append(lock) }
        guard let fresh = seen.first(where: { $0.tag.hasPrefix(TestServer.env("ACCESS_TEST_LOCK_TAG")) }) else {
            return XCTFail("the virtual lock is not among \(seen)")
        }
        XCTAssertFalse(fresh.paired)

        do {
            for try await _ in kit.pair(unitId: site.unitA, deviceId: fresh.deviceId, pairingCode: "1357913579",
                                        name: "Front gate \(tag)") {}
            XCTFail("a wrong pairing code was accepted")
        } catch AccessKitError.wrongPairingCode {}

        var phases: [PairingPhase] = []
        var paired: LockInfo?
        for try await event in kit.pair(unitId: site.unitA, deviceId: fresh.deviceId,
                                        pairingCode: TestServer.env("ACCESS_TEST_LOCK_PAIRING_CODE"), name: "Front gate \(tag)") {
            switch event {
            case .phase(let p): phases.append(p)
            case .paired(let l): paired = l
            }
        }
        XCTAssertEqual(phases.first, .connecting, "\(phases)")
        XCTAssertTrue(phases.contains(.keyExchange), "\(phases)")
        XCTAssertEqual(phases.last, .done, "\(phases)")
        guard let lock = paired else { return XCTFail("no paired lock") }
        XCTAssertEqual(lock.unitId, site.unitA)
        let serverName = try await admin.lockInfo(lock.id)["name"] as? String
        XCTAssertEqual(serverName, "Front gate \(tag)")

        _ = try await kit.syncNow()
        try await kit.unlock(lock.id)
        let status = try await kit.readStatus(lock.id)
        XCTAssertFalse(status.firmware.isEmpty)
        XCTAssertGreaterThanOrEqual(status.logHead, 1)
        // On demand, the door update goes with a status read: the lock answers after it.
        let inLine = try await kit.bringInLine(lock.id)
        XCTAssertEqual(inLine.name, status.name)
        XCTAssertGreaterThanOrEqual(inLine.logHead, status.logHead)
    }
}
