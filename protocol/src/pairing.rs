//! Pairing on site: SPAKE2 on the code printed on the lock, then the installation, in two
//! round trips.
//!
//! ```text
//! phone -> lock  PairStart     { pake_a }
//! lock  -> phone PairChallenge { pake_b, confirm_lock }
//! phone -> lock  PairFinish    { confirm_phone, AEAD(k_p2l, install) }
//! lock  -> phone PairDone      { AEAD(k_l2p, result) }
//! ```
//!
//! `th = SHA256(LABEL || pake_a || pake_b)` and the SPAKE2 key give, by HKDF, two
//! confirmation keys and two AEAD keys. A wrong code gives different keys on each side: the
//! phone sees the lock's confirmation fail and stops; a phone that goes on anyway fails the
//! lock's check. A recorded exchange gives an eavesdropper nothing to test guesses against
//! (that is SPAKE2's property), and an active attacker tests one guess per attempt, which the
//! lock limits ([`lockout_secs`]).
//!
//! ```
//! use access_domain::LockMode;
//! use lock_protocol::pairing::{Install, PairingLock, PairingPhone, PairingResult, PairingStep};
//! let install = Install {
//!     org_public_key: vec![1; 32],
//!     lock_id: uuid::Uuid::new_v4(),
//!     now: 1_700_000_000,
//!     name: "Unit 4B front door".into(),
//!     mode: LockMode::Vacant,
//! };
//! let (start, mut phone) = PairingPhone::start("1234-5678-90", install.clone()).unwrap();
//! let (challenge, lock) = PairingLock::start("1234567890", &start).unwrap();
//! let PairingStep::Send(finish) = phone.on_message(&challenge).unwrap() else { panic!() };
//! let (installed, sealer) = lock.finish(&finish).unwrap();
//! assert_eq!(installed, install);
//! let done = sealer.seal(&PairingResult {
//!     lock_static_public: [3; 32],
//!     factory_serial: "VL-0001".into(),
//!     firmware: "1.0.0".into(),
//! });
//! let PairingStep::Paired(result) = phone.on_message(&done).unwrap() else { panic!() };
//! assert_eq!(result.lock_static_public, [3; 32]);
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use access_domain::LockMode;
use serde::{Deserialize, Serialize};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use thiserror::Error;

use crate::command::valid_name;
use crate::crypto::{self, Key};
use crate::wire::{self, LockMessage, PhoneMessage, Rejection, WireError};

const LABEL: &[u8] = b"lock-protocol pairing v1";
const ID_PHONE: &[u8] = b"lock-protocol phone";
const ID_LOCK: &[u8] = b"lock-protocol lock";

/// Failed attempts allowed before the lock starts to wait.
pub const FREE_ATTEMPTS: u32 = 3;
/// The first wait, doubled for every further failure.
pub const LOCKOUT_BASE_SECS: u64 = 30;
/// The longest wait.
pub const LOCKOUT_MAX_SECS: u64 = 24 * 60 * 60;

/// How long the lock refuses pairing after `failures` failed attempts in a row: nothing for
/// the first [`FREE_ATTEMPTS`], then 30 s doubling up to a day. With a 10-digit code an
/// attacker on site gets about 14 guesses in the first day and one a day after that: about
/// 380 in a year, a chance of 4 in 100 million.
///
/// ```
/// use lock_protocol::pairing::lockout_secs;
/// assert_eq!(lockout_secs(2), 0);
/// assert_eq!(lockout_secs(3), 30);
/// assert_eq!(lockout_secs(4), 60);
/// assert_eq!(lockout_secs(100), 86_400);
/// ```
pub fn lockout_secs(failures: u32) -> u64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(32);
    LOCKOUT_BASE_SECS
        .saturating_mul(1u64 << doublings)
        .min(LOCKOUT_MAX_SECS)
}

/// The code as the PAKE uses it: its digits, whatever separators were typed or printed.
///
/// ```
/// assert_eq!(lock_protocol::pairing::normalize_code(" 12-34 56 "), "123456");
/// ```
pub fn normalize_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

/// What the phone installs in the lock. It holds no secret: the master code and the
/// offline-code secret reach the lock only sealed to its identity key, in the platform's
/// first door update ([`crate::door`]), so the phone that pairs never reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Install {
    /// Ed25519 public key of the organization (32 bytes): verifies credentials.
    pub org_public_key: Vec<u8>,
    /// The lock's id, assigned by the server.
    pub lock_id: uuid::Uuid,
    /// Unix seconds: sets the lock's clock.
    pub now: u64,
    pub name: String,
    pub mode: LockMode,
}

impl Install {
    /// Whether the lock can take this installation as is.
    pub fn is_valid(&self) -> bool {
        self.org_public_key.len() == 32 && valid_name(&self.name)
    }
}

/// What the lock returns once paired; the phone registers it with the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingResult {
    /// The lock's static X25519 key: sessions are sealed to it.
    pub lock_static_public: [u8; 32],
    pub factory_serial: String,
    pub firmware: String,
}

