/// What the registration screen tells the user about the phone field before they type.
/// The rule itself is checked by the core (the same code as the server's); a wrong number
/// comes back as ``AccessKitError/invalidPhone(_:)`` with a message saying what to type.
public enum PhoneRule {
    public static let example = "+15551234567"
    public static let prefix = "+1"
    public static let hint =
        "US or Canadian mobile number starting with +1, then 10 digits, e.g. \(example). "
        + "Spaces, dashes, dots and parentheses are fine."
}
