import Foundation
import XCTest

/// What a real phone needs of each app's files: the Bluetooth usage sentence (iOS kills an
/// app that touches Bluetooth without it), the associated domain for invitation links, one
/// link path per app in the apple-app-site-association file, and both apps in project.yml.
final class AppFilesTests: XCTestCase {
    static let ios = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let apps = [
        (name: "AccessManager", bundle: "com.lockaccess.manager", path: "/invite/access-manager*"),
        (name: "NoKeyResident", bundle: "com.lockaccess.resident", path: "/invite/nokey-resident*"),
    ]

    func plist(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.ios.appendingPathComponent(relative))
        guard let dict = try PropertyListSerialization.propertyList(from: data, format: nil) as? [String: Any] else {
            throw Failure("\(relative) is not a dictionary")
        }
        return dict
    }

    func testEachAppSaysWhyItUsesBluetooth() throws {
        for app in Self.apps {
            let info = try plist("Apps/\(app.name)/Info.plist")
            let why = (info["NSBluetoothAlwaysUsageDescription"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertFalse(why.isEmpty, "\(app.name): NSBluetoothAlwaysUsageDescription is missing or empty")
            XCTAssertTrue(why.localizedCaseInsensitiveContains("Bluetooth"), "\(app.name): \(why)")
            XCTAssertEqual(info["CFBundleIdentifier"] as? String, "$(PRODUCT_BUNDLE_IDENTIFIER)", app.name)
        }
    }

    func testEachAppClaimsItsOwnInvitationLinksOnly() throws {
        let aasaData = try Data(contentsOf: Self.ios.appendingPathComponent("Apps/apple-app-site-association"))
        let aasa = try JSONSerialization.jsonObject(with: aasaData) as? [String: Any]
        let details = (aasa?["applinks"] as? [String: Any])?["details"] as? [[String: Any]] ?? []
        var claimed: [String: [String]] = [:]
        for d in details {
            let paths = (d["components"] as? [[String: Any]] ?? []).compactMap { $0["/"] as? String }
            for id in d["appIDs"] as? [String] ?? [] { claimed[id, default: []] += paths }
        }
        var owner: [String: String] = [:]
        for app in Self.apps {
            let entitlements = try plist("Apps/\(app.name)/\(app.name).entitlements")
            let domains = entitlements["com.apple.developer.associated-domains"] as? [String] ?? []
            XCTAssertTrue(domains.contains("applinks:access.example.com"), "\(app.name): \(domains)")
            let paths = claimed.first { $0.key.hasSuffix(".\(app.bundle)") }?.value ?? []
            XCTAssertTrue(paths.contains(app.path), "\(app.name) does not claim \(app.path): \(paths)")
            for path in paths {
                if let other = owner[path] { XCTFail("\(path) is claimed by both \(other) and \(app.name)") }
                owner[path] = app.name
            }
        }
        // The two claims must not overlap either: neither path is a prefix of the other.
        let (a, b) = (Self.apps[0].path.dropLast(), Self.apps[1].path.dropLast())
        XCTAssertFalse(a.hasPrefix(b) || b.hasPrefix(a), "overlapping link paths \(a) and \(b)")
    }

    func testTheProjectNamesBothAppsWithTheirFiles() throws {
        let yml = try String(contentsOf: Self.ios.appendingPathComponent("project.yml"), encoding: .utf8)
        let lines = yml.components(separatedBy: "\n")
        for app in Self.apps {
            guard let start = lines.firstIndex(of: "  \(app.name):") else { return XCTFail("no target \(app.name) in project.yml") }
            // The target's block: the lines indented deeper than its name.
            let block = lines[(start + 1)...].prefix { $0.isEmpty || $0.hasPrefix("   ") }.joined(separator: "\n")
            XCTAssertTrue(block.contains("type: application"), block)
            XCTAssertTrue(block.contains("INFOPLIST_FILE: Apps/\(app.name)/Info.plist"), block)
            XCTAssertTrue(block.contains("CODE_SIGN_ENTITLEMENTS: Apps/\(app.name)/\(app.name).entitlements"), block)
            XCTAssertTrue(block.contains("PRODUCT_BUNDLE_IDENTIFIER: \(app.bundle)"), block)
            XCTAssertTrue(block.contains("product: AppLogic"), block)
        }
    }
}
