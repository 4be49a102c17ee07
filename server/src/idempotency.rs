//! `Idempotency-Key` on POST/PUT/PATCH: the same key from the same user gets the stored
//! first response and has no second effect. Keys live in the database, so a replay may
//! land on any instance.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use crate::AppState;
use crate::api::payload_too_large;
use crate::error::ApiError;
use crate::secrets;
use crate::store::IdempotencyBegin;

/// Header name of the key.
pub const HEADER: &str = "idempotency-key";

/// The middleware.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= 200 => k.trim().to_string(),
        _ => {
            return ApiError::bad_request("Idempotency-Key must be 1 to 200 visible characters.")
                .into_response();
        }
    };
    // Keys are per user; requests without a live session run normally.
    let (parts, body) = req.into_parts();
    let Some(token) = crate::api::bearer(&parts) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let token_hash = secrets::hash_token(token);
    let now = OffsetDateTime::now_utc();
    let user = match state
        .db
        .run(move |s| s.session_user(&token_hash, now))
        .await
    {
        Ok(Some(u)) => u,
        Ok(None) => return next.run(Request::from_parts(parts, body)).await,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let bytes = match axum::body::to_bytes(body, state.config.body_limit).await {
        Ok(b) => b,
        Err(_) => return payload_too_large().into_response(),
    };
    let mut material = Vec::with_capacity(bytes.len() + 64);
    material.extend_from_slice(parts.method.as_str().as_bytes());
    material.push(b' ');
    material.extend_from_slice(parts.uri.path().as_bytes());
    material.push(b'\n');
    material.extend_from_slice(&bytes);
    let fingerprint = ring::digest::digest(&ring::digest::SHA256, &material);
    let mut fp = [0u8; 32];
    fp.copy_from_slice(fingerprint.as_ref());
    // From taking the key to recording the answer, the work runs on a task of its own: a
    // client that disconnects (hyper drops this future) can then neither leave the key "in
    // progress" nor let the effect commit without the stored answer (a replay would apply
    // it twice).
    let task = tokio::spawn(run_once(state, user.id, key, fp, now, parts, bytes, next));
    match task.await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "idempotent request task failed");
            ApiError::internal().into_response()
        }
    }
}

/// Takes the key, then either answers from what it holds or runs the request and stores
/// the answer.
#[allow(clippy::too_many_arguments)]
async fn run_once(
    state: AppState,
    uid: uuid::Uuid,
    key: String,
    fp: [u8; 32],
    now: OffsetDateTime,
    parts: axum::http::request::Parts,
    bytes: axum::body::Bytes,
    next: Next,
) -> Response {
    let k = key.clone();
    let begin = state
        .db
        .run(move |s| s.idempotency_begin(uid, &k, &fp, now))
        .await;
    match begin {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(IdempotencyBegin::Mismatch) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was already used for a different request.",
            )
            .into_response();
        }
        Ok(IdempotencyBegin::InProgress) => {
            return ApiError::conflict("A request with this Idempotency-Key is still running.")
                .into_response();
        }
        Ok(IdempotencyBegin::Done { status, body }) => {
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            resp.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return resp;
        }
        Ok(IdempotencyBegin::New) => {}
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    complete(state, uid, key, resp).await
}

/// Buffers the handler's answer and stores it under the key (or releases the key on a
/// server error), then returns the answer.
async fn complete(state: AppState, uid: uuid::Uuid, key: String, resp: Response) -> Response {
    let (rparts, rbody) = resp.into_parts();
    let rbytes = match axum::body::to_bytes(rbody, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            let _ = state.db.run(move |s| s.idempotency_abort(uid, &key)).await;
            return ApiError::internal().into_response();
        }
    };
    let status = rparts.status.as_u16();
    let stored = if rparts.status.is_server_error() {
        state.db.run(move |s| s.idempotency_abort(uid, &key)).await
    } else {
        let b = rbytes.to_vec();
        state
            .db
            .run(move |s| s.idempotency_finish(uid, &key, status, &b))
            .await
    };
    if let Err(e) = stored {
        tracing::error!(error = %e, "cannot store idempotent response");
    }
    Response::from_parts(rparts, Body::from(rbytes))
}
