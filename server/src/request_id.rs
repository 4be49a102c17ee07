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

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header the id travels in, both ways.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
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
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `work` as the request `id`.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    CURRENT.scope(id, work).await
}

/// A caller's id worth keeping: 1 to 64 characters of letters, digits, `-`, `_` and `.`
/// (nothing that could forge a log line or a header).
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Middleware: gives the request its id (the caller's, or a new one), runs the rest of the
/// stack as that request, in a debug span with its method, path and id, and returns the id in
/// the answer (with a debug line: status and time). Debug, so that by default (`info`) no
/// request pays for a span: the lines that matter carry the id themselves (`ApiError`).
pub async fn assign(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_string);
    let id = given.unwrap_or_else(|| {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", *PREFIX)
    });
    let value = HeaderValue::from_str(&id).expect("ids are plain ASCII");
    request.headers_mut().insert(HEADER, value.clone());
    if !tracing::enabled!(tracing::Level::DEBUG) {
        let mut response = scope(id, next.run(request)).await;
        response.headers_mut().insert(HEADER, value);
        return response;
    }
    let span = tracing::debug_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        request_id = id.as_str(),
    );
    let started = std::time::Instant::now();
    let mut response = scope(id, next.run(request)).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        )
    });
    response.headers_mut().insert(HEADER, value);
    response
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
