//! Offline-verifiable codes over HTTP: `POST /api/v1/locks/{id}/access-codes` with
//! `"delivery": "offline"` returns a 14-digit code that the lock checks by itself
//! ([`crate::service::offline`]). Without `delivery` (or with `"ble"`) the request is the
//! give-access of a code that a phone installs over BLE. A revoked offline code reaches the
//! lock in its door update's revocation list (`GET .../revocations` shows the list), carried
//! by the next phone that fetched it.

use access_domain::api::{AccessCode, AccessCodeRequest, ErrorBody, Page};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::{Auth, CodeId, Id, Json};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::codes::{code_json, give_ble_code};
use crate::service::offline;
pub use crate::service::offline::{Delivery, GiveAccessRequest, OfflineAccessCode, OfflineClass};

/// The answer of give-access: an [`AccessCode`] for `delivery: ble` (the default), an
/// [`OfflineAccessCode`] for `delivery: offline`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GivenCode {
    Ble(AccessCode),
    Offline(OfflineAccessCode),
}

/// `anyOf`, not the `oneOf` a derived untagged enum gets: an offline code, which carries
/// every field of an access code, fits both shapes.
impl PartialSchema for GivenCode {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(AccessCode::name()))
            .item(Ref::from_schema_name(OfflineAccessCode::name()))
            .description(Some(
                "`delivery: ble` (the default): an `AccessCode`, installed by a phone over BLE \
                 (`sync_state` `pending` until the lock confirms it). `delivery: offline`: an \
                 `OfflineAccessCode`, which carries `delivery`, `class`, `valid_from`, \
                 `valid_until` and `grant_reference` besides.",
            ))
            .into()
    }
}

impl ToSchema for GivenCode {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((AccessCode::name().into(), AccessCode::schema()));
        <AccessCode as ToSchema>::schemas(schemas);
        schemas.push((
            OfflineAccessCode::name().into(),
            OfflineAccessCode::schema(),
        ));
        <OfflineAccessCode as ToSchema>::schemas(schemas);
    }
}

/// Give access (`give_access`): a code installed over BLE (`delivery: ble`, the default),
/// or an offline code the lock checks by itself (`delivery: offline`: window or one-time,
/// guest or tour, on the hour, up to 30 days).
#[utoipa::path(post, path = "/api/v1/locks/{id}/access-codes", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = GiveAccessRequest,
    responses((status = 201, description = "The code: an `AccessCode` for `delivery: ble`, an `OfflineAccessCode` for `delivery: offline`", body = GivenCode),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: no `give_access` on this lock", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody),
        (status = 409, description = "`conflict`: an offline code for a lock not paired yet, or no free code left", body = ErrorBody),
        (status = 422, description = "`validation_failed`: a kind, window, label or class the delivery does not allow", body = ErrorBody)))]
pub async fn give_access(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
    Json(req): Json<GiveAccessRequest>,
) -> ApiResult<(StatusCode, axum::Json<GivenCode>)> {
    if req.delivery == Delivery::Ble {
        if req.class.is_some() {
            return Err(ApiError::validation(
                "class applies to offline codes (\"delivery\": \"offline\").",
            ));
        }
        let ble = AccessCodeRequest {
            kind: req.kind,
            label: req.label,
            starts_at: req.starts_at,
            ends_at: req.ends_at,
        };
        let code = give_ble_code(&state, &user, id, ble).await?;
        return Ok((
            StatusCode::CREATED,
            axum::Json(GivenCode::Ble(code_json(code))),
        ));
    }
    let code = offline::issue(&state, &user, id, req).await?;
    Ok((StatusCode::CREATED, axum::Json(GivenCode::Offline(code))))
}

/// The offline codes of a lock with their windows, uses and revocations (`give_access`).
#[utoipa::path(get, path = "/api/v1/locks/{id}/offline-codes", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Page<OfflineAccessCode>),
        (status = 403, description = "no `give_access` on this lock", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody)))]
pub async fn list_offline_codes(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<Page<OfflineAccessCode>>> {
    let items = offline::list(&state, &user, id).await?;
    Ok(axum::Json(Page { items, next: None }))
}

/// Revoke one given code, alone (`give_access`). An offline code: the server stops listing
/// it as valid at once and the lock refuses it once a phone carries the lock's next door
/// update (its revocation list; docs/offline-codes.md has the worst case). A code installed
/// over BLE: the lock's next door update no longer holds it, so it leaves the lock at the
/// next contact. Nothing else on the lock changes.
#[utoipa::path(post, path = "/api/v1/locks/{id}/access-codes/{code_id}/revoke", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("code_id" = Uuid, Path)),
    responses((status = 200, description = "The code, revoked: an `AccessCode` (with `revoked_at`) for a code installed over BLE, an `OfflineAccessCode` for an offline one", body = GivenCode),
        (status = 403, description = "no `give_access` on this lock", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock or code", body = ErrorBody),
        (status = 409, description = "`conflict`: already revoked", body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
    CodeId(code_id): CodeId,
) -> ApiResult<axum::Json<GivenCode>> {
    Ok(axum::Json(
        match offline::revoke(&state, &user, id, code_id).await? {
            offline::RevokedCode::Ble(code) => GivenCode::Ble(code_json(code)),
            offline::RevokedCode::Offline(code) => GivenCode::Offline(code),
        },
    ))
}
