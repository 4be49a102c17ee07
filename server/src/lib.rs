//! `access-server`: the platform behind the desktop "Manage Access" page and both apps.
//!
//! Start one in-process (tests, tools) with [`start`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), access_server::StartError> {
//! let dir = std::env::temp_dir().join("access-demo");
//! let server = access_server::start(access_server::ServerConfig::for_tests(dir)).await?;
//! println!("listening on {}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod bootstrap;
pub mod config;
pub mod error;
pub mod idempotency;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod request_id;
pub mod secrets;
pub mod service;
pub mod store;
pub mod validate;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{ServerConfig, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD};
use store::{Db, Store, StoreError};

/// Shared by every handler; holds no user state (that is all in the store). Fields read
/// through [`Shared`]: `state.db`, `state.config`.
///
/// One `Arc`: axum clones the state for every request, and one reference count touched by
/// both cores is cheaper than one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds.
pub struct Shared {
    pub db: Db,
    pub config: Arc<ServerConfig>,
    pub mailer: Option<Arc<notify::Mailer>>,
    pub sms: Option<Arc<notify::SmsGateway>>,
    /// Base of invitation links, without a trailing slash.
    pub public_url: Arc<str>,
    /// Counters and histograms of `/metrics`; `None` when metrics are off.
    pub metrics: Option<Arc<metrics::Metrics>>,
    /// A password hash of the configured cost, checked when a sign-in names no account, so
    /// unknown emails take the same work as known ones and timing does not tell them apart.
    pub dummy_password_hash: String,
    /// `/me` answers already written (see [`api::auth::MeAnswers`]).
    pub me_answers: api::auth::MeAnswers,
}

impl AppState {
    /// The state of one server.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("configuration: {0}")]
    Config(String),
}

/// Opens the store the configuration names.
pub fn open_store(config: &ServerConfig) -> Result<Arc<dyn Store>, StartError> {
    if let Some(dir) = config.sqlite_dir() {
        return Ok(Arc::new(store::sqlite::SqliteStore::open(dir)?));
    }
    let url = config.database_url.as_deref().unwrap_or_default();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(store::postgres::PostgresStore::open(url)?));
    }
    Err(StartError::Config(format!(
        "unsupported ACCESS_DATABASE_URL {:?}: use postgres://... or sqlite://DIR",
        url.split('@').next_back().unwrap_or("")
    )))
}

/// The whole HTTP application: API, health check, and the web page's routes.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    // Layers built into stacks, outermost first. Axum boxes each route anew for every
    // `Router::layer` call, and every box is a clone and an allocation per request: five
    // separate calls cost `/me` ~0.8 us more than one (the bench's in-process figures).
    // Every route: the request id, and a panic answered as a 500 with it.
    let outer = request_id::RequestIdLayer;
    // Every route but the lean ones (`api::Endpoint::lean`), inside those.
    let inner = tower::ServiceBuilder::new()
        .layer(tower_http::compression::CompressionLayer::new().compress_when(compress_when()))
        .layer(DefaultBodyLimit::max(limit))
        .layer(idempotency::IdempotencyLayer::new(state.clone()));
    let (api_routes, lean_routes) = api::routes();
    let full = api_routes
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(inner);
    let lean = lean_routes.method_not_allowed_fallback(api::method_not_allowed);
    let mut routes = full.merge(lean).layer(outer);
    // Counted only when metrics are on: off, no request pays for the layer.
    if let Some(metrics) = state.metrics.clone() {
        routes = routes.layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ));
    }
    let links = web::app_links(
        state.config.apple_team_id.as_deref(),
        &state.config.android_cert_sha256,
    );
    routes.with_state(state).merge(web::router()).merge(links)
}

/// Which answers get gzip: the default rule (no images, gRPC or event streams), and only
/// bodies over 1 KiB. Below that, gzip saves a few hundred bytes of one TCP segment but sets
/// up a fresh deflate state per answer, which costs more than `/me` itself.
fn compress_when() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
    DefaultPredicate::new().and(SizeAbove::new(1024))
}

/// A server started by [`start`].
pub struct RunningServer {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// The bound address (the real port when the config said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of `/metrics`, when `metrics_listen` is configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The store, for tests (e.g. to create a second organization). Not reachable over HTTP.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Stops accepting, lets running requests finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (after a signal passed to [`start_with_shutdown`]).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Opens the store, bootstraps the first organization, binds and serves.
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    start_with_shutdown(config, std::future::pending()).await
}

/// Like [`start`], also stopping gracefully when `signal` completes.
pub async fn start_with_shutdown(
    config: ServerConfig,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<RunningServer, StartError> {
    // reqwest is built on rustls without a default provider: use ring's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cfg = config.clone();
    let store = tokio::task::spawn_blocking(move || open_store(&cfg))
        .await
        .map_err(|e| StartError::Config(e.to_string()))??;
    let db = Db::new(store.clone());
    bootstrap::first_start(&db, &config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let public_url = if config.public_url.is_empty() {
        format!("http://{addr}")
    } else {
        config.public_url.trim_end_matches('/').to_string()
    };
    let metrics_listener = match config.metrics_listen {
        Some(at) => {
            let listen_error = |source| StartError::Listen { addr: at, source };
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .map_err(listen_error)?;
            let bound = listener.local_addr().map_err(listen_error)?;
            Some((listener, bound))
        }
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().map(|(_, bound)| *bound);
    let mailer = config
        .smtp_url
        .as_deref()
        .map(|u| notify::Mailer::new(u, &config.mail_from).map(Arc::new))
        .transpose()
        .map_err(StartError::Config)?;
    let sms = config
        .sms_webhook_url
        .as_deref()
        .map(|u| notify::SmsGateway::new(u).map(Arc::new))
        .transpose()
        .map_err(StartError::Config)?;
    let dummy_password_hash = secrets::dummy_password_hash(config.password_cost)
        .map_err(|e| StartError::Config(format!("invalid password cost: {e}")))?;
    let state = AppState::new(Shared {
        dummy_password_hash,
        db,
        config: Arc::new(config),
        mailer,
        sms,
        public_url: public_url.into(),
        metrics: metrics_addr.map(|_| Arc::new(metrics::Metrics::new())),
        me_answers: Default::default(),
    });
    // The metrics listener lives as long as the server's own.
    let metrics_task = metrics_listener.map(|(listener, _)| {
        let app = metrics::router(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        })
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            tokio::select! {
                _ = stopped => {}
                _ = signal => {}
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "server stopped with an error");
        }
        if let Some(metrics) = metrics_task {
            metrics.abort();
        }
    });
    tracing::info!(%addr, backend = store.backend(), "access-server listening");
    Ok(RunningServer {
        addr,
        metrics_addr,
        store,
        stop: Some(stop),
        task,
    })
}
