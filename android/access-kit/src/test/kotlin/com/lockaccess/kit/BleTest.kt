package com.lockaccess.kit

import com.lockaccess.core.PairingPhase
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * Bluetooth LE from Kotlin through the real radio path: the core's btleplug transport on
 * BlueZoo's phone adapter (private D-Bus, `DBUS_SYSTEM_BUS_ADDRESS`), the `virtual-lock`
 * binary on the lock adapter, both started by the suite (scripts/lib/shells.sh).
 */
class BleTest {
    private val admin = TestServer.admin

    private fun env(name: String) = System.getenv(name) ?: error("$name is not set: run scripts/test kotlin")

    @Test
    fun scanAsAFlowPairWithProgressThenUnlock() = runBlocking<Unit> {
        val tag = TestServer.email("b").substringBefore('@')
        val site = Site(admin, tag)
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            onboard(kit, "team_member", TestServer.email("tech"), listOf("reset_codes"), units(site.unitA))
            kit.syncNow()
            kit.useBluetoothAdapter(env("ACCESS_TEST_PHONE_ADAPTER"))

            val seen = kit.scan(3_000u).toList()
            val fresh = seen.firstOrNull { it.tag.startsWith(env("ACCESS_TEST_LOCK_TAG")) }
            assertNotNull(fresh, "the virtual lock among $seen")
            assertFalse(fresh!!.paired)

            assertThrows<AccessKitError.WrongPairingCode> {
                runBlocking { kit.pair(site.unitA, fresh.deviceId, "1357913579", "Front gate $tag").toList() }
            }
            val events = kit.pair(site.unitA, fresh.deviceId, env("ACCESS_TEST_LOCK_PAIRING_CODE"), "Front gate $tag").toList()
            val phases = events.filterIsInstance<PairingEvent.Phase>().map { it.phase }
            assertEquals(PairingPhase.CONNECTING, phases.first(), phases.toString())
            assertTrue(PairingPhase.KEY_EXCHANGE in phases, phases.toString())
            assertEquals(PairingPhase.DONE, phases.last(), phases.toString())
            val paired = (events.last() as PairingEvent.Paired).lock
            assertEquals(site.unitA, paired.unitId)
            assertEquals("Front gate $tag", admin.lockInfo(paired.id)["name"])

            kit.syncNow()
            kit.unlock(paired.id)
            // The lock logged the pairing and the unlock.
            val status = kit.readStatus(paired.id)
            assertTrue(status.firmware.isNotBlank(), status.toString())
            assertTrue(status.logHead >= 1uL, status.toString())
            // On demand, the door update goes with a status read: the lock answers after it.
            val inLine = kit.bringInLine(paired.id)
            assertEquals(status.name, inLine.name, inLine.toString())
            assertTrue(inLine.logHead >= status.logHead, inLine.toString())
        }
    }
}
