//! Shared by the integration tests: the real server in-process, a counting TCP proxy in
//! front of it (to prove what reached the server and to cut the network), an admin client
//! over HTTP, and the registration of users through the core.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use access_core::{AccessClient, ClientConfig, file_secret_store};
use access_domain::App;
use access_server::{RunningServer, ServerConfig};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// The server on a random port with a temp data directory; restartable on the same data.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub running: Option<RunningServer>,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let running = access_server::start(ServerConfig::for_tests(dir.path().join("server")))
            .await
            .expect("server starts");
        Server {
            dir,
            running: Some(running),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.as_ref().expect("running").addr()
    }

    pub fn base_url(&self) -> String {
        self.running.as_ref().expect("running").base_url()
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// Starts again on the same data (a new port).
    pub async fn restart(&mut self) {
        self.stop().await;
        let running = access_server::start(ServerConfig::for_tests(self.dir.path().join("server")))
            .await
            .expect("server restarts");
        self.running = Some(running);
    }
}

/// A TCP proxy that counts bytes each way and can be cut ("no network").
pub struct Proxy {
    pub addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    pub up_bytes: Arc<AtomicU64>,
    pub down_bytes: Arc<AtomicU64>,
    pub connections: Arc<AtomicU64>,
    /// HTTP/1.1 request lines seen going to the server.
    pub requests: Arc<AtomicU64>,
    down: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_connections();
    }
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = Arc::new(Mutex::new(target));
        let up_bytes = Arc::new(AtomicU64::new(0));
        let down_bytes = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(Vec::new()));
        let rq = requests.clone();
        let (t, u, d, c, dn, l) = (
            target.clone(),
            up_bytes.clone(),
            down_bytes.clone(),
            connections.clone(),
            down.clone(),
            live.clone(),
        );
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if dn.load(Ordering::SeqCst) {
                    drop(client); // refused: the network is "off"
                    continue;
                }
                c.fetch_add(1, Ordering::SeqCst);
                let target = *t.lock().unwrap();
                let (u, d, rq) = (u.clone(), d.clone(), rq.clone());
                let task = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let _ = copy_counting(&mut cr, &mut sw, &u, Some(&rq)).await;
                        let _ = sw.shutdown().await;
                    };
                    let downf = async {
                        let _ = copy_counting(&mut sr, &mut cw, &d, None).await;
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(up, downf);
                });
                l.lock().unwrap().push(task.abort_handle());
            }
        })
        .abort_handle();
        Proxy {
            addr,
            target,
            up_bytes,
            down_bytes,
            connections,
            requests,
            down,
            live,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes sent by clients towards the server so far.
    pub fn sent(&self) -> u64 {
        self.up_bytes.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> u64 {
        self.down_bytes.load(Ordering::SeqCst)
    }

    fn cut_connections(&self) {
        for h in self.live.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    /// Cuts the network: open connections drop, new ones are closed at once.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            self.cut_connections();
        }
    }

    pub fn retarget(&self, to: SocketAddr) {
        *self.target.lock().unwrap() = to;
        self.cut_connections();
    }
}

async fn copy_counting(
    r: &mut tokio::net::tcp::OwnedReadHalf,
    w: &mut tokio::net::tcp::OwnedWriteHalf,
    n: &AtomicU64,
    requests: Option<&AtomicU64>,
) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let k = r.read(&mut buf).await?;
        if k == 0 {
            return Ok(());
        }
        n.fetch_add(k as u64, Ordering::SeqCst);
        if let Some(r) = requests {
            let lines = buf[..k].windows(10).filter(|w| w == b" HTTP/1.1\r").count();
            r.fetch_add(lines as u64, Ordering::SeqCst);
        }
        w.write_all(&buf[..k]).await?;
    }
}

/// The administrator, over plain HTTP (as the web page would).
pub struct Admin {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
}

