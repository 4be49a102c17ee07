// The cost of one exported call made from Swift, next to the same calls made from Rust
// (bindings/bench/call_bench.rs) and Kotlin. Run by bindings/bench; prints one line.
import AccessCore
import AccessKit
import Foundation

/// Median nanoseconds per call over `rounds` rounds of `n` calls.
func measure(_ rounds: Int, _ n: Int, _ call: () async throws -> Void) async rethrows -> Double {
    var perCall: [Double] = []
    for _ in 0..<rounds {
        let t = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<n { try await call() }
        perCall.append(Double(DispatchTime.now().uptimeNanoseconds - t) / Double(n))
    }
    return perCall.sorted()[rounds / 2]
}

struct BenchFailure: Error {}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("call-bench-\(UUID().uuidString)").path
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
let kit = try AccessKit(serverURL: "http://127.0.0.1:9", dataDirectory: dir, app: .accessManager,
                        secrets: InMemorySecretStore())
for _ in 0..<2_000 {
    _ = try await kit.locks()
    _ = try await kit.currentUser()
}
let list = try await measure(9, 2_000) { guard try await kit.locks().isEmpty else { throw BenchFailure() } }
let user = try await measure(9, 2_000) { guard try await kit.currentUser() == nil else { throw BenchFailure() } }
print(String(format: "swift list_locks_ns=%.0f current_user_ns=%.0f", list, user))
