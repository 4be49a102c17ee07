//! What phones need to talk to locks over BLE: registration of a lock paired on site (with
//! what to install in it), the lock's identity key, signed credentials, the revocation list
//! and the material of a code reset over BLE.
//!
//! Credentials are `lock-protocol` claims signed with the organization's Ed25519 key. Each
//! one is recorded with its serial, so the revocation list can name the unexpired
//! credentials of users who were revoked, left the lock's scope, or lost rights since.

use std::collections::HashMap;

use access_domain::api::{
    CodeInstall, CredentialResponse, ErrorBody, Lock, LockCreate, LockIdentity, LockRegistration,
    RevocationList, RevokedCredential,
};
use access_domain::{Action, Member, UserStatus};
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::credential::{self, Claims, Rights, UserClass, rights_for, rights_for_lock};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Auth, Id, Json};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::codes::revocation_entries;
use crate::service::gate::gate;
use crate::service::keys::{lock_secret, org_keypair};
use crate::service::locks::{create_lock, gated, lock_json, pair};
use crate::store::{StoreError, UserRecord};

/// Register a lock under a unit (administrators, or team members allowed to pair there).
/// The answer carries what the pairing phone installs in the lock.
#[utoipa::path(post, path = "/api/v1/locks", tag = "locks", security(("bearer" = [])),
    request_body = LockCreate,
    responses((status = 201, body = LockRegistration), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn register_lock(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Json(req): Json<LockCreate>,
) -> ApiResult<(StatusCode, axum::Json<LockRegistration>)> {
    let lock = lock_json(create_lock(&state, &user, req).await?);
    let secret = lock_secret(&state, &user, lock.id, "pairing_install", None).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(LockRegistration {
            lock,
            org_public_key: STANDARD.encode(secret.org_public_key),
            master_code: secret.master_code,
            code_secret: STANDARD.encode(secret.code_secret),
        }),
    ))
}

/// Store the lock's identity key, learned at the end of pairing. Once only: a lock that
/// has one is paired (409). A `name` renames the lock in the same step: a pairing retried
/// after a wrong code reuses the first attempt's registration, and the lock is named by the
/// attempt that succeeded (needing the right to pair, as naming at registration does).
#[utoipa::path(put, path = "/api/v1/locks/{id}/identity", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = LockIdentity,
    responses((status = 200, body = Lock), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn set_identity(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
    Json(req): Json<LockIdentity>,
) -> ApiResult<axum::Json<Lock>> {
    let l = pair(&state, &user, id, req).await?;
    Ok(axum::Json(lock_json(l)))
}

/// A signed BLE credential for the caller on this lock (anyone who may open it). Rights
/// follow the caller's user type and permissions; the lifetime is the server's
/// `credential_lifetime` (24 h by default).
#[utoipa::path(post, path = "/api/v1/locks/{id}/credentials", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CredentialResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn credentials(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<CredentialResponse>> {
    let lock = gated(&state, &user, id, Action::Unlock).await?;
    let Some(lock_public_key) = lock.identity_public_key.clone() else {
        return Err(ApiError::conflict(
            "This lock is not paired yet: pair it on site first.",
        ));
    };
    let rights = rights_for_lock(&user.actor(), lock.unit_id).map_err(ApiError::from)?;
    let (keypair, _) = org_keypair(&state, user.org_id).await?;
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::now_utc());
    let lifetime = time::Duration::try_from(state.config.credential_lifetime)
        .map_err(|_| ApiError::internal())?;
    let expires_at = now + lifetime;
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
    Ok(axum::Json(CredentialResponse {
        credential: STANDARD.encode(signed.to_bytes()),
        expires_at,
        lock_public_key: Some(lock_public_key),
    }))
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

/// The unexpired credentials of this lock that must be refused: their holder was revoked,
/// left the lock's scope, or lost a permission they carry. Staff phones push it to the lock.
#[utoipa::path(get, path = "/api/v1/locks/{id}/revocations", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = RevocationList), (status = 403, body = ErrorBody)))]
pub async fn revocations(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<RevocationList>> {
    let lock = gated(&state, &user, id, Action::Unlock).await?;
    let org = user.org_id;
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
    out.extend(revocation_entries(&state, org, id).await?);
    Ok(axum::Json(RevocationList {
        lock_id: id,
        revoked: out,
    }))
}

/// The master code and code secret to install with a code reset over BLE (`reset_codes`);
/// call it after `POST /api/v1/locks/{id}/reset-codes`. Each read is audited.
#[utoipa::path(get, path = "/api/v1/locks/{id}/code-install", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CodeInstall), (status = 403, body = ErrorBody)))]
pub async fn code_install(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<CodeInstall>> {
    gated(&state, &user, id, Action::ResetCodes).await?;
    let secret = lock_secret(&state, &user, id, "code_install", None).await?;
    Ok(axum::Json(CodeInstall {
        master_code: secret.master_code,
        code_secret: STANDARD.encode(secret.code_secret),
    }))
}
