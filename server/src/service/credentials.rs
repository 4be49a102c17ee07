//! Signed BLE credentials and the revocation list of a lock.
//!
//! Credentials are `lock-protocol` claims signed with the organization's Ed25519 key. Each
//! one is recorded with its serial, so the revocation list can name the unexpired
//! credentials of users who were revoked, left the lock's scope, or lost rights since.

use std::collections::HashMap;

use access_domain::api::{CredentialResponse, RevocationList, RevokedCredential};
use access_domain::{Action, Member, UserStatus};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::credential::{self, Claims, Rights, UserClass, rights_for, rights_for_lock};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::codes::revocation_entries;
use crate::service::gate::gate;
use crate::service::keys::org_keypair;
use crate::service::locks::gated;
use crate::store::{LockRecord, StoreError, UserRecord};

/// A signed credential for `user` on the lock `id`, if they may open it; rights follow
/// their user type and permissions, the lifetime is the server's `credential_lifetime`,
/// cut at the next change of their access period (its end, or the end of the current weekly
/// hours), so an offline phone cannot open after the access ends. Outside the period the
/// gate refuses, so none is issued before the start, after the end or outside the hours.
pub async fn issue(state: &AppState, user: &UserRecord, id: Uuid) -> ApiResult<CredentialResponse> {
    let lock = gated(state, user, id, Action::Unlock).await?;
    let Some(lock_public_key) = lock.identity_public_key.clone() else {
        return Err(ApiError::conflict(
            "This lock is not paired yet: pair it on site first.",
        ));
    };
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::now_utc());
    let rights = rights_for_lock(&user.actor(), lock.unit_id, now).map_err(ApiError::from)?;
    let (keypair, _) = org_keypair(state, user.org_id).await?;
    let lifetime = time::Duration::try_from(state.config.credential_lifetime)
        .map_err(|_| ApiError::internal())?;
    let expires_at = credential_expiry(&user.period, now, lifetime);
    let (org, uid) = (user.org_id, user.id);
    let serial = state
        .db
        .run(move |s| s.record_credential(org, uid, id, rights.0, now, expires_at))
        .await?;
    let claims = Claims {
        serial,
        user_id: user.id,
        lock_id: id,
        class: UserClass::of(user.user_type),
        rights,
        not_before: now.unix_timestamp().max(0) as u64,
        not_after: expires_at.unix_timestamp().max(0) as u64,
    };
    let signed = credential::issue(&keypair, &claims);
    Ok(CredentialResponse {
        credential: STANDARD.encode(signed.to_bytes()),
        expires_at,
        lock_public_key: Some(lock_public_key),
    })
}

/// Whether a credential given to `user` must no longer open the lock of `unit_id`.
fn revoked(user: Option<&UserRecord>, unit_id: Uuid, rights: Rights) -> bool {
    let Some(user) = user else { return true };
    if user.status != UserStatus::Active || gate(user, Action::Unlock, unit_id).is_err() {
        return true;
    }
    // Rights taken away since: the old credential carries more than the user has now.
    !rights_for(user.user_type, &user.permissions).contains(rights)
}

/// The unexpired credentials of the lock `id` that must be refused (their holder was
/// revoked, left the lock's scope, or lost a permission they carry) and its revoked offline
/// codes.
pub async fn revocation_list(
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
) -> ApiResult<RevocationList> {
    let lock = gated(state, user, id, Action::Unlock).await?;
    Ok(RevocationList {
        lock_id: id,
        revoked: revocations(state, &lock).await?,
    })
}

/// What [`revocation_list`] lists, for a lock already loaded (no gate: the caller's).
pub async fn revocations(state: &AppState, lock: &LockRecord) -> ApiResult<Vec<RevokedCredential>> {
    let (org, id) = (lock.org_id, lock.id);
    let now = OffsetDateTime::now_utc();
    let creds = state
        .db
        .run(move |s| s.lock_credentials(org, id, now))
        .await?;
    let mut users: HashMap<Uuid, Option<UserRecord>> = HashMap::new();
    let mut out = Vec::new();
    for c in creds {
        if !users.contains_key(&c.user_id) {
            let uid = c.user_id;
            let record = match state.db.run(move |s| s.user(org, uid)).await {
                Ok(u) => Some(u),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            };
            users.insert(uid, record);
        }
        let holder = users.get(&c.user_id).and_then(Option::as_ref);
        if revoked(holder, lock.unit_id, Rights(c.rights)) {
            out.push(RevokedCredential {
                serial: c.serial,
                expires_at: c.not_after.unix_timestamp().max(0) as u64,
            });
        }
    }
    // Revoked offline codes ride in the same list.
    out.extend(revocation_entries(state, org, id).await?);
    Ok(out)
}

/// When a credential issued at `now` expires: after `lifetime`, or at the next change of the
/// access `period` when that comes first (never past the end of the access).
pub fn credential_expiry(
    period: &access_domain::AccessPeriod,
    now: OffsetDateTime,
    lifetime: time::Duration,
) -> OffsetDateTime {
    let full = now + lifetime;
    period
        .next_change(now)
        .map_or(full, |change| change.min(full))
}
