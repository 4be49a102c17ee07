//! The `/api/v1` routes, their extractors and the helpers every handler shares.

pub mod auth;
pub mod ble;
pub mod door;
pub mod locks;
pub mod manage;
pub mod offline_codes;

use std::sync::Arc;

use access_domain::api::{Me, error_codes as codes};
use access_domain::{Member, delegation};
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::Method;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::routing::{MethodFilter, MethodRouter, any, on};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::store::UserRecord;

/// One served API route: its method and path, and the handler serving them.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    service: MethodRouter<AppState>,
    /// Answers always small (under the 1 KiB gzip starts at) to a request without a body:
    /// served without the compression, body-limit and idempotency layers, which would each
    /// look and do nothing ([`lean_routes`]).
    lean: bool,
}

impl Endpoint {
    /// Marks the endpoint [lean](Endpoint::lean).
    fn lean(self) -> Endpoint {
        Endpoint { lean: true, ..self }
    }
}

/// The endpoint of `handler` at `method` and `path`.
fn e<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
    Endpoint {
        method,
        path,
        service: on(filter, handler),
        lean: false,
    }
}

/// Every `/api/v1` route, the one list the router is built from (and the OpenAPI document
/// is checked against).
pub fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    let mut sync = e(M::GET, "/api/v1/sync", locks::sync);
    // A full sync is megabytes of JSON: gzip at the fastest level takes a fraction of the
    // default level's time for a slightly larger body (the outer layer then leaves the
    // already encoded answer alone).
    sync.service = sync.service.layer(
        tower_http::compression::CompressionLayer::new()
            .quality(tower_http::CompressionLevel::Fastest)
            .compress_when(crate::compress_when()),
    );
    vec![
        e(M::GET, "/api/v1/openapi.json", crate::openapi::serve),
        e(M::POST, "/api/v1/sessions", auth::login),
        e(M::DELETE, "/api/v1/sessions/current", auth::logout),
        e(M::POST, "/api/v1/registrations", auth::register),
        e(M::POST, "/api/v1/auth/password-reset", auth::password_reset),
        e(
            M::POST,
            "/api/v1/auth/password-reset/confirm",
            auth::password_reset_confirm,
        ),
        e(M::POST, "/api/v1/registrations/{id}/verify", auth::verify),
        // The apps' most frequent call: a fifth of its time went to layers with nothing to do.
        e(M::GET, "/api/v1/me", auth::me_handler).lean(),
        e(M::GET, "/api/v1/access/summary", manage::summary),
        e(M::POST, "/api/v1/invitations", manage::invite),
        e(M::GET, "/api/v1/users", manage::list_users),
        e(M::GET, "/api/v1/users/{id}", manage::user_detail),
        e(
            M::PUT,
            "/api/v1/users/{id}/permissions",
            manage::set_permissions,
        ),
        e(M::PUT, "/api/v1/users/{id}/access", manage::set_access),
        e(M::PUT, "/api/v1/users/{id}/period", manage::set_period),
        e(M::POST, "/api/v1/users/{id}/revoke", manage::revoke),
        e(
            M::POST,
            "/api/v1/users/{id}/passcodes/{lock_id}/renew",
            manage::renew_passcode,
        ),
        e(M::POST, "/api/v1/users/{id}/resend-invite", manage::resend),
        e(M::POST, "/api/v1/users/{id}/reinstate", manage::reinstate),
        e(M::GET, "/api/v1/outbox", manage::outbox),
        e(M::POST, "/api/v1/properties", locks::create_property),
        e(M::GET, "/api/v1/properties", locks::list_properties),
        e(M::POST, "/api/v1/properties/{id}/units", locks::create_unit),
        e(M::GET, "/api/v1/organization/public-key", locks::public_key),
        e(M::POST, "/api/v1/locks", ble::register_lock),
        e(M::GET, "/api/v1/locks", locks::list_locks),
        e(M::GET, "/api/v1/locks/{id}", locks::get_lock),
        e(M::PATCH, "/api/v1/locks/{id}", locks::rename),
        e(M::PUT, "/api/v1/locks/{id}/mode", locks::set_mode),
        e(
            M::POST,
            "/api/v1/locks/{id}/reset-codes",
            locks::reset_codes,
        ),
        e(M::GET, "/api/v1/locks/{id}/master-code", locks::master_code),
        e(M::GET, "/api/v1/locks/{id}/logs", locks::list_logs),
        e(M::POST, "/api/v1/locks/{id}/logs", locks::upload_logs),
        e(
            M::POST,
            "/api/v1/locks/{id}/access-codes",
            offline_codes::give_access,
        ),
        e(
            M::GET,
            "/api/v1/locks/{id}/access-codes",
            locks::list_access_codes,
        ),
        e(
            M::POST,
            "/api/v1/locks/{id}/access-codes/{code_id}/revoke",
            offline_codes::revoke,
        ),
        e(
            M::GET,
            "/api/v1/locks/{id}/offline-codes",
            offline_codes::list_offline_codes,
        ),
        e(M::GET, "/api/v1/locks/{id}/door", door::door_state),
        e(M::GET, "/api/v1/locks/{id}/door-update", door::door_update),
        e(M::POST, "/api/v1/locks/{id}/contact", door::contact),
        e(M::POST, "/api/v1/locks/{id}/credentials", ble::credentials),
        e(M::PUT, "/api/v1/locks/{id}/identity", ble::set_identity),
        e(M::GET, "/api/v1/locks/{id}/revocations", ble::revocations),
        sync,
    ]
}

