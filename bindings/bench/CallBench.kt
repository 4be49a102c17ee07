// The cost of one exported call made from Kotlin on the JVM (through JNA), next to the same
// calls made from Rust (call_bench.rs) and Swift. Run by bindings/bench; prints one line.
import com.lockaccess.core.App
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.InMemorySecretStore
import java.nio.file.Files
import kotlinx.coroutines.runBlocking

/** Median nanoseconds per call over [rounds] rounds of [n] calls. */
inline fun measure(rounds: Int, n: Int, call: () -> Unit): Double {
    val perCall = DoubleArray(rounds)
    for (r in 0 until rounds) {
        val t = System.nanoTime()
        for (i in 0 until n) call()
        perCall[r] = (System.nanoTime() - t).toDouble() / n
    }
    perCall.sort()
    return perCall[rounds / 2]
}

fun main() = runBlocking {
    val dir = Files.createTempDirectory("call-bench").toString()
    AccessKit.open("http://127.0.0.1:9", dir, App.ACCESS_MANAGER, InMemorySecretStore()).use { kit ->
        // Warm-up: JIT, JNA's method tables, the core's blocking pool.
        repeat(20_000) {
            kit.locks()
            kit.currentUser()
        }
        // `measure` is inline, so the suspend calls run in this coroutine, not a new one each.
        val list = measure(9, 2_000) { check(kit.locks().isEmpty()) }
        val user = measure(9, 2_000) { check(kit.currentUser() == null) }
        println("kotlin list_locks_ns=%.0f current_user_ns=%.0f".format(list, user))
    }
}
