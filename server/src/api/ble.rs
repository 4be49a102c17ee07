//! What phones need to talk to locks over BLE: registration of a lock paired on site, the
//! lock's identity key, signed credentials and the revocation list. No answer here holds a
//! lock's secrets: they reach the lock sealed in its door updates (`api::door`).

use access_domain::api::{
    CredentialResponse, ErrorBody, Lock, LockCreate, LockIdentity, LockRegistration, RevocationList,
};
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Auth, Id, Json};
use crate::AppState;
use crate::error::ApiResult;
use crate::service::credentials;
use crate::service::locks::{create_lock, lock_json, pair};

/// Register a lock under a unit (team members allowed to pair there).
/// The answer carries the organization's public key, which the pairing phone installs in
/// the lock; the master code and the code secret follow in the lock's first door update.
#[utoipa::path(post, path = "/api/v1/locks", tag = "locks", security(("bearer" = [])),
    request_body = LockCreate,
    responses((status = 201, body = LockRegistration),
        (status = 403, description = "`missing_permission`, `out_of_scope` or `forbidden`: not allowed to pair in the unit", body = ErrorBody),
        (status = 404, description = "`not_found`: no such unit", body = ErrorBody),
        (status = 422, description = "`validation_failed`: an empty or too long name, a malformed identity key or firmware", body = ErrorBody)))]
pub async fn register_lock(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Json(req): Json<LockCreate>,
) -> ApiResult<(StatusCode, axum::Json<LockRegistration>)> {
    let lock = lock_json(create_lock(&state, &user, req).await?);
    let org = user.org_id;
    let key = state.db.run(move |s| s.organization_key(org)).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(LockRegistration {
            lock,
            org_public_key: STANDARD.encode(key.public_key),
        }),
    ))
}

/// Store the lock's identity key, learned at the end of pairing. Once only: a lock that
/// has one is paired (409). A `name` renames the lock in the same step: a pairing retried
/// after a wrong code reuses the first attempt's registration, and the lock is named by the
/// attempt that succeeded (needing the right to pair, as naming at registration does).
#[utoipa::path(put, path = "/api/v1/locks/{id}/identity", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = LockIdentity,
    responses((status = 200, body = Lock),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not pair in this lock's unit", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody),
        (status = 409, description = "`conflict`: the lock is paired already", body = ErrorBody),
        (status = 422, description = "`validation_failed`: a malformed identity key, firmware or name", body = ErrorBody)))]
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
    responses((status = 200, body = CredentialResponse),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not open this lock", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody),
        (status = 409, description = "`conflict`: the lock is not paired yet", body = ErrorBody)))]
pub async fn credentials(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<CredentialResponse>> {
    Ok(axum::Json(credentials::issue(&state, &user, id).await?))
}

/// The unexpired credentials of this lock that must be refused: their holder was revoked,
/// left the lock's scope, or lost a permission they carry. The lock's door update carries
/// the same list (`add_revocations`): the lock takes it from nowhere else.
#[utoipa::path(get, path = "/api/v1/locks/{id}/revocations", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = RevocationList),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not open this lock", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody)))]
pub async fn revocations(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<RevocationList>> {
    Ok(axum::Json(
        credentials::revocation_list(&state, &user, id).await?,
    ))
}
