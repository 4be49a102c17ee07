//! Properties, units, locks, the gated lock actions, logs, access codes and sync.
//! Every lock action passes `gate` (`access_domain::authorize`) on every request.

use access_domain::api::{
    AccessCode, ErrorBody, Lock, LockLogUpload, LogEntry, MasterCode, ModeRequest, NameRequest,
    Page, Property, RenameRequest, SyncResponse, Unit,
};
use access_domain::{Action, Member, delegation};
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Auth, Id, Json, ListParams, OrgManager, Query, SeqListParams, me, page_answer};
use crate::error::{ApiError, ApiResult};
use crate::service::audit::audit;
use crate::service::codes::{self, code_json};
use crate::service::gate::gate;
use crate::service::locks::{gated, lock_json, lock_missing, rename as rename_lock};
use crate::service::reports;
use crate::store::{LockFilter, StoreError};
use crate::validate::clean_name;
use crate::{AppState, secrets};

/// Create a property.
#[utoipa::path(post, path = "/api/v1/properties", tag = "properties", security(("bearer" = [])),
    request_body = NameRequest, responses((status = 201, body = Property),
        (status = 403, description = "`not_manager`: without the manage-access permission", body = ErrorBody),
        (status = 422, description = "`validation_failed`: an empty or too long name", body = ErrorBody)))]
pub async fn create_property(
    State(state): State<AppState>,
    OrgManager(admin): OrgManager,
    Json(req): Json<NameRequest>,
) -> ApiResult<(StatusCode, axum::Json<Property>)> {
    let name = clean_name(&req.name, "Property name", 200)?;
    let (org, id, n) = (admin.org_id, Uuid::new_v4(), name.clone());
    state
        .db
        .run(move |s| s.create_property(org, id, &n))
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Property {
            id,
            name,
            units: vec![],
        }),
    ))
}

/// Properties with their units; only managers with access to all locks see every property,
/// others the units in their scope.
#[utoipa::path(get, path = "/api/v1/properties", tag = "properties", security(("bearer" = [])),
    responses((status = 200, body = Page<Property>)))]
pub async fn list_properties(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
) -> ApiResult<axum::Json<Page<Property>>> {
    let org = user.org_id;
    let props = state.db.run(move |s| s.list_properties(org)).await?;
    let items = props
        .into_iter()
        .filter_map(|p| {
            let units: Vec<Unit> = p
                .units
                .into_iter()
                .filter(|u| gate(&*user, Action::View, u.id).is_ok())
                .map(|u| Unit {
                    id: u.id,
                    property_id: u.property_id,
                    name: u.name,
                })
                .collect();
            (delegation::check_organization_manager(&user.actor(), time::OffsetDateTime::now_utc())
                .is_ok()
                || !units.is_empty())
            .then_some(Property {
                id: p.id,
                name: p.name,
                units,
            })
        })
        .collect();
    Ok(axum::Json(Page { items, next: None }))
}

/// Add a unit to a property.
#[utoipa::path(post, path = "/api/v1/properties/{id}/units", tag = "properties",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = NameRequest,
    responses((status = 201, body = Unit),
        (status = 403, description = "`not_manager`: without the manage-access permission", body = ErrorBody),
        (status = 404, description = "`not_found`: no such property", body = ErrorBody),
        (status = 422, description = "`validation_failed`: an empty or too long name", body = ErrorBody)))]
pub async fn create_unit(
    State(state): State<AppState>,
    OrgManager(admin): OrgManager,
    Id(property_id): Id,
    Json(req): Json<NameRequest>,
) -> ApiResult<(StatusCode, axum::Json<Unit>)> {
    let name = clean_name(&req.name, "Unit name", 200)?;
    let (org, id, n) = (admin.org_id, Uuid::new_v4(), name.clone());
    state
        .db
        .run(move |s| s.create_unit(org, property_id, id, &n))
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("Property"),
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Unit {
            id,
            property_id,
            name,
        }),
    ))
}

/// The organization's Ed25519 public key, which locks receive at pairing.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicKey {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, base64.
    pub public_key: String,
}

#[utoipa::path(get, path = "/api/v1/organization/public-key", tag = "locks",
    security(("bearer" = [])), responses((status = 200, body = PublicKey)))]
pub async fn public_key(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
) -> ApiResult<axum::Json<PublicKey>> {
    let org = user.org_id;
    let key = state.db.run(move |s| s.organization_key(org)).await?;
    Ok(axum::Json(PublicKey {
        algorithm: "Ed25519".into(),
        public_key: STANDARD.encode(key.public_key),
    }))
}

/// Locks the caller may see, ordered by id, paginated.
#[utoipa::path(get, path = "/api/v1/locks", tag = "locks", security(("bearer" = [])),
    params(ListParams), responses((status = 200, body = Page<Lock>),
        (status = 400, description = "`bad_request`: a cursor that is not a lock id", body = ErrorBody)))]
