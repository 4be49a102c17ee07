//! The one error type the shells see, and the mapping of every inner layer's error onto it.
//!
//! Each layer keeps its own `thiserror` enum ([`HttpError`], [`CacheError`],
//! [`SecretError`]); they meet here, once, so a UI gets cases it can act on.

use access_domain::api::error_codes;
use access_domain::{Denied, PhoneError};

use crate::cache::CacheError;
use crate::http::HttpError;
use crate::secrets::SecretError;

/// Every failure of a call on [`crate::AccessClient`] or its objects, as Kotlin and Swift see it.
///
/// ```
/// use access_core::AccessError;
/// let e = AccessError::from(access_domain::normalize_phone("5551234567").unwrap_err());
/// assert!(matches!(e, AccessError::InvalidPhone { ref message } if message.contains("+15551234567")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum AccessError {
    /// The phone does not follow the `+1` rule; the message says what to type.
    #[error("{message}")]
    InvalidPhone { message: String },
    /// Some other input was refused before or by the server.
    #[error("{message}")]
    InvalidInput { message: String },
    #[error("The SMS code is wrong.")]
    WrongSmsCode,
    #[error("The SMS code has expired: register again to get a new one.")]
    SmsCodeExpired,
    #[error("Too many attempts: wait a moment and try again.")]
    TooManyAttempts,
    #[error("This invitation has expired: ask your administrator to resend it.")]
    InvitationExpired,
    /// The link or token is not an invitation, or the invitation was voided.
    #[error("{message}")]
    InvitationInvalid { message: String },
    #[error("Wrong email or password.")]
    InvalidCredentials,
    /// The user's permissions or access scope do not allow this; nothing was sent.
    #[error("{message}")]
    NotAllowed { message: String },
    #[error("Not found.")]
    NotFound,
    /// The server could not be reached.
    #[error("No connection to the server: {message}")]
    Offline { message: String },
    #[error("The server did not answer in time.")]
    Timeout,
    /// Access was revoked; the cache and the session have been wiped.
    #[error("Your access has been revoked.")]
    Revoked,
    /// This account belongs in the other app; the message names it.
    #[error("{message}")]
    WrongApp { message: String },
    #[error("You are not signed in.")]
    NotSignedIn,
    /// The server refused with a code this client has no case for.
    #[error("Server error {code}: {message}")]
    Server { code: String, message: String },
    /// The server answered something that is not the API.
    #[error("Unexpected answer from the server: {message}")]
    BadResponse { message: String },
    /// The local database or the secret store failed.
    #[error("Local storage failed: {message}")]
    Storage { message: String },
    /// The lock is not advertising nearby, or the link to it was lost.
    #[error("The lock is out of range: {message}")]
    LockOutOfRange { message: String },
    /// The lock did not answer in time.
    #[error("The lock did not answer in time: {message}")]
    LockTimeout { message: String },
    /// The lock refused the command; `reason` is the lock's own reason.
    #[error("The lock refused: {reason}")]
    RefusedByLock { reason: String },
    /// The lock's mode does not let this user in now (e.g. staff while a resident lives
    /// there, a resident during tours); the message says so.
    #[error("{message}")]
    NotNow { message: String },
    /// The pairing code typed does not match the code printed on the lock.
    #[error("Wrong pairing code: check the code printed on the lock.")]
    WrongPairingCode,
    /// The Bluetooth stack failed (no adapter, Bluetooth off, a broken answer).
    #[error("Bluetooth: {message}")]
    Bluetooth { message: String },
    /// The connection to the server could not even be set up on this device (its TLS
    /// configuration): a fault of the device or the app, not of the network, so queuing
    /// and retrying will not help.
    #[error("This device cannot set up a connection to the server: {reason}")]
    ClientSetup { reason: String },
}

impl AccessError {
    /// Whether trying again later, unchanged, may work (no network, a timeout, server
    /// trouble, a lock out of reach or slow to answer): a screen offers "retry", and queued
    /// actions stay in the offline queue.
    pub fn is_transient(&self) -> bool {
        match self {
            AccessError::Offline { .. }
            | AccessError::Timeout
            | AccessError::BadResponse { .. }
            | AccessError::LockOutOfRange { .. }
            | AccessError::LockTimeout { .. } => true,
            AccessError::Server { code, .. } => {
                code == error_codes::INTERNAL
                    || code == "http_5xx"
                    || code == crate::replay::IN_PROGRESS
            }
            _ => false,
        }
    }

    /// Whether the screen should go back to sign-in.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, AccessError::NotSignedIn | AccessError::Revoked)
    }
}

/// [`AccessError::is_transient`], for the kits: the one rule of what may work later.
#[uniffi::export]
pub fn is_transient(error: AccessError) -> bool {
    error.is_transient()
}

/// [`AccessError::needs_sign_in`], for the kits.
#[uniffi::export]
pub fn needs_sign_in(error: AccessError) -> bool {
    error.needs_sign_in()
}

