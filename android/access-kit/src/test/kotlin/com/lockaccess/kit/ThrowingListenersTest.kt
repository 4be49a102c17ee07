package com.lockaccess.kit

import com.lockaccess.core.AccessClient
import com.lockaccess.core.ClientConfig
import com.lockaccess.core.CoreLogger
import com.lockaccess.core.LogLevel
import com.lockaccess.core.NearbyLock
import com.lockaccess.core.ScanListener
import com.lockaccess.core.SyncPhase
import com.lockaccess.core.SyncProgress
import com.lockaccess.core.UserType
import com.lockaccess.core.setLogger
import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * Why the shipped library can be built with `panic = "abort"`: an app's logger or listener
 * that throws is not a Rust panic. The core's listener methods declare an error
 * (`CallbackException`), UniFFI hands any exception to the core as that error, and the core
 * drops it (a lost log record, a missed progress step) and carries on.
 *
 * Without that mapping the same exception is a panic inside UniFFI: on the debug build the
 * calls below would fail with [AccessKitError.Internal], on the shipped build the JVM would
 * abort. These tests assert that the calls succeed with correct results and that the same
 * objects keep working, on whatever build runs them.
 */
class ThrowingListenersTest {
    private val admin = TestServer.admin

    private class ThrowingLogger : CoreLogger {
        val calls = AtomicInteger(0)
        override fun log(level: LogLevel, target: String, message: String) {
            calls.incrementAndGet()
            throw IllegalStateException("logger broke on: $message")
        }
    }

    private class ThrowingProgress : SyncProgress {
        val phases: MutableList<SyncPhase> = Collections.synchronizedList(mutableListOf())
        override fun onProgress(phase: SyncPhase, done: ULong, total: ULong) {
            phases += phase
            throw IllegalStateException("progress bar gone")
        }
    }

    private class ThrowingScan : ScanListener {
        val told: MutableList<NearbyLock> = Collections.synchronizedList(mutableListOf())
        override fun onLock(lock: NearbyLock) {
            told += lock
            throw IllegalStateException("scan screen gone")
        }
    }

    @Test
    fun aLoggerThatThrowsFromEveryCallBreaksNoCall() = runBlocking<Unit> {
        val tag = TestServer.email("tl").substringBefore('@')
        val site = Site(admin, tag)
        val email = TestServer.email("throwing-logger")
        val logger = ThrowingLogger()
        setLogger(logger, LogLevel.TRACE)
        try {
            AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
                onboard(kit, "team_member", email, listOf("view_logs"), units(site.unitA))
                val summary = kit.syncNow()
                assertEquals(2uL, summary.totalLocks)
                assertEquals(setOf("Front Door $tag", "Patio $tag"), kit.locks().map { it.name }.toSet())
                kit.logout()
                assertNull(kit.currentUser())
                // The core did log, and every record threw.
                assertTrue(logger.calls.get() > 0, "the logger was never called")
                // Same kit, same logger: it signs in and syncs again.
                assertEquals(UserType.TEAM_MEMBER, kit.login(email, "pw-123456789").userType)
                assertEquals(2uL, kit.syncNow().totalLocks)
            }
        } finally {
            setLogger(null, LogLevel.INFO)
        }
    }

    @Test
    fun aSyncProgressThatThrowsBreaksNeitherTheSyncNorItsResult() = runBlocking<Unit> {
        val tag = TestServer.email("tp").substringBefore('@')
        val site = Site(admin, tag)
        val dir = TestServer.deviceDir()
        val secrets = InMemorySecretStore()
        AccessKit.open(TestServer.url, dir, appFor("team_member"), secrets).use { kit ->
            onboard(kit, "team_member", TestServer.email("throwing-progress"), listOf("view_logs"), units(site.unitA))
        }
        // The kit's own progress forwards into a Flow and never throws: an app's listener
        // given to the core directly may.
        AccessClient(ClientConfig(TestServer.url, dir, appFor("team_member"), null), secrets, null).use { client ->
            val progress = ThrowingProgress()
            val summary = client.sync(progress)
            assertTrue(summary.full)
            assertEquals(2uL, summary.totalLocks)
            assertEquals(setOf("Front Door $tag", "Patio $tag"), client.locks().use { it.list() }.map { it.name }.toSet())
            // Told of every phase, although each call threw.
            val phases = synchronized(progress.phases) { progress.phases.toList() }
            assertEquals(SyncPhase.REPLAYING, phases.first(), phases.toString())
            assertTrue(SyncPhase.DOWNLOADING in phases, phases.toString())
            assertEquals(SyncPhase.FINISHED, phases.last(), phases.toString())
            // The same client and listener: the next sync and the search answer.
            val again = client.sync(progress)
            assertFalse(again.full)
            assertEquals(2uL, again.totalLocks)
            assertEquals(listOf("Patio $tag"), client.locks().use { it.search("patio") }.map { it.name })
        }
    }

    @Test
    fun aScanListenerThatThrowsDoesNotStopTheScan() = runBlocking<Unit> {
        val adapter = System.getenv("ACCESS_TEST_PHONE_ADAPTER") ?: error("ACCESS_TEST_PHONE_ADAPTER is not set: run scripts/test kotlin")
        AccessClient(ClientConfig(TestServer.url, TestServer.deviceDir(), appFor("team_member"), null), InMemorySecretStore(), null).use { client ->
            client.onSite().use { it.useBluetoothAdapter(adapter) }
            val listener = ThrowingScan()
            val seen = client.onSite().use { it.scan(2_000u, listener) }
            // The virtual lock advertises (fresh, or paired if BleTest ran first).
            assertTrue(seen.isNotEmpty(), "no lock seen")
            val told = synchronized(listener.told) { listener.told.map { it.deviceId }.toSet() }
            assertEquals(seen.map { it.deviceId }.toSet(), told)
            // Same client: the next scan answers too.
            assertTrue(client.onSite().use { it.scan(2_000u, listener) }.isNotEmpty())
        }
    }
}
