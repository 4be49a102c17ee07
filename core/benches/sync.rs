//! Benchmarks of the core against the real server, printed as figures (run on demand):
//!
//! ```text
//! cargo bench -p access-core --bench sync
//! ```
//!
//! - full sync of 10,000 locks into an empty cache vs the floor for the same rows measured in
//!   the same run (serialize + parse + insert in one transaction of the same lock and
//!   passcode rows into tables of the same shape without any search index), and the
//!   cache's own insert (index built) beside it,
//! - the server's answer time for that sync (request to last byte),
//! - peak memory of a process that signs in and runs that sync (a child process),
//! - bytes on the wire (compressed) vs the JSON size,
//! - an incremental sync with nothing new (requests and bytes),
//! - search median among the 10,000 cached locks (in-memory index) (and a LIKE scan for comparison),
//! - cost of one exported call (cached lock lookup) from Rust.
//!
//! The server runs in a child process (this binary with `--serve`), so the figures of the
//! core are not mixed with the server's work or memory.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use access_core::cache::{self, Store};
use access_domain::App;
use access_domain::api::SyncResponse;
use serde_json::json;
use support::{Admin, Device, Proxy};

const LOCKS: usize = 10_000;
const PROPERTIES: usize = 20;
const UNITS_PER_PROPERTY: usize = 50;
const EMAIL: &str = "bench@x.example";
const PASSWORD: &str = "pw-123456789";

const PLACES: [&str; 10] = [
    "Front", "Back", "Garage", "Patio", "Side", "Pool", "Gym", "Lobby", "Storage", "Roof",
];
const STREETS: [&str; 20] = [
    "Oakwood", "Maple", "Cedar", "Birch", "Willow", "Aspen", "Elm", "Pine", "Spruce", "Juniper",
    "Magnolia", "Sycamore", "Hawthorn", "Chestnut", "Redwood", "Cypress", "Hickory", "Laurel",
    "Alder", "Poplar",
];

fn hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The floor's insert: the same lock rows into a table of the same shape (primary key and
/// name index, no search index) in one transaction, with the cache's pragmas; with
/// `passcodes`, also the answer's passcode rows into a table like the cache's. Milliseconds.
fn plain_insert(path: &std::path::Path, sync: &SyncResponse, passcodes: bool) -> f64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE locks (id TEXT PRIMARY KEY, name TEXT NOT NULL, unit_id TEXT NOT NULL,
            unit_name TEXT NOT NULL, property_id TEXT NOT NULL, property_name TEXT NOT NULL,
            mode TEXT NOT NULL, battery INTEGER, firmware TEXT, paired INTEGER NOT NULL,
            identity_public_key TEXT);
         CREATE INDEX locks_by_name ON locks (name COLLATE NOCASE, id);",
    )
    .unwrap();
    let t = Instant::now();
    conn.execute_batch("BEGIN").unwrap();
    {
        let mut st = conn
            .prepare("INSERT INTO locks VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
            .unwrap();
        for l in &sync.locks {
            st.execute(rusqlite::params![
                l.id.to_string(),
                l.name,
                l.unit_id.to_string(),
                l.unit_name,
                l.property_id.to_string(),
                l.property_name,
                l.mode.as_str(),
                l.battery,
                l.firmware,
                l.paired,
                l.identity_public_key,
            ])
            .unwrap();
        }
        if passcodes {
            conn.execute_batch(
                "CREATE TABLE passcodes (lock_id TEXT PRIMARY KEY, body TEXT) WITHOUT ROWID",
            )
            .unwrap();
            let mut st = conn
                .prepare("INSERT INTO passcodes VALUES (?1, ?2)")
                .unwrap();
            for p in &sync.passcodes {
                st.execute(rusqlite::params![
                    p.lock_id.to_string(),
                    serde_json::to_string(p).unwrap()
                ])
                .unwrap();
            }
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    ms(t.elapsed())
}

/// Times the phases of one sync from its progress reports: until the last byte arrived, and
/// from there to the end (parse, write, commit).
#[derive(Default)]
struct Phases(std::sync::Mutex<(Option<Instant>, Option<Instant>)>);

impl access_core::SyncProgress for Phases {
    fn on_progress(
        &self,
        phase: access_core::SyncPhase,
        _done: u64,
        _total: u64,
    ) -> Result<(), access_core::CallbackError> {
        let mut p = self.0.lock().unwrap();
        match phase {
            access_core::SyncPhase::Downloading => p.0 = Some(Instant::now()),
            access_core::SyncPhase::Finished => p.1 = Some(Instant::now()),
            _ => {}
        }
        Ok(())
    }
}

impl Phases {
    fn split(&self, start: Instant) -> (f64, f64) {
        let p = self.0.lock().unwrap();
        let (last_byte, end) = (p.0.unwrap(), p.1.unwrap());
        (ms(last_byte - start), ms(end - last_byte))
    }
}

/// `--serve DIR`: the server child. Prints its URL, runs until stdin closes.
fn serve(dir: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = access_server::start(access_server::ServerConfig::for_tests(dir.into()))
            .await
            .expect("server starts");
        println!("\n{}", server.base_url());
        std::io::stdout().flush().unwrap();
        let _ = tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await;
        server.shutdown().await;
    });
}