/// The text a screen shows for `error`: the core's own wording of every case, so the Kotlin
/// and Swift kits need no copy of it (unit cases such as [`AccessError::WrongSmsCode`] carry
/// no text of their own across the FFI).
///
/// ```
/// use access_core::{AccessError, error_message};
/// assert_eq!(error_message(AccessError::WrongSmsCode), "The SMS code is wrong.");
/// assert_eq!(
///     error_message(AccessError::Offline { message: "connection refused".into() }),
///     "No connection to the server: connection refused"
/// );
/// ```
#[uniffi::export]
pub fn error_message(error: AccessError) -> String {
    error.to_string()
}

impl From<HttpError> for AccessError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Connect(message) => AccessError::Offline { message },
            HttpError::Timeout => AccessError::Timeout,
            HttpError::Decode(message) => AccessError::BadResponse { message },
            HttpError::InvalidUrl(message) => AccessError::InvalidInput { message },
            HttpError::Setup(reason) => AccessError::ClientSetup { reason },
            HttpError::Status {
                status,
                code,
                message,
            } => from_server_code(status, code, message),
        }
    }
}

/// Maps the server's stable machine codes (see `access_domain::api::error_codes`).
fn from_server_code(status: u16, code: String, message: String) -> AccessError {
    use error_codes as c;
    match code.as_str() {
        c::INVALID_PHONE => AccessError::InvalidPhone { message },
        c::VALIDATION | c::BAD_REQUEST | c::PAYLOAD_TOO_LARGE | c::CONFLICT | c::RESET_INVALID => {
            AccessError::InvalidInput { message }
        }
        c::WRONG_SMS_CODE => AccessError::WrongSmsCode,
        c::SMS_CODE_EXPIRED => AccessError::SmsCodeExpired,
        c::TOO_MANY_ATTEMPTS => AccessError::TooManyAttempts,
        c::INVITATION_EXPIRED => AccessError::InvitationExpired,
        c::INVITATION_INVALID => AccessError::InvitationInvalid { message },
        c::INVALID_CREDENTIALS => AccessError::InvalidCredentials,
        c::FORBIDDEN
        | c::MISSING_PERMISSION
        | c::OUT_OF_SCOPE
        | c::OUTSIDE_ACCESS_PERIOD
        | c::NOT_MANAGER => AccessError::NotAllowed { message },
        c::REVOKED => AccessError::Revoked,
        c::UNAUTHENTICATED => AccessError::NotSignedIn,
        c::NOT_FOUND => AccessError::NotFound,
        _ if status >= 500 => AccessError::Server {
            code: if code.is_empty() {
                "http_5xx".into()
            } else {
                code
            },
            message,
        },
        _ => AccessError::Server { code, message },
    }
}

impl From<CacheError> for AccessError {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::NotFound => AccessError::NotFound,
            other => AccessError::Storage {
                message: other.to_string(),
            },
        }
    }
}

impl From<SecretError> for AccessError {
    fn from(e: SecretError) -> Self {
        AccessError::Storage {
            message: e.to_string(),
        }
    }
}

impl From<PhoneError> for AccessError {
    fn from(e: PhoneError) -> Self {
        AccessError::InvalidPhone {
            message: e.to_string(),
        }
    }
}

impl From<Denied> for AccessError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Revoked => AccessError::Revoked,
            other => AccessError::NotAllowed {
                message: other.to_string(),
            },
        }
    }
}

