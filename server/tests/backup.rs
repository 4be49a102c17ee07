//! Online backup and restore of the SQLite store: a backup taken while writers run holds
//! every write committed before it began, and what it holds of the writes it overlapped is
//! one consistent moment (each writer's writes up to some point, none missing before it).

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Api, BinaryServer};
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Mutex;

const WRITERS: usize = 4;

/// Writers that create properties named `w{writer}-{n}` until stopped; each keeps the
/// names the server acknowledged, in order.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Vec<Arc<Mutex<Vec<String>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(api: &Api, token: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let mut acked = Vec::new();
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (api, token, stop) = (api.clone(), token.to_string(), stop.clone());
            let mine = Arc::new(Mutex::new(Vec::new()));
            acked.push(mine.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("w{w}-{n}");
                    let a = api
                        .post("/api/v1/properties", &token, json!({ "name": name }))
                        .await;
                    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
                    mine.lock().await.push(name);
                    n += 1;
                }
            }));
        }
        Load { stop, acked, tasks }
    }

    /// How many writes each writer has had acknowledged so far.
    async fn counts(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for a in &self.acked {
            out.push(a.lock().await.len());
        }
        out
    }

    async fn wait_for(&self, per_writer: usize) {
        while self.counts().await.iter().any(|&n| n < per_writer) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) -> Vec<Vec<String>> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        let mut out = Vec::new();
        for a in self.acked {
            out.push(a.lock().await.clone());
        }
        out
    }
}

/// The property names a server holds.
async fn names(api: &Api, token: &str) -> HashSet<String> {
    let a = api.get("/api/v1/properties", token).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// Every write acknowledged before the backup began is there; of each writer's later
/// writes, the backup holds a prefix (a consistent moment, never a gap).
fn check_restored(found: &HashSet<String>, acked: &[Vec<String>], before: &[usize]) {
    for (w, writes) in acked.iter().enumerate() {
        let held = writes.iter().take_while(|n| found.contains(*n)).count();
        assert!(
            held >= before[w],
            "writer {w}: {held} writes restored, {} were committed before the backup",
            before[w]
        );
        let stray = writes[held..].iter().filter(|n| found.contains(*n)).count();
        assert_eq!(stray, 0, "writer {w}: a later write without an earlier one");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_write_load_restores_every_committed_write() {
    let live = common::start_with(|c| c.database_url = None).await;
    let admin = live.api.admin().await;
    let load = Load::start(&live.api, &admin);
    load.wait_for(20).await;

    let before = load.counts().await;
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("live.db");
    let (data_dir, file) = (live.dir.path().to_path_buf(), dest.clone());
    let copy = tokio::task::spawn_blocking(move || {
        access_server::store::sqlite::backup::backup(&data_dir, &file, |_, _| {})
    })
    .await
    .unwrap()
    .unwrap();
    // The writers kept going during the backup and go on after it.
    let during = load.counts().await;
    load.wait_for(during.iter().max().unwrap() + 5).await;
    let acked = load.stop().await;
    assert!(copy.bytes > 0);

    let fresh = out.path().join("restored");
    access_server::store::sqlite::backup::restore(&dest, &fresh).unwrap();
    let mut cfg = access_server::ServerConfig::for_tests(fresh);
    cfg.database_url = None;
    let restored = access_server::start(cfg).await.unwrap();
    let api = Api::new(restored.base_url());
    let found = names(&api, &api.admin().await).await;
    check_restored(&found, &acked, &before);
    // Writes after the backup ended are not in it.
    let last: Vec<&String> = acked.iter().map(|w| w.last().unwrap()).collect();
    assert!(last.iter().any(|n| !found.contains(*n)));
}

/// The binary on SQLite (even under the PostgreSQL suite: backup is the SQLite path), with
/// the test administrator.
fn on_sqlite() -> [(&'static str, &'static str); 3] {
    [
        ("ACCESS_DATABASE_URL", ""),
        ("ACCESS_ADMIN_EMAIL", access_server::TEST_ADMIN_EMAIL),
        ("ACCESS_ADMIN_PASSWORD", access_server::TEST_ADMIN_PASSWORD),
    ]
}

fn server_cli(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_access-server"))
        .env_remove("ACCESS_DATABASE_URL")
        .env("ACCESS_DATA_DIR", data_dir)
        .args(args)
        .output()
        .expect("run access-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_binary_backs_up_while_serving_and_restores_into_a_new_directory() {
    let out = tempfile::tempdir().unwrap();
    let live_dir = out.path().join("live");
    let live = BinaryServer::spawn(&live_dir, &on_sqlite());
    let api = Api::new(live.base.clone());
    let admin = api.admin().await;
    let load = Load::start(&api, &admin);
    load.wait_for(10).await;
    let before = load.counts().await;

    let dest = out.path().join("nightly.db");
    let dest_arg = dest.to_str().unwrap().to_string();
    let dir = live_dir.clone();
    let run = tokio::task::spawn_blocking(move || server_cli(&dir, &["backup", &dest_arg]))
        .await
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        said.contains("backed up to") && said.contains("schema version"),
        "{said}"
    );
    let acked = load.stop().await;
    live.stop();

    // A second backup to the same name is refused, the first stays whole.
    let again = server_cli(&live_dir, &["backup", dest.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    let fresh = out.path().join("restored");
    let run = server_cli(&fresh, &["restore", dest.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Restoring over a database is refused.
    let over = server_cli(&fresh, &["restore", dest.to_str().unwrap()]);
    assert!(!over.status.success());
    assert!(String::from_utf8_lossy(&over.stderr).contains("already holds a database"));

    let restored = BinaryServer::spawn(&fresh, &on_sqlite());
    let api = Api::new(restored.base.clone());
    let found = names(&api, &api.admin().await).await;
    check_restored(&found, &acked, &before);
    restored.stop();
}

#[test]
#[allow(clippy::disallowed_methods, reason = "one write on a copy")]
fn a_backup_of_a_newer_schema_is_refused_with_a_clear_message() {
    let out = tempfile::tempdir().unwrap();
    let live = out.path().join("live");
    drop(access_server::store::sqlite::SqliteStore::open(&live).unwrap());
    let dest = out.path().join("b.db");
    assert!(
        server_cli(&live, &["backup", dest.to_str().unwrap()])
            .status
            .success()
    );
    rusqlite::Connection::open(&dest)
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
            [],
        )
        .unwrap();
    let run = server_cli(
        &out.path().join("new"),
        &["restore", dest.to_str().unwrap()],
    );
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("schema version 999") && err.contains("newer"),
        "{err}"
    );
}