pub async fn list_locks(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::response::Response> {
    let (after, limit) = (p.after_uuid()?, p.limit());
    let org = user.org_id;
    let filter = LockFilter::from(&user.access);
    // A keyset page on the primary key: short enough to run on the async worker, which
    // spares two thread hand-offs per request (the queue the page's p99 was made of).
    let rows = state
        .db
        .read(move |s| s.list_locks(org, &filter, after, limit))
        .await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|l| l.id.to_string()))
        .flatten();
    let items = rows
        .into_iter()
        .filter(|l| gate(&*user, Action::View, l.unit_id).is_ok())
        .map(lock_json)
        .collect::<Vec<_>>();
    let rows = items.len();
    page_answer(&Page { items, next }, rows)
}

#[utoipa::path(get, path = "/api/v1/locks/{id}", tag = "locks", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Lock),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not see this lock", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody)))]
pub async fn get_lock(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<Lock>> {
    Ok(axum::Json(lock_json(
        gated(&state, &user, id, Action::View).await?,
    )))
}

/// Rename a lock (`rename_locks`).
#[utoipa::path(patch, path = "/api/v1/locks/{id}", tag = "locks", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RenameRequest,
    responses((status = 200, body = Lock),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not rename this lock (`rename_locks`)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody),
        (status = 422, description = "`validation_failed`: an empty or too long name", body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
    Json(req): Json<RenameRequest>,
) -> ApiResult<axum::Json<Lock>> {
    let lock = gated(&state, &user, id, Action::Rename).await?;
    let name = clean_name(&req.name, "Lock name", 100)?;
    Ok(axum::Json(lock_json(
        rename_lock(&state, &user, &lock, name, "").await?,
    )))
}

/// Change the lock mode (`change_modes`).
#[utoipa::path(put, path = "/api/v1/locks/{id}/mode", tag = "locks", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ModeRequest,
    responses((status = 200, body = Lock),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not change this lock's mode (`change_modes`)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody)))]
pub async fn set_mode(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
    Json(req): Json<ModeRequest>,
) -> ApiResult<axum::Json<Lock>> {
    let lock = gated(&state, &user, id, Action::ChangeMode).await?;
    let a = audit(
        &user,
        "mode_change",
        Some(format!("{} -> {}", lock.mode.as_str(), req.mode.as_str())),
    );
    let org = user.org_id;
    let l = state
        .db
        .run(move |s| s.set_lock_mode(org, id, req.mode, &a))
        .await
        .map_err(lock_missing)?;
    Ok(axum::Json(lock_json(l)))
}

/// Reset codes (`reset_codes`): new master code, new passcodes, access codes removed.
#[utoipa::path(post, path = "/api/v1/locks/{id}/reset-codes", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Lock),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not reset this lock's codes (`reset_codes`)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody)))]
pub async fn reset_codes(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<Lock>> {
    gated(&state, &user, id, Action::ResetCodes).await?;
    let a = audit(&user, "reset_codes", None);
    let master = secrets::random_digits(secrets::MASTER_CODE_DIGITS);
    let org = user.org_id;
    let l = state
        .db
        .run(move |s| s.reset_lock_codes(org, id, &master, &a))
        .await
        .map_err(lock_missing)?;
    Ok(axum::Json(lock_json(l)))
}

/// The master code (`view_master_code`); each read is audited.
#[utoipa::path(get, path = "/api/v1/locks/{id}/master-code", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = MasterCode),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not see this lock's master code (`view_master_code`)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody)))]
pub async fn master_code(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<MasterCode>> {
    gated(&state, &user, id, Action::ViewMasterCode).await?;
    let a = audit(&user, "view_master_code", None);
    let org = user.org_id;
    let code = state
        .db
        .run(move |s| s.master_code(org, id, &a))
        .await
        .map_err(lock_missing)?;
    Ok(axum::Json(MasterCode { code }))
}

/// The access log (`view_logs`), newest first: server audit and events read from the lock.
#[utoipa::path(get, path = "/api/v1/locks/{id}/logs", tag = "locks", security(("bearer" = [])),
    params(("id" = Uuid, Path), SeqListParams),
    responses((status = 200, body = Page<LogEntry>),
        (status = 400, description = "`bad_request`: a cursor that is not a log sequence number", body = ErrorBody),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not see this lock's logs (`view_logs`)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody)))]
pub async fn list_logs(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
    Query(p): Query<SeqListParams>,
) -> ApiResult<axum::response::Response> {
    let (before, limit) = (p.after_seq()?, p.limit());
    let org = user.org_id;
    // One indexed page: inline on SQLite, like the page of locks. The gate is passed on the
    // lock's unit read with the page (one lock read, not two); a refused caller gets nothing.
    let page = state
        .db
        .read(move |s| s.list_logs(org, id, before, limit))
        .await
        .map_err(lock_missing)?;
    gate(&*user, Action::ViewLogs, page.unit_id)?;
    let rows = page.entries;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    let items = rows
        .into_iter()
        .map(|r| LogEntry {
            id: r.id,
            lock_id: r.lock_id,
            at: r.at,
            action: r.action,
            method: r.method,
            source: r.source,
            user_id: r.user_id,
            user_name: r.user_name,
            code_id: r.code_id,
            code_label: r.code_label,
            detail: r.detail,
            lock_seq: r.lock_seq,
        })
        .collect::<Vec<_>>();
    let rows = items.len();
    page_answer(&Page { items, next }, rows)
}

/// Answer of a log upload.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadResult {
    /// Entries stored now.
    pub accepted: u64,
    /// Entries already known (same `lock_seq`).
    pub duplicates: u64,
}

/// Upload pages of a lock's log as the lock sent them. Each page's MAC is checked under the
/// lock's report key and the server decodes the entries itself, so only what the lock wrote
/// is stored (once per `lock_seq`); the codes the lock added become installed. Anyone who
/// sees the lock may carry its pages: a genuine page is the proof of a contact.
#[utoipa::path(post, path = "/api/v1/locks/{id}/logs", tag = "locks", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = LockLogUpload,
    responses((status = 200, body = UploadResult),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not see this lock", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody),
        (status = 422, description = "`validation_failed`: over 16 pages, a page that is not base64 or larger than a lock's, or not what this lock wrote under its report key (forged, altered, another lock's, or sent before the lock held its report key); nothing is stored", body = ErrorBody)))]
pub async fn upload_logs(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
    Json(req): Json<LockLogUpload>,
) -> ApiResult<axum::Json<UploadResult>> {
    let done = reports::upload_log(&state, &user, id, req).await?;
    Ok(axum::Json(UploadResult {
        accepted: done.accepted,
        duplicates: done.duplicates,
    }))
}

/// Access codes on a lock with their sync state (`give_access`).
#[utoipa::path(get, path = "/api/v1/locks/{id}/access-codes", tag = "locks",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Page<AccessCode>),
        (status = 403, description = "`missing_permission`, `out_of_scope`, `outside_access_period` or `forbidden`: the caller may not give access on this lock (`give_access`)", body = ErrorBody),
        (status = 404, description = "`not_found`: no such lock", body = ErrorBody)))]
