//! BLE credentials: claims about one user on one lock, signed with Ed25519 by the
//! organization key the server holds, checked offline by the lock with the organization
//! public key it received at pairing.
//!
//! ```
//! use lock_protocol::credential::{self, Claims, Rights, UserClass};
//! use ring::signature::{Ed25519KeyPair, KeyPair};
//! let rng = ring::rand::SystemRandom::new();
//! let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
//! let org = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
//! let lock_id = uuid::Uuid::new_v4();
//! let claims = Claims {
//!     serial: 1,
//!     user_id: uuid::Uuid::new_v4(),
//!     lock_id,
//!     class: UserClass::Resident,
//!     rights: Rights::UNLOCK | Rights::LOCK,
//!     not_before: 1_000,
//!     not_after: 1_000 + credential::DEFAULT_LIFETIME_SECS,
//! };
//! let bytes = credential::issue(&org, &claims).to_bytes();
//! let public = org.public_key().as_ref();
//! assert_eq!(credential::verify(public, &bytes, lock_id, 2_000), Ok(claims));
//! assert!(credential::verify(public, &bytes, uuid::Uuid::new_v4(), 2_000).is_err());
//! ```

use alloc::vec::Vec;
use core::ops::{BitAnd, BitOr};

use access_domain::{Action, Actor, CodeClass, Denied, Permission, UserType, authorize};
use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::{crypto, wire};

/// The credential lifetime the server uses unless configured otherwise: 24 hours.
pub const DEFAULT_LIFETIME_SECS: u64 = 24 * 60 * 60;
/// Layout version of [`Claims`], first byte of the signed bytes.
pub const CREDENTIAL_VERSION: u8 = 1;
/// The largest encoded credential a lock looks at.
pub const MAX_CREDENTIAL_LEN: usize = 512;
/// Tolerated difference between the server's clock and the lock's, applied to both ends of
/// the validity window.
pub const CLOCK_SKEW_SECS: u64 = 5 * 60;

/// Domain separation for the signature: these bytes can never be mistaken for anything else
/// the organization key signs.
pub const SIGNATURE_CONTEXT: &[u8] = b"lock-protocol credential v1\0";

/// Which side of the mode table a credential holder is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UserClass {
    Staff,
    Resident,
}

impl UserClass {
    /// The class of a user type.
    pub fn of(user_type: UserType) -> UserClass {
        match user_type {
            UserType::TeamMember => UserClass::Staff,
            UserType::Resident => UserClass::Resident,
        }
    }

    /// The row of the mode table ([`access_domain::LockMode::admits`]) this class uses.
    pub fn code_class(self) -> CodeClass {
        match self {
            UserClass::Staff => CodeClass::Staff,
            UserClass::Resident => CodeClass::Resident,
        }
    }
}

/// What a credential lets its holder do on the lock, as a bitmask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Rights(pub u32);

impl Rights {
    pub const NONE: Rights = Rights(0);
    /// Open the door (the lock's mode table still applies).
    pub const UNLOCK: Rights = Rights(1 << 0);
    pub const LOCK: Rights = Rights(1 << 1);
    /// Battery, firmware, clock, mode, name.
    pub const READ_STATUS: Rights = Rights(1 << 2);
    pub const SET_MODE: Rights = Rights(1 << 3);
    pub const RENAME: Rights = Rights(1 << 4);
    /// Held by `reset_codes` holders; no command needs it (a reset reaches the lock as the
    /// platform's door update), and the bit keeps its place in issued credentials.
    pub const RESET_CODES: Rights = Rights(1 << 5);
    /// Add and remove access codes.
    pub const MANAGE_CODES: Rights = Rights(1 << 6);
    pub const READ_LOG: Rights = Rights(1 << 7);
    pub const VIEW_MASTER: Rights = Rights(1 << 8);
    // Bits 9 and 10 are reserved: no command needs them (the lock's clock and revocation
    // list come only in door updates), credentials issued earlier may carry them, and no
    // new right takes them.
    /// Wipe the lock back to unpaired.
    pub const FACTORY_RESET: Rights = Rights(1 << 11);

