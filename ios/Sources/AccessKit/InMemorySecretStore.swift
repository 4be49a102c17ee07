import AccessCore
import Foundation

/// A `SecretStore` that keeps secrets in memory only: for previews, tests and a "don't
/// remember me" session. Apps use ``KeychainSecretStore`` on Apple platforms.
public final class InMemorySecretStore: SecretStore, @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String] = [:]

    public init() {}

    public func get(key: String) throws -> String? {
        lock.lock(); defer { lock.unlock() }
        return values[key]
    }

    public func set(key: String, value: String) throws {
        lock.lock(); defer { lock.unlock() }
        values[key] = value
    }

    public func delete(key: String) throws {
        lock.lock(); defer { lock.unlock() }
        values[key] = nil
    }
}
