//! Server configuration: what the binary reads from flags and the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::secrets::PasswordCost;

/// How a server instance runs.
///
/// ```
/// let cfg = access_server::ServerConfig::for_tests("/tmp/x".into());
/// assert_eq!(cfg.listen.port(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Address of `GET /metrics` (Prometheus); `None`: no metrics at all. Never the public
    /// address: bind it where only the monitoring system reaches it.
    pub metrics_listen: Option<SocketAddr>,
    /// Directory of the SQLite file.
    pub data_dir: PathBuf,
    /// Another store (e.g. `postgres://...`); `None` is SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// The first administrator, created on the first start.
    pub admin_email: Option<String>,
    /// Generated and printed once when absent on the first start.
    pub admin_password: Option<String>,
    /// `smtp://host:port` (or `smtps://`): invitations go out over SMTP too.
    pub smtp_url: Option<String>,
    /// SMS gateway: each SMS is POSTed there as `{"to","body"}`.
    pub sms_webhook_url: Option<String>,
    /// Most verification SMS sent per hour over all registrations.
    pub sms_per_hour: u64,
    /// Base of invitation links (`{public_url}/invite?token=...`); empty: this server's URL.
    pub public_url: String,
    /// Lifetime of signed BLE credentials.
    pub credential_lifetime: Duration,
    /// Lifetime of a session token.
    pub session_lifetime: Duration,
    /// Name of the organization created on the first start.
    pub organization_name: String,
    /// Sender of invitation mail.
    pub mail_from: String,
    /// argon2id cost for new password hashes.
    pub password_cost: PasswordCost,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// The Apple team id of the iOS apps' signature: with it the server serves
    /// `/.well-known/apple-app-site-association`, so each app opens its own invitation links.
    pub apple_team_id: Option<String>,
    /// SHA-256 fingerprints of the Android apps' signing certificate: with them the server
    /// serves `/.well-known/assetlinks.json` (verified Android App Links).
    pub android_cert_sha256: Vec<String>,
}

impl ServerConfig {
    /// The directory of the SQLite store: `data_dir`, or the one `sqlite://DIR` names;
    /// `None` when the store is another database.
    pub fn sqlite_dir(&self) -> Option<&Path> {
        match self.database_url.as_deref() {
            None => Some(&self.data_dir),
            Some(url) => url.strip_prefix("sqlite://").map(Path::new),
        }
    }

    /// Defaults of the binary: `127.0.0.1:8080`, data in `./data`.
    pub fn new(data_dir: PathBuf) -> Self {
        ServerConfig {
            metrics_listen: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir,
            database_url: None,
            admin_email: None,
            admin_password: None,
            smtp_url: None,
            sms_webhook_url: None,
            sms_per_hour: 200,
            public_url: String::new(),
            credential_lifetime: Duration::from_secs(24 * 3600),
            session_lifetime: Duration::from_secs(30 * 24 * 3600),
            organization_name: "My organization".into(),
            mail_from: "Access <no-reply@access.invalid>".into(),
            password_cost: PasswordCost::default(),
            body_limit: 64 * 1024,
            apple_team_id: None,
            android_cert_sha256: Vec::new(),
        }
    }

    /// For tests: any free port on 127.0.0.1, a known administrator, cheap password hashing
    /// (still argon2id), database from `ACCESS_TEST_DATABASE_URL` when set.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        ServerConfig {
            metrics_listen: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: crate::store::postgres::test_database_url(&data_dir),
            admin_email: Some(TEST_ADMIN_EMAIL.into()),
            admin_password: Some(TEST_ADMIN_PASSWORD.into()),
            password_cost: PasswordCost {
                memory_kib: 256,
                passes: 1,
            },
            ..ServerConfig::new(data_dir)
        }
    }
}

/// Administrator of [`ServerConfig::for_tests`].
pub const TEST_ADMIN_EMAIL: &str = "admin@example.test";
/// Password of [`ServerConfig::for_tests`]'s administrator.
pub const TEST_ADMIN_PASSWORD: &str = "correct-horse-battery";