/// All API routes (state still to be supplied), from one list of [`endpoints`] (methods of
/// one path merge into one route): the [lean](Endpoint::lean) ones apart, the others with a
/// 404 in the API's shape for any other `/api` path.
pub fn routes() -> (Router<AppState>, Router<AppState>) {
    let router = |endpoints: Vec<Endpoint>| {
        endpoints
            .into_iter()
            .fold(Router::new(), |r, e| r.route(e.path, e.service))
    };
    let (lean, full) = endpoints().into_iter().partition(|e| e.lean);
    let full = router(full)
        .route("/api", any(unknown_route))
        .route("/api/{*rest}", any(unknown_route));
    (full, router(lean))
}

async fn unknown_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        "No such API route.",
    )
}

/// Answer for a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This route does not accept that method.",
    )
}

/// JSON body extractor whose rejections use the API's error shape: 400 for malformed JSON
/// or wrong types, 413 for bodies over the limit, 415 without a JSON content type.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(r) => Err(json_rejection(r)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::BAD_REQUEST,
            "Send a JSON body with `Content-Type: application/json`.",
        ),
        _ => ApiError::bad_request(format!("Invalid JSON body: {}", r.body_text())),
    }
}

/// The 413 answer.
pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        codes::PAYLOAD_TOO_LARGE,
        "The request body is too large.",
    )
}

/// A path id; anything that is not a UUID is an unknown id (404).
pub struct Id(pub Uuid);

async fn path_uuid<S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> ApiResult<Uuid> {
    let axum::extract::Path(params) =
        axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("Resource"))?;
    params
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| Uuid::parse_str(v).ok())
        .ok_or_else(|| ApiError::not_found("Resource"))
}

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        path_uuid(parts, state, "id").await.map(Id)
    }
}

/// The `{code_id}` of a path; not a UUID means unknown (404).
pub struct CodeId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for CodeId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        path_uuid(parts, state, "code_id").await.map(CodeId)
    }
}

/// The `{lock_id}` of a path under another resource; not a UUID means unknown (404).
pub struct LockId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for LockId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        path_uuid(parts, state, "lock_id").await.map(LockId)
    }
}

/// Query-string extractor answering 400 in the API's error shape.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e| ApiError::bad_request(format!("Invalid query: {}", e.body_text())))
    }
}

/// A page size as the list endpoints take it: default 100, at least 1, at most `max`.
pub fn page_size(limit: Option<u32>, max: u32) -> u32 {
    limit.unwrap_or(100).clamp(1, max)
}

/// `?after=<lock id>&limit=<n>` of the lock list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// The `next` value of the previous page (a lock id).
    #[param(
        pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    pub after: Option<String>,
    /// Page size: default 100; 0 counts as 1 and anything over 1000 as 1000.
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

impl ListParams {
    pub fn limit(&self) -> u32 {
        page_size(self.limit, 1000)
    }

    pub fn after_uuid(&self) -> ApiResult<Option<Uuid>> {
        self.after
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| Uuid::parse_str(s).map_err(|_| ApiError::bad_request("Invalid cursor.")))
            .transpose()
    }
}