/// Why pairing failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PairingError {
    #[error("undecodable message: {0}")]
    Wire(#[from] WireError),
    #[error("the lock rejected the pairing: {0:?}")]
    Rejected(Rejection),
    #[error("wrong pairing code (key confirmation failed)")]
    WrongCode,
    #[error("the pairing code must have at least 6 digits")]
    CodeTooShort,
    #[error("the installation data is invalid")]
    InvalidInstall,
    #[error("message does not authenticate")]
    Unauthentic,
    #[error("message of the wrong kind at this point of pairing")]
    Unexpected,
}

struct Keys {
    th: [u8; 32],
    confirm_lock: Key,
    confirm_phone: Key,
    to_lock: Key,
    to_phone: Key,
}

fn keys(pake_key: &[u8], pake_a: &[u8], pake_b: &[u8]) -> Keys {
    let th = crypto::sha256(&[LABEL, pake_a, pake_b]);
    let [confirm_lock, confirm_phone, to_lock, to_phone] = crypto::hkdf(
        &th,
        pake_key,
        [b"confirm lock", b"confirm phone", b"p2l", b"l2p"],
    );
    Keys {
        th,
        confirm_lock,
        confirm_phone,
        to_lock,
        to_phone,
    }
}

fn password(code: &str) -> Result<Password, PairingError> {
    let digits = normalize_code(code);
    if digits.len() < 6 {
        return Err(PairingError::CodeTooShort);
    }
    Ok(Password::new(digits.as_bytes()))
}

enum PhoneState {
    AwaitChallenge {
        spake: Box<Spake2<Ed25519Group>>,
        pake_a: Vec<u8>,
        install: Box<Install>,
    },
    AwaitDone {
        to_phone: Key,
        th: [u8; 32],
    },
    Finished,
}

/// The phone's pairing state machine.
pub struct PairingPhone {
    state: PhoneState,
}

/// What the phone does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingStep {
    /// Write these bytes to the lock and wait for its answer.
    Send(Vec<u8>),
    /// Paired: register this with the server.
    Paired(PairingResult),
}

impl PairingPhone {
    /// Starts pairing with the code printed on the lock; returns the first message.
    pub fn start(code: &str, install: Install) -> Result<(Vec<u8>, PairingPhone), PairingError> {
        if !install.is_valid() {
            return Err(PairingError::InvalidInstall);
        }
        let (spake, pake_a) = Spake2::<Ed25519Group>::start_a(
            &password(code)?,
            &Identity::new(ID_PHONE),
            &Identity::new(ID_LOCK),
        );
        let msg = wire::encode(&PhoneMessage::PairStart {
            pake: pake_a.clone(),
        });
        Ok((
            msg,
            PairingPhone {
                state: PhoneState::AwaitChallenge {
                    spake: Box::new(spake),
                    pake_a,
                    install: Box::new(install),
                },
            },
        ))
    }

    /// Takes the lock's answer. Any error ends this pairing attempt.
    pub fn on_message(&mut self, bytes: &[u8]) -> Result<PairingStep, PairingError> {
        let state = core::mem::replace(&mut self.state, PhoneState::Finished);
        let message = wire::decode::<LockMessage>(bytes)?;
        if let LockMessage::Rejected(r) = message {
            return Err(PairingError::Rejected(r));
        }
        match (state, message) {
            (
                PhoneState::AwaitChallenge {
                    spake,
                    pake_a,
                    install,
                },
                LockMessage::PairChallenge { pake, confirm },
            ) => {
                let key = (*spake)
                    .finish(&pake)
                    .map_err(|_| PairingError::WrongCode)?;
                let k = keys(&key, &pake_a, &pake);
                if !crypto::hmac_verify(&k.confirm_lock, &[&k.th], &confirm) {
                    return Err(PairingError::WrongCode);
                }
                let sealed = crypto::seal(&k.to_lock, 0, &k.th, &wire::encode_body(&*install));
                let finish = wire::encode(&PhoneMessage::PairFinish {
                    confirm: crypto::hmac(&k.confirm_phone, &[&k.th]),
                    sealed,
                });
                self.state = PhoneState::AwaitDone {
                    to_phone: k.to_phone,
                    th: k.th,
                };
                Ok(PairingStep::Send(finish))
            }
            (PhoneState::AwaitDone { to_phone, th }, LockMessage::PairDone { sealed }) => {
                let plain =
                    crypto::open(&to_phone, 0, &th, &sealed).ok_or(PairingError::Unauthentic)?;
                Ok(PairingStep::Paired(wire::decode_body(&plain)?))
            }
            _ => Err(PairingError::Unexpected),
        }
    }
}

/// The lock's pairing state after the first round trip.
pub struct PairingLock {
    keys: Keys,
}

/// Seals the lock's final pairing answer.
pub struct PairingSealer {
    to_phone: Key,
    th: [u8; 32],
}

impl PairingLock {
    /// Answers a `PairStart` message (wire-encoded) for the lock whose printed code is
    /// `code`. The caller counts the attempt before calling (online guessing limit).
    pub fn start(code: &str, bytes: &[u8]) -> Result<(Vec<u8>, PairingLock), PairingError> {
        match wire::decode::<PhoneMessage>(bytes)? {
            PhoneMessage::PairStart { pake } => PairingLock::start_parts(code, &pake),
            _ => Err(PairingError::Unexpected),
        }
    }

