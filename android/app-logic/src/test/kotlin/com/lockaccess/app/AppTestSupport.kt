package com.lockaccess.app

import com.lockaccess.core.App
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.InMemorySecretStore
import com.lockaccess.kit.TestServer
import com.lockaccess.kit.get
import com.lockaccess.kit.items
import java.io.File
import java.io.FileOutputStream
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.withTimeoutOrNull

/** An environment variable the suite sets (scripts/lib/shells.sh). */
fun env(name: String): String = System.getenv(name) ?: error("$name is not set: run scripts/test kotlin")

/** A kit on a fresh device directory, talking to the suite's server and BlueZoo's phone adapter. */
suspend fun phone(app: App, requestTimeoutMs: UInt = 5_000u): AccessKit {
    val kit = AccessKit.open(TestServer.url, TestServer.deviceDir(), app, InMemorySecretStore(),
        requestTimeoutMs = requestTimeoutMs)
    kit.useBluetoothAdapter(env("ACCESS_TEST_PHONE_ADAPTER"))
    return kit
}

/** Waits until [state] satisfies [ok]; fails with the last state seen. */
suspend fun <S> StateFlow<S>.await(what: String, timeoutMs: Long = 30_000, ok: (S) -> Boolean): S {
    var last = value
    val found = withTimeoutOrNull(timeoutMs) {
        while (true) {
            last = value
            if (ok(last)) return@withTimeoutOrNull last
            delay(20)
        }
        @Suppress("UNREACHABLE_CODE") null
    }
    return found ?: throw AssertionError("timed out waiting for $what; last state: $last")
}

/** The bare token of an invitation or password reset link (what its mail gives to type). */
fun typedCode(link: String): String = Regex("[?&]token=([A-Za-z0-9_-]+)").find(link)?.groupValues?.get(1)
    ?: error("no token in $link")

/** The invitation mail to [email], as the outbox holds it. */
fun invitationMail(email: String): String {
    val mail = TestServer.admin.get("/api/v1/outbox?limit=1000")["items"].items()
        .firstOrNull { it["channel"] == "email" && it["to"] == email } ?: error("no mail to $email in the outbox")
    return mail["body"] as String
}

/** The code the invitation mail gives to type when the link does not open the app: its own line. */
fun mailedCode(email: String): String {
    val lines = invitationMail(email).lines()
    val at = lines.indexOfFirst { it.contains("invitation code") }
    require(at >= 0 && at + 1 < lines.size) { "no invitation code line in the mail to $email" }
    return lines[at + 1].trim()
}

/**
 * The apps' virtual lock (the suite's second one): its keypad and its radio range through
 * the FIFO on its stdin, its answers read from its output file.
 */
object AppLock {
    val tag: String get() = env("ACCESS_TEST_APP_LOCK_TAG")
    val pairingCode: String get() = env("ACCESS_TEST_APP_LOCK_PAIRING_CODE")
    private val input get() = File(env("ACCESS_TEST_APP_LOCK_INPUT"))
    private val output get() = File(env("ACCESS_TEST_APP_LOCK_OUTPUT"))

    private fun lines(prefix: String) = output.readLines().filter { it.startsWith(prefix) }

    private fun send(line: String) {
        FileOutputStream(input, true).use { it.write("$line\n".toByteArray()) }
    }

    /** Types [digits] at the keypad; the lock's outcome line, e.g. `virtual-lock keypad Opened { ... }`. */
    suspend fun keypad(digits: String): String = command("keypad $digits", "virtual-lock keypad")

    suspend fun outOfRange() {
        command("out-of-range", "virtual-lock out-of-range")
    }

    suspend fun inRange() {
        command("in-range", "virtual-lock in-range")
    }

    private suspend fun command(line: String, answer: String): String {
        val before = lines(answer).size
        send(line)
        repeat(500) {
            val now = lines(answer)
            if (now.size > before) return now[before]
            delay(20)
        }
        error("the virtual lock did not answer '$line' with '$answer'; output:\n${output.readText().takeLast(2_000)}")
    }
}

/** A phone's Bluetooth as a test scripts it. */
class ScriptedBluetooth(
    var permission: Boolean = true,
    var on: Boolean = true,
) : BluetoothPlatform {
    var prompts = 0
    var settingsOpened = 0
    override fun hasPermission() = permission
    override fun isOn() = on
    override fun requestPermission() {
        prompts++
    }
    override fun openSettings() {
        settingsOpened++
    }
}
