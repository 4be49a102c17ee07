//! One id per request: in the `x-request-id` answer header, in every error answer's
//! `request_id`, and in the log line of a refused or failed request, so a support person
//! finds the request a user reports. A request whose handler panics is answered the same
//! way: a 500 in the API's error shape, with its id.
//!
//! Ids are this process's random prefix and a counter (`3f9c2a1b-42`): unique across
//! instances without a random draw per request. A caller's own `x-request-id` (a proxy's) is
//! kept when it is short and plain, so one id follows the request through both.
//!
//! ```
//! # async fn demo() {
//! let id = access_server::request_id::scope("a1-7".into(), async {
//!     access_server::request_id::current()
//! });
//! assert_eq!(id.await.as_deref(), Some("a1-7"));
//! # }
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::future::OptionFuture;
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

/// The header the id travels in, both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    // The header value itself: the answer's header is this value, no copy.
    static CURRENT: HeaderValue;
}

static PREFIX: LazyLock<String> = LazyLock::new(|| {
    let mut bytes = [0u8; 4];
    // An all-zero prefix still makes unique ids within this process.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
});
static NEXT: AtomicU64 = AtomicU64::new(1);

/// The id of the request being answered, inside [`scope`].
pub fn current() -> Option<String> {
    CURRENT
        .try_with(|id| id.to_str().unwrap_or_default().to_string())
        .ok()
}

/// Runs `work` as the request `id` (plain ASCII, as [`acceptable`] keeps).
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    let id = HeaderValue::try_from(id).unwrap_or_else(|_| HeaderValue::from_static(""));
    CURRENT.scope(id, work).await
}

/// A new id: this process's prefix and the next number.
fn new_id() -> HeaderValue {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // From the String's own buffer: one allocation.
    HeaderValue::try_from(format!("{}-{n}", *PREFIX)).expect("ids are plain ASCII")
}

/// A caller's id worth keeping: 1 to 64 characters of letters, digits, `-`, `_` and `.`
/// (nothing that could forge a log line or a header).
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Middleware: gives each request its id (the caller's, or a new one), runs the rest of the
/// stack as that request, and returns the id in the answer. With debug recorded, the request
/// runs in a debug span with its method, path and id and ends with a debug line (status and
/// time); by default (`info`) no request pays for a span: the lines that matter carry the id
/// themselves (`ApiError`). A panic in the rest of the stack is answered as
/// [`ApiError::internal`](crate::error::ApiError::internal), with the id.
///
/// A plain tower layer rather than `axum::middleware::from_fn`, which boxes the rest of the
/// stack and its future on every request; and the panic guard is here rather than
/// tower-http's `CatchPanicLayer`, which boxes every answer's body once more and adds a
/// future around the stack's.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestId<S>;

    fn layer(&self, inner: S) -> RequestId<S> {
        RequestId { inner }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestId<S> {
    inner: S,
}

impl<S> Service<Request> for RequestId<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let id = request
            .headers()
            .get(HEADER)
            .filter(|v| v.to_str().is_ok_and(acceptable))
            .cloned()
            .unwrap_or_else(new_id);
        let (span, started) = if tracing::enabled!(tracing::Level::DEBUG) {
            let span = tracing::debug_span!(
                "request",
                method = %request.method(),
                path = request.uri().path(),
                request_id = id.to_str().unwrap_or_default(),
            );
            (span, Some(Instant::now()))
        } else {
            (tracing::Span::none(), None)
        };
        // A panic in `call` is answered when the future is polled, inside the id's scope.
        let called = catch_unwind(AssertUnwindSafe(|| self.inner.call(request))).ok();
        ResponseFuture {
            inner: CURRENT
                .scope(id, OptionFuture::from(called))
                .instrument(span),
            started,
        }
    }
}

pin_project! {
    /// The future of [`RequestId`]: the answer with the request's id. The inner future is
    /// `None` when the inner service's `call` panicked.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<TaskLocalFuture<HeaderValue, OptionFuture<F>>>,
        started: Option<Instant>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // A future that panicked is never polled again: this one answers at once.
        let polled = catch_unwind(AssertUnwindSafe(|| this.inner.as_mut().poll(cx)));
        let mut response = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Some(Err(e)))) => return Poll::Ready(Err(e)),
            Ok(Poll::Ready(Some(Ok(response)))) => response,
            Ok(Poll::Ready(None)) | Err(_) => {
                // The task-local is back in its future after an unwind, as after a poll.
                let id = this.inner.as_mut().inner_pin_mut().take_value();
                let internal = || crate::error::ApiError::internal().into_response();
                let mut response = match id.clone() {
                    Some(id) => CURRENT.sync_scope(id, internal),
                    None => internal(),
                };
                if let Some(id) = id {
                    response.headers_mut().insert(HEADER, id);
                }
                return Poll::Ready(Ok(response));
            }
        };
        if let Some(started) = this.started {
            this.inner.as_ref().span().in_scope(|| {
                tracing::debug!(
                    status = response.status().as_u16(),
                    micros = started.elapsed().as_micros() as u64,
                    "answered"
                )
            });
        }
        if let Some(id) = this.inner.inner_pin_mut().take_value() {
            response.headers_mut().insert(HEADER, id);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(acceptable("3f9c2a1b-42"));
        assert!(acceptable("req_1.2-A"));
        for bad in ["", "a b", "x\r\ny: z", "é", &"a".repeat(65), "{}", "a\"b"] {
            assert!(!acceptable(bad), "{bad:?}");
        }
    }

    /// The layer over a service that panics in its future, or in `call` itself.
    async fn answer_of_a_panic(in_call: bool) -> (axum::http::StatusCode, String, String) {
        use tower::ServiceExt;
        let service = tower::service_fn(move |_: Request| {
            assert!(!in_call, "a bug in call");
            async move {
                if !in_call {
                    panic!("a bug in the handler");
                }
                Ok::<Response, std::convert::Infallible>(Response::default())
            }
        });
        let request = Request::builder()
            .header(HEADER, "ticket-7")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = RequestIdLayer
            .layer(service)
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let id = response.headers()[HEADER].to_str().unwrap().to_string();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, id, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_panic_is_answered_as_an_internal_error_with_the_request_id() {
        for in_call in [false, true] {
            let (status, id, body) = answer_of_a_panic(in_call).await;
            assert_eq!(status, 500, "panic in call: {in_call}");
            assert_eq!(id, "ticket-7");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["error"]["code"], "internal", "{body}");
            assert_eq!(body["error"]["request_id"], "ticket-7", "{body}");
        }
    }

    #[tokio::test]
    async fn the_id_is_known_inside_the_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("r-1".into(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("r-1"));
    }
}
