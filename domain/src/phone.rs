//! The `+1` phone rule: North American numbers in E.164, checked the same way by the server
//! and, before any request, by the apps.

use thiserror::Error;

/// The example the article gives; every refusal shows it.
pub const PHONE_EXAMPLE: &str = "+15551234567";

/// Why a phone number was refused. The message always says what to type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneError {
    #[error("Enter a phone number. It must start with +1, for example {PHONE_EXAMPLE}.")]
    Empty,
    #[error("The phone number must start with +1 (country code), for example {PHONE_EXAMPLE}.")]
    MissingCountryCode,
    #[error("Only US and Canadian numbers (+1) are accepted, for example {PHONE_EXAMPLE}.")]
    WrongCountryCode,
    #[error(
        "The phone number may only hold digits, spaces, dashes, dots and parentheses after +1, for example {PHONE_EXAMPLE}."
    )]
    InvalidCharacter,
    #[error("After +1 the phone number needs exactly 10 digits, for example {PHONE_EXAMPLE}.")]
    WrongLength,
    #[error(
        "The area code cannot start with 0 or 1 and the exchange (fourth digit after +1) cannot start with 0, for example {PHONE_EXAMPLE}."
    )]
    InvalidNumber,
}

/// Checks a phone number against the `+1` rule and returns it in E.164 (`+1` and 10 digits).
///
/// Spaces, dashes, dots and parentheses after the `+1` are accepted and dropped; anything
/// else, and above all a number without the `+1`, is refused with a message that shows the
/// expected form.
///
/// ```
/// use access_domain::phone::{normalize_phone, PhoneError};
/// assert_eq!(normalize_phone("+1 555.123.4567").unwrap(), "+15551234567");
/// assert_eq!(normalize_phone("15551234567"), Err(PhoneError::MissingCountryCode));
/// ```
pub fn normalize_phone(input: &str) -> Result<String, PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let Some(rest) = trimmed.strip_prefix('+') else {
        return Err(PhoneError::MissingCountryCode);
    };
    let Some(national) = rest.strip_prefix('1') else {
        return Err(PhoneError::WrongCountryCode);
    };
    let mut digits = String::with_capacity(10);
    for c in national.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(PhoneError::InvalidCharacter),
        }
    }
    if digits.len() != 10 {
        return Err(PhoneError::WrongLength);
    }
    let bytes = digits.as_bytes();
    // NANP: area codes start with 2-9 and exchanges never with 0. Exchanges starting with 1
    // are let through because the article's own example, +1 555 123 4567, has one.
    if matches!(bytes[0], b'0' | b'1') || bytes[3] == b'0' {
        return Err(PhoneError::InvalidNumber);
    }
    Ok(format!("+1{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_article_forms() {
        for ok in [
            "+15551234567",
            "+1 (555) 123-4567",
            "+1 555 123 4567",
            "+1-555-123-4567",
            " +1.555.123.4567 ",
        ] {
            assert_eq!(normalize_phone(ok).as_deref(), Ok("+15551234567"), "{ok}");
        }
    }

    #[test]
    fn refuses_the_usual_mistakes_with_the_example_in_the_message() {
        for bad in [
            "5551234567",
            "15551234567",
            "1-555-123-4567",
            "+15551234",
            "+442071234567",
            "+10551234567",
            "+15550234567",
            "+1555123456a",
            "phone",
            "",
            "+1 555 123 45678",
            "++15551234567",
            "+1555１234567",
            "+1/555/123/4567",
        ] {
            let err = normalize_phone(bad).expect_err(bad);
            assert!(err.to_string().contains(PHONE_EXAMPLE), "{bad}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_output_is_always_e164(s in "\\PC*") {
            if let Ok(n) = normalize_phone(&s) {
                proptest::prop_assert_eq!(n.len(), 12);
                proptest::prop_assert!(n.starts_with("+1"));
                proptest::prop_assert_eq!(normalize_phone(&n), Ok(n.clone()));
            }
        }
    }
}
