package com.lockaccess.kit

import com.lockaccess.core.AccessCodeKind
import com.lockaccess.core.OfflineCodeClass
import com.lockaccess.core.TimeWindow
import java.time.Duration
import java.time.Instant
import java.time.temporal.ChronoUnit
import java.util.Base64
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * Offline codes from Kotlin against the real server: what [AccessKit.giveOfflineAccess]
 * returns matches the server's record, and the code's reference digits name its grant as
 * docs/offline-codes.md says. The proof digits need the lock's code secret, which only the
 * lock can open (the Rust suites check them at the virtual lock's keypad).
 */
class OfflineCodesTest {
    private val admin = TestServer.admin

    @Test
    fun anOfflineCodeComesBackWithItsWindowAndNamesItsGrant() = runBlocking<Unit> {
        val tag = TestServer.email("o").substringBefore('@')
        val site = Site(admin, tag)
        // Paired on the server's side (the identity key a pairing phone reports): offline
        // codes need a paired lock.
        val identity = Base64.getEncoder().encodeToString(ByteArray(32) { 9 })
        admin.request("PUT", "/api/v1/locks/${site.frontDoor}/identity", mapOf("identity_public_key" to identity))
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            onboard(kit, "team_member", TestServer.email("offline"), listOf("give_access"), units(site.unitA))
            kit.syncNow()

            val hour = Instant.now().truncatedTo(ChronoUnit.HOURS)
            val window = TimeWindow(hour, hour.plus(2, ChronoUnit.HOURS))
            val code = kit.giveOfflineAccess(site.frontDoor, AccessCodeKind.WINDOW, window, OfflineCodeClass.TOUR, "  Saturday tour ")
            assertTrue(code.code.matches(Regex("\\d{14}")), code.code)
            assertEquals(site.frontDoor, code.lockId)
            assertEquals(AccessCodeKind.WINDOW, code.kind)
            assertEquals(OfflineCodeClass.TOUR, code.`class`)
            assertEquals("Saturday tour", code.label)
            assertEquals(window.startsAt, code.startsAt)
            assertEquals(window.endsAt, code.endsAt)
            assertEquals(hour.minus(Duration.ofMinutes(5)), code.validFrom)
            assertEquals(window.endsAt.plus(Duration.ofMinutes(5)), code.validUntil)

            // The server's record of it, as the Manage Access page lists it.
            val listed = admin.get("/api/v1/locks/${site.frontDoor}/offline-codes")["items"].items()
                .single { it["id"] == code.id }
            assertEquals(code.code, listed["code"])
            assertEquals("tour", listed["class"])
            assertEquals("Saturday tour", listed["label"])

            // Its first 7 digits name the grant: tour window, this hour, 2 hours.
            assertTrue(code.code.matches(Regex("[0-9]{14}")), code.code)
            assertEquals(expectedReference(kindClass = 1, nonceOf(code.code), hour, hours = 2), code.code.take(7))

            // One-time without a window: this hour plus 24 hours; guest when asked.
            val once = kit.giveOfflineAccess(site.frontDoor, AccessCodeKind.ONE_TIME, codeClass = OfflineCodeClass.GUEST)
            assertEquals(AccessCodeKind.ONE_TIME, once.kind)
            assertEquals(OfflineCodeClass.GUEST, once.`class`)
            // (The hour may have turned since `hour` was read.)
            assertTrue(once.startsAt == hour || once.startsAt == hour.plus(1, ChronoUnit.HOURS), once.startsAt.toString())
            assertEquals(once.startsAt.plus(24, ChronoUnit.HOURS), once.endsAt)
            assertEquals(expectedReference(kindClass = 2, nonceOf(once.code), once.startsAt, hours = 24), once.code.take(7))

            // Refused before anything is sent: a window off the hour, a lock out of scope.
            val before = admin.get("/api/v1/locks/${site.frontDoor}/offline-codes")["items"].items().size
            val offHour = TimeWindow(hour.plusSeconds(60), hour.plus(1, ChronoUnit.HOURS))
            assertThrows<AccessKitError.InvalidInput> {
                runBlocking { kit.giveOfflineAccess(site.frontDoor, AccessCodeKind.WINDOW, offHour) }
            }
            assertThrows<AccessKitError.InvalidInput> {
                runBlocking { kit.giveOfflineAccess(site.frontDoor, AccessCodeKind.WINDOW) }
            }
            assertThrows<AccessKitError.NotFound> {
                runBlocking { kit.giveOfflineAccess(site.garage, AccessCodeKind.WINDOW, window) }
            }
            assertEquals(before, admin.get("/api/v1/locks/${site.frontDoor}/offline-codes")["items"].items().size)
        }
    }

    @Test
    fun withoutGiveAccessAnOfflineCodeIsRefusedAsNotAllowed() = runBlocking<Unit> {
        val tag = TestServer.email("p").substringBefore('@')
        val site = Site(admin, tag)
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            onboard(kit, "team_member", TestServer.email("nooffline"), listOf("view_logs"), units(site.unitA))
            kit.syncNow()
            val refused = assertThrows<AccessKitError.NotAllowed> {
                runBlocking { kit.giveOfflineAccess(site.frontDoor, AccessCodeKind.ONE_TIME) }
            }
            assertTrue(refused.message.isNotBlank())
            assertEquals(0, admin.get("/api/v1/locks/${site.frontDoor}/offline-codes")["items"].items().size)
        }
    }

    private companion object {
        const val EPOCH = 1_704_067_200L // 2024-01-01T00:00Z, the codes' public epoch
        const val NONCES = 9L
        const val WINDOW_SLOTS = 261_000L

        /** The grant's nonce, from the reference field (the first 7 digits). */
        fun nonceOf(code: String): Int = ((code.take(7).toLong() / WINDOW_SLOTS) % NONCES).toInt()

        /** The first slot of windows of [hours] hours: the sum of k + 2 for k in 1 until hours. */
        fun slotBase(hours: Long): Long = (1 until hours).sumOf { it + 2 }

        /** The reference digits of this grant (docs/offline-codes.md, "The code"). */
        fun expectedReference(kindClass: Int, nonce: Int, start: Instant, hours: Int): String {
            val startHour = (start.epochSecond - EPOCH) / 3_600
            val reference = (kindClass * NONCES + nonce) * WINDOW_SLOTS + slotBase(hours.toLong()) + startHour % (hours + 2)
            return "%07d".format(reference)
        }
    }
}
