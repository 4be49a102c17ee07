import AccessCore
import AccessKit
import Foundation
import XCTest

/// A secret store that records what the core asked of it.
final class RecordingSecretStore: SecretStore, @unchecked Sendable {
    private let lock = NSLock()
    private var _values: [String: String] = [:]
    private var _calls: [String] = []

    var values: [String: String] { lock.lock(); defer { lock.unlock() }; return _values }
    var calls: [String] { lock.lock(); defer { lock.unlock() }; return _calls }

    func get(key: String) throws -> String? {
        lock.lock(); defer { lock.unlock() }
        _calls.append("get \(key)")
        return _values[key]
    }

    func set(key: String, value: String) throws {
        lock.lock(); defer { lock.unlock() }
        _calls.append("set \(key)")
        _values[key] = value
    }

    func delete(key: String) throws {
        lock.lock(); defer { lock.unlock() }
        _calls.append("delete \(key)")
        _values[key] = nil
    }
}

/// A logger that keeps the core's records.
final class RecordingLogger: CoreLogger, @unchecked Sendable {
    private let lock = NSLock()
    private var _records: [(LogLevel, String, String)] = []

    var records: [(LogLevel, String, String)] { lock.lock(); defer { lock.unlock() }; return _records }

    func log(level: LogLevel, target: String, message: String) {
        lock.lock(); defer { lock.unlock() }
        _records.append((level, target, message))
    }
}

struct KeystoreLocked: Error {}

/// A secret store whose every call fails, as a locked Keychain would.
final class BrokenSecretStore: SecretStore, @unchecked Sendable {
    func get(key: String) throws -> String? { throw KeystoreLocked() }
    func set(key: String, value: String) throws { throw KeystoreLocked() }
    func delete(key: String) throws { throw KeystoreLocked() }
}

/// The foreign traits implemented in Swift, called by the core.
final class ForeignTraitsTests: XCTestCase {
    func testTheCoreKeepsTheSessionInTheSwiftSecretStoreAndLogsToTheSwiftLogger() async throws {
        let admin = try await Admin.login()
        let tag = String(TestServer.email("f").prefix(while: { $0 != "@" }))
        let site = try await Site.make(admin, tag)
        let secrets = RecordingSecretStore(), logger = RecordingLogger()
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: secrets, logger: logger)
        try await onboard(kit, admin, userType: "team_member", email: TestServer.email("traits"),
                          permissions: ["view_logs"], access: units(site.unitA))
        XCTAssertTrue(secrets.calls.contains("set session_token"), "\(secrets.calls)")
        XCTAssertFalse((secrets.values["session_token"] ?? "").isEmpty)
        _ = try await kit.syncNow()
        let core = logger.records.filter { $0.1.hasPrefix("access_core") }
        XCTAssertTrue(core.contains { $0.0 == .info && $0.2.hasPrefix("synced") }, "\(core)")
        XCTAssertTrue(core.contains { $0.2.contains("signed in") }, "\(core)")
        try await kit.logout()
        XCTAssertTrue(secrets.calls.contains("delete session_token"), "\(secrets.calls)")
        XCTAssertNil(secrets.values["session_token"])
    }

    func testAFailingSwiftSecretStoreSurfacesAsTheTypedStorageError() async throws {
        let kit = try AccessKit(serverURL: TestServer.url, dataDirectory: TestServer.deviceDir(), app: .accessManager,
                                secrets: BrokenSecretStore())
        do {
            _ = try await kit.currentUser()
            XCTFail("a failing secret store went unnoticed")
        } catch AccessKitError.storage(let message) {
            XCTAssertTrue(message.contains("KeystoreLocked"), message)
        }
    }
}