/// `?after=<sequence number>&limit=<n>` of the lists read newest first (a lock's log, the
/// outbox).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct SeqListParams {
    /// The `next` value of the previous page (a sequence number).
    #[param(pattern = "^(-?[0-9]{1,18})?$")]
    pub after: Option<String>,
    /// Page size: default 100; 0 counts as 1 and anything over 1000 as 1000.
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

impl SeqListParams {
    pub fn limit(&self) -> u32 {
        page_size(self.limit, 1000)
    }

    pub fn after_seq(&self) -> ApiResult<Option<i64>> {
        self.after
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| ApiError::bad_request("Invalid cursor."))
            })
            .transpose()
    }
}

/// The signed-in user. 401 without a live session, 401 `revoked` once revoked.
pub struct Auth {
    /// Shared with the session lookup's memory (see [`Store::session_user`](crate::store::Store::session_user)).
    pub user: Arc<UserRecord>,
    pub token_hash: [u8; 32],
}

/// The bearer token of a request, if it carries one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        let token_hash = secrets::hash_token(token);
        let now = OffsetDateTime::now_utc();
        let user = state
            .db
            .read(move |s| s.session_user(&token_hash, now))
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        match user.status {
            access_domain::UserStatus::Active => Ok(Auth { user, token_hash }),
            access_domain::UserStatus::Revoked => Err(ApiError::revoked()),
            access_domain::UserStatus::Pending => Err(ApiError::unauthenticated()),
        }
    }
}

/// A signed-in team member who holds `manage_access` (within their own scope, see
/// [`access_domain::delegation`]); others get 403 `not_manager`.
pub struct Manager(pub Arc<UserRecord>);

impl FromRequestParts<AppState> for Manager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Auth { user, .. } = Auth::from_request_parts(parts, state).await?;
        delegation::check_manager(&user.actor(), OffsetDateTime::now_utc())?;
        Ok(Manager(user))
    }
}

/// A [`Manager`] with access to all locks, for what spans the whole organization
/// (properties and units, the outbox that carries every invitation); others get 403
/// `not_manager`.
pub struct OrgManager(pub Arc<UserRecord>);

impl FromRequestParts<AppState> for OrgManager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Auth { user, .. } = Auth::from_request_parts(parts, state).await?;
        delegation::check_organization_manager(&user.actor(), OffsetDateTime::now_utc())?;
        Ok(OrgManager(user))
    }
}

/// Room for one row of a page in JSON (a lock, a user, a log entry: 300 to 400 bytes), so a
/// page's answer is written into one buffer of its size ([`page_answer`]).
const PAGE_ROW_JSON: usize = 400;

/// `value` in JSON, written into a buffer of `capacity` bytes (its usual size): `axum::Json`
/// starts at 128 bytes and copies a larger answer at each doubling.
pub fn json_bytes(value: &impl serde::Serialize, capacity: usize) -> ApiResult<axum::body::Bytes> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value).map_err(|_| ApiError::internal())?;
    Ok(body.into())
}

/// A 200 answer of JSON already written (by [`json_bytes`]).
pub fn json_answer(body: axum::body::Bytes) -> axum::response::Response {
    use axum::http::header::{CONTENT_TYPE, HeaderValue};
    use axum::response::IntoResponse;
    let json = HeaderValue::from_static("application/json");
    ([(CONTENT_TYPE, json)], body).into_response()
}

/// A 200 answer of a page of `rows` rows, written into one buffer of its usual size.
pub fn page_answer(
    page: &impl serde::Serialize,
    rows: usize,
) -> ApiResult<axum::response::Response> {
    Ok(json_answer(json_bytes(page, 64 + PAGE_ROW_JSON * rows)?))
}

/// The API view of the signed-in user.
pub fn me(user: &UserRecord) -> Me {
    Me {
        id: user.id,
        name: user.name.clone().unwrap_or_default(),
        email: user
            .registered_email
            .as_ref()
            .or(user.invited_email.as_ref())
            .cloned()
            .unwrap_or_default(),
        user_type: user.user_type,
        status: user.status,
        app: user.user_type.app(),
        permissions: user.permissions.clone(),
        access: user.access.clone(),
        organization_id: user.org_id,
        period: user.period,
    }
}
