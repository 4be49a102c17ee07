//! The HTTP layer: one reqwest client on rustls with ring, with timeouts, bearer auth,
//! idempotency keys and the server's JSON error body decoded into [`HttpError`].

use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use access_domain::api::ErrorBody;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Failures of one HTTP exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The server could not be reached (refused, reset, DNS, TLS).
    #[error("cannot reach the server: {0}")]
    Connect(String),
    #[error("the server did not answer in time")]
    Timeout,
    /// The server answered with an error status; `code` is its machine code when the body
    /// followed the API's error shape.
    #[error("{status} {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
    },
    /// The answer was not what the API promises (garbage, wrong shape, cut short).
    #[error("cannot read the answer: {0}")]
    Decode(String),
    #[error("invalid server address: {0}")]
    InvalidUrl(String),
    /// The client itself could not be built on this device (its TLS setup): no request
    /// was made, and waiting will not help.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

/// Limits of one client.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// For the whole exchange, body included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(20),
        }
    }
}

/// The API client: base URL plus a reqwest client that keeps connections alive.
///
/// ```
/// let api = access_core::http::Api::new("http://127.0.0.1:8080", Default::default()).unwrap();
/// assert_eq!(api.url("/api/v1/me").unwrap().as_str(), "http://127.0.0.1:8080/api/v1/me");
/// ```
#[derive(Debug, Clone)]
pub struct Api {
    base: Url,
    timeouts: Timeouts,
    /// Built at the first request, not with the engine: loading the CA roots costs a phone
    /// that only opens a door offline (or with a cached credential) time for nothing.
    client: Arc<OnceLock<reqwest::Client>>,
}

/// Bytes and outcome of one streamed download, for progress and the transfer figures.
pub struct Download {
    pub body: Vec<u8>,
    /// Bytes on the wire (compressed when the server compressed), if the server said.
    pub wire_len: Option<u64>,
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn client_builder(timeouts: Timeouts) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .user_agent(concat!("access-core/", env!("CARGO_PKG_VERSION")))
}

/// The client with the platform's certificate verifier (the OS trust store on Android and
/// Apple systems, the system's CA files on Linux). A Linux without CA files (a minimal
/// container or chroot) would refuse to build it at all, which also blocks `http://`
/// servers: there the client trusts the Mozilla roots bundled in the library instead.
fn build_client(timeouts: Timeouts) -> Result<reqwest::Client, HttpError> {
    install_crypto_provider();
    // With its causes: reqwest's own text of a build failure is only "builder error".
    let platform = match client_builder(timeouts).build() {
        Ok(client) => return Ok(client),
        Err(e) => error_chain(&e),
    };
    match bundled_roots::client(client_builder(timeouts)) {
        Some(Ok(client)) => {
            tracing::warn!("no usable system CA roots ({platform}): using the bundled roots");
            Ok(client)
        }
        Some(Err(e)) => Err(HttpError::Setup(format!(
            "{platform}; with the bundled roots: {e}"
        ))),
        None => Err(HttpError::Setup(platform)),
    }
}

/// The fallback roots: only where the platform verifier reads CA files (Linux and other
/// Unix desktops), so the mobile libraries do not carry them. The Mozilla roots as trust
/// anchors (`webpki-roots`: name and key of each root, ~1/2 the size of the full
/// certificates), in a rustls configuration of our own.
#[cfg(all(unix, not(target_os = "android"), not(target_vendor = "apple")))]
mod bundled_roots {
    use std::sync::Arc;

    /// `builder` trusting only the bundled Mozilla roots.
    pub fn client(builder: reqwest::ClientBuilder) -> Option<Result<reqwest::Client, String>> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = match rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
        {
            Ok(config) => config.with_root_certificates(roots).with_no_client_auth(),
            Err(e) => return Some(Err(e.to_string())),
        };
        let client = builder.tls_backend_preconfigured(tls).build();
        Some(client.map_err(|e| super::error_chain(&e)))
    }
}