pub async fn list_access_codes(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<Page<AccessCode>>> {
    gated(&state, &user, id, Action::GiveAccess).await?;
    let org = user.org_id;
    let rows = codes::lock_codes(&state, org, id).await?;
    Ok(axum::Json(Page {
        items: rows.into_iter().map(code_json).collect(),
        next: None,
    }))
}

/// `?since=<cursor>` of sync.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SyncParams {
    /// The `cursor` of the previous sync; absent (or empty) for the first one.
    #[param(pattern = "^(v1\\.[0-9]{1,18})?$")]
    pub since: Option<String>,
}

/// Everything the caller may see that changed since the cursor. For each lock in `locks`,
/// `access_codes` and `passcodes` hold that lock's complete current set.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync", security(("bearer" = [])),
    params(SyncParams), responses((status = 200, body = SyncResponse),
        (status = 400, description = "`bad_request`: a cursor this server did not give", body = ErrorBody)))]
pub async fn sync(
    State(state): State<AppState>,
    Auth { user, .. }: Auth,
    Query(p): Query<SyncParams>,
) -> ApiResult<axum::Json<SyncResponse>> {
    let since = match p.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(
            c.strip_prefix("v1.")
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::bad_request("Invalid sync cursor."))?,
        ),
    };
    let (org, uid, filter) = (user.org_id, user.id, LockFilter::from(&user.access));
    let data = state
        .db
        .run(move |s| s.sync(org, uid, &filter, since))
        .await?;
    let mut removed = data.removed_lock_ids;
    let mut locks = Vec::with_capacity(data.locks.len());
    let mut codes_visible = std::collections::HashSet::new();
    for l in data.locks {
        if gate(&*user, Action::View, l.unit_id).is_ok() {
            if gate(&*user, Action::GiveAccess, l.unit_id).is_ok() {
                codes_visible.insert(l.id);
            }
            locks.push(lock_json(l));
        } else {
            removed.push(l.id);
        }
    }
    Ok(axum::Json(SyncResponse {
        cursor: format!("v1.{}", data.cursor),
        full: since.is_none() || data.me_changed,
        me: me(&user),
        locks,
        removed_lock_ids: removed,
        access_codes: data
            .access_codes
            .into_iter()
            .filter(|c| codes_visible.contains(&c.lock_id))
            .map(code_json)
            .collect(),
        passcodes: data
            .passcodes
            .into_iter()
            .map(super::manage::passcode)
            .collect(),
    }))
}
