import AccessCore
import AccessKit
import Foundation
import XCTest

/// The generated bindings link the real library and call through it, no server needed.
final class FfiSmokeTests: XCTestCase {
    func testFileSecretStoreOfTheCoreKeepsValuesOnDisk() throws {
        let path = TestServer.deviceDir() + "/secrets.json"
        let store = fileSecretStore(path: path)
        XCTAssertNil(try store.get(key: "token"))
        try store.set(key: "token", value: "abc")
        XCTAssertEqual(try fileSecretStore(path: path).get(key: "token"), "abc")
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains("abc"))
        try store.delete(key: "token")
        XCTAssertNil(try fileSecretStore(path: path).get(key: "token"))
    }

    func testANewKitHasNobodySignedInAndAnEmptyCache() async throws {
        let kit = try AccessKit(serverURL: "http://127.0.0.1:9", dataDirectory: TestServer.deviceDir(),
                                app: .accessManager, secrets: InMemorySecretStore())
        let me = try await kit.currentUser()
        XCTAssertNil(me)
        let locks = try await kit.locks()
        XCTAssertEqual(locks, [])
        let found = try await kit.search("oak")
        XCTAssertEqual(found, [])
    }
}
