//! The session: one round trip from a connected phone to an executed command.
//!
//! The phone learned the lock's static X25519 key `S` at pairing. Its first write is
//!
//! ```text
//! h0 = SHA256(LABEL || S)           h1 = SHA256(h0 || E)          (E: phone ephemeral)
//! k1 = HKDF(salt = h1, ikm = DH(e, S), "hello")
//! SessionOpen { E, AEAD(k1, n = 0, aad = h1, Hello { credential, counter, command }) }
//! ```
//!
//! Only the holder of `S` opens it. The lock checks the credential and the counter, runs
//! the command and answers with its own ephemeral key `F`:
//!
//! ```text
//! h2 = SHA256(h1 || sealed hello)   h3 = SHA256(h2 || F)
//! (k_to_lock, k_to_phone) = HKDF(salt = h3, ikm = DH(e, S) || DH(e, F), "p2l" / "l2p")
//! SessionAccept { F, AEAD(k_to_phone, n = 0, aad = h3, response) }
//! ```
//!
//! The answer and everything after it are under keys that mix the two ephemeral keys
//! (forward secrecy for the rest of the session; the first message, like Noise IK's, is
//! protected by the lock's static key alone). Later messages use per-direction counters as
//! nonces and must arrive in order; the transcript hash `h3` is the associated data of every
//! message, so nothing from another session opens. Replay of the first message across
//! sessions is stopped by the lock, which accepts a `counter` only above the last one it
//! accepted for the credential's serial ([`next_counter`]).
//!
//! ```
//! use lock_protocol::command::{Command, Response};
//! use lock_protocol::session::{self, PhoneSession};
//! let (lock_secret, lock_public) = session::generate_static_key().unwrap();
//! let (request, pending) =
//!     PhoneSession::start(&lock_public, b"credential bytes", &Command::Unlock, 1).unwrap();
//! // ... on the lock:
//! let hello = session::LockHello::open(&lock_secret, &request).unwrap();
//! assert_eq!(hello.command, Command::Unlock);
//! let (answer, _lock_session) = hello.accept(&Response::Unlocked).unwrap();
//! // ... back on the phone:
//! let (_session, response) = pending.open_response(&answer).unwrap();
//! assert_eq!(response, Response::Unlocked);
//! ```

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use thiserror::Error;
pub use x25519_dalek::StaticSecret;

use crate::command::{Command, Response};
use crate::crypto::{self, Key};
use crate::wire::{self, LockMessage, PhoneMessage, Rejection, WireError};

const LABEL: &[u8] = b"lock-protocol session v1";

/// Why a session step failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SessionError {
    #[error("undecodable message: {0}")]
    Wire(#[from] WireError),
    #[error("the lock rejected the message: {0:?}")]
    Rejected(Rejection),
    #[error("message does not authenticate (tampered, replayed or from another session)")]
    Unauthentic,
    #[error("message of the wrong kind at this point of the session")]
    Unexpected,
    #[error("invalid public key")]
    BadPublicKey,
    #[error("the system random source failed")]
    Random,
}

impl From<crypto::RandomUnavailable> for SessionError {
    fn from(_: crypto::RandomUnavailable) -> Self {
        SessionError::Random
    }
}

/// The counter a phone puts in its next session: above the last one it used, and at least
/// the wall clock in milliseconds, so a reinstalled app (which forgot `last`) still moves
/// forward.
///
/// ```
/// assert_eq!(lock_protocol::session::next_counter(Some(5), 3), 6);
/// assert_eq!(lock_protocol::session::next_counter(Some(5), 1_000), 1_000);
/// ```
pub fn next_counter(last: Option<u64>, unix_millis: u64) -> u64 {
    last.map_or(0, |l| l.saturating_add(1)).max(unix_millis)
}

/// A fresh static X25519 identity for a lock: (secret, public).
pub fn generate_static_key() -> Result<(StaticSecret, [u8; 32]), SessionError> {
    Ok(crypto::x25519_keypair()?)
}

/// The public half of a lock's static key.
pub fn static_public(secret: &StaticSecret) -> [u8; 32] {
    x25519_dalek::PublicKey::from(secret).to_bytes()
}

/// The sealed content of the first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Hello {
    credential: Vec<u8>,
    counter: u64,
    command: Command,
}

/// One direction's key and counter.
#[derive(Clone)]
struct Channel {
    key: Key,
    counter: u64,
}

