import AccessCore
import AccessKit
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// The real `access-server` the suite started (scripts/lib/shells.sh) on the host, reached
/// from the chroot at 127.0.0.1 (same network namespace), as the administrator would; plus
/// its supervisor to stop and restart it.
enum TestServer {
    static func env(_ name: String) -> String {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
            fatalError("\(name) is not set: run the tests with scripts/test swift")
        }
        return v
    }

    static var url: String { env("ACCESS_TEST_SERVER_URL") }
    static var controlURL: String { env("ACCESS_TEST_CONTROL_URL") }

    /// Sends one request; returns the status and the parsed JSON body (nil when none).
    static func call(_ method: String, _ url: String, token: String? = nil, body: Any? = nil) async throws -> (Int, Any?) {
        var r = URLRequest(url: URL(string: url)!, timeoutInterval: 30)
        r.httpMethod = method
        if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            r.httpBody = try JSONSerialization.data(withJSONObject: body)
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: r)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        return (status, json)
    }

    /// Stops the server (the supervisor answers once it is down).
    static func stop() async throws { try await control("/stop") }

    /// Starts it again on the same port and data directory; returns once /healthz answers.
    static func start() async throws { try await control("/start") }

    private static func control(_ path: String) async throws {
        let (status, body) = try await call("POST", controlURL + path, body: [String: Any]())
        guard status == 200 else { throw TestFailure("server control \(path): \(status) \(String(describing: body))") }
    }

    /// A fresh directory for one device's cache.
    static func deviceDir() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("access-kit-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    static func email(_ who: String) -> String { "\(who)-\(UUID().uuidString.prefix(8).lowercased())@example.test" }

    /// A phone that follows the `+1` rule, unique enough per test run.
    static func phone() -> String { "+1555" + String(Int.random(in: 2_000_000...9_999_999)) }

    /// A username for a test user, made from its email (unique as the emails are).
    static func username(_ email: String) -> String {
        let name = String(email.lowercased().map { c -> Character in
            (c.isASCII && (c.isLetter || c.isNumber)) || "._-".contains(c) ? c : "."
        })
        return String(name.suffix(32))
    }

    /// Where nothing listens: a kit pointed here fails any request with `.offline`.
    static let nowhere = "http://127.0.0.1:9"
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The administrator over the REST API, as the Manage Access page does it.
struct Admin {
    let token: String

    static func login() async throws -> Admin {
        let (status, body) = try await TestServer.call(
            "POST", "\(TestServer.url)/api/v1/sessions",
            body: ["email": TestServer.env("ACCESS_TEST_ADMIN_EMAIL"), "password": TestServer.env("ACCESS_TEST_ADMIN_PASSWORD")])
        guard (200..<300).contains(status), let token = (body as? [String: Any])?["token"] as? String else {
            throw TestFailure("admin login: \(status) \(String(describing: body))")
        }
        return Admin(token: token)
    }

    @discardableResult
    func request(_ method: String, _ path: String, _ body: Any? = nil) async throws -> [String: Any] {
        let (status, v) = try await TestServer.call(method, "\(TestServer.url)\(path)", token: token, body: body)
        guard (200..<300).contains(status) else { throw TestFailure("\(method) \(path): \(status) \(String(describing: v))") }
        return v as? [String: Any] ?? [:]
    }

    func id(_ v: [String: Any]) throws -> String {
        guard let id = v["id"] as? String else { throw TestFailure("no id in \(v)") }
        return id
    }

    func property(_ name: String) async throws -> String { try id(try await request("POST", "/api/v1/properties", ["name": name])) }
    func unit(_ property: String, _ name: String) async throws -> String {
        try id(try await request("POST", "/api/v1/properties/\(property)/units", ["name": name]))
    }
    func lock(_ unit: String, _ name: String) async throws -> String {
        try id(try await request("POST", "/api/v1/locks", ["unit_id": unit, "name": name]))
    }

    /// Invites; returns the new user's id.
    func invite(_ userType: String, _ email: String, permissions: [String], access: [String: Any]) async throws -> String {
        let v = try await request("POST", "/api/v1/invitations",
                                  ["user_type": userType, "email": email, "permissions": permissions, "access": access])
        guard let id = v["user_id"] as? String else { throw TestFailure("no user_id in \(v)") }
        return id
    }

    private func outbox() async throws -> [[String: Any]] {
        try await request("GET", "/api/v1/outbox?limit=1000")["items"] as? [[String: Any]] ?? []
    }

    /// The invitation link in the newest mail to `email`.
    func invitationLink(_ email: String) async throws -> String {
        guard let mail = try await outbox().first(where: { $0["channel"] as? String == "email" && $0["to"] as? String == email }),
              let body = mail["body"] as? String,
              let range = body.range(of: #"https?://\S*token=\S+"#, options: .regularExpression)
        else { throw TestFailure("no invitation link to \(email) in the outbox") }
        return String(body[range]).trimmingCharacters(in: CharacterSet(charactersIn: ".)>"))
    }

    /// The 6-digit code of the newest SMS to `phone` (E.164).
    func smsCode(_ phone: String) async throws -> String {
        guard let sms = try await outbox().first(where: { $0["channel"] as? String == "sms" && $0["to"] as? String == phone }),
              let body = sms["body"] as? String,
              let range = body.range(of: #"\d{6}"#, options: .regularExpression)
        else { throw TestFailure("no SMS code to \(phone) in the outbox") }
        return String(body[range])
    }

    func setPermissions(_ user: String, _ permissions: [String]) async throws {
        try await request("PUT", "/api/v1/users/\(user)/permissions", ["permissions": permissions])
    }

    func revoke(_ user: String) async throws { try await request("POST", "/api/v1/users/\(user)/revoke", [String: Any]()) }

    func lockInfo(_ lock: String) async throws -> [String: Any] { try await request("GET", "/api/v1/locks/\(lock)") }
}

/// A property with two units and three locks, named uniquely for one test.
struct Site {
    let property, unitA, unitB, frontDoor, patio, garage: String

    static func make(_ admin: Admin, _ tag: String) async throws -> Site {
        let property = try await admin.property("Oakwood \(tag)")
        let unitA = try await admin.unit(property, "Unit 4B")
        let unitB = try await admin.unit(property, "Unit 12")
        return Site(property: property, unitA: unitA, unitB: unitB,
                    frontDoor: try await admin.lock(unitA, "Front Door \(tag)"),
                    patio: try await admin.lock(unitA, "Patio \(tag)"),
                    garage: try await admin.lock(unitB, "Garage \(tag)"))
    }
}

func units(_ ids: String...) -> [String: Any] { ["type": "units", "unit_ids": ids] }
let allLocks: [String: Any] = ["type": "all_locks"]

/// Invites `email` and registers through `kit` with the SMS code from the outbox and the
/// username made from the email; returns the user id.
@discardableResult
func onboard(_ kit: AccessKit, _ admin: Admin, userType: String, email: String, permissions: [String],
             access: [String: Any]) async throws -> String {
    let user = try await admin.invite(userType, email, permissions: permissions, access: access)
    let phone = TestServer.phone()
    let registration = try await kit.register(invitation: try await admin.invitationLink(email), email: email,
                                              phone: phone, password: "pw-123456789", name: "Pat Doe",
                                              username: TestServer.username(email))
    _ = try await kit.verifySms(registrationId: registration, code: try await admin.smsCode(phone))
    return user
}

func appFor(_ userType: String) -> App { userType == "resident" ? .nokeyResident : .accessManager }

/// Asserts that `body` throws exactly `expected`.
func assertThrows<T>(_ expected: AccessKitError, _ body: () async throws -> T,
                     file: StaticString = #filePath, line: UInt = #line) async {
    do {
        _ = try await body()
        XCTFail("expected \(expected), got a result", file: file, line: line)
    } catch let e as AccessKitError {
        XCTAssertEqual(e, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}