impl From<tokio::task::JoinError> for AccessError {
    fn from(e: tokio::task::JoinError) -> Self {
        AccessError::Storage {
            message: format!("background task failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_map_to_actionable_cases() {
        let m = |status, code: &str| {
            AccessError::from(HttpError::Status {
                status,
                code: code.into(),
                message: "msg".into(),
            })
        };
        assert_eq!(
            m(403, "missing_permission"),
            AccessError::NotAllowed {
                message: "msg".into()
            }
        );
        assert_eq!(
            m(403, "out_of_scope"),
            AccessError::NotAllowed {
                message: "msg".into()
            }
        );
        assert_eq!(m(403, "revoked"), AccessError::Revoked);
        assert_eq!(m(410, "invitation_expired"), AccessError::InvitationExpired);
        assert_eq!(m(422, "wrong_sms_code"), AccessError::WrongSmsCode);
        assert_eq!(m(404, "not_found"), AccessError::NotFound);
        assert_eq!(m(401, "unauthenticated"), AccessError::NotSignedIn);
        assert_eq!(
            m(422, "invalid_phone"),
            AccessError::InvalidPhone {
                message: "msg".into()
            }
        );
        let e = m(503, "");
        assert!(e.is_transient(), "{e:?}");
        assert!(!m(418, "teapot").is_transient());
        assert!(AccessError::from(HttpError::Timeout).is_transient());
    }

    /// One of every case; the `match` breaks the build when a case is added without one.
    fn every_case(detail: &str) -> Vec<AccessError> {
        let m = || detail.to_string();
        let all = vec![
            AccessError::InvalidPhone { message: m() },
            AccessError::InvalidInput { message: m() },
            AccessError::WrongSmsCode,
            AccessError::SmsCodeExpired,
            AccessError::TooManyAttempts,
            AccessError::InvitationExpired,
            AccessError::InvitationInvalid { message: m() },
            AccessError::InvalidCredentials,
            AccessError::NotAllowed { message: m() },
            AccessError::NotFound,
            AccessError::Offline { message: m() },
            AccessError::Timeout,
            AccessError::Revoked,
            AccessError::WrongApp { message: m() },
            AccessError::NotSignedIn,
            AccessError::Server {
                code: "teapot".into(),
                message: m(),
            },
            AccessError::BadResponse { message: m() },
            AccessError::Storage { message: m() },
            AccessError::LockOutOfRange { message: m() },
            AccessError::LockTimeout { message: m() },
            AccessError::RefusedByLock { reason: m() },
            AccessError::NotNow { message: m() },
            AccessError::WrongPairingCode,
            AccessError::Bluetooth { message: m() },
            AccessError::ClientSetup { reason: m() },
        ];
        for e in &all {
            match e {
                AccessError::InvalidPhone { .. }
                | AccessError::InvalidInput { .. }
                | AccessError::WrongSmsCode
                | AccessError::SmsCodeExpired
                | AccessError::TooManyAttempts
                | AccessError::InvitationExpired
                | AccessError::InvitationInvalid { .. }
                | AccessError::InvalidCredentials
                | AccessError::NotAllowed { .. }
                | AccessError::NotFound
                | AccessError::Offline { .. }
                | AccessError::Timeout
                | AccessError::Revoked
                | AccessError::WrongApp { .. }
                | AccessError::NotSignedIn
                | AccessError::Server { .. }
                | AccessError::BadResponse { .. }
                | AccessError::Storage { .. }
                | AccessError::LockOutOfRange { .. }
                | AccessError::LockTimeout { .. }
                | AccessError::RefusedByLock { .. }
                | AccessError::NotNow { .. }
                | AccessError::WrongPairingCode
                | AccessError::Bluetooth { .. }
                | AccessError::ClientSetup { .. } => {}
            }
        }
        all
    }

    #[test]
    fn error_message_is_the_display_text_of_every_case() {
        let detail = "detail-7f3";
        let mut seen = std::collections::HashSet::new();
        for e in every_case(detail) {
            let text = error_message(e.clone());
            assert_eq!(text, e.to_string());
            assert!(!text.trim().is_empty(), "{e:?} has no text");
            // A case with a field shows it; a unit case has a sentence of its own.
            let has_field = format!("{e:?}").contains(detail);
            assert_eq!(text.contains(detail), has_field, "{e:?}: {text}");
            assert!(
                seen.insert(text.clone()) || has_field,
                "{e:?} repeats {text}"
            );
        }
        assert_eq!(
            error_message(AccessError::WrongPairingCode),
            "Wrong pairing code: check the code printed on the lock."
        );
        assert_eq!(
            error_message(AccessError::Server {
                code: "teapot".into(),
                message: "short and stout".into()
            }),
            "Server error teapot: short and stout"
        );
    }

    #[test]
    fn one_rule_says_what_may_work_later_and_what_needs_sign_in() {
        let transient: Vec<String> = every_case("x")
            .into_iter()
            .filter(|e| is_transient(e.clone()))
            .map(|e| format!("{e:?}"))
            .collect();
        assert_eq!(
            transient,
            [
                r#"Offline { message: "x" }"#,
                "Timeout",
                r#"BadResponse { message: "x" }"#,
                r#"LockOutOfRange { message: "x" }"#,
                r#"LockTimeout { message: "x" }"#,
            ]
        );
        let internal = AccessError::Server {
            code: error_codes::INTERNAL.into(),
            message: "boom".into(),
        };
        assert!(is_transient(internal));
        let sign_in: Vec<AccessError> = every_case("x")
            .into_iter()
            .filter(|e| needs_sign_in(e.clone()))
            .collect();
        assert_eq!(sign_in, [AccessError::Revoked, AccessError::NotSignedIn]);
    }

    #[test]
    fn a_client_that_cannot_be_built_is_not_offline() {
        let e = AccessError::from(HttpError::Setup("no TLS".into()));
        assert_eq!(
            e,
            AccessError::ClientSetup {
                reason: "no TLS".into()
            }
        );
        // Offline work is queued and retried; this would never get better by waiting.
        assert!(!e.is_transient());
    }

    #[test]
    fn gate_refusals_carry_their_reason() {
        let e = AccessError::from(Denied::MissingPermission(
            access_domain::Permission::RenameLocks,
        ));
        let AccessError::NotAllowed { message } = e else {
            panic!("not NotAllowed")
        };
        assert!(message.contains("Can rename locks"), "{message}");
        assert_eq!(AccessError::from(Denied::Revoked), AccessError::Revoked);
    }
}