    /// Whether every right of `other` is in `self`.
    pub fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Rights {
    type Output = Rights;
    fn bitor(self, rhs: Rights) -> Rights {
        Rights(self.0 | rhs.0)
    }
}

impl BitAnd for Rights {
    type Output = Rights;
    fn bitand(self, rhs: Rights) -> Rights {
        Rights(self.0 & rhs.0)
    }
}

/// The rights a user of `user_type` with `permissions` gets on a lock in their scope.
///
/// Everyone may unlock, lock and read the status (which also lets them carry door updates).
/// Each of the six lock permissions adds its own rights for team members (managing access
/// adds none); residents get no
/// permission-derived rights, whatever `permissions` holds.
///
/// ```
/// use access_domain::{Permission, UserType};
/// use lock_protocol::credential::{rights_for, Rights};
/// let agent = rights_for(UserType::TeamMember, &[Permission::ChangeModes]);
/// assert!(agent.contains(Rights::SET_MODE | Rights::UNLOCK | Rights::READ_STATUS));
/// assert!(!agent.contains(Rights::RENAME));
/// let resident = rights_for(UserType::Resident, &Permission::ALL);
/// assert!(!resident.contains(Rights::SET_MODE));
/// ```
pub fn rights_for(user_type: UserType, permissions: &[Permission]) -> Rights {
    let base = Rights::UNLOCK | Rights::LOCK | Rights::READ_STATUS;
    match user_type {
        UserType::Resident => base,
        UserType::TeamMember => permissions.iter().fold(base, |r, p| {
            r | match p {
                Permission::GiveAccess => Rights::MANAGE_CODES,
                Permission::ResetCodes => Rights::RESET_CODES | Rights::FACTORY_RESET,
                Permission::ViewLogs => Rights::READ_LOG,
                Permission::RenameLocks => Rights::RENAME,
                Permission::ChangeModes => Rights::SET_MODE,
                Permission::ViewMasterCode => Rights::VIEW_MASTER,
                // Managing users is a platform right: nothing to do at the door.
                Permission::ManageAccess => Rights::NONE,
            }
        }),
    }
}

/// The rights `actor` gets on a lock of `unit_id` at `now`, after the domain gate (status,
/// scope and access period); the server calls this before it signs a credential.
///
/// ```
/// use access_domain::{Access, Actor, UserStatus, UserType};
/// use lock_protocol::credential::{rights_for_lock, Rights};
/// let unit = uuid::Uuid::new_v4();
/// let access = Access::Units { unit_ids: vec![unit] };
/// let resident = Actor { user_type: UserType::Resident, status: UserStatus::Active,
///                        permissions: &[], access: &access,
///                        period: &access_domain::AccessPeriod::ALWAYS };
/// let now = time::OffsetDateTime::now_utc();
/// assert!(rights_for_lock(&resident, unit, now).unwrap().contains(Rights::UNLOCK));
/// assert!(rights_for_lock(&resident, uuid::Uuid::new_v4(), now).is_err());
/// ```
pub fn rights_for_lock(
    actor: &Actor<'_>,
    unit_id: Uuid,
    now: time::OffsetDateTime,
) -> Result<Rights, Denied> {
    authorize(actor, Action::Unlock, unit_id, now)?;
    Ok(rights_for(actor.user_type, actor.permissions))
}

/// What the organization states about one user on one lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Unique per issued credential; the revocation list names serials.
    pub serial: u64,
    pub user_id: Uuid,
    pub lock_id: Uuid,
    pub class: UserClass,
    pub rights: Rights,
    /// Unix seconds.
    pub not_before: u64,
    /// Unix seconds.
    pub not_after: u64,
}

/// Claims plus the organization's signature over their exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCredential {
    /// [`CREDENTIAL_VERSION`] then the postcard encoding of [`Claims`].
    pub claims: Vec<u8>,
    /// Ed25519 over [`SIGNATURE_CONTEXT`] and `claims`.
    pub signature: Vec<u8>,
}

impl SignedCredential {
    /// The bytes a phone stores and sends to the lock.
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::encode_body(self)
    }

    /// Parses bytes from [`SignedCredential::to_bytes`] without checking the signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedCredential, CredentialError> {
        if bytes.len() > MAX_CREDENTIAL_LEN {
            return Err(CredentialError::Malformed);
        }
        wire::decode_body(bytes).map_err(|_| CredentialError::Malformed)
    }

    /// The claims, unverified: for the phone's own bookkeeping (expiry, serial), never for
    /// a decision the lock makes.
    pub fn unverified_claims(&self) -> Result<Claims, CredentialError> {
        decode_claims(&self.claims)
    }
}

/// Why a credential was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CredentialError {
    #[error("credential is malformed")]
    Malformed,
    #[error("unsupported credential version {0}")]
    UnsupportedVersion(u8),
    #[error("credential signature does not verify with the organization key")]
    BadSignature,
    #[error("credential is for another lock")]
    WrongLock,
    #[error("credential is not valid yet")]
    NotYetValid,
    #[error("credential has expired")]
    Expired,
}

/// Signs `claims` with the organization key.
pub fn issue(org_keypair: &Ed25519KeyPair, claims: &Claims) -> SignedCredential {
    let mut body = alloc::vec![CREDENTIAL_VERSION];
    body.extend_from_slice(&wire::encode_body(claims));
    let signature = crypto::sign(org_keypair, SIGNATURE_CONTEXT, &body).to_vec();
    SignedCredential {
        claims: body,
        signature,
    }
}

fn decode_claims(body: &[u8]) -> Result<Claims, CredentialError> {
    match body.split_first() {
        Some((&CREDENTIAL_VERSION, rest)) => {
            wire::decode_body(rest).map_err(|_| CredentialError::Malformed)
        }
        Some((&v, _)) => Err(CredentialError::UnsupportedVersion(v)),
        None => Err(CredentialError::Malformed),
    }
}

