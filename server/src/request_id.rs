//! One id per request: in the `x-request-id` answer header, in every error answer's
//! `request_id`, and in the log line of a refused or failed request, so a support person
//! finds the request a user reports.
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

use std::pin::Pin;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
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
/// themselves (`ApiError`). A plain tower layer rather than `axum::middleware::from_fn`,
/// which boxes the rest of the stack and its future on every request.
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

impl<S, B> Service<Request> for RequestId<S>
where
    S: Service<Request, Response = Response<B>>,
{
    type Response = Response<B>;
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
        ResponseFuture {
            inner: CURRENT.scope(id, self.inner.call(request)).instrument(span),
            started,
        }
    }
}

pin_project! {
    /// The future of [`RequestId`]: the answer with the request's id.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<TaskLocalFuture<HeaderValue, F>>,
        started: Option<Instant>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut response = match this.inner.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(response)) => response,
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

    #[tokio::test]
    async fn the_id_is_known_inside_the_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("r-1".into(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("r-1"));
    }
}
