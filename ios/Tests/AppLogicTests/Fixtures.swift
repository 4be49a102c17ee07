import AccessCore
import AccessKit
@testable import AppLogic
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

// The real server, its administrator and the apps' virtual lock, as the suite started them
// (scripts/lib/shells.sh). Test targets cannot share files, so the server helpers are a
// short copy of AccessKitTests/TestServer.swift.

enum Env {
    static func value(_ name: String) -> String {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
            fatalError("\(name) is not set: run the tests with scripts/test swift")
        }
        return v
    }

    static var serverURL: String { value("ACCESS_TEST_SERVER_URL") }
    static var controlURL: String { value("ACCESS_TEST_CONTROL_URL") }

    static func deviceDir() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("app-logic-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    static func email(_ who: String) -> String { "\(who)-\(UUID().uuidString.prefix(8).lowercased())@example.test" }
    static func phone() -> String { "+1555" + String(Int.random(in: 2_000_000...9_999_999)) }

    /// A username for a test user, made from its email (unique as the emails are).
    static func username(_ email: String) -> String {
        let name = String(email.lowercased().map { c -> Character in
            (c.isASCII && (c.isLetter || c.isNumber)) || "._-".contains(c) ? c : "."
        })
        return String(name.suffix(32))
    }

    static func tag() -> String { String(UUID().uuidString.prefix(6)).lowercased() }

    static func kit(_ app: App, server: String = serverURL, timeoutMs: UInt32? = 5_000) throws -> AccessKit {
        try AccessKit(serverURL: server, dataDirectory: deviceDir(), app: app, secrets: InMemorySecretStore(),
                      requestTimeoutMs: timeoutMs)
    }

    /// A kit whose server never answers (nothing listens there).
    static func offlineKit(_ app: App) throws -> AccessKit { try kit(app, server: "http://127.0.0.1:9") }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum Server {
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

    static func stop() async throws { try await control("/stop") }
    static func start() async throws { try await control("/start") }
    /// Every invitation's validity ends now, as if its days had passed.
    static func expireInvitations() async throws { try await control("/expire-invitations") }

    private static func control(_ path: String) async throws {
        let (status, body) = try await call("POST", Env.controlURL + path, body: [String: Any]())
        guard status == 200 else { throw Failure("server control \(path): \(status) \(String(describing: body))") }
    }

    /// Runs `body` with the server stopped, and starts it again whatever happens.
    static func whileDown(_ body: () async throws -> Void) async throws {
        try await stop()
        do { try await body() } catch {
            try await start()
            throw error
        }
        try await start()
    }
}

struct Admin {
    let token: String

    static func login() async throws -> Admin {
        let (status, body) = try await Server.call(
            "POST", "\(Env.serverURL)/api/v1/sessions",
            body: ["email": Env.value("ACCESS_TEST_ADMIN_EMAIL"), "password": Env.value("ACCESS_TEST_ADMIN_PASSWORD")])
        guard (200..<300).contains(status), let token = (body as? [String: Any])?["token"] as? String else {
            throw Failure("admin login: \(status) \(String(describing: body))")
        }
        return Admin(token: token)
    }

    @discardableResult
    func request(_ method: String, _ path: String, _ body: Any? = nil) async throws -> [String: Any] {
        let (status, v) = try await Server.call(method, "\(Env.serverURL)\(path)", token: token, body: body)
        guard (200..<300).contains(status) else { throw Failure("\(method) \(path): \(status) \(String(describing: v))") }
        return v as? [String: Any] ?? [:]
    }

    private func id(_ v: [String: Any]) throws -> String {
        guard let id = v["id"] as? String else { throw Failure("no id in \(v)") }
        return id
    }

    func property(_ name: String) async throws -> String { try id(try await request("POST", "/api/v1/properties", ["name": name])) }
    func unit(_ property: String, _ name: String) async throws -> String {
        try id(try await request("POST", "/api/v1/properties/\(property)/units", ["name": name]))
    }
    /// A lock record created on the web, waiting to be paired on site.
    func lock(_ unit: String, _ name: String) async throws -> String {
        try id(try await request("POST", "/api/v1/locks", ["unit_id": unit, "name": name]))
    }

    func invite(_ userType: String, _ email: String, permissions: [String], unitIds: [String]) async throws -> String {
        let v = try await request("POST", "/api/v1/invitations",
                                  ["user_type": userType, "email": email, "permissions": permissions,
                                   "access": ["type": "units", "unit_ids": unitIds]])
        guard let id = v["user_id"] as? String else { throw Failure("no user_id in \(v)") }
        return id
    }

    private func outbox() async throws -> [[String: Any]] {
        try await request("GET", "/api/v1/outbox?limit=1000")["items"] as? [[String: Any]] ?? []
    }

    private func mail(_ email: String) async throws -> String {
        guard let mail = try await outbox().first(where: { $0["channel"] as? String == "email" && $0["to"] as? String == email }),
              let body = mail["body"] as? String
        else { throw Failure("no mail to \(email) in the outbox") }
        return body
    }

    /// The invitation link in the newest mail to `email` (the one with the token: the mail
    /// also links the app stores).
    func invitationLink(_ email: String) async throws -> String {
        let body = try await mail(email)
        guard let range = body.range(of: #"https?://\S*token=\S+"#, options: .regularExpression) else {
            throw Failure("no invitation link in \(body)")
        }
        return String(body[range]).trimmingCharacters(in: CharacterSet(charactersIn: ".)>"))
    }

    /// The invitation code a person types when the link does not open the app: the line
    /// after "enter this invitation code" in the mail (the link's token).
    func invitationCode(_ email: String) async throws -> String {
        let body = try await mail(email)
        let lines = body.components(separatedBy: "\n")
        guard let i = lines.firstIndex(where: { $0.contains("invitation code") }), i + 1 < lines.count else {
            throw Failure("no invitation code in \(body)")
        }
        let code = lines[i + 1].trimmingCharacters(in: .whitespaces)
        let link = try await invitationLink(email)
        guard URLComponents(string: link)?.queryItems?.first(where: { $0.name == "token" })?.value == code else {
            throw Failure("the typed code \(code) is not the token of \(link)")
        }
        return code
    }

    /// Every message of `channel` ("email" or "sms") to `to`, newest first.
    func messages(_ channel: String, to: String) async throws -> [[String: Any]] {
        try await outbox().filter { $0["channel"] as? String == channel && $0["to"] as? String == to }
    }

    /// The link of the newest password reset mail to `email` and the code of the reset SMS to
    /// `phone` that came with it, waiting a little for both.
    func passwordReset(_ email: String, phone: String) async throws -> (link: String, code: String) {
        for _ in 0..<100 {
            let body = try await messages("email", to: email).first?["body"] as? String
            let text = try await messages("sms", to: phone).first?["body"] as? String
            if let body, let text, body.contains("/reset-password?token="), text.contains("password reset code"),
               let link = body.range(of: #"https?://\S*/reset-password\?token=\S+"#, options: .regularExpression),
               let code = text.range(of: #"\d{6}"#, options: .regularExpression)
            {
                return (String(body[link]).trimmingCharacters(in: CharacterSet(charactersIn: ".)>")), String(text[code]))
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw Failure("no password reset mail to \(email) with an SMS to \(phone) in the outbox")
    }

    func smsCode(_ phone: String) async throws -> String {
        guard let sms = try await outbox().first(where: { $0["channel"] as? String == "sms" && $0["to"] as? String == phone }),
              let body = sms["body"] as? String,
              let range = body.range(of: #"\d{6}"#, options: .regularExpression)
        else { throw Failure("no SMS code to \(phone) in the outbox") }
        return String(body[range])
    }

    func setPermissions(_ user: String, _ permissions: [String]) async throws {
        try await request("PUT", "/api/v1/users/\(user)/permissions", ["permissions": permissions])
    }

    func revoke(_ user: String) async throws { try await request("POST", "/api/v1/users/\(user)/revoke", [String: Any]()) }
    func resendInvite(_ user: String) async throws { try await request("POST", "/api/v1/users/\(user)/resend-invite", [String: Any]()) }

    func lockInfo(_ lock: String) async throws -> [String: Any] { try await request("GET", "/api/v1/locks/\(lock)") }
}

/// Registers `email` (invited already) through the kit with `phone` and the username made
/// from the email; returns the password.
@discardableResult
func registerWithKit(_ kit: AccessKit, _ admin: Admin, email: String, phone: String = Env.phone()) async throws -> String {
    let id = try await kit.register(invitation: try await admin.invitationLink(email), email: email, phone: phone,
                                    password: "pw-123456789", name: "Sam Lee", username: Env.username(email))
    _ = try await kit.verifySms(registrationId: id, code: try await admin.smsCode(phone))
    return "pw-123456789"
}

/// The apps' factory-fresh virtual lock (the second one the suite starts): its keypad and
/// radio through a FIFO, what it does in its output file.
enum AppLock {
    static var tag: String { Env.value("ACCESS_TEST_APP_LOCK_TAG") }
    static var pairingCode: String { Env.value("ACCESS_TEST_APP_LOCK_PAIRING_CODE") }
    static var phoneAdapter: String { Env.value("ACCESS_TEST_PHONE_ADAPTER") }

    static func send(_ line: String) throws {
        guard let fifo = FileHandle(forWritingAtPath: Env.value("ACCESS_TEST_APP_LOCK_INPUT")) else {
            throw Failure("cannot open the app lock's input")
        }
        fifo.write(Data((line + "\n").utf8))
        fifo.closeFile()
    }

    static func output() -> String {
        (try? String(contentsOfFile: Env.value("ACCESS_TEST_APP_LOCK_OUTPUT"), encoding: .utf8)) ?? ""
    }

    /// Waits for the next output line starting with `prefix` after what is there now.
    static func next(_ prefix: String, after: () throws -> Void, timeout: TimeInterval = 10) async throws -> String {
        let seen = output().split(separator: "\n").count
        try after()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let lines = output().split(separator: "\n").dropFirst(seen)
            if let line = lines.first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw Failure("the app lock printed no \(prefix) line: \(output().suffix(800))")
    }

    /// Types `digits` at the keypad; returns the outcome the lock printed.
    static func keypad(_ digits: String) async throws -> String {
        try await next("virtual-lock keypad", after: { try send("keypad \(digits)") })
    }

    static func outOfRange() async throws { _ = try await next("virtual-lock out-of-range", after: { try send("out-of-range") }) }
    static func inRange() async throws { _ = try await next("virtual-lock in-range", after: { try send("in-range") }) }
}

/// What the apps' day tests share: the unit and the lock the manager paired.
enum AppDay {
    static var unitId: String?
    static var propertyName: String?
    static var lockId: String?
    static var admin: Admin?
}

/// A scripted phone for ``BluetoothPresenter``: the permission and radio as the test sets
/// them, and a count of what the presenter asked of the system.
final class ScriptedBluetooth: BluetoothPlatform {
    var auth: BluetoothAuthorization
    var on: Bool
    var prompts = 0
    var settingsOpened = 0

    init(_ auth: BluetoothAuthorization = .granted, on: Bool = true) {
        self.auth = auth
        self.on = on
    }

    func authorization() -> BluetoothAuthorization { auth }
    func isBluetoothOn() -> Bool { on }
    func requestPermission() { prompts += 1 }
    func openSettings() { settingsOpened += 1 }
}

/// Every state a presenter published, in order.
final class Recorder<State>: @unchecked Sendable {
    private let lock = NSLock()
    private var all: [State] = []
    private var observation: StateObservation?

    init(_ presenter: Presenter<State>) {
        observation = presenter.observe { [weak self] s in
            guard let self else { return }
            self.lock.lock()
            self.all.append(s)
            self.lock.unlock()
        }
    }

    var states: [State] {
        lock.lock()
        defer { lock.unlock() }
        return all
    }

    func clear() {
        lock.lock()
        all.removeAll()
        lock.unlock()
    }
}

/// The hour now started, and `hours` later (offline code windows are on the hour).
func hourWindow(_ hours: Int) -> (Date, Date) {
    let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600)
    return (start, start.addingTimeInterval(TimeInterval(hours * 3600)))
}

extension DoorsState {
    func door(_ lockId: String) -> Door? { doors.first { $0.lock.id == lockId } }
}
