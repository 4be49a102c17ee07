//! The organization's signing key and the per-lock secrets derived from it: the code secret
//! and the report key.

use ring::signature::Ed25519KeyPair;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::audit::audit;
use crate::service::locks::lock_missing;
use crate::store::UserRecord;

/// The organization's Ed25519 key pair and its public key.
pub async fn org_keypair(state: &AppState, org: Uuid) -> ApiResult<(Ed25519KeyPair, Vec<u8>)> {
    let key = state.db.run(move |s| s.organization_key(org)).await?;
    let pair = Ed25519KeyPair::from_pkcs8(&key.signing_key_pkcs8).map_err(|_| {
        tracing::error!(%org, "the organization signing key does not parse");
        ApiError::internal()
    })?;
    Ok((pair, key.public_key))
}

/// The per-lock secret for offline-verifiable codes: derived from the organization's
/// signing key, the lock and its current master code, so a code reset (new master code)
/// rotates it and nothing more has to be stored.
///
/// ```
/// use access_server::service::keys::code_secret;
/// let a = code_secret(b"org key", uuid::Uuid::nil(), "12345678");
/// let b = code_secret(b"org key", uuid::Uuid::nil(), "87654321");
/// assert_ne!(a, b);
/// ```
pub fn code_secret(org_signing_pkcs8: &[u8], lock_id: Uuid, master_code: &str) -> [u8; 32] {
    let root = ring::digest::digest(
        &ring::digest::SHA256,
        &[
            b"access-server code secret v1\0".as_slice(),
            org_signing_pkcs8,
        ]
        .concat(),
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, root.as_ref());
    let tag = ring::hmac::sign(&key, &[lock_id.as_bytes(), master_code.as_bytes()].concat());
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The per-lock report key: what the lock MACs its log pages and receipts with
/// (`lock_protocol::report`), sealed into every whole door update. Derived from the
/// organization's signing key and the lock alone, so it stays the same across code resets
/// and nothing more has to be stored.
///
/// ```
/// use access_server::service::keys::report_key;
/// let a = report_key(b"org key", uuid::Uuid::nil());
/// assert_eq!(a, report_key(b"org key", uuid::Uuid::nil()));
/// assert_ne!(a, report_key(b"org key", uuid::Uuid::from_u128(1)));
/// ```
pub fn report_key(org_signing_pkcs8: &[u8], lock_id: Uuid) -> [u8; 32] {
    let root = ring::digest::digest(
        &ring::digest::SHA256,
        &[
            b"access-server report key v1\0".as_slice(),
            org_signing_pkcs8,
        ]
        .concat(),
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, root.as_ref());
    let tag = ring::hmac::sign(&key, lock_id.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// What a lock holds to check codes by itself.
pub struct LockSecret {
    pub master_code: String,
    pub code_secret: [u8; 32],
    /// The organization's public key.
    pub org_public_key: Vec<u8>,
}

/// The master code of a lock and the code secret derived from it. The read of the master
/// code is audited as `action` with `detail`.
pub async fn lock_secret(
    state: &AppState,
    user: &UserRecord,
    lock_id: Uuid,
    action: &str,
    detail: Option<String>,
) -> ApiResult<LockSecret> {
    let org = user.org_id;
    let a = audit(user, action, detail);
    let master_code = state
        .db
        .run(move |s| s.master_code(org, lock_id, &a))
        .await
        .map_err(lock_missing)?;
    let key = state.db.run(move |s| s.organization_key(org)).await?;
    Ok(LockSecret {
        code_secret: code_secret(&key.signing_key_pkcs8, lock_id, &master_code),
        master_code,
        org_public_key: key.public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_secrets_depend_on_key_lock_and_master_code() {
        let lock = Uuid::new_v4();
        let a = code_secret(b"k1", lock, "11112222");
        assert_eq!(a, code_secret(b"k1", lock, "11112222"));
        assert_ne!(a, code_secret(b"k2", lock, "11112222"));
        assert_ne!(a, code_secret(b"k1", Uuid::new_v4(), "11112222"));
        assert_ne!(a, code_secret(b"k1", lock, "11112223"));
    }

    #[test]
    fn report_keys_depend_on_key_and_lock_only() {
        let lock = Uuid::new_v4();
        let a = report_key(b"k1", lock);
        assert_eq!(a, report_key(b"k1", lock));
        assert_ne!(a, report_key(b"k2", lock));
        assert_ne!(a, report_key(b"k1", Uuid::new_v4()));
        // Not the code secret of any master code.
        assert_ne!(a, code_secret(b"k1", lock, ""));
        // Pinned: the web tests (tests/web/lib/lock-log.mjs) derive it the same way.
        let pinned = report_key(
            b"org key",
            Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
        );
        let hex: String = pinned.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "54cabe7fd3c725d337c1d6510502510b0952c45a0e8d1155c0647664d1a392cf"
        );
    }
}
