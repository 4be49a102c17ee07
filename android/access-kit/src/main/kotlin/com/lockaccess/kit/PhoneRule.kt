package com.lockaccess.kit

/**
 * What the registration screen tells the user about the phone field before they type.
 * The rule itself is checked by the core (the same code as the server's); a wrong number
 * comes back as [AccessKitError.InvalidPhone] with a message saying what to type.
 */
object PhoneRule {
    const val EXAMPLE = "+15551234567"
    const val PREFIX = "+1"
    const val HINT =
        "US or Canadian mobile number starting with +1, then 10 digits, e.g. $EXAMPLE. " +
            "Spaces, dashes, dots and parentheses are fine."
}
