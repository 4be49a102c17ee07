//! The durability promise of the offline queue, tested with real processes: `access`
//! children enqueue and replay actions and are SIGKILLed at random moments, many times.
//! Afterwards every action the queue ever held reached the server exactly once, and every
//! child that reported an action has it in the queue.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use access_server::{ServerConfig, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_access");

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: enough to scatter kill times; the seed is printed for reruns.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Admin {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Admin {
    async fn req(&self, m: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.req(reqwest::Method::POST, path, Some(body)).await
    }
    async fn get(&self, path: &str) -> Value {
        self.req(reqwest::Method::GET, path, None).await
    }
}

fn access(home: &Path, url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("ACCESS_HOME", home)
        .env("ACCESS_SERVER_URL", url)
        .env("ACCESS_PASSWORD", "pw-123456789")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run_ok(home: &Path, url: &str, args: &[&str]) -> String {
    let out = access(home, url, args).output().unwrap();
    assert!(
        out.status.success(),
        "access {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_loses_and_duplicates_no_queued_action() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let server = access_server::start(ServerConfig::for_tests(dir.path().join("server")))
        .await
        .unwrap();
    let url = server.base_url();
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{url}/api/v1/sessions"))
        .json(&json!({"email": TEST_ADMIN_EMAIL, "password": TEST_ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = Admin {
        base: url.clone(),
        http,
        token: login["token"].as_str().unwrap().into(),
    };
    let prop = admin
        .post("/api/v1/properties", json!({"name": "Elm Court"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let unit = admin
        .post(
            &format!("/api/v1/properties/{prop}/units"),
            json!({"name": "7A"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lock = admin
        .post("/api/v1/locks", json!({"unit_id": unit, "name": "Main"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    admin
        .post(
            "/api/v1/invitations",
            json!({"user_type": "team_member", "email": "k@x.example",
                   "permissions": ["rename_locks", "change_modes", "give_access"],
                   "access": {"type": "units", "unit_ids": [unit]}}),
        )
        .await;

    // Register through the CLI, with the link and SMS code from the outbox.
    let outbox = admin.get("/api/v1/outbox").await;
    let mail = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "email")
        .unwrap()
        .clone();
    let body = mail["body"].as_str().unwrap();
    let link = body[body[..body.find("token=").unwrap()].rfind("http").unwrap()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let home = dir.path().join("device");
    let reg = run_ok(
        &home,
        &url,
        &[
            "register",
            "--invitation",
            &link,
            "--email",
            "k@x.example",
            "--phone",
            "+1 555 123 9999",
            "--name",
            "Kim",
            "--username",
            "kim",
        ],
    );
    let outbox = admin.get("/api/v1/outbox").await;
    let sms = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "sms")
        .unwrap()
        .clone();
    let code = sms["body"]
        .as_str()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .expect("a 6-digit code")
        .to_string();
    run_ok(&home, &url, &["verify", reg.trim(), &code]);
    run_ok(&home, &url, &["sync"]);

    // How long an un-killed action takes here, the slowest of three (a loaded machine varies
    // run to run): kill times spread over 0..1.5x that, so some children finish.
    let slowest = (0..3)
        .map(|i| {
            let t = Instant::now();
            run_ok(&home, &url, &["rename", &lock, &format!("calibration {i}")]);
            t.elapsed().as_micros() as u64
        })
        .max()
        .unwrap_or_default();
    let span = (slowest * 3 / 2).max(1000);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("kill test seed {seed}, kill times within {span} us");
    let mut rng = Rng(seed);
    let mut reported = Vec::new(); // actions a child confirmed before dying or exiting
    let mut killed = 0;
    const ROUNDS: usize = 100;
    for i in 0..ROUNDS {
        let (args, tag): (Vec<String>, Option<String>) = match rng.below(4) {
            0 => (
                vec!["rename".into(), lock.clone(), format!("k-{i}")],
                Some(format!("rename k-{i}")),
            ),
            1 => (
                vec![
                    "mode".into(),
                    lock.clone(),
                    ["vacant", "tour", "maintenance"][i % 3].into(),
                ],
                None,
            ),
            2 => (
                vec![
                    "give-access".into(),
                    lock.clone(),
                    "--kind".into(),
                    "permanent".into(),
                    "--label".into(),
                    format!("g-{i}"),
                ],
                Some(format!("give g-{i}")),
            ),
            _ => (vec!["queue".into(), "replay".into()], None),
        };
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = access(&home, &url, &argv).spawn().unwrap();
        let delay = Duration::from_micros(rng.below(span));
        let start = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if start.elapsed() >= delay {
                child.kill().unwrap(); // SIGKILL
                killed += 1;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if let Some(tag) = tag
            && (stdout.contains("done") || stdout.contains("queued") || stdout.contains("code"))
        {
            reported.push(tag);
        }
    }
    println!(
        "{killed} of {ROUNDS} children killed; {} reported their action",
        reported.len()
    );
    assert!(
        killed >= ROUNDS / 4,
        "too few kills ({killed}) to test anything"
    );
    assert!(
        !reported.is_empty(),
        "no child ever finished: the kill window is too short"
    );

    // Replay to the end; a key whose request died mid-flight is held by the server for up to
    // a minute, so keep trying until nothing is pending.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = run_ok(&home, &url, &["queue", "replay"]);
        if out.contains("pending: 0") {
            assert!(out.contains("failed: 0"), "{out}");
            break;
        }
        assert!(Instant::now() < deadline, "queue never drained: {out}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // What the queue held, from its SQLite file.
    let db = rusqlite::Connection::open(home.join("access-cache.sqlite")).unwrap();
    let mut st = db
        .prepare("SELECT action, state FROM queue ORDER BY seq")
        .unwrap();
    let rows: Vec<(Value, String)> = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|r| {
            let (a, s) = r.unwrap();
            (serde_json::from_str(&a).unwrap(), s)
        })
        .collect();
    assert!(rows.iter().all(|(_, s)| s == "done"), "{rows:?}");
    let mut queued: BTreeMap<String, usize> = BTreeMap::new();
    let mut modes_queued = 0;
    for (a, _) in &rows {
        match a["kind"].as_str().unwrap() {
            "rename"
                if a["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("calibration")) => {}
            "rename" => {
                *queued
                    .entry(format!("rename {}", a["name"].as_str().unwrap()))
                    .or_default() += 1
            }
            "give_access" => {
                *queued
                    .entry(format!("give {}", a["request"]["label"].as_str().unwrap()))
                    .or_default() += 1
            }
            _ => modes_queued += 1,
        }
    }
    // Lost none: every action a child reported is in the queue, once.
    for tag in &reported {
        assert_eq!(
            queued.get(tag),
            Some(&1),
            "{tag} reported but not queued once"
        );
    }

    // Duplicated none: the server saw each queued action exactly once.
    let logs = admin
        .get(&format!("/api/v1/locks/{lock}/logs?limit=1000"))
        .await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut modes_seen = 0;
    for e in logs["items"].as_array().unwrap() {
        match e["action"].as_str().unwrap() {
            "rename" => {
                let d = e["detail"].as_str().unwrap();
                let new = d.rsplit("-> ").next().unwrap().trim_matches('"');
                if new.starts_with("calibration") {
                    continue;
                }
                *seen.entry(format!("rename {new}")).or_default() += 1;
            }
            "mode_change" => modes_seen += 1,
            _ => {}
        }
    }
    let codes = admin
        .get(&format!("/api/v1/locks/{lock}/access-codes?limit=1000"))
        .await;
    for c in codes["items"].as_array().unwrap() {
        if let Some(l) = c["label"].as_str() {
            *seen.entry(format!("give {l}")).or_default() += 1;
        }
    }
    assert_eq!(seen, queued, "server effects differ from the queue");
    assert_eq!(modes_seen, modes_queued, "mode changes: server vs queue");
    println!("{} actions queued, all applied exactly once", rows.len());
    server.shutdown().await;
}
