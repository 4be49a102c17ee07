//! What a BLE failure means for the app: every radio, link, session, pairing and lock
//! refusal mapped to one [`AccessError`] case.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lock_ble::BleError;
use lock_protocol::command::RefusalReason;
use lock_protocol::pairing::PairingError;
use lock_protocol::session::SessionError;
use lock_protocol::wire::Rejection;

use super::link::LinkError;
use crate::AccessError;

pub(crate) fn ble_error(e: BleError) -> AccessError {
    match e {
        BleError::OutOfRange(id) => AccessError::LockOutOfRange {
            message: format!("lock {id} is not in range"),
        },
        BleError::Disconnected => AccessError::LockOutOfRange {
            message: "the link to the lock was lost".into(),
        },
        BleError::Timeout { waiting_for, .. } => AccessError::LockTimeout {
            message: format!("no answer while waiting for {waiting_for}"),
        },
        other => AccessError::Bluetooth {
            message: other.to_string(),
        },
    }
}

pub(crate) fn link_error(e: LinkError) -> AccessError {
    match e {
        LinkError::Ble(b) => ble_error(b),
        LinkError::Frame(message) => AccessError::Bluetooth { message },
    }
}

pub(crate) fn rejection(r: Rejection) -> AccessError {
    let reason = match r {
        Rejection::Malformed => "malformed message".to_string(),
        Rejection::AlreadyPaired => "already paired (factory reset it first)".to_string(),
        Rejection::NotPaired => "not paired".to_string(),
        Rejection::PairingLockedOut { retry_after_secs } => {
            format!("too many pairing attempts: retry in {retry_after_secs} s")
        }
        Rejection::PairingFailed => "pairing failed (wrong code?)".to_string(),
        Rejection::UnexpectedMessage => "unexpected message".to_string(),
        Rejection::SessionFailed => "session refused".to_string(),
    };
    AccessError::RefusedByLock { reason }
}

pub(crate) fn session_error(e: SessionError) -> AccessError {
    match e {
        SessionError::Rejected(r) => rejection(r),
        other => AccessError::Bluetooth {
            message: other.to_string(),
        },
    }
}

pub(crate) fn refusal(reason: RefusalReason) -> AccessError {
    match reason {
        RefusalReason::ModeForbids => AccessError::NotNow {
            message: "The door's mode does not let you in now: ask the property team if you need to get in.".into(),
        },
        other => AccessError::RefusedByLock {
            reason: format!("{other:?}"),
        },
    }
}

pub(crate) fn pairing_error(e: PairingError) -> AccessError {
    match e {
        PairingError::WrongCode => AccessError::WrongPairingCode,
        PairingError::CodeTooShort => AccessError::InvalidInput {
            message: "The pairing code printed on the lock has at least 6 digits.".into(),
        },
        PairingError::Rejected(Rejection::PairingFailed) => AccessError::WrongPairingCode,
        PairingError::Rejected(r) => rejection(r),
        other => AccessError::Bluetooth {
            message: other.to_string(),
        },
    }
}

pub(crate) fn bad_response(message: impl Into<String>) -> AccessError {
    AccessError::BadResponse {
        message: message.into(),
    }
}

pub(crate) fn decode_b64(s: &str, what: &str) -> Result<Vec<u8>, AccessError> {
    STANDARD
        .decode(s)
        .map_err(|_| bad_response(format!("{what} is not base64")))
}

pub(crate) fn key32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], AccessError> {
    bytes
        .try_into()
        .map_err(|_| bad_response(format!("{what} is not 32 bytes")))
}
