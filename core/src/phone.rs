//! The `+1` phone rule for the registration screens, so a field can be checked as the user
//! types with the very rule the server applies (`access_domain::normalize_phone`).

use access_domain::normalize_phone;

use crate::AccessError;

/// Checks `phone` against the `+1` rule and returns it normalized (`+15551234567`).
///
/// A refusal is [`AccessError::InvalidPhone`], whose message says what to type and shows
/// the expected form; it is the same error [`crate::Account::register_from_invitation`]
/// gives before sending anything. Nothing is sent: this is a pure local check.
///
/// ```
/// use access_core::{AccessError, check_phone};
/// assert_eq!(check_phone("+1 (555) 123-4567".into()).unwrap(), "+15551234567");
/// let Err(AccessError::InvalidPhone { message }) = check_phone("5551234567".into()) else {
///     panic!("a number without +1 is refused");
/// };
/// assert!(message.contains("+15551234567"));
/// ```
#[uniffi::export]
pub fn check_phone(phone: String) -> Result<String, AccessError> {
    Ok(normalize_phone(&phone)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_server_forms_and_normalizes_them() {
        for typed in [
            "+15551234567",
            " +1 555 123 4567 ",
            "+1-555-123-4567",
            "+1 (555) 123.4567",
        ] {
            assert_eq!(
                check_phone(typed.into()),
                Ok("+15551234567".into()),
                "{typed}"
            );
        }
    }

    #[test]
    fn refusals_are_invalid_phone_with_the_expected_form() {
        // Each one fails a different part of the rule, as a user typing might.
        for typed in [
            "",
            "5551234567",
            "+44 20 7946 0958",
            "+1 555 123 456x",
            "+1 555 123 456",
            "+1 055 123 4567",
            "+1 555 023 4567",
        ] {
            match check_phone(typed.into()) {
                Err(AccessError::InvalidPhone { message }) => {
                    assert!(message.contains("+15551234567"), "{typed}: {message}")
                }
                other => panic!("{typed}: expected InvalidPhone, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_message_is_the_domain_rule_text() {
        // One source of text: the screen shows what the server would answer.
        let want = normalize_phone("+1555").unwrap_err().to_string();
        assert_eq!(
            check_phone("+1555".into()),
            Err(AccessError::InvalidPhone { message: want })
        );
    }
}
