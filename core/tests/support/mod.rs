//! Shared by the core's integration tests: the helpers of `access-test-support` (the real
//! server in-process, the administrator over HTTP, registration through the core), a
//! counting TCP proxy in front of the server (to prove what reached it and to cut the
//! network), devices, and a site of two units with locks.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use access_core::AccessClient;
use access_domain::App;
// Each test binary uses its own part of these.
#[allow(unused_imports)]
pub use access_test_support::{Admin, Server, all_permissions, app_for, id, open, register, units};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

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
    let dev = Device::new(server_url, app_for(user_type));
    register(admin, &dev.client, email, phone, "Pat Doe").await;
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
