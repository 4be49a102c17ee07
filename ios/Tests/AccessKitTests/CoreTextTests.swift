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

    /// Until the kit takes its text from `errorMessage`, its copies must not drift from it.
    func testKitErrorTextMatchesTheCoreForEveryCase() {
        let d = "detail"
        let every: [AccessError] = [
            .InvalidPhone(message: d), .InvalidInput(message: d), .WrongSmsCode, .SmsCodeExpired,
            .TooManyAttempts, .InvitationExpired, .InvitationInvalid(message: d), .InvalidCredentials,
            .NotAllowed(message: d), .NotFound, .Offline(message: d), .Timeout, .Revoked,
            .WrongApp(message: d), .NotSignedIn, .Server(code: "c", message: d), .BadResponse(message: d),
            .Storage(message: d), .LockOutOfRange(message: d), .LockTimeout(message: d),
            .RefusedByLock(reason: d), .WrongPairingCode, .Bluetooth(message: d), .ClientSetup(reason: d),
        ]
        for e in every {
            XCTAssertEqual(AccessKitError(e).errorDescription, errorMessage(error: e), "\(e)")
        }
    }
}
