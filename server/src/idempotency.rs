//! `Idempotency-Key` on POST/PUT/PATCH: the same key from the same user gets the stored
//! first response and has no second effect. Keys live in the database, so a replay may
//! land on any instance. Only a request that reaches an API endpoint takes its key: one for
//! an unknown route, or a method its path does not serve, gets its 404 or 405 as if it had
//! no key, and leaves the key free.
//!
//! Wrap the routes with [`IdempotencyLayer`]:
//!
//! ```no_run
//! # fn demo(state: access_server::AppState, routes: axum::Router<access_server::AppState>) {
//! let app = routes.layer(access_server::idempotency::IdempotencyLayer::new(state.clone()));
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::future::Either;
use time::OffsetDateTime;
use tower::{Layer, Service, ServiceExt};

use crate::AppState;
use crate::api::payload_too_large;
use crate::error::ApiError;
use crate::secrets;
use crate::store::IdempotencyBegin;

/// Header name of the key.
pub const HEADER: &str = "idempotency-key";

/// Puts [`Idempotency`] in front of a service.
#[derive(Clone)]
pub struct IdempotencyLayer {
    state: AppState,
    endpoints: Arc<[(Method, &'static str)]>,
}

impl IdempotencyLayer {
    /// The layer, with the state whose store holds the keys. It goes on the router with
    /// `Router::layer`, so that requests carry their `MatchedPath`.
    pub fn new(state: AppState) -> IdempotencyLayer {
        let endpoints = crate::api::endpoints()
            .into_iter()
            .filter(|e| keyed_method(&e.method))
            .map(|e| (e.method, e.path))
            .collect();
        IdempotencyLayer { state, endpoints }
    }
}

impl<S> Layer<S> for IdempotencyLayer {
    type Service = Idempotency<S>;

    fn layer(&self, inner: S) -> Idempotency<S> {
        Idempotency {
            state: self.state.clone(),
            endpoints: self.endpoints.clone(),
            inner,
        }
    }
}

fn keyed_method(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// The middleware. A request without a key (every GET) goes straight to the inner service:
/// no state clone, no boxed copy of the service, no boxed future, since this sits on the
/// path of every request.
#[derive(Clone)]
pub struct Idempotency<S> {
    state: AppState,
    /// The POST, PUT and PATCH endpoints of the API, the only requests that take a key.
    endpoints: Arc<[(Method, &'static str)]>,
    inner: S,
}

impl<S> Idempotency<S> {
    /// Whether `req` carries a key and goes to one of the API's POST, PUT or PATCH
    /// endpoints (not a 404 or 405 fallback).
    fn keyed(&self, req: &Request) -> bool {
        if !keyed_method(req.method()) || !req.headers().contains_key(HEADER) {
            return false;
        }
        let Some(path) = req.extensions().get::<MatchedPath>() else {
            return false;
        };
        self.endpoints
            .iter()
            .any(|(m, p)| m == req.method() && *p == path.as_str())
    }
}

/// The answer of [`Idempotency`]: the inner service's own future for a request without a
/// key, a boxed one for a keyed request.
pub type ResponseFuture<F> = Either<F, KeyedFuture>;

/// The future of a keyed request.
pub type KeyedFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for Idempotency<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if !self.keyed(&req) {
            return Either::Left(self.inner.call(req));
        }
        // Use the service that was polled ready; leave a fresh clone for the next call.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let state = self.state.clone();
        Either::Right(Box::pin(
            async move { Ok(with_key(state, req, inner).await) },
        ))
    }
}

/// Runs the inner service once for `req`.
async fn run<S>(inner: S, req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match inner.oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

/// A POST/PUT/PATCH carrying the header.
async fn with_key<S>(state: AppState, req: Request, inner: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let Some(key) = req.headers().get(HEADER) else {
        return run(inner, req).await;
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
        return run(inner, Request::from_parts(parts, body)).await;
    };
    let token_hash = secrets::hash_token(token);
    let now = OffsetDateTime::now_utc();
    let user = match state
        .db
        .run(move |s| s.session_user(&token_hash, now))
        .await
    {
        // A revoked user's stored answers stay stored, never replayed to them.
        Ok(Some(u)) if u.status == access_domain::UserStatus::Revoked => {
            return ApiError::revoked().into_response();
        }
        Ok(Some(u)) => u,
        Ok(None) => return run(inner, Request::from_parts(parts, body)).await,
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
    let task = tokio::spawn(run_once(state, user.id, key, fp, now, parts, bytes, inner));
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
async fn run_once<S>(
    state: AppState,
    uid: uuid::Uuid,
    key: String,
    fp: [u8; 32],
    now: OffsetDateTime,
    parts: axum::http::request::Parts,
    bytes: axum::body::Bytes,
    inner: S,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
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
        Ok(IdempotencyBegin::TooMany) => {
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                access_domain::api::error_codes::TOO_MANY_ATTEMPTS,
                "Too many Idempotency-Keys in the last 24 hours; send this request without one \
                 or try again later.",
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
    let resp = run(inner, Request::from_parts(parts, Body::from(bytes))).await;
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
