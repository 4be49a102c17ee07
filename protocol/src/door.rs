//! Door updates: the platform's changes to one lock (name, mode, access codes, revocations,
//! master code, code secret), signed with the organization key the lock trusts from pairing
//! and with every secret sealed to the lock's static X25519 key, so that any phone can carry
//! them to the lock ([`crate::command::Command::ApplyUpdate`]) and none can read, alter or
//! replay them.
//!
//! ```text
//! e   = a fresh X25519 key, one per update;  S = the lock's static public key
//! k   = HKDF(salt = lock_id || version (u64 BE), ikm = DH(e, S), "lock-protocol door seal v1")
//! secret n: ChaCha20-Poly1305(k, nonce = n, aad = lock_id || version || item || code_id)
//!           n = 0: master code, 1: code secret, 2: report key, 3 + i: digits of
//!           put_codes[i] (item 0, 1, 3, 2)
//! body    = UPDATE_VERSION || postcard(DoorUpdate)
//! update  = body || Ed25519(org key, "lock-protocol door update v1\0" || body)   (64 bytes)
//! ```
//!
//! The signature is the last 64 bytes, so the lock checks the bounds of the body before it
//! spends an Ed25519 verification on it. A sealed secret only opens with its own lock key,
//! in its own update (the key depends on the version and the ephemeral key) and on its own
//! item (the nonce is its index and the associated data names the code id).
//!
//! ```
//! use access_domain::LockMode;
//! use lock_protocol::door::{self, DoorError, PlainUpdate};
//! use ring::signature::{Ed25519KeyPair, KeyPair};
//! let rng = ring::rand::SystemRandom::new();
//! let org = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref())
//!     .unwrap();
//! let (lock_secret, lock_public) = lock_protocol::session::generate_static_key().unwrap();
//! let lock_id = uuid::Uuid::new_v4();
//! let mut plain = PlainUpdate::empty(lock_id, 1, 0, 1_800_000_000);
//! plain.name = Some("Unit 4B".into());
//! plain.mode = Some(LockMode::Resident);
//! plain.master_code = Some("24681357".into());
//! plain.code_secret = Some([9; 32]);
//! let bytes = door::seal_and_sign(&plain, &lock_public, &org, &rng).unwrap();
//! let opened = door::open(&bytes, org.public_key().as_ref(), lock_id,
//!                         &lock_secret.to_bytes(), 0).unwrap();
//! assert_eq!(opened, plain);
//! // The lock now holds version 1: the same update again is stale.
//! assert_eq!(door::open(&bytes, org.public_key().as_ref(), lock_id, &lock_secret.to_bytes(), 1),
//!            Err(DoorError::Stale { held: 1 }));
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use access_domain::{AccessCodeKind, CodeClass, LockMode};
use ring::rand::SecureRandom;
use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;
use x25519_dalek::StaticSecret;

use crate::command::{AccessCode, CODE_DIGITS, Revocation, Window, valid_code_digits, valid_name};
use crate::credential::CLOCK_SKEW_SECS;
use crate::crypto::{self, Key, SIGNATURE_LEN, TAG_LEN};
use crate::wire;

/// Layout version of [`DoorUpdate`], first byte of the signed bytes.
pub const UPDATE_VERSION: u8 = 2;
/// Domain separation for the signature (the organization key also signs credentials).
pub const SIGNATURE_CONTEXT: &[u8] = b"lock-protocol door update v1\0";
const SEAL_INFO: &[u8] = b"lock-protocol door seal v1";
/// Most codes one update installs or replaces.
pub const MAX_PUT_CODES: usize = 100;
/// Most codes one update removes.
pub const MAX_REMOVE_CODES: usize = 200;
/// Most revocations one update adds.
pub const MAX_ADD_REVOCATIONS: usize = 128;
/// The largest update a lock looks at. The largest update within the counts above takes
/// 12,907 bytes, 13,486 in a session's first message beside a credential of the largest
/// size a lock reads: under the 16 KiB frame limit (asserted by the tests).
pub const MAX_UPDATE_LEN: usize = 14 * 1024;

/// Secrets' nonces: fixed ones first, then one per code.
const NONCE_MASTER_CODE: u64 = 0;
const NONCE_CODE_SECRET: u64 = 1;
const NONCE_REPORT_KEY: u64 = 2;
const NONCE_FIRST_CODE: u64 = 3;

/// Why an update was refused (or could not be built).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DoorError {
    #[error("door update is malformed or over its bounds")]
    Malformed,
    #[error("unsupported door update version {0}")]
    UnsupportedVersion(u8),
    #[error("door update signature does not verify with the organization key")]
    BadSignature,
    #[error("door update is for another lock")]
    WrongLock,
    #[error("door update is not newer than the version the lock holds ({held})")]
    Stale { held: u64 },
    #[error("door update builds on another version than the one the lock holds ({held})")]
    BaseMismatch { held: u64 },
    #[error("a sealed secret of the door update does not open")]
    BadSeal,
    #[error("door update content is invalid")]
    Invalid,
    #[error("invalid lock public key, or the random source failed")]
    BadPublicKey,
}

