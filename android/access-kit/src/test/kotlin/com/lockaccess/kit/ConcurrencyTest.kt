package com.lockaccess.kit

import com.lockaccess.core.FfiConverterTypeCoreLogger
import com.lockaccess.core.FfiConverterTypeSecretStore
import com.lockaccess.core.liveObjectCount
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

/**
 * Many concurrent calls from coroutines, then a count of what is still alive.
 *
 * Four counts, before and after: the core's own count of its live exported objects
 * ([liveObjectCount]: each Rust `AccessClient`, and each object it hands out, counts from
 * its making to its drop),
 * [AccessKit.liveCount] (Kotlin side: kits not closed), the generated bindings' handle map
 * of Kotlin secret stores that Rust still holds (each entry is an `Arc<dyn SecretStore>`
 * the core has not dropped: it goes when the Rust `AccessClient` is freed), and the
 * process's open file descriptors (each live client holds its SQLite database, WAL and
 * shared-memory files and its HTTP connections).
 */
class ConcurrencyTest {
    private val admin = TestServer.admin

    private fun openFds(): Int = File("/proc/self/fd").list()?.size ?: error("no /proc/self/fd")

    private fun rustHeldSecretStores(): Int = FfiConverterTypeSecretStore.handleMap.size

    /**
     * [read]'s value once it stops moving. Objects: the bindings' Cleaner frees a Rust object
     * some time after its Kotlin handle becomes unreachable (so collect garbage each round).
     * Descriptors: a closed kit's HTTP connections close on the core's threads a little later.
     * From then on only this test's objects move the count.
     */
    private suspend fun <T> settled(read: () -> T): T {
        var last = read()
        var stableRounds = 0
        for (i in 0 until 100) {
            if (stableRounds == 3) break
            System.gc()
            delay(50)
            val now = read()
            if (now == last) stableRounds++ else stableRounds = 0
            last = now
        }
        return last
    }

    /** Waits (briefly) for [read] to come back to [want]: HTTP connections close asynchronously. */
    private suspend fun settlesTo(want: Int, what: String, read: () -> Int) {
        var now = read()
        for (i in 0 until 100) {
            if (now <= want) break
            delay(50)
            now = read()
        }
        assertEquals(want, now, "$what after closing everything")
    }

    @Test
    fun manyConcurrentCallsFromCoroutinesThenEveryObjectIsFreed() = runBlocking<Unit> {
        val tag = TestServer.email("c").substringBefore('@')
        val site = Site(admin, tag)
        val email = TestServer.email("burst")
        // One registered account, then kits logging in to it concurrently.
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            onboard(kit, "team_member", email, listOf("view_logs", "rename_locks"), units(site.unitA, site.unitB))
        }
        // Warm-up: the first use starts the core's runtime threads and loads classes for good.
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), RecordingSecretStore()).use { kit ->
            kit.login(email, "pw-123456789")
            kit.syncNow()
        }
        val coreObjectsBefore = settled { liveObjectCount() }
        val kitsBefore = AccessKit.liveCount
        val storesBefore = rustHeldSecretStores()
        val loggersBefore = FfiConverterTypeCoreLogger.handleMap.size
        val fdsBefore = settled { openFds() }

        val kits = (1..8).map {
            AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), RecordingSecretStore())
        }
        assertEquals(kitsBefore + 8, AccessKit.liveCount)
        val perKit = AccessKit.CORE_OBJECTS_PER_KIT.toULong()
        assertEquals(coreObjectsBefore + 8uL * perKit, liveObjectCount(), "a Rust AccessClient and its objects per kit")
        assertEquals(storesBefore + 8, rustHeldSecretStores())
        withContext(Dispatchers.Default) {
            // Sign-ins one after another: the server takes at most 5 at once for one email
            // (each counts as a failure until its password checks out).
            for (kit in kits) kit.login(email, "pw-123456789")
            kits.map { kit -> async { kit.syncNow() } }.awaitAll()
            // 400 calls at once across the kits: cache reads, searches, gates and network reads.
            val results = (0 until 400).map { n ->
                val kit = kits[n % kits.size]
                async {
                    when (n % 5) {
                        0 -> kit.locks().size
                        1 -> kit.search("Garage $tag").size
                        2 -> kit.lock(site.patio).let { if (it.name == "Patio $tag") 1 else -1 }
                        3 -> kit.allowedActions(site.frontDoor).size
                        else -> kit.logs(site.garage).let { 1 }
                    }
                }
            }.awaitAll()
            val expectAllowed = kits[0].allowedActions(site.frontDoor).size
            results.forEachIndexed { n, r ->
                val want = when (n % 5) { 0 -> 3; 1 -> 1; 2 -> 1; 3 -> expectAllowed; else -> 1 }
                assertEquals(want, r, "call $n")
            }
        }
        assertEquals(coreObjectsBefore + 8uL * perKit, liveObjectCount(), "Rust objects during the burst")
        kits.forEach { it.close() }

        assertEquals(coreObjectsBefore, liveObjectCount(), "Rust objects still alive after closing every kit")
        assertEquals(kitsBefore, AccessKit.liveCount, "kits alive")
        assertEquals(storesBefore, rustHeldSecretStores(), "secret stores still held by Rust")
        assertEquals(loggersBefore, FfiConverterTypeCoreLogger.handleMap.size, "loggers still held by Rust")
        settlesTo(fdsBefore, "open file descriptors") { openFds() }
    }
}