/// Checks a credential as a lock does: signature by the organization, this lock, and the
/// validity window at `now` (unix seconds, with [`CLOCK_SKEW_SECS`] of tolerance).
/// Revocation is the lock's own list, checked by the caller against [`Claims::serial`].
pub fn verify(
    org_public_key: &[u8],
    bytes: &[u8],
    lock_id: Uuid,
    now: u64,
) -> Result<Claims, CredentialError> {
    let claims = verify_ignoring_window(org_public_key, bytes, lock_id)?;
    check_window(&claims, now)?;
    Ok(claims)
}

/// [`verify`] without the validity window: for the one command whose authority is not the
/// credential ([`crate::command::Command::needs_current_credential`]), so that a lock
/// whose clock is wrong can still take the signed update that sets it right.
pub fn verify_ignoring_window(
    org_public_key: &[u8],
    bytes: &[u8],
    lock_id: Uuid,
) -> Result<Claims, CredentialError> {
    let signed = SignedCredential::from_bytes(bytes)?;
    if !crypto::verify(
        org_public_key,
        SIGNATURE_CONTEXT,
        &signed.claims,
        &signed.signature,
    ) {
        return Err(CredentialError::BadSignature);
    }
    let claims = decode_claims(&signed.claims)?;
    if claims.lock_id != lock_id {
        return Err(CredentialError::WrongLock);
    }
    Ok(claims)
}

/// Whether the lock's clock `now` is inside the validity window of `claims`, with
/// [`CLOCK_SKEW_SECS`] of tolerance at both ends.
pub fn check_window(claims: &Claims, now: u64) -> Result<(), CredentialError> {
    if now.saturating_add(CLOCK_SKEW_SECS) < claims.not_before {
        return Err(CredentialError::NotYetValid);
    }
    if now > claims.not_after.saturating_add(CLOCK_SKEW_SECS) {
        return Err(CredentialError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ring::signature::KeyPair;

    fn org() -> Ed25519KeyPair {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
    }

    fn claims(lock_id: Uuid) -> Claims {
        Claims {
            serial: 42,
            user_id: Uuid::new_v4(),
            lock_id,
            class: UserClass::Staff,
            rights: rights_for(UserType::TeamMember, &Permission::ALL),
            not_before: 10_000,
            not_after: 10_000 + DEFAULT_LIFETIME_SECS,
        }
    }

    #[test]
    fn window_lock_and_signature_are_enforced() {
        let org = org();
        let lock = Uuid::new_v4();
        let c = claims(lock);
        let bytes = issue(&org, &c).to_bytes();
        let key = org.public_key().as_ref();
        assert_eq!(verify(key, &bytes, lock, 10_000), Ok(c));
        assert_eq!(
            verify(key, &bytes, lock, 10_000 - CLOCK_SKEW_SECS - 1),
            Err(CredentialError::NotYetValid)
        );
        assert_eq!(
            verify(key, &bytes, lock, c.not_after + CLOCK_SKEW_SECS + 1),
            Err(CredentialError::Expired)
        );
        assert_eq!(
            verify(key, &bytes, Uuid::new_v4(), 10_000),
            Err(CredentialError::WrongLock)
        );
        let other = super::tests::org();
        assert_eq!(
            verify(other.public_key().as_ref(), &bytes, lock, 10_000),
            Err(CredentialError::BadSignature)
        );
    }

    #[test]
    fn any_flipped_bit_breaks_the_credential() {
        let org = org();
        let lock = Uuid::new_v4();
        let bytes = issue(&org, &claims(lock)).to_bytes();
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert!(
                verify(org.public_key().as_ref(), &t, lock, 10_000).is_err(),
                "{i}"
            );
        }
    }

    #[test]
    fn each_permission_maps_to_its_own_rights() {
        let none = rights_for(UserType::TeamMember, &[]);
        for (p, r) in [
            (Permission::GiveAccess, Rights::MANAGE_CODES),
            (Permission::ResetCodes, Rights::RESET_CODES),
            (Permission::ViewLogs, Rights::READ_LOG),
            (Permission::RenameLocks, Rights::RENAME),
            (Permission::ChangeModes, Rights::SET_MODE),
            (Permission::ViewMasterCode, Rights::VIEW_MASTER),
        ] {
            assert!(!none.contains(r), "{p:?}");
            assert!(rights_for(UserType::TeamMember, &[p]).contains(r), "{p:?}");
            assert!(!rights_for(UserType::Resident, &[p]).contains(r), "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn verify_survives_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let key = [7u8; 32];
            prop_assert!(verify(&key, &bytes, Uuid::nil(), 0).is_err());
            let _ = SignedCredential::from_bytes(&bytes).and_then(|c| c.unverified_claims());
        }
    }
}