/// A door update in clear, as the platform builds it and the lock applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainUpdate {
    pub lock_id: Uuid,
    /// Above every version the lock held before; the lock then holds this one.
    pub version: u64,
    /// 0: the whole state (codes, revocations, name, mode, master code and code secret are
    /// replaced, and the last four must be given); otherwise the version this delta
    /// applies to, which the lock must hold.
    pub base_version: u64,
    /// The platform's clock when it signed, unix seconds (see [`clock_after`]).
    pub issued_at: u64,
    pub name: Option<String>,
    pub mode: Option<LockMode>,
    /// Installed, or replacing the code of the same `code_id`; after `remove_codes`.
    pub put_codes: Vec<AccessCode>,
    pub remove_codes: Vec<u64>,
    pub add_revocations: Vec<Revocation>,
    pub master_code: Option<String>,
    pub code_secret: Option<[u8; 32]>,
    /// The key the lock MACs what it reports with ([`crate::report`], [`receipt`]); kept
    /// by the lock until another arrives or a factory reset. Optional in a whole state too.
    pub report_key: Option<[u8; 32]>,
}

/// An access code of a [`DoorUpdate`]: as [`AccessCode`] with its digits sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedCode {
    pub code_id: u64,
    pub digits: Vec<u8>,
    pub kind: AccessCodeKind,
    pub window: Option<Window>,
    pub class: CodeClass,
    pub owner: Option<Uuid>,
}

/// A [`PlainUpdate`] as it travels: every secret sealed, plus the ephemeral key that
/// seals them. What the organization signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorUpdate {
    pub lock_id: Uuid,
    pub version: u64,
    pub base_version: u64,
    pub issued_at: u64,
    pub ephemeral: [u8; 32],
    pub name: Option<String>,
    pub mode: Option<LockMode>,
    pub put_codes: Vec<SealedCode>,
    pub remove_codes: Vec<u64>,
    pub add_revocations: Vec<Revocation>,
    pub master_code: Option<Vec<u8>>,
    pub code_secret: Option<Vec<u8>>,
    pub report_key: Option<Vec<u8>>,
}

fn counts_within(put_codes: usize, remove_codes: usize, add_revocations: usize) -> bool {
    put_codes <= MAX_PUT_CODES
        && remove_codes <= MAX_REMOVE_CODES
        && add_revocations <= MAX_ADD_REVOCATIONS
}

fn sealed_digits_len_ok(len: usize) -> bool {
    len >= TAG_LEN && CODE_DIGITS.contains(&(len - TAG_LEN))
}

impl PlainUpdate {
    /// An update that changes nothing yet: fill in what it changes.
    pub fn empty(lock_id: Uuid, version: u64, base_version: u64, issued_at: u64) -> PlainUpdate {
        PlainUpdate {
            lock_id,
            version,
            base_version,
            issued_at,
            name: None,
            mode: None,
            put_codes: Vec::new(),
            remove_codes: Vec::new(),
            add_revocations: Vec::new(),
            master_code: None,
            code_secret: None,
            report_key: None,
        }
    }

    /// Whether this is a whole state rather than a delta.
    pub fn is_whole(&self) -> bool {
        self.base_version == 0
    }

    /// Whether a lock can take this update whatever it holds: the bounds, valid codes,
    /// name and master code, distinct code ids, a version above its base, and a whole state
    /// that says everything.
    pub fn check(&self) -> Result<(), DoorError> {
        let whole_is_complete = !self.is_whole()
            || (self.name.is_some()
                && self.mode.is_some()
                && self.master_code.is_some()
                && self.code_secret.is_some()
                && self.remove_codes.is_empty());
        let mut ids: Vec<u64> = self.put_codes.iter().map(|c| c.code_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let ok = counts_within(
            self.put_codes.len(),
            self.remove_codes.len(),
            self.add_revocations.len(),
        ) && self.name.as_deref().is_none_or(valid_name)
            && self.master_code.as_deref().is_none_or(valid_code_digits)
            && self.put_codes.iter().all(AccessCode::is_valid)
            && ids.len() == self.put_codes.len()
            && self.version > self.base_version
            && whole_is_complete;
        ok.then_some(()).ok_or(DoorError::Invalid)
    }
}

impl DoorUpdate {
    /// The bounds a lock checks before anything else: counts, name, and the lengths of the
    /// sealed secrets.
    fn within_bounds(&self) -> bool {
        counts_within(
            self.put_codes.len(),
            self.remove_codes.len(),
            self.add_revocations.len(),
        ) && self.name.as_deref().is_none_or(valid_name)
            && self
                .put_codes
                .iter()
                .all(|c| sealed_digits_len_ok(c.digits.len()))
            && self
                .master_code
                .as_ref()
                .is_none_or(|m| sealed_digits_len_ok(m.len()))
            && self
                .code_secret
                .as_ref()
                .is_none_or(|s| s.len() == 32 + TAG_LEN)
            && self
                .report_key
                .as_ref()
                .is_none_or(|s| s.len() == 32 + TAG_LEN)
    }
}

/// What a sealed secret is, bound into its associated data.
#[derive(Clone, Copy)]
enum Item {
    MasterCode,
    CodeSecret,
    Code(u64),
    ReportKey,
}

struct Sealer {
    key: Key,
    lock_id: Uuid,
    version: u64,
}

impl Sealer {
    fn new(shared: &[u8; 32], lock_id: Uuid, version: u64) -> Sealer {
        let salt = [lock_id.as_bytes().as_slice(), &version.to_be_bytes()].concat();
        let [key] = crypto::hkdf(&salt, shared, [SEAL_INFO]);
        Sealer {
            key,
            lock_id,
            version,
        }
    }

