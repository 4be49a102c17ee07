package com.lockaccess.kit

import com.lockaccess.core.CoreLogger
import com.lockaccess.core.LogLevel
import com.lockaccess.core.SecretStore
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** A secret store that records what the core asked of it. */
class RecordingSecretStore : SecretStore {
    val values = ConcurrentHashMap<String, String>()
    val calls: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override fun get(key: String): String? = values[key].also { calls += "get $key" }

    override fun set(key: String, value: String) {
        calls += "set $key"
        values[key] = value
    }

    override fun delete(key: String) {
        calls += "delete $key"
        values.remove(key)
    }
}

/** A logger that keeps the core's records. */
class RecordingLogger : CoreLogger {
    val records: MutableList<Triple<LogLevel, String, String>> = Collections.synchronizedList(mutableListOf())

    override fun log(level: LogLevel, target: String, message: String) {
        records += Triple(level, target, message)
    }
}

/** The foreign traits implemented in Kotlin, called by the core. */
class ForeignTraitsTest {
    private val admin = TestServer.admin

    @Test
    fun theCoreKeepsTheSessionInTheKotlinSecretStoreAndLogsToTheKotlinLogger() = runBlocking<Unit> {
        val tag = TestServer.email("f").substringBefore('@')
        val site = Site(admin, tag)
        val secrets = RecordingSecretStore()
        val logger = RecordingLogger()
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), secrets, logger).use { kit ->
            onboard(kit, "team_member", TestServer.email("traits"), listOf("view_logs"), units(site.unitA))
            // The session token went to the Kotlin store, nowhere else.
            assertTrue("set session_token" in secrets.calls, secrets.calls.toString())
            val token = secrets.values["session_token"]
            assertTrue(!token.isNullOrBlank())
            kit.syncNow()
            assertEquals(2, kit.locks().size)
            val core = synchronized(logger.records) { logger.records.filter { it.second.startsWith("access_core") } }
            assertTrue(core.any { it.first == LogLevel.INFO && it.third.startsWith("synced") }, core.toString())
            assertTrue(core.any { it.third.contains("signed in") }, core.toString())

            kit.logout()
            assertTrue("delete session_token" in secrets.calls, secrets.calls.toString())
            assertNull(secrets.values["session_token"])
        }
    }

    @Test
    fun aFailingKotlinSecretStoreSurfacesAsTheTypedStorageError() = runBlocking<Unit> {
        val broken = object : SecretStore {
            override fun get(key: String): String? = throw IllegalStateException("keystore locked")
            override fun set(key: String, value: String) = throw IllegalStateException("keystore locked")
            override fun delete(key: String) = throw IllegalStateException("keystore locked")
        }
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), broken).use { kit ->
            val e = assertThrows<AccessKitError.Storage> { runBlocking { kit.currentUser() } }
            assertTrue(e.message.contains("keystore locked"), e.message)
        }
    }
}