    /// Same as [`PairingLock::start`] for an already decoded message.
    pub fn start_parts(code: &str, pake_a: &[u8]) -> Result<(Vec<u8>, PairingLock), PairingError> {
        let (spake, pake_b) = Spake2::<Ed25519Group>::start_b(
            &password(code)?,
            &Identity::new(ID_PHONE),
            &Identity::new(ID_LOCK),
        );
        let key = spake.finish(pake_a).map_err(|_| PairingError::Unexpected)?;
        let keys = keys(&key, pake_a, &pake_b);
        let challenge = wire::encode(&LockMessage::PairChallenge {
            pake: pake_b,
            confirm: crypto::hmac(&keys.confirm_lock, &[&keys.th]),
        });
        Ok((challenge, PairingLock { keys }))
    }

    /// Checks the phone's `PairFinish` message (wire-encoded) and opens the installation.
    pub fn finish(self, bytes: &[u8]) -> Result<(Install, PairingSealer), PairingError> {
        match wire::decode::<PhoneMessage>(bytes)? {
            PhoneMessage::PairFinish { confirm, sealed } => self.finish_parts(&confirm, &sealed),
            _ => Err(PairingError::Unexpected),
        }
    }

    /// Same as [`PairingLock::finish`] for an already decoded message.
    pub fn finish_parts(
        self,
        confirm: &[u8; 32],
        sealed: &[u8],
    ) -> Result<(Install, PairingSealer), PairingError> {
        let k = self.keys;
        if !crypto::hmac_verify(&k.confirm_phone, &[&k.th], confirm) {
            return Err(PairingError::WrongCode);
        }
        let plain = crypto::open(&k.to_lock, 0, &k.th, sealed).ok_or(PairingError::Unauthentic)?;
        let install: Install = wire::decode_body(&plain)?;
        if !install.is_valid() {
            return Err(PairingError::InvalidInstall);
        }
        Ok((
            install,
            PairingSealer {
                to_phone: k.to_phone,
                th: k.th,
            },
        ))
    }
}

impl PairingSealer {
    /// The lock's last pairing message.
    pub fn seal(self, result: &PairingResult) -> Vec<u8> {
        let sealed = crypto::seal(&self.to_phone, 0, &self.th, &wire::encode_body(result));
        wire::encode(&LockMessage::PairDone { sealed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn install() -> Install {
        Install {
            org_public_key: vec![1; 32],
            lock_id: uuid::Uuid::new_v4(),
            now: 5,
            name: "Door".into(),
            mode: LockMode::Tour,
        }
    }

    #[test]
    fn a_wrong_code_fails_on_both_sides() {
        let (start, mut phone) = PairingPhone::start("111111", install()).unwrap();
        let (challenge, lock) = PairingLock::start("222222", &start).unwrap();
        assert_eq!(phone.on_message(&challenge), Err(PairingError::WrongCode));
        // A phone that ignores the failed confirmation and sends its own anyway.
        let (start, _) = PairingPhone::start("111111", install()).unwrap();
        let PhoneMessage::PairStart { pake } = wire::decode(&start).unwrap() else {
            panic!()
        };
        let fake = wire::encode(&PhoneMessage::PairFinish {
            confirm: [0; 32],
            sealed: vec![0; 40],
        });
        assert!(matches!(lock.finish(&fake), Err(PairingError::WrongCode)));
        let (_, lock2) = PairingLock::start_parts("111111", &pake).unwrap();
        assert!(lock2.finish(&fake).is_err());
    }

    #[test]
    fn invalid_installs_are_refused_before_sending() {
        let mut bad = install();
        bad.name = "x".repeat(200);
        assert!(matches!(
            PairingPhone::start("123456", bad),
            Err(PairingError::InvalidInstall)
        ));
        assert!(matches!(
            PairingPhone::start("12", install()),
            Err(PairingError::CodeTooShort)
        ));
    }

    #[test]
    fn messages_out_of_order_are_refused() {
        let (start, mut phone) = PairingPhone::start("123456", install()).unwrap();
        let done = wire::encode(&LockMessage::PairDone {
            sealed: vec![0; 20],
        });
        assert_eq!(phone.on_message(&done), Err(PairingError::Unexpected));
        assert!(PairingLock::start("123456", &done).is_err());
        let (_, lock) = PairingLock::start("123456", &start).unwrap();
        assert!(matches!(lock.finish(&start), Err(PairingError::Unexpected)));
    }

    proptest! {
        // Each case runs two SPAKE2 halves; fewer cases keep the debug suite quick.
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn pairing_decoders_survive_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = PairingLock::start("123456", &bytes);
            let (start, mut phone) = PairingPhone::start("123456", install()).unwrap();
            prop_assert!(phone.on_message(&bytes).is_err());
            let (_, lock) = PairingLock::start("123456", &start).unwrap();
            prop_assert!(lock.finish(&bytes).is_err());
        }
    }
}
