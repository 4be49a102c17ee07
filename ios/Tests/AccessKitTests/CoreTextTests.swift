import AccessCore
import AccessKit
import XCTest

/// The core's text through the generated bindings: the `+1` phone rule for live validation
/// (`checkPhone`) and the core's wording of every error case (`errorMessage`), no server needed.
final class CoreTextTests: XCTestCase {
    func testCheckPhoneNormalizesWhatTheServerAccepts() throws {
        XCTAssertEqual(try checkPhone(phone: "+1 (555) 123-4567"), "+15551234567")
        XCTAssertEqual(try checkPhone(phone: " +1.555.123.4567 "), "+15551234567")
    }

    func testCheckPhoneRefusesWithTheExpectedForm() {
        for typed in ["", "5551234567", "+44 20 7946 0958", "+1 555 123"] {
            XCTAssertThrowsError(try checkPhone(phone: typed), typed) { error in
                guard case AccessError.InvalidPhone(let message) = error else {
                    return XCTFail("\(typed): expected InvalidPhone, got \(error)")
                }
                XCTAssertTrue(message.contains("+15551234567"), "\(typed): \(message)")
            }
        }
    }

    func testErrorMessageIsTheCoreTextOfUnitAndFieldCases() {
        XCTAssertEqual(errorMessage(error: .WrongSmsCode), "The SMS code is wrong.")
        XCTAssertEqual(errorMessage(error: .Revoked), "Your access has been revoked.")
        XCTAssertEqual(errorMessage(error: .Offline(message: "connection refused")),
                       "No connection to the server: connection refused")
        XCTAssertEqual(errorMessage(error: .Server(code: "teapot", message: "short")),
                       "Server error teapot: short")
    }

    /// The kit's words and rules are the core's: its text, what may work later, sign-in.
    func testKitErrorsCarryTheCoresTextAndRules() {
        let outOfRange = AccessKitError(.LockOutOfRange(message: "not advertising"))
        XCTAssertEqual(outOfRange.errorDescription,
                       errorMessage(error: .LockOutOfRange(message: "not advertising")))
        XCTAssertTrue(outOfRange.isTransient)
        // A case only the core's rule knew: a server failure may pass.
        XCTAssertTrue(AccessKitError(.Server(code: "internal", message: "boom")).isTransient)
        XCTAssertFalse(AccessKitError(.WrongSmsCode).isTransient)
        XCTAssertTrue(AccessKitError(.Revoked).needsSignIn)
        XCTAssertFalse(AccessKitError(.Offline(message: "x")).needsSignIn)
        XCTAssertEqual(AccessKitError.internal("boom").errorDescription,
                       "Internal error in the access core: boom")
    }
}