#[cfg(not(all(unix, not(target_os = "android"), not(target_vendor = "apple"))))]
mod bundled_roots {
    pub fn client(_: reqwest::ClientBuilder) -> Option<Result<reqwest::Client, String>> {
        None
    }
}

impl Api {
    pub fn new(base: &str, timeouts: Timeouts) -> Result<Api, HttpError> {
        let base = base.trim();
        let mut base =
            Url::parse(base).map_err(|e| HttpError::InvalidUrl(format!("{base}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(HttpError::InvalidUrl(format!(
                "{base}: use an http:// or https:// address"
            )));
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        // Cheap, unlike the roots; reqwest checks for it at every client build.
        install_crypto_provider();
        Ok(Api {
            base,
            timeouts,
            client: Arc::default(),
        })
    }

    /// The HTTP client, built (CA roots loaded) on first use and kept.
    fn client(&self) -> Result<&reqwest::Client, HttpError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = build_client(self.timeouts)?;
        Ok(self.client.get_or_init(|| built))
    }

    /// The absolute URL of an API path such as `/api/v1/me`.
    pub fn url(&self, path: &str) -> Result<Url, HttpError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| HttpError::InvalidUrl(e.to_string()))
    }

    /// A JSON request; `idempotency_key` is sent as `Idempotency-Key` so that a replay of
    /// the same action is applied once.
    pub async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<T, HttpError> {
        let bytes = self
            .send_raw(method, path, token, body, idempotency_key, &mut |_| {})
            .await?
            .body;
        decode(&bytes)
    }

    /// Like [`Api::send`] but returns the raw body, reporting bytes received as they come.
    pub async fn send_raw<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        idempotency_key: Option<&str>,
        on_bytes: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Download, HttpError> {
        // A request the server may see twice without a second effect: a GET, or one whose
        // key makes the server apply it once.
        let repeatable = method == Method::GET || idempotency_key.is_some();
        let mut req = self.client()?.request(method, self.url(path)?);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let again = if repeatable { req.try_clone() } else { None };
        let mut resp = match (req.send().await, again) {
            // A pooled keep-alive connection the server (or a NAT, or a network change)
            // closed just as we sent on it: the request never got an answer, so a fresh
            // connection tries once more instead of reporting the phone offline.
            (Err(e), Some(again)) if closed_under_us(&e) => {
                tracing::debug!("connection closed under the request; sending it again");
                again.send().await.map_err(map_reqwest)?
            }
            (sent, _) => sent.map_err(map_reqwest)?,
        };
        let status = resp.status();
        let wire_len = resp.content_length();
        let mut body = Vec::with_capacity(wire_len.unwrap_or(0).min(1 << 24) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(map_reqwest)? {
            body.extend_from_slice(&chunk);
            on_bytes(body.len() as u64);
        }
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        Ok(Download { body, wire_len })
    }
}

/// Parses a success body.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    // An empty 2xx body stands for `null`, for endpoints that answer 204.
    let bytes = if bytes.is_empty() { b"null" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| HttpError::Decode(e.to_string()))
}

fn status_error(status: StatusCode, body: &[u8]) -> HttpError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => HttpError::Status {
            status: status.as_u16(),
            code: b.error.code,
            message: b.error.message,
        },
        Err(_) => HttpError::Status {
            status: status.as_u16(),
            code: String::new(),
            message: format!(
                "{status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
        },
    }
}

/// Whether `e` is a connection that closed after the request went out on it (not a refused
/// connection, not a timeout: those say the network or the server is down).
fn closed_under_us(e: &reqwest::Error) -> bool {
    if e.is_timeout() || e.is_connect() || !e.is_request() {
        return false;
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if let Some(h) = inner.downcast_ref::<hyper::Error>() {
            return h.is_incomplete_message() || h.is_canceled();
        }
        source = inner.source();
    }
    false
}

