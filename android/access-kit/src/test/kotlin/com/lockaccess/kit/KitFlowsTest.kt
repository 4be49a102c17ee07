package com.lockaccess.kit

import com.lockaccess.core.SyncPhase
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.flowOf
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The Flows of access-kit over the real core: sync progress and search-as-you-type. */
class KitFlowsTest {
    private val admin = TestServer.admin

    @Test
    fun syncProgressIsAFlowEndingWithTheSummaryAndSearchResultsFollowTheQueries() = runBlocking<Unit> {
        val tag = TestServer.email("s").substringBefore('@')
        val site = Site(admin, tag)
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            onboard(kit, "team_member", TestServer.email("flows"), emptyList(), units(site.unitA, site.unitB))
            val events = kit.sync().toList()
            val finished = events.last()
            assertTrue(finished is SyncEvent.Finished, events.toString())
            assertEquals(3uL, (finished as SyncEvent.Finished).summary.totalLocks)
            val phases = events.filterIsInstance<SyncEvent.Progress>().map { it.phase }.distinct()
            assertEquals(SyncPhase.REPLAYING, phases.first(), phases.toString())
            assertTrue(SyncPhase.SAVING in phases, phases.toString())
            assertEquals(SyncPhase.FINISHED, phases.last(), phases.toString())
            val saving = events.filterIsInstance<SyncEvent.Progress>().filter { it.phase == SyncPhase.SAVING }
            assertTrue(saving.all { it.done <= it.total && it.total == 3L }, saving.toString())

            // Typed slowly: one list per distinct query, the repeated "ga" searched once.
            val slowly = flow {
                for (q in listOf("", "g", "ga", "ga", "garage $tag", "patio $tag")) {
                    emit(q)
                    delay(150)
                }
            }
            val lists = kit.searchResults(slowly).toList().map { list -> list.map { it.name } }
            assertEquals(5, lists.size, lists.toString())
            assertEquals(3, lists[0].size)
            assertEquals(listOf("Garage $tag"), lists[3])
            assertEquals(listOf("Patio $tag"), lists[4])
            // Typed fast: a new query cancels the search still running; the last one wins.
            val fast = flowOf("g", "ga", "gar", "garage $tag", "patio $tag")
            val last = kit.searchResults(fast).toList().last().map { it.name }
            assertEquals(listOf("Patio $tag"), last)
        }
    }

    @Test
    fun aFailedSyncEndsTheFlowWithTheTypedError() = runBlocking<Unit> {
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            assertThrows<AccessKitError.NotSignedIn> { runBlocking { kit.sync().toList() } }
        }
    }
}