fn ensure_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Admin {
    pub async fn login(base: &str) -> Admin {
        ensure_crypto();
        let http = reqwest::Client::new();
        let r: Value = http
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"email": access_server::TEST_ADMIN_EMAIL, "password": access_server::TEST_ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Admin {
            base: base.to_string(),
            http,
            token: r["token"].as_str().expect("admin token").to_string(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method.clone(), path, body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.ok(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.ok(reqwest::Method::GET, path, None).await
    }

    pub async fn property(&self, name: &str) -> String {
        id(&self.post("/api/v1/properties", json!({"name": name})).await)
    }

    pub async fn unit(&self, property: &str, name: &str) -> String {
        id(&self
            .post(
                &format!("/api/v1/properties/{property}/units"),
                json!({"name": name}),
            )
            .await)
    }

    pub async fn lock(&self, unit: &str, name: &str) -> String {
        id(&self
            .post("/api/v1/locks", json!({"unit_id": unit, "name": name}))
            .await)
    }

    /// Invites; returns the user id.
    pub async fn invite(
        &self,
        user_type: &str,
        email: &str,
        permissions: &[&str],
        access: Value,
    ) -> String {
        let v = self
            .post(
                "/api/v1/invitations",
                json!({"user_type": user_type, "email": email, "permissions": permissions, "access": access}),
            )
            .await;
        v["user_id"].as_str().expect("user_id").to_string()
    }

    async fn outbox(&self) -> Vec<Value> {
        let v = self.get("/api/v1/outbox?limit=1000").await;
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// The invitation link in the newest mail to `email`.
    pub async fn invitation_link(&self, email: &str) -> String {
        let mail = self
            .outbox()
            .await
            .into_iter()
            .find(|m| m["channel"] == "email" && m["to"] == email)
            .unwrap_or_else(|| panic!("no mail to {email}"));
        let body = mail["body"].as_str().unwrap();
        let start = body.find("http").expect("a link in the mail");
        body[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches(['.', ')', '>'])
            .to_string()
    }

    /// The 6-digit code of the newest SMS to `phone`.
    pub async fn sms_code(&self, phone: &str) -> String {
        let sms = self
            .outbox()
            .await
            .into_iter()
            .find(|m| m["channel"] == "sms" && m["to"] == phone)
            .unwrap_or_else(|| panic!("no SMS to {phone}"));
        let body = sms["body"].as_str().unwrap();
        let digits: Vec<char> = body.chars().collect();
        for w in digits.windows(6) {
            if w.iter().all(|c| c.is_ascii_digit()) {
                return w.iter().collect();
            }
        }
        panic!("no code in {body:?}")
    }

    pub async fn set_permissions(&self, user: &str, permissions: &[&str]) {
        self.ok(
            reqwest::Method::PUT,
            &format!("/api/v1/users/{user}/permissions"),
            Some(json!({"permissions": permissions})),
        )
        .await;
    }

    pub async fn revoke(&self, user: &str) {
        self.post(&format!("/api/v1/users/{user}/revoke"), json!({}))
            .await;
    }

    /// The server's audit entries of `action` on a lock.
    pub async fn log_actions(&self, lock: &str, action: &str) -> Vec<Value> {
        let v = self
            .get(&format!("/api/v1/locks/{lock}/logs?limit=1000"))
            .await;
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .cloned()
            .collect()
    }
}

pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// A device: a core client with its own data directory.
pub struct Device {
    pub dir: tempfile::TempDir,
    pub client: Arc<AccessClient>,
}

impl Device {
    pub fn new(server_url: &str, app: App) -> Device {
        Device::with_timeout(server_url, app, None)
    }

    pub fn with_timeout(server_url: &str, app: App, timeout_ms: Option<u32>) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let client = open(dir.path().to_path_buf(), server_url, app, timeout_ms);
        Device { dir, client }
    }

    pub fn secrets_path(&self) -> PathBuf {
        self.dir.path().join("secrets.json")
    }
}

pub fn open(
    dir: PathBuf,
    server_url: &str,
    app: App,
    timeout_ms: Option<u32>,
) -> Arc<AccessClient> {
    AccessClient::new(
        ClientConfig {
            server_url: server_url.into(),
            data_dir: dir.display().to_string(),
            app,
            request_timeout_ms: timeout_ms,
        },
        file_secret_store(dir.join("secrets.json").display().to_string()),
        None,
    )
    .expect("client opens")
}

/// Invites and registers a user through the core; returns (user id, device).
pub async fn onboard(
    admin: &Admin,
    server_url: &str,
    user_type: &str,
    email: &str,
    phone: &str,
    permissions: &[&str],
    access: Value,
) -> (String, Device) {
    let user = admin.invite(user_type, email, permissions, access).await;
    let link = admin.invitation_link(email).await;
    let app = if user_type == "resident" {
        App::NokeyResident
    } else {
        App::AccessManager
    };
    let dev = Device::new(server_url, app);
    let reg = dev
        .client
        .register_from_invitation(
            link,
            email.into(),
            phone.into(),
            "pw-123456789".into(),
            "Pat Doe".into(),
        )
        .await
        .expect("registration starts");
    let normalized = access_domain::normalize_phone(phone).unwrap();
    let code = admin.sms_code(&normalized).await;
    dev.client.verify_sms(reg, code).await.expect("verified");
    (user, dev)
}

/// A property with two units and locks: (unit a, unit b, locks of a, locks of b).
pub struct Site {
    pub property: String,
    pub unit_a: String,
    pub unit_b: String,
    pub lock_a: String,
    pub lock_a2: String,
    pub lock_b: String,
}

pub async fn site(admin: &Admin) -> Site {
    let property = admin.property("Oakwood Apartments").await;
    let unit_a = admin.unit(&property, "Unit 4B").await;
    let unit_b = admin.unit(&property, "Unit 12").await;
    let lock_a = admin.lock(&unit_a, "Front Door").await;
    let lock_a2 = admin.lock(&unit_a, "Patio").await;
    let lock_b = admin.lock(&unit_b, "Garage").await;
    Site {
        property,
        unit_a,
        unit_b,
        lock_a,
        lock_a2,
        lock_b,
    }
}

pub fn units(ids: &[&str]) -> Value {
    json!({"type": "units", "unit_ids": ids})
}
