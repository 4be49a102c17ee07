package com.lockaccess.kit

import com.lockaccess.core.CoreLogger
import com.lockaccess.core.LogLevel
import com.lockaccess.core.setLogger
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * Why the release profile keeps `panic = "unwind"`: a panic inside the core reaches Kotlin
 * as [AccessKitError.Internal] and the app goes on. UniFFI catches the unwind around every
 * exported call; with `panic = "abort"` the same panic would end the JVM here.
 *
 * The panic is a real one: a logger that throws from a method that cannot fail is, for
 * UniFFI, a broken callback, and the Rust side panics ("callback interface failure") in
 * the middle of `logout`, whose first statement logs.
 */
class PanicTest {
    private class ThrowingLogger : CoreLogger {
        override fun log(level: LogLevel, target: String, message: String) {
            throw IllegalStateException("logger broke on: $message")
        }
    }

    @Test
    fun aPanicInTheCoreIsATypedErrorAndTheKitKeepsWorking() = runBlocking<Unit> {
        AccessKit.open(TestServer.url, TestServer.deviceDir(), appFor("team_member"), InMemorySecretStore()).use { kit ->
            setLogger(ThrowingLogger(), LogLevel.INFO)
            val e = try {
                assertThrows<AccessKitError.Internal> { runBlocking { kit.logout() } }
            } finally {
                setLogger(null, LogLevel.INFO)
            }
            assertTrue(e.message.isNotBlank())
            // Same process, same kit: the next calls answer.
            assertNull(kit.currentUser())
            kit.logout()
        }
    }
}
