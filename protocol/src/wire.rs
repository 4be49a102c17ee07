//! The messages on the wire, encoded with postcard behind a version byte.
//!
//! A message is one [`PhoneMessage`] (phone to lock) or [`LockMessage`] (lock to phone).
//! Everything after pairing's first round trip travels sealed inside them; the plaintext
//! variants only carry public values (PAKE and X25519 public keys) and [`Rejection`]s that
//! the lock sends when it cannot (yet) encrypt.
//!
//! ```
//! use lock_protocol::wire::{self, LockMessage, Rejection};
//! let bytes = wire::encode(&LockMessage::Rejected(Rejection::AlreadyPaired));
//! assert_eq!(bytes[0], wire::WIRE_VERSION);
//! let back: LockMessage = wire::decode(&bytes).unwrap();
//! assert_eq!(back, LockMessage::Rejected(Rejection::AlreadyPaired));
//! assert!(wire::decode::<LockMessage>(&[wire::WIRE_VERSION, 250, 1]).is_err());
//! ```

use alloc::vec::Vec;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use thiserror::Error;

/// Version of the message encoding; the first byte of every message.
pub const WIRE_VERSION: u8 = 1;

/// What the phone writes to the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhoneMessage {
    /// Pairing, round trip 1: the phone's SPAKE2 message.
    PairStart { pake: Vec<u8> },
    /// Pairing, round trip 2: the phone's key confirmation and the sealed installation.
    PairFinish { confirm: [u8; 32], sealed: Vec<u8> },
    /// Session message 1: the phone's ephemeral key and the sealed credential + command.
    SessionOpen {
        ephemeral: [u8; 32],
        sealed: Vec<u8>,
    },
    /// A further command in an open session.
    SessionData { sealed: Vec<u8> },
}

/// What the lock notifies to the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockMessage {
    /// Pairing, round trip 1: the lock's SPAKE2 message and its key confirmation.
    PairChallenge { pake: Vec<u8>, confirm: [u8; 32] },
    /// Pairing, round trip 2: the sealed result (the lock's static public key).
    PairDone { sealed: Vec<u8> },
    /// Session answer: the lock's ephemeral key and the sealed response.
    SessionAccept {
        ephemeral: [u8; 32],
        sealed: Vec<u8>,
    },
    /// A further response in an open session.
    SessionData { sealed: Vec<u8> },
    /// The lock could not process the message and says why, unauthenticated.
    Rejected(Rejection),
}

/// Why the lock dropped a message before (or instead of) an authenticated answer.
///
/// These travel in clear because no key exists yet (or the message did not open), so a
/// phone treats them as hints: an attacker on the radio can forge them, never hide behind
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rejection {
    /// Not a message of this protocol, or an unsupported version.
    Malformed,
    /// Pairing refused: this lock is paired (factory reset first).
    AlreadyPaired,
    /// A session refused: this lock is not paired yet.
    NotPaired,
    /// Too many failed pairing attempts: try again after this many seconds.
    PairingLockedOut { retry_after_secs: u32 },
    /// Key confirmation failed: wrong pairing code (or a tampered exchange).
    PairingFailed,
    /// A pairing or session message arrived out of sequence.
    UnexpectedMessage,
    /// The sealed message did not open: tampered, from another session, or for another
    /// lock key. The session (if any) is closed.
    SessionFailed,
}

/// A message that did not decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("empty message")]
    Empty,
    #[error("unsupported wire version {0}")]
    UnsupportedVersion(u8),
    #[error("malformed message")]
    Malformed,
}

/// Encodes a message: version byte, then postcard.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(WIRE_VERSION);
    // postcard only fails on types it cannot represent; ours are plain data.
    if let Ok(body) = postcard::to_allocvec(message) {
        out.extend_from_slice(&body);
    }
    out
}

/// Decodes a message encoded by [`encode`]; trailing bytes are refused.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let (&version, body) = bytes.split_first().ok_or(WireError::Empty)?;
    if version != WIRE_VERSION {
        return Err(WireError::UnsupportedVersion(version));
    }
    decode_body(body)
}

/// postcard without a version byte, refusing trailing bytes (for sealed inner payloads).
pub(crate) fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    match postcard::take_from_bytes::<T>(body) {
        Ok((value, [])) => Ok(value),
        _ => Err(WireError::Malformed),
    }
}

/// postcard without a version byte (for sealed inner payloads).
pub(crate) fn encode_body<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_message_round_trips() {
        let phone = [
            PhoneMessage::PairStart { pake: vec![1; 33] },
            PhoneMessage::PairFinish {
                confirm: [2; 32],
                sealed: vec![3; 70],
            },
            PhoneMessage::SessionOpen {
                ephemeral: [4; 32],
                sealed: vec![5; 300],
            },
            PhoneMessage::SessionData {
                sealed: vec![6; 17],
            },
        ];
        for m in phone {
            assert_eq!(decode::<PhoneMessage>(&encode(&m)), Ok(m));
        }
        let r = LockMessage::Rejected(Rejection::PairingLockedOut {
            retry_after_secs: 60,
        });
        assert_eq!(decode::<LockMessage>(&encode(&r)), Ok(r));
        let mut bytes = encode(&PhoneMessage::SessionData { sealed: vec![1] });
        bytes.push(0);
        assert_eq!(decode::<PhoneMessage>(&bytes), Err(WireError::Malformed));
        bytes[0] = 2;
        assert_eq!(
            decode::<PhoneMessage>(&bytes),
            Err(WireError::UnsupportedVersion(2))
        );
    }

    proptest! {
        #[test]
        fn decoders_survive_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode::<PhoneMessage>(&bytes);
            let _ = decode::<LockMessage>(&bytes);
            let mut versioned = bytes.clone();
            versioned.insert(0, WIRE_VERSION);
            if let Ok(m) = decode::<PhoneMessage>(&versioned) {
                prop_assert_eq!(encode(&m), versioned.clone());
            }
            let _ = decode::<LockMessage>(&versioned);
        }
    }
}