impl Channel {
    fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let sealed = crypto::seal(&self.key, self.counter, aad, plaintext);
        self.counter += 1;
        sealed
    }

    fn open(&mut self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let plain = crypto::open(&self.key, self.counter, aad, sealed)?;
        self.counter += 1;
        Some(plain)
    }
}

fn session_keys(es: &[u8; 32], ee: &[u8; 32], h3: &[u8; 32]) -> (Channel, Channel) {
    let [p2l, l2p] = crypto::hkdf(h3, &[es.as_slice(), ee].concat(), [b"p2l", b"l2p"]);
    (
        Channel {
            key: p2l,
            counter: 0,
        },
        Channel {
            key: l2p,
            counter: 0,
        },
    )
}

fn hello_key(lock_public: &[u8; 32], ephemeral: &[u8; 32], es: &[u8; 32]) -> ([u8; 32], Key) {
    let h0 = crypto::sha256(&[LABEL, lock_public]);
    let h1 = crypto::sha256(&[&h0, ephemeral]);
    let [k1] = crypto::hkdf(&h1, es, [b"hello"]);
    (h1, k1)
}

/// The phone's side of an open session.
pub struct PhoneSession {
    to_lock: Channel,
    to_phone: Channel,
    transcript: [u8; 32],
}

/// The phone's state between its first write and the lock's answer.
pub struct PendingResponse {
    ephemeral: StaticSecret,
    es: [u8; 32],
    h2: [u8; 32],
}

impl PhoneSession {
    /// Builds the first message (credential + command + counter, sealed to the lock's
    /// static key) and the state that opens the answer.
    pub fn start(
        lock_static_pub: &[u8; 32],
        credential: &[u8],
        command: &Command,
        counter: u64,
    ) -> Result<(Vec<u8>, PendingResponse), SessionError> {
        PhoneSession::start_body(
            lock_static_pub,
            credential,
            &wire::encode_body(command),
            counter,
        )
    }

    /// [`PhoneSession::start`] with the command already encoded, whatever `command_body`
    /// holds: what tests use to send the lock bytes that no [`Command`] encodes.
    pub fn start_body(
        lock_static_pub: &[u8; 32],
        credential: &[u8],
        command_body: &[u8],
        counter: u64,
    ) -> Result<(Vec<u8>, PendingResponse), SessionError> {
        // x25519-dalek rather than ring: this ephemeral key serves two agreements (with
        // the lock's static key now, its ephemeral key later) and ring's is single-use.
        let (ephemeral, ephemeral_pub) = crypto::x25519_keypair()?;
        let es = crypto::dh(&ephemeral, lock_static_pub).ok_or(SessionError::BadPublicKey)?;
        let (h1, k1) = hello_key(lock_static_pub, &ephemeral_pub, &es);
        // postcard lays a struct out as its fields in order: this is `Hello`'s encoding.
        let mut hello = wire::encode_body(&(credential, counter));
        hello.extend_from_slice(command_body);
        let sealed = crypto::seal(&k1, 0, &h1, &hello);
        let h2 = crypto::sha256(&[&h1, &sealed]);
        let request = wire::encode(&PhoneMessage::SessionOpen {
            ephemeral: ephemeral_pub,
            sealed,
        });
        Ok((request, PendingResponse { ephemeral, es, h2 }))
    }

    /// Seals a further command of this session.
    pub fn request(&mut self, command: &Command) -> Vec<u8> {
        self.request_body(&wire::encode_body(command))
    }

    /// Seals `body` as a further command of this session, whatever it holds: what tests use
    /// to send the lock bytes that no [`Command`] encodes.
    pub fn request_body(&mut self, body: &[u8]) -> Vec<u8> {
        let sealed = self.to_lock.seal(&self.transcript, body);
        wire::encode(&PhoneMessage::SessionData { sealed })
    }

    /// Opens the lock's answer to the last [`PhoneSession::request`].
    pub fn open_response(&mut self, bytes: &[u8]) -> Result<Response, SessionError> {
        match wire::decode::<LockMessage>(bytes)? {
            LockMessage::SessionData { sealed } => {
                let plain = self
                    .to_phone
                    .open(&self.transcript, &sealed)
                    .ok_or(SessionError::Unauthentic)?;
                Ok(wire::decode_body(&plain)?)
            }
            LockMessage::Rejected(r) => Err(SessionError::Rejected(r)),
            _ => Err(SessionError::Unexpected),
        }
    }
}

