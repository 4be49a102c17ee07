package com.lockaccess.kit

import com.lockaccess.core.ActionOutcome
import com.lockaccess.core.LockMode
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The offline queue from Kotlin: act with the server down, replay once it is back. */
class OfflineQueueTest {
    private val admin = TestServer.admin

    @Test
    fun actionsTakenWhileTheServerIsDownAreReplayedExactlyOnceWhenItIsBack() = runBlocking<Unit> {
        val tag = TestServer.email("o").substringBefore('@')
        val site = Site(admin, tag)
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore(),
            requestTimeoutMs = 5_000u).use { kit ->
            onboard(kit, "team_member", TestServer.email("offline"), listOf("rename_locks", "change_modes", "view_logs"), units(site.unitA))
            kit.syncNow()

            TestServer.stop()
            try {
                val renamed = kit.rename(site.frontDoor, "Offline Name $tag")
                assertTrue(renamed is ActionOutcome.Queued, renamed.toString())
                val moded = kit.changeMode(site.patio, LockMode.MAINTENANCE)
                assertTrue(moded is ActionOutcome.Queued, moded.toString())
                // The cache shows what the user did; the queue holds it, in order.
                assertEquals("Offline Name $tag", kit.lock(site.frontDoor).name)
                assertEquals(LockMode.MAINTENANCE, kit.lock(site.patio).mode)
                assertEquals(listOf("rename", "change_mode"), kit.pendingActions().map { it.kind })
                assertThrows<AccessKitError.Offline> { runBlocking { kit.logs(site.frontDoor) } }
            } finally {
                TestServer.start()
            }

            val replay = kit.replayQueue()
            assertEquals(2u, replay.sent)
            assertEquals(0u, replay.failed)
            assertEquals(0u, replay.pending)
            assertEquals(0, kit.pendingActions().size)
            assertEquals("Offline Name $tag", admin.lockInfo(site.frontDoor)["name"])
            assertEquals("maintenance", admin.lockInfo(site.patio)["mode"])
            // Exactly once: nothing left to send, and the server logged one rename.
            assertEquals(0u, kit.replayQueue().sent)
            val renames = admin.get("/api/v1/locks/${site.frontDoor}/logs?limit=1000")["items"].items()
                .filter { it["action"].toString().contains("rename") }
            assertEquals(1, renames.size, renames.toString())
            val after = kit.syncNow()
            assertEquals(0u, after.failed)
            assertEquals("Offline Name $tag", kit.lock(site.frontDoor).name)
        }
    }
}