/// `--sync-child URL DIR`: signs in and runs one full sync into an empty cache; prints
/// `elapsed_ms hwm_before_kib hwm_after_kib`.
fn sync_child(url: &str, dir: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = support::open(dir.into(), url, App::AccessManager, None);
        client
            .account()
            .login(EMAIL.into(), PASSWORD.into())
            .await
            .unwrap();
        let before = hwm_kib();
        let t = Instant::now();
        let s = client.sync(None).await.unwrap();
        let el = ms(t.elapsed());
        assert_eq!(s.total_locks as usize, LOCKS);
        println!("{el:.1} {before} {}", hwm_kib());
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return serve(&args[i + 1]);
    }
    if let Some(i) = args.iter().position(|a| a == "--sync-child") {
        return sync_child(&args[i + 1], &args[i + 2]);
    }
    if args.iter().any(|a| a == "--list") {
        println!("sync: bench");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

struct ServerChild(Child);

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(&exe)
        .args(["--serve", &tmp.path().join("server").display().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The server may print other lines first (e.g. the administrator it created).
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("http://") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the server child ended"
        );
    }
    let _server = ServerChild(child);
    let url = line.trim().to_string();
    let addr = url.trim_start_matches("http://").parse().unwrap();
    println!("server child at {url}");

    // Seed: 20 properties x 50 units x 10 locks, over HTTP with 8 requests in flight.
    let admin = Arc::new(Admin::login(&url).await);
    let t = Instant::now();
    let mut units = Vec::new();
    for (p, street) in STREETS.iter().enumerate().take(PROPERTIES) {
        let prop = admin.property(&format!("{street} Apartments")).await;
        for u in 0..UNITS_PER_PROPERTY {
            units.push(
                admin
                    .unit(
                        &prop,
                        &format!("Unit {}{}", u / 5 + 1, (b'A' + (u % 5) as u8) as char),
                    )
                    .await,
            );
        }
        let _ = p;
    }
    let per_unit = LOCKS / units.len();
    let sem = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = Vec::new();
    for (ui, unit) in units.iter().enumerate() {
        for k in 0..per_unit {
            let (admin, unit, sem) = (admin.clone(), unit.clone(), sem.clone());
            tasks.push(tokio::spawn(async move {
                let _p = sem.acquire().await.unwrap();
                admin
                    .lock(
                        &unit,
                        &format!("{} Door {}", PLACES[k % PLACES.len()], ui * per_unit + k),
                    )
                    .await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "seeded {LOCKS} locks in {} units in {:.1} s",
        units.len(),
        t.elapsed().as_secs_f64()
    );
    let user = admin
        .invite(
            "team_member",
            EMAIL,
            &["rename_locks"],
            json!({"type": "all_locks"}),
        )
        .await;
    let _ = user;
    let link = admin.invitation_link(EMAIL).await;
    let dev = Device::new(&url, App::AccessManager);
    let reg = dev
        .client
        .account()
        .register_from_invitation(
            link,
            EMAIL.into(),
            "+15551234567".into(),
            PASSWORD.into(),
            "Bench".into(),
            "bench".into(),
        )
        .await
        .unwrap();
    let code = admin.sms_code("+15551234567").await;
    dev.client.account().verify_sms(reg, code).await.unwrap();

    // The rows of the floor, as the server sends them.
    let token = {
        let v: serde_json::Value = reqwest::Client::new()
            .post(format!("{url}/api/v1/sessions"))
            .json(&json!({"email": EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["token"].as_str().unwrap().to_string()
    };
    // One sync request as the bench's own client: `query` after the path, and whether to
    // refuse compression (reqwest asks for gzip otherwise).
    let get_sync = |query: String, identity: bool| {
        let (url, token) = (&url, &token);
        async move {
            let mut req = reqwest::Client::new()
                .get(format!("{url}/api/v1/sync{query}"))
                .bearer_auth(token);
            if identity {
                req = req.header("Accept-Encoding", "identity");
            }
            req.send().await.unwrap().bytes().await.unwrap()
        }
    };
    let body = get_sync(String::new(), false).await;
    let parsed: SyncResponse = serde_json::from_slice(&body).unwrap();

    // Five rounds, each: a full sync into an empty cache through a counting proxy (its phases
    // timed by a progress observer), the server's answer alone (request to last byte, gzip,
    // gunzipped), and the floor for the same rows: serialize, parse, insert in one
    // transaction into a table of the same shape without the search index; beside it the
    // cache's own insert (index rebuilt). Interleaved, so load from other work hits all alike.
    let proxy = Proxy::start(addr).await;
    let mut full = Vec::new();
    let (mut dl, mut save) = (Vec::new(), Vec::new());
    let mut wire = 0;
    let mut json_bytes = 0;
    let mut last: Option<Device> = None;
    let (mut server, mut server_plain, mut server_empty) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ser, mut par, mut ins, mut cache_ins) = (vec![], vec![], vec![], vec![]);
    let mut ins_pass = vec![];
    for _ in 0..5 {
        let d = Device::new(&proxy.url(), App::AccessManager);
        d.client
            .account()
            .login(EMAIL.into(), PASSWORD.into())
            .await
            .unwrap();
        let before = proxy.received() + proxy.sent();
        let phases = Arc::new(Phases::default());
        let t = Instant::now();
        let s = d.client.sync(Some(phases.clone())).await.unwrap();
        full.push(ms(t.elapsed()));
        let (d_ms, s_ms) = phases.split(t);
        dl.push(d_ms);
        save.push(s_ms);
        wire = proxy.received() + proxy.sent() - before;
        json_bytes = s.bytes;
        assert_eq!(s.total_locks as usize, LOCKS);
        last = Some(d);

        let t = Instant::now();
        let b = get_sync(String::new(), false).await;
        server.push(ms(t.elapsed()));
        assert_eq!(b.len(), body.len());
        // The same without gzip, and a request with nothing new: what compression and the
        // fixed cost of one sync request (auth, cursor check) take of the server's answer.
        let t = Instant::now();
        let b = get_sync(String::new(), true).await;
        server_plain.push(ms(t.elapsed()));
        assert_eq!(b.len(), body.len());
        let t = Instant::now();
        let b = get_sync(format!("?since={}", parsed.cursor), false).await;
        server_empty.push(ms(t.elapsed()));
        assert!(b.len() < 1024);

        let t = Instant::now();
        let out = serde_json::to_vec(&parsed).unwrap();
        ser.push(ms(t.elapsed()));
        let t = Instant::now();
        let back: SyncResponse = serde_json::from_slice(&out).unwrap();
        par.push(ms(t.elapsed()));
        let d = tempfile::tempdir().unwrap();
        ins.push(plain_insert(&d.path().join("floor.sqlite"), &back, false));
        ins_pass.push(plain_insert(&d.path().join("floor2.sqlite"), &back, true));
        let store = Store::open(&d.path().join("cache.sqlite")).unwrap();
        let t = Instant::now();
        cache::apply_sync(&mut store.conn(), &back, &mut |_| {}).unwrap();
        cache_ins.push(ms(t.elapsed()));
    }
    let dev = last.unwrap();
    let (ser, par, ins) = (median(&mut ser), median(&mut par), median(&mut ins));
    let cache_ins = median(&mut cache_ins);
    let ins_pass = median(&mut ins_pass);
    let server_med = median(&mut server);
    let (server_plain, server_empty) = (median(&mut server_plain), median(&mut server_empty));
    let (dl, save) = (median(&mut dl), median(&mut save));
    // The floor writes every row it parsed, as the sync does: the locks and the user's
    // passcodes the answer carries. (Writing only the lock rows while serializing and
    // parsing both would leave half the rows out; printed below for comparison.)
    let floor = ser + par + ins_pass;
    let full_med = median(&mut full);

    // Peak memory: a fresh process that signs in and syncs once.
    let d = tempfile::tempdir().unwrap();
    let out = Command::new(&exe)
        .args(["--sync-child", &url, &d.path().display().to_string()])
        .output()
        .unwrap();
    let child_line = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<f64> = child_line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    assert_eq!(
        nums.len(),
        3,
        "sync child said {child_line:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Incremental sync with nothing new.
    let before = (
        proxy.sent(),
        proxy.received(),
        proxy.requests.load(std::sync::atomic::Ordering::SeqCst),
    );
    let t = Instant::now();
    let s = dev.client.sync(None).await.unwrap();
    let inc_ms = ms(t.elapsed());
    assert!(!s.full && s.locks_changed == 0);
    let inc_bytes = proxy.sent() - before.0 + proxy.received() - before.1;
    let inc_requests = proxy.requests.load(std::sync::atomic::Ordering::SeqCst) - before.2;

    // Search among the cached locks.
    let queries = [
        "oakwood",
        "door 4217",
        "garage",
        "unit 7c",
        "cypress roof",
        "pool",
        "lobby 99",
        "maple unit 3",
        "storage",
        "hickory",
        "spruce gym",
        "door 1",
    ];
    let store = Store::open(&dev.dir.path().join("access-cache.sqlite")).unwrap();
    let mut fts = Vec::new();
    let mut hits = 0;
    let mut like = Vec::new();
    {
        let mut conn = store.conn();
        for _ in 0..50 {
            for q in queries {
                let t = Instant::now();
                hits += cache::search_locks(&mut conn, q, 50).unwrap().len();
                fts.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        for _ in 0..10 {
            for q in ["wood", "door 4217", "garage"] {
                let t = Instant::now();
                let mut st = conn
                .prepare_cached("SELECT id FROM locks WHERE name LIKE ?1 OR unit_name LIKE ?1 OR property_name LIKE ?1 LIMIT 50")
                .unwrap();
                let n = st
                    .query_map([format!("%{q}%")], |r| r.get::<_, String>(0))
                    .unwrap()
                    .count();
                hits += n;
                like.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let mut per_query: Vec<(f64, &str)> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut v: Vec<f64> = fts.iter().skip(i).step_by(queries.len()).copied().collect();
            (median(&mut v), *q)
        })
        .collect();
    per_query.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    let mut broad = Vec::new();
    {
        let mut conn = store.conn();
        for _ in 0..20 {
            for q in ["door", "apartments", "unit"] {
                let t = Instant::now();
                hits += cache::search_locks(&mut conn, q, 50).unwrap().len();
                broad.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    // The object the kits hold, fetched once.
    let locks = dev.client.locks();
    let mut api_search = Vec::new();
    for _ in 0..20 {
        for q in queries {
            let t = Instant::now();
            // The kits' default limit (100).
            hits += locks.search(q.into(), 100).await.unwrap().len();
            api_search.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }

    // One exported call: a cached lock lookup through `Locks`, and the cache alone.
    let ids: Vec<String> = locks
        .list()
        .await
        .unwrap()
        .into_iter()
        .take(1000)
        .map(|l| l.id)
        .collect();
    let mut call = Vec::new();
    for _ in 0..5 {
        for id in &ids {
            let t = Instant::now();
            let l = locks.get(id.clone()).await.unwrap();
            call.push(t.elapsed().as_secs_f64() * 1e6);
            assert_eq!(&l.id, id);
        }
    }
    let conn = store.conn();
    let mut raw = Vec::new();
    for id in &ids {
        let u = uuid::Uuid::parse_str(id).unwrap();
        let t = Instant::now();
        let _ = cache::lock(&conn, u).unwrap();
        raw.push(t.elapsed().as_secs_f64() * 1e6);
    }

    println!();
    println!("== access-core benchmarks ({LOCKS} locks, release build) ==");
    println!(
        "full sync into an empty cache: median {full_med:.1} ms (5 runs); floor {floor:.1} ms (serialize {ser:.1} + parse {par:.1} + insert {ins_pass:.1} of the {} locks and {} passcodes); ratio {:.2}x (target < 3x)",
        parsed.locks.len(),
        parsed.passcodes.len(),
        full_med / floor
    );
    println!(
        "  of the sync: until the last byte {dl:.1} ms, then parse + write + commit {save:.1} ms"
    );
    println!(
        "  the floor's insert of the lock rows alone: {ins:.1} ms; serialize + parse of everything + that {:.1} ms (ratio {:.2}x)",
        ser + par + ins,
        full_med / (ser + par + ins)
    );
    println!(
        "  the cache's own insert of the same rows (with its in-memory search index built): {cache_ins:.1} ms; floor with it {:.1} ms (ratio {:.2}x); the server's answer (request to last byte, gzip): median {server_med:.1} ms, without gzip {server_plain:.1} ms, with nothing new {server_empty:.1} ms",
        ser + par + cache_ins,
        full_med / (ser + par + cache_ins)
    );
    println!(
        "transfer: {:.2} MB of JSON, {:.2} MB on the wire ({:.1}x smaller{})",
        json_bytes as f64 / 1e6,
        wire as f64 / 1e6,
        json_bytes as f64 / wire as f64,
        if (wire as f64) < json_bytes as f64 * 0.8 {
            ", compressed"
        } else {
            ", NOT compressed"
        }
    );
    println!(
        "peak memory (VmHWM) of a process that signs in and syncs: {:.1} MiB (before the sync {:.1} MiB); sync took {:.1} ms there",
        nums[2] / 1024.0,
        nums[1] / 1024.0,
        nums[0]
    );
    println!(
        "incremental sync, nothing new: {inc_requests} request(s), {inc_bytes} bytes both ways, {inc_ms:.2} ms"
    );
    println!(
        "search (in-memory index, cache layer): median {:.3} ms, p95 {:.3} ms; through AccessClient (first 100 hits): median {:.3} ms; LIKE scan: median {:.3} ms ({hits} hits)",
        median(&mut fts.clone()),
        pct(&mut fts, 0.95),
        median(&mut api_search),
        median(&mut like)
    );
    println!(
        "  slowest queries (median ms): {}; broad words (door, apartments, unit): median {:.3} ms",
        per_query
            .iter()
            .take(4)
            .map(|(t, q)| format!("{q:?} {t:.3}"))
            .collect::<Vec<_>>()
            .join(", "),
        median(&mut broad)
    );
    println!(
        "one exported call (Locks::get, cached): median {:.1} us, p99 {:.1} us; the cache query alone: median {:.1} us",
        median(&mut call.clone()),
        pct(&mut call, 0.99),
        median(&mut raw)
    );
}
