package com.lockaccess.kit

import com.lockaccess.core.Action
import com.lockaccess.core.ActionOutcome
import com.lockaccess.core.LockMode
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Permission gates seen from Kotlin: allowed, refused with the typed error, and revoked. */
class GatedActionsTest {
    private val admin = TestServer.admin

    @Test
    fun anAllowedActionReachesTheServerAndARefusedOneIsTypedNotAllowed() = runBlocking<Unit> {
        val tag = TestServer.email("g").substringBefore('@')
        val site = Site(admin, tag)
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            onboard(kit, "team_member", TestServer.email("rename"), listOf("rename_locks"), units(site.unitA))
            kit.syncNow()
            val allowed = kit.allowedActions(site.frontDoor)
            assertTrue(Action.RENAME in allowed, allowed.toString())
            assertTrue(Action.CHANGE_MODE !in allowed, allowed.toString())
            assertTrue(Action.VIEW_MASTER_CODE !in allowed, allowed.toString())

            assertEquals(ActionOutcome.Done, kit.rename(site.frontDoor, "Main Entrance $tag"))
            assertEquals("Main Entrance $tag", admin.lockInfo(site.frontDoor)["name"])
            assertEquals("Main Entrance $tag", kit.lock(site.frontDoor).name)

            val modeBefore = admin.lockInfo(site.frontDoor)["mode"]
            val refused = assertThrows<AccessKitError.NotAllowed> {
                runBlocking { kit.changeMode(site.frontDoor, LockMode.TOUR) }
            }
            assertTrue(refused.message.isNotBlank())
            assertEquals(modeBefore, admin.lockInfo(site.frontDoor)["mode"], "a refused action must not reach the server")
            assertThrows<AccessKitError.NotAllowed> { runBlocking { kit.masterCode(site.frontDoor) } }
            // Out of scope: not even in the cache.
            assertThrows<AccessKitError.NotFound> { runBlocking { kit.rename(site.garage, "Nope") } }
            assertEquals(0, kit.pendingActions().size)
        }
    }

    @Test
    fun aRevokedUserSeesRevokedAndIsWiped() = runBlocking<Unit> {
        val tag = TestServer.email("v").substringBefore('@')
        val site = Site(admin, tag)
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            val user = onboard(kit, "team_member", TestServer.email("revoked"), listOf("view_logs"), units(site.unitA))
            kit.syncNow()
            assertEquals(2, kit.locks().size)
            // Allowed before the revocation (view_logs): answers without throwing.
            kit.logs(site.frontDoor)
            admin.revoke(user)
            assertThrows<AccessKitError.Revoked> { runBlocking { kit.syncNow() } }
            assertNull(kit.currentUser())
            assertEquals(0, kit.locks().size)
            assertThrows<AccessKitError.NotSignedIn> { runBlocking { kit.logs(site.frontDoor) } }
        }
    }
}