fn map_reqwest(e: reqwest::Error) -> HttpError {
    if e.is_timeout() {
        HttpError::Timeout
    } else if e.is_connect() || e.is_request() {
        HttpError::Connect(error_chain(&e))
    } else if e.is_decode() || e.is_body() {
        HttpError::Decode(error_chain(&e))
    } else {
        HttpError::Connect(error_chain(&e))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_joined() {
        let api = Api::new("https://example.com/prefix", Timeouts::default()).unwrap();
        assert_eq!(
            api.url("/api/v1/sync?since=abc").unwrap().as_str(),
            "https://example.com/prefix/api/v1/sync?since=abc"
        );
        for bad in [
            "",
            "example.com",
            "ftp://example.com",
            "http://",
            "not a url",
        ] {
            assert!(
                matches!(
                    Api::new(bad, Timeouts::default()),
                    Err(HttpError::InvalidUrl(_))
                ),
                "{bad}"
            );
        }
    }

    /// A server that answers the first request on a connection and closes the connection
    /// under the second one (as a server restart or a NAT drop does to a pooled
    /// connection); on a new connection it answers again. Returns its URL and a count of
    /// the requests it read.
    async fn closing_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    for answered in 0.. {
                        match conn.read(&mut buf).await {
                            Ok(n) if n > 0 => {}
                            _ => return,
                        }
                        counter.fetch_add(1, Ordering::SeqCst);
                        if answered == 1 {
                            return; // closed under the request, without an answer
                        }
                        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntrue";
                        conn.write_all(ok).await.unwrap();
                    }
                });
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn a_repeatable_request_is_sent_again_when_its_connection_closes_under_it() {
        use std::sync::atomic::Ordering;
        let (url, seen) = closing_server().await;
        let api = Api::new(&url, Timeouts::default()).unwrap();
        let get = |api: &Api| {
            let api = api.clone();
            async move {
                api.send::<(), bool>(Method::GET, "/x", None, None, None)
                    .await
            }
        };
        assert!(get(&api).await.unwrap());
        // Reuses the pooled connection, which closes under it: sent again on a new one.
        assert!(get(&api).await.unwrap());
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        // With a key, a POST is repeatable too.
        let post = api
            .send::<_, bool>(Method::POST, "/x", None, Some(&1), Some("key-1"))
            .await;
        assert!(post.unwrap());
    }

    #[tokio::test]
    async fn a_request_that_could_act_twice_is_never_sent_again() {
        let (url, seen) = closing_server().await;
        let api = Api::new(&url, Timeouts::default()).unwrap();
        api.send::<(), bool>(Method::GET, "/x", None, None, None)
            .await
            .unwrap();
        let post = api
            .send::<_, bool>(Method::POST, "/x", None, Some(&1), None)
            .await;
        assert!(matches!(post, Err(HttpError::Connect(_))), "{post:?}");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    /// The fallback a Linux without CA files gets: a client on the bundled trust anchors.
    #[cfg(all(unix, not(target_os = "android"), not(target_vendor = "apple")))]
    #[test]
    fn bundled_roots_make_a_client() {
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        let client = bundled_roots::client(client_builder(Timeouts::default()));
        assert!(matches!(client, Some(Ok(_))), "{client:?}");
    }

    #[test]
    fn error_bodies_are_decoded_or_described() {
        let e = status_error(
            StatusCode::FORBIDDEN,
            br#"{"error":{"code":"missing_permission","message":"no"}}"#,
        );
        assert_eq!(
            e,
            HttpError::Status {
                status: 403,
                code: "missing_permission".into(),
                message: "no".into()
            }
        );
        let HttpError::Status { code, message, .. } =
            status_error(StatusCode::BAD_GATEWAY, b"<html>oops</html>")
        else {
            panic!()
        };
        assert!(code.is_empty());
        assert!(message.contains("oops"));
        assert!(matches!(
            decode::<u32>(b"{garbage"),
            Err(HttpError::Decode(_))
        ));
    }
}