    fn aad(&self, item: Item) -> Vec<u8> {
        let (tag, id) = match item {
            Item::MasterCode => (0u8, 0u64),
            Item::CodeSecret => (1, 0),
            Item::Code(id) => (2, id),
            Item::ReportKey => (3, 0),
        };
        [
            self.lock_id.as_bytes().as_slice(),
            &self.version.to_be_bytes(),
            &[tag],
            &id.to_be_bytes(),
        ]
        .concat()
    }

    fn seal(&self, nonce: u64, item: Item, secret: &[u8]) -> Vec<u8> {
        crypto::seal(&self.key, nonce, &self.aad(item), secret)
    }

    fn open(&self, nonce: u64, item: Item, sealed: &[u8]) -> Result<Vec<u8>, DoorError> {
        crypto::open(&self.key, nonce, &self.aad(item), sealed).ok_or(DoorError::BadSeal)
    }
}

fn code_nonce(index: usize) -> u64 {
    NONCE_FIRST_CODE.saturating_add(u64::try_from(index).unwrap_or(u64::MAX))
}

fn digits(bytes: Vec<u8>) -> Result<String, DoorError> {
    String::from_utf8(bytes).map_err(|_| DoorError::Invalid)
}

/// The platform's side: checks `plain` ([`PlainUpdate::check`]), seals its secrets to the
/// lock's static public key and signs the whole with the organization key. The result is
/// what any phone carries to the lock.
pub fn seal_and_sign(
    plain: &PlainUpdate,
    lock_static_public: &[u8; 32],
    org_key: &Ed25519KeyPair,
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, DoorError> {
    plain.check()?;
    let (ephemeral, shared) =
        crypto::ephemeral_dh(lock_static_public, rng).ok_or(DoorError::BadPublicKey)?;
    let sealer = Sealer::new(&shared, plain.lock_id, plain.version);
    let put_codes = plain
        .put_codes
        .iter()
        .enumerate()
        .map(|(i, c)| SealedCode {
            code_id: c.code_id,
            digits: sealer.seal(code_nonce(i), Item::Code(c.code_id), c.digits.as_bytes()),
            kind: c.kind,
            window: c.window,
            class: c.class,
            owner: c.owner,
        })
        .collect();
    let update = DoorUpdate {
        lock_id: plain.lock_id,
        version: plain.version,
        base_version: plain.base_version,
        issued_at: plain.issued_at,
        ephemeral,
        name: plain.name.clone(),
        mode: plain.mode,
        put_codes,
        remove_codes: plain.remove_codes.clone(),
        add_revocations: plain.add_revocations.clone(),
        master_code: plain
            .master_code
            .as_ref()
            .map(|m| sealer.seal(NONCE_MASTER_CODE, Item::MasterCode, m.as_bytes())),
        code_secret: plain
            .code_secret
            .as_ref()
            .map(|s| sealer.seal(NONCE_CODE_SECRET, Item::CodeSecret, s)),
        report_key: plain
            .report_key
            .as_ref()
            .map(|k| sealer.seal(NONCE_REPORT_KEY, Item::ReportKey, k)),
    };
    let bytes = sign(&update, org_key);
    if bytes.len() > MAX_UPDATE_LEN {
        return Err(DoorError::Invalid);
    }
    Ok(bytes)
}

/// `UPDATE_VERSION || postcard(update)`, then the signature over it.
fn sign(update: &DoorUpdate, org_key: &Ed25519KeyPair) -> Vec<u8> {
    let mut bytes = alloc::vec![UPDATE_VERSION];
    bytes.extend_from_slice(&wire::encode_body(update));
    let signature = crypto::sign(org_key, SIGNATURE_CONTEXT, &bytes);
    bytes.extend_from_slice(&signature);
    bytes
}

/// Splits an update into its signed body and signature and decodes the body within its
/// bounds; nothing is verified.
fn decode(bytes: &[u8]) -> Result<(DoorUpdate, &[u8], &[u8]), DoorError> {
    if bytes.len() > MAX_UPDATE_LEN || bytes.len() < 1 + SIGNATURE_LEN {
        return Err(DoorError::Malformed);
    }
    let (body, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let update: DoorUpdate = match body.split_first() {
        Some((&UPDATE_VERSION, rest)) => {
            wire::decode_body(rest).map_err(|_| DoorError::Malformed)?
        }
        Some((&v, _)) => return Err(DoorError::UnsupportedVersion(v)),
        None => return Err(DoorError::Malformed),
    };
    if !update.within_bounds() {
        return Err(DoorError::Malformed);
    }
    Ok((update, body, signature))
}

/// The update in `bytes` as it claims to be, unverified: for a courier's bookkeeping
/// (which lock, which version), never for a decision the lock makes.
pub fn unverified(bytes: &[u8]) -> Result<DoorUpdate, DoorError> {
    decode(bytes).map(|(update, _, _)| update)
}

/// The lock's side: checks an update in this order and opens its secrets.
///
/// 1. it decodes within its bounds ([`DoorError::Malformed`], `UnsupportedVersion`);
/// 2. the organization signed it ([`DoorError::BadSignature`]);
/// 3. it is for this lock ([`DoorError::WrongLock`]);
/// 4. its version is above `held_version` ([`DoorError::Stale`]);
/// 5. it is a whole state or builds on `held_version` ([`DoorError::BaseMismatch`]);
/// 6. every secret opens with the lock's static secret ([`DoorError::BadSeal`]);
/// 7. its content is one a lock can take ([`PlainUpdate::check`], [`DoorError::Invalid`]).
pub fn open(
    bytes: &[u8],
    org_public_key: &[u8],
    lock_id: Uuid,
    lock_static_secret: &[u8; 32],
    held_version: u64,
) -> Result<PlainUpdate, DoorError> {
    let (update, body, signature) = decode(bytes)?;
    if !crypto::verify(org_public_key, SIGNATURE_CONTEXT, body, signature) {
        return Err(DoorError::BadSignature);
    }
    if update.lock_id != lock_id {
        return Err(DoorError::WrongLock);
    }
    let held = held_version;
    if update.version <= held {
        return Err(DoorError::Stale { held });
    }
    if update.base_version != 0 && update.base_version != held {
        return Err(DoorError::BaseMismatch { held });
    }
    let plain = unseal(update, &StaticSecret::from(*lock_static_secret))?;
    plain.check()?;
    Ok(plain)
}

fn unseal(update: DoorUpdate, lock_static: &StaticSecret) -> Result<PlainUpdate, DoorError> {
    let shared = crypto::dh(lock_static, &update.ephemeral).ok_or(DoorError::BadSeal)?;
    let sealer = Sealer::new(&shared, update.lock_id, update.version);
    let mut put_codes = Vec::with_capacity(update.put_codes.len());
    for (i, c) in update.put_codes.into_iter().enumerate() {
        let plain = sealer.open(code_nonce(i), Item::Code(c.code_id), &c.digits)?;
        put_codes.push(AccessCode {
            code_id: c.code_id,
            digits: digits(plain)?,
            kind: c.kind,
            window: c.window,
            class: c.class,
            owner: c.owner,
        });
    }
    let master_code = match update.master_code {
        Some(m) => Some(digits(sealer.open(
            NONCE_MASTER_CODE,
            Item::MasterCode,
            &m,
        )?)?),
        None => None,
    };
    let code_secret = match update.code_secret {
        Some(s) => Some(
            <[u8; 32]>::try_from(sealer.open(NONCE_CODE_SECRET, Item::CodeSecret, &s)?)
                .map_err(|_| DoorError::Invalid)?,
        ),
        None => None,
    };
    let report_key = match update.report_key {
        Some(k) => Some(
            <[u8; 32]>::try_from(sealer.open(NONCE_REPORT_KEY, Item::ReportKey, &k)?)
                .map_err(|_| DoorError::Invalid)?,
        ),
        None => None,
    };
    Ok(PlainUpdate {
        lock_id: update.lock_id,
        version: update.version,
        base_version: update.base_version,
        issued_at: update.issued_at,
        name: update.name,
        mode: update.mode,
        put_codes,
        remove_codes: update.remove_codes,
        add_revocations: update.add_revocations,
        master_code,
        code_secret,
        report_key,
    })
}

/// The lock's clock after an update signed at `issued_at` (the platform's clock), or `None`
/// to leave it: set forward to `issued_at` when the lock is behind by more than
/// [`CLOCK_SKEW_SECS`], never moved back.
///
/// A phone may carry an update for days before it reaches the lock, so `issued_at` is only
/// a lower bound on the true time: it can say the lock is behind, never that it is ahead.
/// A lock whose clock runs ahead is therefore not corrected by updates, and no phone sets
/// the clock: only pairing (after a factory reset) sets it again.
///
/// ```
/// use lock_protocol::door::clock_after;
/// use lock_protocol::credential::CLOCK_SKEW_SECS;
/// assert_eq!(clock_after(1_000, 1_000 + CLOCK_SKEW_SECS), None);
/// assert_eq!(clock_after(1_000, 1_000 + CLOCK_SKEW_SECS + 1), Some(1_000 + CLOCK_SKEW_SECS + 1));
/// assert_eq!(clock_after(1_000_000, 1_000), None); // a late update never sets it back
/// ```
pub fn clock_after(lock_clock: u64, issued_at: u64) -> Option<u64> {
    (issued_at > lock_clock.saturating_add(CLOCK_SKEW_SECS)).then_some(issued_at)
}

/// The lock's receipt for what it reports of itself: an HMAC under a key derived from its
/// report key ([`PlainUpdate::report_key`]), which only the lock and the platform hold. A
/// phone carries the receipt with its contact report and cannot make one up, so the
/// platform marks codes installed, and records a battery, only on the lock's word. A lock
/// without a report key sends zeros, which the platform refuses.
///
/// ```
/// let (secret, lock) = ([7u8; 32], uuid::Uuid::nil());
/// let r = lock_protocol::door::receipt(&secret, lock, 42, 80, 1_800_000_000, "vlock-1");
/// assert!(lock_protocol::door::receipt_matches(&secret, lock, 42, 80, 1_800_000_000, "vlock-1", &r));
/// assert!(!lock_protocol::door::receipt_matches(&secret, lock, 43, 80, 1_800_000_000, "vlock-1", &r));
/// ```
pub fn receipt(
    report_key: &[u8; 32],
    lock_id: Uuid,
    door_version: u64,
    battery: u8,
    clock: u64,
    firmware: &str,
) -> [u8; 32] {
    crypto::hmac(
        &receipt_key(report_key),
        &receipt_parts(lock_id, door_version, battery, clock, firmware).each(),
    )
}

/// Whether `tag` is the lock's [`receipt`] for these values (constant time).
pub fn receipt_matches(
    report_key: &[u8; 32],
    lock_id: Uuid,
    door_version: u64,
    battery: u8,
    clock: u64,
    firmware: &str,
    tag: &[u8],
) -> bool {
    tag != [0; 32]
        && crypto::hmac_verify(
            &receipt_key(report_key),
            &receipt_parts(lock_id, door_version, battery, clock, firmware).each(),
            tag,
        )
}

fn receipt_key(report_key: &[u8; 32]) -> Key {
    let [key] = crypto::hkdf(
        b"lock-protocol receipt v1",
        report_key,
        [b"receipt".as_slice()],
    );
    key
}

/// The fields of a receipt, each with a fixed length or a length prefix.
struct ReceiptParts<'a> {
    lock_id: [u8; 16],
    version: [u8; 8],
    battery: [u8; 1],
    clock: [u8; 8],
    firmware_len: [u8; 2],
    firmware: &'a [u8],
}

impl ReceiptParts<'_> {
    fn each(&self) -> [&[u8]; 6] {
        [
            &self.lock_id,
            &self.version,
            &self.battery,
            &self.clock,
            &self.firmware_len,
            self.firmware,
        ]
    }
}

fn receipt_parts(
    lock_id: Uuid,
    door_version: u64,
    battery: u8,
    clock: u64,
    firmware: &str,
) -> ReceiptParts<'_> {
    ReceiptParts {
        lock_id: *lock_id.as_bytes(),
        version: door_version.to_be_bytes(),
        battery: [battery],
        clock: clock.to_be_bytes(),
        firmware_len: u16::try_from(firmware.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
        firmware: firmware.as_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::credential::MAX_CREDENTIAL_LEN;
    use crate::frame::MAX_MESSAGE;
    use crate::session::{self, PhoneSession};
    use alloc::format;
    use proptest::prelude::*;
    use ring::rand::SystemRandom;
    use ring::signature::KeyPair;

    const NOW: u64 = 1_800_000_000;

    fn org() -> Ed25519KeyPair {
        let rng = SystemRandom::new();
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap()
    }

    struct Lock {
        id: Uuid,
        secret: [u8; 32],
        public: [u8; 32],
    }

    fn lock() -> Lock {
        let (secret, public) = session::generate_static_key().unwrap();
        Lock {
            id: Uuid::new_v4(),
            secret: secret.to_bytes(),
            public,
        }
    }

    fn code(code_id: u64, digits: &str) -> AccessCode {
        AccessCode {
            code_id,
            digits: digits.into(),
            kind: AccessCodeKind::Window,
            window: Some(Window {
                starts_at: NOW,
                ends_at: NOW + 3_600,
            }),
            class: CodeClass::Guest,
            owner: Some(Uuid::new_v4()),
        }
    }

    fn whole(lock: &Lock, version: u64) -> PlainUpdate {
        let mut p = PlainUpdate::empty(lock.id, version, 0, NOW);
        p.name = Some("Pool gate".into());
        p.mode = Some(LockMode::Resident);
        p.master_code = Some("97531135".into());
        p.code_secret = Some([4; 32]);
        p.report_key = Some([6; 32]);
        p.put_codes = alloc::vec![code(1, "1111"), code(2, "222222"), code(3, "333333333333")];
        p.add_revocations = alloc::vec![Revocation {
            serial: 9,
            expires_at: NOW + 60,
        }];
        p
    }

    fn seal(plain: &PlainUpdate, lock: &Lock, org: &Ed25519KeyPair) -> Vec<u8> {
        seal_and_sign(plain, &lock.public, org, &SystemRandom::new()).unwrap()
    }

    fn open_at(
        bytes: &[u8],
        org: &Ed25519KeyPair,
        lock: &Lock,
        held: u64,
    ) -> Result<PlainUpdate, DoorError> {
        open(
            bytes,
            org.public_key().as_ref(),
            lock.id,
            &lock.secret,
            held,
        )
    }

    /// The update with `change` made to its sealed form and signed again by the
    /// organization: what gets past the signature, to test what comes after it.
    fn resigned(
        bytes: &[u8],
        org: &Ed25519KeyPair,
        change: impl FnOnce(&mut DoorUpdate),
    ) -> Vec<u8> {
        let mut update = unverified(bytes).unwrap();
        change(&mut update);
        sign(&update, org)
    }

    #[test]
    fn a_sealed_signed_update_opens_to_what_was_sealed() {
        let (org, lock) = (org(), lock());
        let plain = whole(&lock, 3);
        let bytes = seal(&plain, &lock, &org);
        assert_eq!(open_at(&bytes, &org, &lock, 0), Ok(plain.clone()));
        // No secret shows in the carried bytes.
        let text = String::from_utf8_lossy(&bytes);
        for secret in ["97531135", "333333333333", "222222"] {
            assert!(!text.contains(secret), "{secret}");
        }
        assert!(!bytes.windows(32).any(|w| w == [4; 32]));
        assert!(!bytes.windows(32).any(|w| w == [6; 32]));
        // A delta on the held version.
        let mut delta = PlainUpdate::empty(lock.id, 4, 3, NOW);
        delta.remove_codes = alloc::vec![1];
        delta.put_codes = alloc::vec![code(7, "7777")];
        assert_eq!(
            open_at(&seal(&delta, &lock, &org), &org, &lock, 3),
            Ok(delta)
        );
    }

    #[test]
    fn replayed_and_older_updates_are_stale() {
        let (org, lock) = (org(), lock());
        let bytes = seal(&whole(&lock, 5), &lock, &org);
        assert_eq!(
            open_at(&bytes, &org, &lock, 5),
            Err(DoorError::Stale { held: 5 })
        );
        assert_eq!(
            open_at(&bytes, &org, &lock, 6),
            Err(DoorError::Stale { held: 6 })
        );
        assert!(open_at(&bytes, &org, &lock, 4).is_ok());
    }

    #[test]
    fn an_update_for_another_lock_is_refused() {
        let (org, lock, other) = (org(), lock(), lock());
        let bytes = seal(&whole(&other, 1), &lock, &org);
        assert_eq!(open_at(&bytes, &org, &lock, 0), Err(DoorError::WrongLock));
        // Sealed to another lock's key but naming this lock: the secrets do not open.
        let bytes = seal(&whole(&lock, 1), &other, &org);
        assert_eq!(open_at(&bytes, &org, &lock, 0), Err(DoorError::BadSeal));
    }

    #[test]
    fn a_delta_on_another_version_is_refused() {
        let (org, lock) = (org(), lock());
        let mut delta = PlainUpdate::empty(lock.id, 8, 6, NOW);
        delta.mode = Some(LockMode::Vacant);
        let bytes = seal(&delta, &lock, &org);
        assert_eq!(
            open_at(&bytes, &org, &lock, 5),
            Err(DoorError::BaseMismatch { held: 5 })
        );
        assert_eq!(
            open_at(&bytes, &org, &lock, 7),
            Err(DoorError::BaseMismatch { held: 7 })
        );
        assert_eq!(open_at(&bytes, &org, &lock, 6), Ok(delta));
    }

    #[test]
    fn another_key_or_any_flipped_bit_breaks_the_update() {
        let (org, lock) = (org(), lock());
        let plain = whole(&lock, 1);
        let forged = seal(&plain, &lock, &self::org());
        assert_eq!(
            open_at(&forged, &org, &lock, 0),
            Err(DoorError::BadSignature)
        );
        let bytes = seal(&plain, &lock, &org);
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert!(open_at(&t, &org, &lock, 0).is_err(), "byte {i}");
        }
        // A credential's signature is no update's, even over the same bytes.
        let body = &bytes[..bytes.len() - SIGNATURE_LEN];
        let mut as_credential = body.to_vec();
        as_credential.extend_from_slice(&crypto::sign(
            &org,
            crate::credential::SIGNATURE_CONTEXT,
            body,
        ));
        assert_eq!(
            open_at(&as_credential, &org, &lock, 0),
            Err(DoorError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_sealed_secret_does_not_open_even_when_signed() {
        let (org, lock) = (org(), lock());
        let bytes = seal(&whole(&lock, 1), &lock, &org);
        let flips: [fn(&mut DoorUpdate); 4] = [
            |u| u.put_codes[1].digits[0] ^= 1,
            |u| u.master_code.as_mut().unwrap()[3] ^= 1,
            |u| u.code_secret.as_mut().unwrap()[40] ^= 1,
            |u| u.report_key.as_mut().unwrap()[0] ^= 1,
        ];
        for flip in flips {
            let t = resigned(&bytes, &org, flip);
            assert_eq!(open_at(&t, &org, &lock, 0), Err(DoorError::BadSeal));
        }
    }

    #[test]
    fn a_sealed_secret_moved_to_another_code_or_update_does_not_open() {
        let (org, lock) = (org(), lock());
        let bytes = seal(&whole(&lock, 1), &lock, &org);
        // Digits moved to another place in the list (another nonce).
        let swapped_digits = resigned(&bytes, &org, |u| {
            let (a, b) = (u.put_codes[0].digits.clone(), u.put_codes[1].digits.clone());
            u.put_codes[0].digits = b;
            u.put_codes[1].digits = a;
        });
        assert_eq!(
            open_at(&swapped_digits, &org, &lock, 0),
            Err(DoorError::BadSeal)
        );
        // Digits kept in place, given to another code id (the associated data).
        let renamed = resigned(&bytes, &org, |u| u.put_codes[0].code_id = 99);
        assert_eq!(open_at(&renamed, &org, &lock, 0), Err(DoorError::BadSeal));
        // The master code's box as a code's digits.
        let master_as_code = resigned(&bytes, &org, |u| {
            u.put_codes[0].digits = u.master_code.clone().unwrap();
        });
        assert_eq!(
            open_at(&master_as_code, &org, &lock, 0),
            Err(DoorError::BadSeal)
        );
        // The report key's box as the code secret, and the other way round.
        let key_as_secret = resigned(&bytes, &org, |u| u.code_secret = u.report_key.clone());
        assert_eq!(
            open_at(&key_as_secret, &org, &lock, 0),
            Err(DoorError::BadSeal)
        );
        let secret_as_key = resigned(&bytes, &org, |u| u.report_key = u.code_secret.clone());
        assert_eq!(
            open_at(&secret_as_key, &org, &lock, 0),
            Err(DoorError::BadSeal)
        );
        // A whole update's secrets moved into a later update with the same ephemeral key.
        let later = resigned(&bytes, &org, |u| u.version = 2);
        assert_eq!(open_at(&later, &org, &lock, 0), Err(DoorError::BadSeal));
        // Secrets of another update (another ephemeral key) for the same lock and version.
        let other = seal(&whole(&lock, 1), &lock, &org);
        let mixed = resigned(&bytes, &org, |u| {
            u.put_codes[2].digits = unverified(&other).unwrap().put_codes[2].digits.clone();
        });
        assert_eq!(open_at(&mixed, &org, &lock, 0), Err(DoorError::BadSeal));
    }

    fn largest(lock: &Lock) -> PlainUpdate {
        let mut p = PlainUpdate::empty(lock.id, u64::MAX, 0, u64::MAX);
        p.name = Some("N".repeat(crate::command::MAX_NAME_LEN));
        p.mode = Some(LockMode::Maintenance);
        p.master_code = Some("9".repeat(12));
        p.code_secret = Some([0xFF; 32]);
        p.report_key = Some([0xFF; 32]);
        p.put_codes = (0..MAX_PUT_CODES as u64)
            .map(|i| AccessCode {
                code_id: u64::MAX - i,
                digits: format!("{:012}", i),
                kind: AccessCodeKind::OneTime,
                window: Some(Window {
                    starts_at: u64::MAX - 1,
                    ends_at: u64::MAX,
                }),
                class: CodeClass::Resident,
                owner: Some(Uuid::from_u128(u128::MAX)),
            })
            .collect();
        p.add_revocations = (0..MAX_ADD_REVOCATIONS as u64)
            .map(|i| Revocation {
                serial: u64::MAX - i,
                expires_at: u64::MAX,
            })
            .collect();
        p
    }

    #[test]
    fn the_largest_update_fits_a_session_message_under_the_frame_limit() {
        let (org, lock) = (org(), lock());
        // A whole state cannot remove codes; the largest delta removes the most.
        let mut biggest = largest(&lock);
        biggest.base_version = u64::MAX - 1;
        biggest.remove_codes = (0..MAX_REMOVE_CODES as u64)
            .map(|i| u64::MAX - 1_000 - i)
            .collect();
        let bytes = seal(&biggest, &lock, &org);
        assert!(bytes.len() <= MAX_UPDATE_LEN, "{}", bytes.len());
        assert_eq!(
            open_at(&bytes, &org, &lock, u64::MAX - 1),
            Ok(biggest.clone())
        );
        let whole = seal(&largest(&lock), &lock, &org);
        assert!(whole.len() <= bytes.len());
        // As the first message of a session, beside the largest credential a lock reads.
        let credential = [0xAB; MAX_CREDENTIAL_LEN];
        let (request, _) = PhoneSession::start(
            &lock.public,
            &credential,
            &Command::ApplyUpdate(bytes.clone()),
            u64::MAX,
        )
        .unwrap();
        assert!(request.len() <= MAX_MESSAGE, "{}", request.len());
        // One more of anything is refused before sealing, and a bigger body before checking.
        let mut over = largest(&lock);
        over.put_codes.push(code(1, "1234"));
        assert_eq!(
            seal_and_sign(&over, &lock.public, &org, &SystemRandom::new()),
            Err(DoorError::Invalid)
        );
        let mut over = largest(&lock);
        over.add_revocations.push(Revocation {
            serial: 1,
            expires_at: 1,
        });
        assert!(seal_and_sign(&over, &lock.public, &org, &SystemRandom::new()).is_err());
        let signed_over = resigned(&whole, &org, |u| {
            u.remove_codes = alloc::vec![0; MAX_REMOVE_CODES + 1];
        });
        assert_eq!(
            open_at(&signed_over, &org, &lock, 0),
            Err(DoorError::Malformed)
        );
        let mut long = bytes.clone();
        long.resize(MAX_UPDATE_LEN + 1, 0);
        assert_eq!(open_at(&long, &org, &lock, 0), Err(DoorError::Malformed));
        println!(
            "largest door update: {} bytes; in a session opening: {} bytes",
            bytes.len(),
            request.len()
        );
    }

    #[test]
    fn invalid_content_is_refused_on_both_sides() {
        let (org, lock) = (org(), lock());
        let rng = SystemRandom::new();
        let mut incomplete = whole(&lock, 1);
        incomplete.master_code = None;
        let mut dup = whole(&lock, 1);
        dup.put_codes.push(code(1, "5555"));
        let mut bad_digits = whole(&lock, 1);
        bad_digits.put_codes[0].digits = "12a4".into();
        let mut no_window = whole(&lock, 1);
        no_window.put_codes[0].window = None;
        let mut removes_in_whole = whole(&lock, 1);
        removes_in_whole.remove_codes.push(1);
        let mut backwards = PlainUpdate::empty(lock.id, 3, 3, NOW);
        backwards.mode = Some(LockMode::Tour);
        let mut blank = whole(&lock, 1);
        blank.name = Some("  ".into());
        for p in [
            incomplete,
            dup,
            bad_digits,
            no_window,
            removes_in_whole,
            backwards,
            blank,
        ] {
            assert_eq!(
                seal_and_sign(&p, &lock.public, &org, &rng),
                Err(DoorError::Invalid),
                "{p:?}"
            );
        }
        // Digits that only turn out wrong once opened: the organization sealed them.
        let mut p = whole(&lock, 1);
        p.put_codes[0].digits = "1234".into();
        let bytes = seal(&p, &lock, &org);
        let update = unverified(&bytes).unwrap();
        let shared = crypto::dh(&StaticSecret::from(lock.secret), &update.ephemeral).unwrap();
        let sealer = Sealer::new(&shared, lock.id, 1);
        let letters = resigned(&bytes, &org, |u| {
            u.put_codes[0].digits = sealer.seal(code_nonce(0), Item::Code(1), b"12a4");
        });
        assert_eq!(open_at(&letters, &org, &lock, 0), Err(DoorError::Invalid));
        assert_eq!(
            seal_and_sign(&whole(&lock, 1), &[0; 32], &org, &rng),
            Err(DoorError::BadPublicKey)
        );
    }

    #[test]
    fn a_receipt_holds_under_the_report_key_only_and_zeros_never_pass() {
        let (key, lock) = ([3u8; 32], Uuid::new_v4());
        let r = receipt(&key, lock, 5, 60, NOW, "vlock-1");
        assert!(receipt_matches(&key, lock, 5, 60, NOW, "vlock-1", &r));
        assert!(!receipt_matches(&[4; 32], lock, 5, 60, NOW, "vlock-1", &r));
        assert!(!receipt_matches(
            &key,
            Uuid::new_v4(),
            5,
            60,
            NOW,
            "vlock-1",
            &r
        ));
        assert!(!receipt_matches(&key, lock, 5, 61, NOW, "vlock-1", &r));
        assert!(!receipt_matches(
            &key, lock, 5, 60, NOW, "vlock-1", &[0; 32]
        ));
        // A report key is no page MAC key for the same bytes: the labels differ.
        let page = crate::report::page_mac(&key, lock, b"");
        assert_ne!(page, r);
    }

    #[test]
    fn the_clock_only_moves_forward_beyond_the_skew() {
        assert_eq!(clock_after(NOW, NOW - 86_400), None);
        assert_eq!(clock_after(NOW, NOW), None);
        assert_eq!(clock_after(NOW, NOW + CLOCK_SKEW_SECS), None);
        assert_eq!(
            clock_after(NOW, NOW + 365 * 86_400),
            Some(NOW + 365 * 86_400)
        );
        assert_eq!(clock_after(u64::MAX, u64::MAX), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn open_survives_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2_000)) {
            prop_assert!(open(&bytes, &[7; 32], Uuid::nil(), &[7; 32], 0).is_err());
            let _ = unverified(&bytes);
        }

        #[test]
        fn open_survives_mutated_genuine_updates(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
        ) {
            let (org, lock) = (org(), lock());
            let bytes = seal(&whole(&lock, 1), &lock, &org);
            let mut body = bytes[..bytes.len() - SIGNATURE_LEN].to_vec();
            for (at, value) in edits {
                let n = body.len();
                body[at % n] = value;
            }
            // Signed again, so the decoder and the seals behind the signature run too.
            let signature = crypto::sign(&org, SIGNATURE_CONTEXT, &body);
            body.extend_from_slice(&signature);
            let _ = open_at(&body, &org, &lock, 0);
        }
    }
}
