//! `GET /metrics` in the Prometheus text format, on a listen address of its own
//! (`ACCESS_METRICS_LISTEN`), never on the public one; off unless configured.
//!
//! What it counts, and where:
//! - every answer by route template, method and status, with a latency histogram
//!   (the [`track`] middleware, only in the stack when metrics are on);
//! - error answers by error code, and sign-in failures and throttles among them (the code
//!   [`crate::error::ApiError`] leaves on its answer, [`ErrorCode`]);
//! - messages by channel and delivery outcome ([`crate::notify::deliver`]);
//! - at each scrape, from the store: live sessions, and locks by battery level.
//!
//! ```
//! let metrics = access_server::metrics::Metrics::new();
//! metrics.delivered("email", "sent");
//! let text = metrics.render(&access_server::store::Gauges::default());
//! assert!(text.contains(r#"access_messages_total{channel="email",outcome="sent"} 1"#));
//! ```

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::error::ErrorCode;
use crate::store::Gauges;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    channel: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BatteryLabels {
    level: String,
}

/// Every metric of one server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    errors: Family<CodeLabels, Counter>,
    login_failures: Counter,
    login_throttled: Counter,
    messages: Family<MessageLabels, Counter>,
    sessions: Gauge,
    locks: Family<BatteryLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("access");
        let requests = Family::<RouteLabels, Counter>::default();
        // 0.5 ms to ~8 s: a session check to a slow password hash under load.
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 15))
        });
        let errors = Family::<CodeLabels, Counter>::default();
        let login_failures = Counter::default();
        let login_throttled = Counter::default();
        let messages = Family::<MessageLabels, Counter>::default();
        let sessions = Gauge::default();
        let locks = Family::<BatteryLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "Answers by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route and method",
            latency.clone(),
        );
        registry.register("http_errors", "Error answers by error code", errors.clone());
        registry.register(
            "login_failures",
            "Sign-ins refused for a wrong email or password",
            login_failures.clone(),
        );
        registry.register(
            "login_throttled",
            "Sign-ins refused for too many recent failures",
            login_throttled.clone(),
        );
        registry.register(
            "messages",
            "Mail and SMS by channel and delivery outcome",
            messages.clone(),
        );
        registry.register(
            "sessions_live",
            "Unexpired, unrevoked sessions",
            sessions.clone(),
        );
        registry.register(
            "locks",
            "Locks by battery level (unknown until a phone reports it)",
            locks.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            errors,
            login_failures,
            login_throttled,
            messages,
            sessions,
            locks,
        }
    }

    /// One answered request.
    fn answered(&self, route: &str, method: &str, status: u16, seconds: f64, error: Option<&str>) {
        let (route, method) = (route.to_string(), method.to_string());
        self.requests
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method: method.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels { route, method })
            .observe(seconds);
        if let Some(code) = error {
            self.errors
                .get_or_create(&CodeLabels { code: code.into() })
                .inc();
            match code {
                access_domain::api::error_codes::INVALID_CREDENTIALS => {
                    self.login_failures.inc();
                }
                access_domain::api::error_codes::TOO_MANY_ATTEMPTS => {
                    self.login_throttled.inc();
                }
                _ => {}
            }
        }
    }

    /// One message handed to its channel (`sent`, `failed` or `outbox_only`).
    pub fn delivered(&self, channel: &str, outcome: &str) {
        self.messages
            .get_or_create(&MessageLabels {
                channel: channel.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The text format, with the store's figures of this moment.
    pub fn render(&self, gauges: &Gauges) -> String {
        self.sessions.set(gauges.live_sessions as i64);
        for (level, count) in [
            ("unknown", gauges.locks_battery_unknown),
            ("low", gauges.locks_battery_low),
            ("ok", gauges.locks_battery_ok),
        ] {
            self.locks
                .get_or_create(&BatteryLabels {
                    level: level.into(),
                })
                .set(count as i64);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Middleware: counts and times each answer under its route template (never the raw path,
/// whose ids would make a series per lock).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    metrics.answered(
        &route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
        code,
    );
    response
}

/// `GET /metrics` on the metrics listener.
pub async fn serve(State(state): State<AppState>) -> Response {
    let Some(metrics) = state.metrics.clone() else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let gauges = match state
        .db
        .run(|s| s.gauges(time::OffsetDateTime::now_utc()))
        .await
    {
        Ok(g) => g,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(&gauges),
    )
        .into_response()
}

/// The router of the metrics listener: `/metrics` only.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(serve))
        .with_state(state)
}