impl PendingResponse {
    /// Opens the lock's answer to the first message; on success the session stays open for
    /// further commands.
    pub fn open_response(self, bytes: &[u8]) -> Result<(PhoneSession, Response), SessionError> {
        let (lock_ephemeral, sealed) = match wire::decode::<LockMessage>(bytes)? {
            LockMessage::SessionAccept { ephemeral, sealed } => (ephemeral, sealed),
            LockMessage::Rejected(r) => return Err(SessionError::Rejected(r)),
            _ => return Err(SessionError::Unexpected),
        };
        let ee = crypto::dh(&self.ephemeral, &lock_ephemeral).ok_or(SessionError::BadPublicKey)?;
        let h3 = crypto::sha256(&[&self.h2, &lock_ephemeral]);
        let (to_lock, mut to_phone) = session_keys(&self.es, &ee, &h3);
        let plain = to_phone
            .open(&h3, &sealed)
            .ok_or(SessionError::Unauthentic)?;
        let response = wire::decode_body(&plain)?;
        Ok((
            PhoneSession {
                to_lock,
                to_phone,
                transcript: h3,
            },
            response,
        ))
    }
}

/// A first message the lock has opened: what it must check before it accepts.
pub struct LockHello {
    /// The credential bytes, to check with [`crate::credential::verify`].
    pub credential: Vec<u8>,
    /// Must be above the last counter accepted for the credential's serial.
    pub counter: u64,
    pub command: Command,
    phone_ephemeral: [u8; 32],
    es: [u8; 32],
    h2: [u8; 32],
}

impl LockHello {
    /// Opens a `SessionOpen` message with the lock's static secret.
    pub fn open(lock_static: &StaticSecret, bytes: &[u8]) -> Result<LockHello, SessionError> {
        match wire::decode::<PhoneMessage>(bytes)? {
            PhoneMessage::SessionOpen { ephemeral, sealed } => {
                LockHello::open_parts(lock_static, &ephemeral, &sealed)
            }
            _ => Err(SessionError::Unexpected),
        }
    }

    /// Same as [`LockHello::open`] for an already decoded message.
    pub fn open_parts(
        lock_static: &StaticSecret,
        ephemeral: &[u8; 32],
        sealed: &[u8],
    ) -> Result<LockHello, SessionError> {
        let es = crypto::dh(lock_static, ephemeral).ok_or(SessionError::BadPublicKey)?;
        let (h1, k1) = hello_key(&static_public(lock_static), ephemeral, &es);
        let plain = crypto::open(&k1, 0, &h1, sealed).ok_or(SessionError::Unauthentic)?;
        let hello: Hello = wire::decode_body(&plain)?;
        Ok(LockHello {
            credential: hello.credential,
            counter: hello.counter,
            command: hello.command,
            phone_ephemeral: *ephemeral,
            es,
            h2: crypto::sha256(&[&h1, sealed]),
        })
    }

    /// Answers with `response` and opens the session for further commands. A lock that
    /// refuses the credential answers with a refusal and drops the returned session.
    pub fn accept(self, response: &Response) -> Result<(Vec<u8>, LockSession), SessionError> {
        let (lock_ephemeral, ee) =
            crypto::ephemeral_dh(&self.phone_ephemeral, &ring::rand::SystemRandom::new())
                .ok_or(SessionError::BadPublicKey)?;
        let h3 = crypto::sha256(&[&self.h2, &lock_ephemeral]);
        let (to_lock, mut to_phone) = session_keys(&self.es, &ee, &h3);
        let sealed = to_phone.seal(&h3, &wire::encode_body(response));
        let answer = wire::encode(&LockMessage::SessionAccept {
            ephemeral: lock_ephemeral,
            sealed,
        });
        Ok((
            answer,
            LockSession {
                to_lock,
                to_phone,
                transcript: h3,
            },
        ))
    }
}

/// The lock's side of an open session.
pub struct LockSession {
    to_lock: Channel,
    to_phone: Channel,
    transcript: [u8; 32],
}

impl LockSession {
    /// Opens the sealed part of a `SessionData` message from the phone.
    pub fn open_request(&mut self, sealed: &[u8]) -> Result<Command, SessionError> {
        let plain = self
            .to_lock
            .open(&self.transcript, sealed)
            .ok_or(SessionError::Unauthentic)?;
        Ok(wire::decode_body(&plain)?)
    }

