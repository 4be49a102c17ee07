//! Helpers shared by the server's integration tests: a server (in-process or the real
//! binary), an HTTP client speaking the API, and the invitation -> registration flow.
#![allow(dead_code)]

pub mod paired;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use access_server::{RunningServer, ServerConfig, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An HTTP answer: status and JSON body (Null when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// The `error.code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// A client bound to one server.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

impl Api {
    pub fn new(base: impl Into<String>) -> Api {
        Api {
            base: base.into(),
            http: client(),
        }
    }

    /// Sends a request; `body` None sends no body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            headers,
        }
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Signs in; panics unless 201.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "login {email}: {:?}", a.body);
        a.body["token"].as_str().expect("token").to_string()
    }

    pub async fn admin(&self) -> String {
        self.login(TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD).await
    }

    /// The entries of a lock's log that the lock wrote, as the server holds them (read as
    /// `admin`).
    pub async fn lock_entries(&self, admin: &str, lock: &str) -> Vec<Value> {
        let logs = self
            .get(&format!("/api/v1/locks/{lock}/logs?limit=1000"), admin)
            .await;
        assert_eq!(logs.status, StatusCode::OK, "{:?}", logs.body);
        logs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["source"] == "lock")
            .cloned()
            .collect()
    }

    /// Creates a property with one unit per name; returns (property id, unit ids).
    pub async fn property(&self, admin: &str, name: &str, units: &[&str]) -> (String, Vec<String>) {
        let p = self
            .post("/api/v1/properties", admin, json!({"name": name}))
            .await;
        assert_eq!(p.status, StatusCode::CREATED, "{:?}", p.body);
        let pid = p.body["id"].as_str().unwrap().to_string();
        let mut ids = Vec::new();
        for u in units {
            let a = self
                .post(
                    &format!("/api/v1/properties/{pid}/units"),
                    admin,
                    json!({"name": u}),
                )
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
            ids.push(a.body["id"].as_str().unwrap().to_string());
        }
        (pid, ids)
    }

    pub async fn lock(&self, admin: &str, unit: &str, name: &str) -> String {
        let a = self
            .post(
                "/api/v1/locks",
                admin,
                json!({"unit_id": unit, "name": name}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }

    /// Newest outbox message to `to`.
    pub async fn last_message_to(&self, admin: &str, to: &str) -> Value {
        let a = self.get("/api/v1/outbox?limit=1000", admin).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == to)
            .cloned()
            .unwrap_or_else(|| panic!("no message to {to}"))
    }

    /// The invitation token in the newest mail to `email`.
    pub async fn invitation_token(&self, admin: &str, email: &str) -> String {
        let m = self.last_message_to(admin, email).await;
        token_in(m["body"].as_str().unwrap()).expect("token in mail")
    }

    /// The SMS code in the newest SMS to `phone`.
    pub async fn sms_code(&self, admin: &str, phone: &str) -> String {
        let m = self.last_message_to(admin, phone).await;
        six_digits(m["body"].as_str().unwrap()).expect("code in SMS")
    }

    /// Invites; returns the user id.
    pub async fn invite(&self, admin: &str, body: Value) -> String {
        let a = self.post("/api/v1/invitations", admin, body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        a.body["user_id"].as_str().unwrap().to_string()
    }

    /// Registers from the newest invitation to `invited_email` and verifies the SMS code;
    /// returns the session token.
    pub async fn register(
        &self,
        admin: &str,
        invited_email: &str,
        email: &str,
        phone: &str,
        password: &str,
    ) -> String {
        let token = self.invitation_token(admin, invited_email).await;
        let r = self
            .call(
                Method::POST,
                "/api/v1/registrations",
                None,
                Some(json!({"token": token, "email": email, "phone": phone,
                            "password": password, "name": format!("User {email}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let id = r.body["registration_id"].as_str().unwrap().to_string();
        let e164 = r.body["phone"].as_str().unwrap().to_string();
        let code = self.sms_code(admin, &e164).await;
        let v = self
            .call(
                Method::POST,
                &format!("/api/v1/registrations/{id}/verify"),
                None,
                Some(json!({"code": code})),
            )
            .await;
        assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
        v.body["token"].as_str().unwrap().to_string()
    }

    /// `PUT /api/v1/users/{user}/permissions` as `admin`.
    pub async fn set_permissions(&self, admin: &str, user: &str, permissions: Value) -> Answer {
        self.put(
            &format!("/api/v1/users/{user}/permissions"),
            admin,
            json!({ "permissions": permissions }),
        )
        .await
    }

    /// `POST /api/v1/users/{user}/revoke` as `admin`.
    pub async fn revoke(&self, admin: &str, user: &str) -> Answer {
        self.call(
            Method::POST,
            &format!("/api/v1/users/{user}/revoke"),
            Some(admin),
            None,
        )
        .await
    }

    /// Invites a team member with `permissions` and `access`, registers them and returns
    /// (user id, token).
    pub async fn team_member(
        &self,
        admin: &str,
        email: &str,
        permissions: Value,
        access: Value,
    ) -> (String, String) {
        let id = self
            .invite(
                admin,
                json!({"user_type": "team_member", "email": email,
                       "permissions": permissions, "access": access}),
            )
            .await;
        let phone = next_phone();
        let token = self
            .register(admin, email, email, &phone, "password-123")
            .await;
        (id, token)
    }
}

/// Sets a lock's identity key as a pairing phone does (the lock is then paired).
pub async fn pair_identity(api: &Api, admin: &str, lock: &str) {
    let secret = lock_protocol::session::StaticSecret::from(LOCK_STATIC_SECRET);
    let public = lock_protocol::session::static_public(&secret);
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, public);
    let a = api
        .put(
            &format!("/api/v1/locks/{lock}/identity"),
            admin,
            json!({"identity_public_key": key}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
}

/// The static secret of the lock [`pair_identity`] stands in for.
pub const LOCK_STATIC_SECRET: [u8; 32] = [9; 32];

/// The lock's latest door update as that lock opens it: what it seals (master code, code
/// secret) read as only the lock can.
pub async fn opened_door_update(
    api: &Api,
    token: &str,
    lock: &str,
) -> lock_protocol::door::PlainUpdate {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let u = api
        .get(&format!("/api/v1/locks/{lock}/door-update"), token)
        .await;
    assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
    let org = api.get("/api/v1/organization/public-key", token).await;
    let org_key = engine
        .decode(org.body["public_key"].as_str().unwrap())
        .unwrap();
    let bytes = engine
        .decode(u.body["updates"][0].as_str().unwrap())
        .unwrap();
    lock_protocol::door::open(
        &bytes,
        &org_key,
        uuid::Uuid::parse_str(lock).unwrap(),
        &LOCK_STATIC_SECRET,
        0,
    )
    .expect("the update opens with the lock's key")
}

/// A fresh valid `+1` phone number per call.
pub fn next_phone() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed) + std::process::id() % 1000 * 1000;
    format!("+1555{:07}", 2_000_000 + n % 7_000_000)
}

/// `token=...` in a text.
pub fn token_in(text: &str) -> Option<String> {
    let start = text.find("token=")? + "token=".len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

/// The first run of exactly six digits in a text.
pub fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(str::to_string)
}

/// An in-process server on a temp dir (or on ACCESS_TEST_DATABASE_URL when set).
pub struct TestServer {
    pub server: RunningServer,
    pub api: Api,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// The report key the server seals into `lock`'s door updates (what a lock that took
    /// one MACs its log pages and receipts with), derived as the server does.
    #[allow(dead_code)]
    pub async fn report_key(&self, token: &str, lock: &str) -> [u8; 32] {
        let me = self.api.get("/api/v1/me", token).await;
        let org = uuid::Uuid::parse_str(me.body["organization_id"].as_str().unwrap()).unwrap();
        // The store is synchronous (PostgreSQL's client blocks): off the async worker.
        let store = self.server.store();
        let key = tokio::task::spawn_blocking(move || store.organization_key(org))
            .await
            .unwrap()
            .unwrap();
        access_server::service::keys::report_key(
            &key.signing_key_pkcs8,
            uuid::Uuid::parse_str(lock).unwrap(),
        )
    }
}

/// One entry of a lock's log at 2027-01-15 plus `seq` seconds.
#[allow(dead_code)]
pub fn log_entry(
    seq: u64,
    actor: lock_protocol::command::Actor,
    via: lock_protocol::command::Via,
    event: lock_protocol::command::Event,
) -> lock_protocol::command::LogEntry {
    lock_protocol::command::LogEntry {
        seq,
        at: 1_800_000_000 + seq,
        actor,
        via,
        event,
    }
}

/// A page of `lock`'s log as a lock holding `key` sends it, in the upload's JSON shape.
#[allow(dead_code)]
pub fn log_page(key: &[u8; 32], lock: &str, entries: &[lock_protocol::command::LogEntry]) -> Value {
    use base64::Engine;
    let page = lock_protocol::report::LogPage::seal(
        Some(key),
        uuid::Uuid::parse_str(lock).unwrap(),
        entries,
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    json!({"entries": b64.encode(&page.entries), "mac": b64.encode(page.mac)})
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = ServerConfig::for_tests(dir.path().to_path_buf());
    tweak(&mut cfg);
    let server = access_server::start(cfg).await.expect("server starts");
    let api = Api::new(server.base_url());
    TestServer { server, api, dir }
}

/// The real `access-server` binary on a free port, with stdout captured for its address.
pub struct BinaryServer {
    pub child: Child,
    pub base: String,
}

impl BinaryServer {
    pub fn spawn(data_dir: &Path, envs: &[(&str, &str)]) -> BinaryServer {
        use std::io::{BufRead, BufReader};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_access-server"));
        cmd.env("ACCESS_LISTEN", "127.0.0.1:0")
            .env("ACCESS_DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // With ACCESS_TEST_DATABASE_URL set, the binary runs on PostgreSQL, in a schema of
        // its own for this data dir (the same one again after a restart).
        if let Some(url) = access_server::store::postgres::test_database_url(data_dir) {
            cmd.env("ACCESS_DATABASE_URL", url);
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn access-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut base = None;
        for line in lines.by_ref() {
            let line = line.expect("stdout line");
            if let Some(rest) = line.strip_prefix("access-server listening on ") {
                base = Some(rest.trim().to_string());
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        BinaryServer {
            child,
            base: base.expect("the server printed its address"),
        }
    }

    /// SIGTERM and wait (graceful shutdown).
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("wait")
    }

    /// SIGKILL and wait.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for BinaryServer {
    /// A failing test must not leave its server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
