//! The door: how far a lock is in step with the platform, and what a phone saw of it.

use access_domain::api::{DoorState, DoorUpdateResponse, ErrorBody, LockContactReport};
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Auth, Id, Json};
use crate::AppState;
use crate::error::ApiResult;
use crate::service::door;

/// How far the lock is in step: the version it confirmed, codes waiting, battery, the last
/// contact (anyone who sees the lock).
#[utoipa::path(get, path = "/api/v1/locks/{id}/door", tag = "locks", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DoorState), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn door_state(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<DoorState>> {
    Ok(axum::Json(door::door_state(&state, &user, id).await?))
}

/// What a phone read of the lock at a contact, with the lock's receipt: the door version it
/// holds (its codes then count as installed), battery, clock and firmware (anyone who may
/// open the lock). A report without the lock's receipt is refused (422).
#[utoipa::path(post, path = "/api/v1/locks/{id}/contact", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = LockContactReport,
    responses((status = 200, body = DoorState), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "not paired, or a door version this server never issued", body = ErrorBody),
              (status = 422, description = "the receipt is not the lock's", body = ErrorBody)))]
pub async fn contact(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
    Json(report): Json<LockContactReport>,
) -> ApiResult<axum::Json<DoorState>> {
    door::contact(&state, &user, id, report).await?;
    Ok(axum::Json(door::door_state(&state, &user, id).await?))
}

/// The updates that bring the lock to what the platform wants: signed by the organization,
/// their secrets sealed to the lock, so any phone of someone who may open the lock carries
/// them and none can read or alter them. Only the difference from the version the lock
/// confirmed, in as many updates as it takes; the same ones while nothing changes.
#[utoipa::path(get, path = "/api/v1/locks/{id}/door-update", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = DoorUpdateResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "not paired, or the lock's updates changed while these were built (try again)", body = ErrorBody)))]
pub async fn door_update(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<DoorUpdateResponse>> {
    let chain = door::issue(&state, &user, id).await?;
    let log_seq = state.db.read(move |s| s.lock_log_seq(id)).await?;
    Ok(axum::Json(DoorUpdateResponse {
        lock_id: id,
        version: chain.last().map_or(0, |u| u.version),
        updates: chain.iter().map(|u| STANDARD.encode(&u.body)).collect(),
        log_seq,
    }))
}