    /// Seals the answer to the last opened request.
    pub fn respond(&mut self, response: &Response) -> Vec<u8> {
        let sealed = self
            .to_phone
            .seal(&self.transcript, &wire::encode_body(response));
        wire::encode(&LockMessage::SessionData { sealed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::RefusalReason;
    use proptest::prelude::*;

    fn opened(lock: &StaticSecret, request: &[u8]) -> LockHello {
        LockHello::open(lock, request).unwrap()
    }

    #[test]
    fn a_whole_session_runs_and_counters_advance() {
        let (secret, public) = generate_static_key().unwrap();
        let (req, pending) = PhoneSession::start(&public, b"cred", &Command::Unlock, 7).unwrap();
        let hello = opened(&secret, &req);
        assert_eq!((hello.counter, &hello.credential[..]), (7, &b"cred"[..]));
        let (answer, mut lock) = hello.accept(&Response::Unlocked).unwrap();
        let (mut phone, r) = pending.open_response(&answer).unwrap();
        assert_eq!(r, Response::Unlocked);
        for _ in 0..3 {
            let req = phone.request(&Command::Lock);
            let PhoneMessage::SessionData { sealed } = wire::decode(&req).unwrap() else {
                panic!("not session data")
            };
            assert_eq!(lock.open_request(&sealed).unwrap(), Command::Lock);
            // The same frame again is a replay: its counter has passed.
            assert_eq!(lock.open_request(&sealed), Err(SessionError::Unauthentic));
            let ans = lock.respond(&Response::Locked);
            assert_eq!(phone.open_response(&ans).unwrap(), Response::Locked);
            assert_eq!(phone.open_response(&ans), Err(SessionError::Unauthentic));
        }
    }

    #[test]
    fn wrong_lock_key_tampering_and_cross_session_frames_fail() {
        let (secret, public) = generate_static_key().unwrap();
        let (other, _) = generate_static_key().unwrap();
        let (req, _) = PhoneSession::start(&public, b"c", &Command::Unlock, 1).unwrap();
        assert!(matches!(
            LockHello::open(&other, &req),
            Err(SessionError::Unauthentic)
        ));
        for i in 1..req.len() {
            let mut t = req.clone();
            t[i] ^= 0x20;
            assert!(LockHello::open(&secret, &t).is_err(), "byte {i}");
        }
        // Two sessions: frames of one do not open in the other.
        let (req_a, pend_a) = PhoneSession::start(&public, b"c", &Command::Unlock, 1).unwrap();
        let (req_b, pend_b) = PhoneSession::start(&public, b"c", &Command::Unlock, 2).unwrap();
        let (ans_a, mut lock_a) = opened(&secret, &req_a).accept(&Response::Unlocked).unwrap();
        let (ans_b, mut lock_b) = opened(&secret, &req_b)
            .accept(&Response::Refused {
                reason: RefusalReason::ModeForbids,
            })
            .unwrap();
        assert!(pend_a.open_response(&ans_b).is_err());
        let (mut phone_b, r) = pend_b.open_response(&ans_b).unwrap();
        assert!(r.is_refusal());
        let req = phone_b.request(&Command::ReadStatus);
        let PhoneMessage::SessionData { sealed } = wire::decode(&req).unwrap() else {
            panic!("not session data")
        };
        assert_eq!(lock_a.open_request(&sealed), Err(SessionError::Unauthentic));
        assert!(lock_b.open_request(&sealed).is_ok());
        let _ = ans_a;
    }

    #[test]
    fn low_order_keys_are_refused() {
        let (secret, _) = generate_static_key().unwrap();
        assert_eq!(
            PhoneSession::start(&[0u8; 32], b"c", &Command::Unlock, 1).err(),
            Some(SessionError::BadPublicKey)
        );
        assert!(matches!(
            LockHello::open_parts(&secret, &[0u8; 32], &[0u8; 40]),
            Err(SessionError::BadPublicKey)
        ));
    }

    proptest! {
        #[test]
        fn session_decoders_survive_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let (secret, public) = generate_static_key().unwrap();
            prop_assert!(LockHello::open(&secret, &bytes).is_err());
            let (_, pending) = PhoneSession::start(&public, b"c", &Command::Unlock, 1).unwrap();
            prop_assert!(pending.open_response(&bytes).is_err());
        }
    }
}
