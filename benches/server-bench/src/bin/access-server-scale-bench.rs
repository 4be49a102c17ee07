//! `access-server-scale-bench`: the on-demand load bench of the scale-out setups.
//!
//! One run loads, one after the other and with the same settings, one `access-server` on
//! SQLite, one on PostgreSQL and two on PostgreSQL over one database. Each instance is a
//! real process and wrk is the load generator, over HTTP on this machine:
//! - `GET /api/v1/me` (session lookup),
//! - `GET /api/v1/locks?limit=100&after=<random lock>` (a page out of 10,000 locks),
//! - `PATCH /api/v1/locks/<random lock>` (a gated write: permission and scope check,
//!   rename, audit entry, change log).
//!
//! With two instances wrk runs twice at once, one per instance with half the connections;
//! requests/s are added and p50/p99 are those of the slower instance. Beside each figure it
//! prints where the machine's CPU went (the servers, PostgreSQL, the rest: wrk and anything
//! else) and how many PostgreSQL backends were waiting on a lock on average, which is what
//! says whether CPU, locks or the database limit that setup.
//!
//! ```text
//! scripts/bench scale_out --duration 10 --connections 32
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use access_server::ServerConfig;
use access_server::store::Store;
use access_server_bench::{
    ServerProcess, WrkArgs, analyze, call, proc_stat, seed_lock, server_binary_next_to_me,
    sign_in_admin, spawn_server, with_schema,
};
use clap::Parser;
use serde_json::{Value, json};
use uuid::Uuid;

/// Unmeasured load before each measured run.
const WARM_UP_SECONDS: u64 = 2;

/// Load one instance on SQLite, one on PostgreSQL and two on PostgreSQL, side by side.
#[derive(Debug, Clone, Parser)]
struct Args {
    /// PostgreSQL to use (each setup gets a fresh schema in it).
    #[arg(long, env = "ACCESS_BENCH_DATABASE_URL")]
    database_url: String,
    #[command(flatten)]
    load: WrkArgs,
    /// Locks in the organization.
    #[arg(long, default_value_t = 10_000)]
    locks: usize,
    /// The `access-server` binary (default: next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The wrk binary.
    #[arg(long, default_value = "wrk")]
    wrk: String,
}

/// What the load needs: a token and the lock ids.
struct Seeded {
    token: String,
    locks: Vec<Uuid>,
}

/// Property and unit over HTTP, then the locks straight through the store (the same rows
/// `POST /api/v1/locks` writes, much faster).
async fn seed(base: &str, config: ServerConfig, count: usize) -> Result<Seeded, String> {
    let http = reqwest::Client::new();
    let admin = sign_in_admin(&http, base).await?;
    let (token, org_id, admin_id) = (admin.token, admin.org_id, admin.id);
    let post = |path: &str, body: Value| {
        call(
            &http,
            reqwest::Method::POST,
            format!("{base}{path}"),
            Some(&token),
            body,
        )
    };
    let property = post("/api/v1/properties", json!({"name": "Bench Towers"})).await?;
    let pid = property["id"].as_str().ok_or("no property id")?.to_string();
    let unit = post(
        &format!("/api/v1/properties/{pid}/units"),
        json!({"name": "All"}),
    )
    .await?;
    let unit_id: Uuid = unit["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or("no unit id")?;
    let locks = tokio::task::spawn_blocking(move || -> Result<Vec<Uuid>, String> {
        let store = access_server::open_store(&config).map_err(|e| e.to_string())?;
        let store: Arc<dyn Store> = store;
        let workers = 4;
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let store = store.clone();
                std::thread::spawn(move || -> Result<Vec<Uuid>, String> {
                    let mut ids = Vec::new();
                    for i in (w..count).step_by(workers) {
                        let (lock, audit) = seed_lock(org_id, unit_id, admin_id, i, None);
                        store
                            .create_lock(&lock, &audit)
                            .map_err(|e| e.to_string())?;
                        ids.push(lock.id);
                    }
                    Ok(ids)
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| "seeding thread panicked")??);
        }
        Ok(all)
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(Seeded { token, locks })
}

/// The wrk script of one endpoint: random locks from `ids`, and a parseable last line.
fn wrk_script(endpoint: Endpoint, ids: &[Uuid]) -> String {
    let list: Vec<String> = ids.iter().take(2000).map(|i| format!("\"{i}\"")).collect();
    let request = match endpoint {
        Endpoint::Me => "return wrk.format(\"GET\", \"/api/v1/me\")".to_string(),
        Endpoint::Locks => "return wrk.format(\"GET\", \"/api/v1/locks?limit=100&after=\" .. \
             ids[math.random(#ids)])"
            .to_string(),
        Endpoint::Rename => "n = n + 1\n  local h = {}\n  for k, v in pairs(wrk.headers) do \
             h[k] = v end\n  h[\"Content-Type\"] = \"application/json\"\n  return \
             wrk.format(\"PATCH\", \"/api/v1/locks/\" .. ids[math.random(#ids)], h, \
             '{\"name\":\"Bench ' .. n .. '\"}')"
            .to_string(),
    };
    format!(
        "local ids = {{{}}}\nn = 0\nrequest = function()\n  {request}\nend\n\
         done = function(summary, latency, requests)\n  local e = summary.errors\n  \
         io.write(string.format(\"RESULT %d %d %d %d %d\\n\", summary.requests, \
         summary.duration, latency:percentile(50), latency:percentile(99), \
         e.connect + e.read + e.write + e.timeout + e.status))\nend\n",
        list.join(",")
    )
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Me,
    Locks,
    Rename,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Endpoint::Me => "GET /me",
            Endpoint::Locks => "GET /locks (page of 100 of 10k)",
            Endpoint::Rename => "PATCH /locks/{id} (gated write)",
        }
    }
}

/// One wrk run's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    requests: u64,
    seconds: f64,
    p50_us: u64,
    p99_us: u64,
    errors: u64,
}

fn parse_result(out: &str) -> Option<Load> {
    let line = out.lines().find_map(|l| l.strip_prefix("RESULT "))?;
    let n: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let [requests, duration_us, p50_us, p99_us, errors] = n[..] else {
        return None;
    };
    Some(Load {
        requests,
        seconds: duration_us as f64 / 1e6,
        p50_us,
        p99_us,
        errors,
    })
}

/// CPU ticks so far: the whole machine (busy, total) and per process (pid -> ticks) of
/// the given servers and of every `postgres` process.
struct Ticks {
    busy: u64,
    total: u64,
    servers: HashMap<u32, u64>,
    postgres: HashMap<u32, u64>,
}

/// utime + stime of one process.
fn proc_ticks(pid: u32) -> Option<u64> {
    let fields = proc_stat(&pid.to_string())?;
    Some(fields.get(11..13)?.iter().sum())
}

fn cpu_ticks(pids: &[u32]) -> Ticks {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = cpu.iter().sum();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    let servers = pids
        .iter()
        .filter_map(|p| Some((*p, proc_ticks(*p)?)))
        .collect();
    let postgres = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .map(|c| c.trim() == "postgres")
                        .unwrap_or(false)
                })
                .filter_map(|pid| Some((pid, proc_ticks(pid)?)))
                .collect()
        })
        .unwrap_or_default();
    Ticks {
        busy: total.saturating_sub(idle),
        total,
        servers,
        postgres,
    }
}

/// Ticks the processes used between two readings (a process born meanwhile counts whole).
fn used(before: &HashMap<u32, u64>, after: &HashMap<u32, u64>) -> u64 {
    after
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum()
}

/// Samples how many PostgreSQL backends wait on a lock until `stop`; returns the mean.
fn lock_waits(url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Option<f64>> {
    std::thread::spawn(move || {
        let base = url.split('?').next().unwrap_or(&url).to_string();
        let mut client = postgres::Client::connect(&base, postgres::NoTls).ok()?;
        let (mut sum, mut n) = (0i64, 0i64);
        while !stop.load(Ordering::SeqCst) {
            let row = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                    &[],
                )
                .ok()?;
            sum += row.get::<_, i64>(0);
            n += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(sum as f64 / n.max(1) as f64)
    })
}

/// One setup's figures for one endpoint.
struct Row {
    setup: String,
    endpoint: Endpoint,
    load: Load,
    busy_pct: f64,
    servers_pct: f64,
    postgres_pct: f64,
    lock_waits: Option<f64>,
}

fn run_wrk(
    wrk: &str,
    args: &WrkArgs,
    instances: &[ServerProcess],
    seeded: &Seeded,
    script: &Path,
) -> Result<Load, String> {
    let per = instances.len() as u32;
    let children: Vec<Child> = instances
        .iter()
        .map(|i| {
            Command::new(wrk)
                .args([
                    "-t",
                    &(args.threads / per).max(1).to_string(),
                    "-c",
                    &(args.connections / per).max(1).to_string(),
                    "-d",
                    &format!("{}s", args.duration),
                    "-s",
                ])
                .arg(script)
                .args(["-H", &format!("Authorization: Bearer {}", seeded.token)])
                .arg(format!("{}{}", i.base, "/"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot run {wrk}: {e} (apt-get install wrk)"))
        })
        .collect::<Result<_, _>>()?;
    let mut total = Load::default();
    for c in children {
        let out = c.wait_with_output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        let l = parse_result(&text).ok_or_else(|| format!("unreadable wrk output: {text}"))?;
        total.requests += l.requests;
        total.seconds = total.seconds.max(l.seconds);
        total.p50_us = total.p50_us.max(l.p50_us);
        total.p99_us = total.p99_us.max(l.p99_us);
        total.errors += l.errors;
    }
    Ok(total)
}

async fn bench_setup(
    args: &Args,
    server: &Path,
    name: &str,
    url: Option<String>,
    count: usize,
) -> Result<Vec<Row>, String> {
    let dir = std::env::temp_dir().join(format!(
        "access-scale-bench-{}-{}",
        std::process::id(),
        Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let first = spawn_server(server, &dir, url.as_deref())?;
    let mut instances = vec![first];
    for _ in 1..count {
        instances.push(spawn_server(server, &dir, url.as_deref())?);
    }
    let mut config = ServerConfig::new(dir.clone());
    config.database_url = url.clone();
    let started = Instant::now();
    let seeded = seed(&instances[0].base, config, args.locks).await?;
    eprintln!(
        "{name}: seeded {} locks in {:.1}s",
        seeded.locks.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(url) = url.clone() {
        // Fresh statistics, as autovacuum would have them a minute after a bulk import;
        // without them the planner may scan all locks for a page. Blocking client: off the
        // async threads.
        tokio::task::spawn_blocking(move || analyze(&url))
            .await
            .map_err(|e| e.to_string())??;
    }
    let pids: Vec<u32> = instances.iter().map(|i| i.child.id()).collect();
    let mut rows = Vec::new();
    for endpoint in [Endpoint::Me, Endpoint::Locks, Endpoint::Rename] {
        let script = dir.join("load.lua");
        std::fs::File::create(&script)
            .and_then(|mut f| f.write_all(wrk_script(endpoint, &seeded.locks).as_bytes()))
            .map_err(|e| e.to_string())?;
        // Warm-up, not measured: pools fill, statements get prepared and planned.
        let warm = WrkArgs {
            duration: WARM_UP_SECONDS,
            ..args.load.clone()
        };
        run_wrk(&args.wrk, &warm, &instances, &seeded, &script)?;
        let stop = Arc::new(AtomicBool::new(false));
        let waits = url.clone().map(|u| lock_waits(u, stop.clone()));
        let before = cpu_ticks(&pids);
        let load = run_wrk(&args.wrk, &args.load, &instances, &seeded, &script)?;
        let after = cpu_ticks(&pids);
        stop.store(true, Ordering::SeqCst);
        let lock_waits = waits.and_then(|w| w.join().ok().flatten());
        let total = after.total.saturating_sub(before.total).max(1) as f64;
        rows.push(Row {
            setup: name.to_string(),
            endpoint,
            load,
            busy_pct: 100.0 * after.busy.saturating_sub(before.busy) as f64 / total,
            // /proc/stat counts every core; a process's ticks are of one core each.
            servers_pct: 100.0 * used(&before.servers, &after.servers) as f64 / total,
            postgres_pct: 100.0 * used(&before.postgres, &after.postgres) as f64 / total,
            lock_waits,
        });
        eprintln!("{name}: {} done", endpoint.label());
    }
    drop(instances);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rows)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let server = args.server.clone().unwrap_or_else(server_binary_next_to_me);
    let tag = Uuid::new_v4().simple().to_string()[..8].to_string();
    let setups: [(&str, Option<String>, usize); 3] = [
        ("1x SQLite", None, 1),
        (
            "1x PostgreSQL",
            Some(with_schema(&args.database_url, &format!("bench1_{tag}"))),
            1,
        ),
        (
            "2x PostgreSQL",
            Some(with_schema(&args.database_url, &format!("bench2_{tag}"))),
            2,
        ),
    ];
    let mut rows = Vec::new();
    for (name, url, count) in setups {
        match bench_setup(&args, &server, name, url, count).await {
            Ok(r) => rows.extend(r),
            Err(e) => {
                eprintln!("access-server-scale-bench: {name}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\n{} locks, wrk -t{} -c{} -d{}s in total per setup, {} cores, all on this machine",
        args.locks, args.load.threads, args.load.connections, args.load.duration, cores
    );
    println!(
        "{:<15} {:<33} {:>9} {:>8} {:>8} {:>6} {:>6} {:>8} {:>9} {:>10}",
        "setup",
        "endpoint",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "CPU %",
        "server %",
        "postgres %",
        "lock waits"
    );
    for r in &rows {
        println!(
            "{:<15} {:<33} {:>9.0} {:>8.2} {:>8.2} {:>6} {:>6.0} {:>8.0} {:>9.0} {:>10}",
            r.setup,
            r.endpoint.label(),
            r.load.requests as f64 / r.load.seconds.max(0.001),
            r.load.p50_us as f64 / 1000.0,
            r.load.p99_us as f64 / 1000.0,
            r.load.errors,
            r.busy_pct,
            r.servers_pct,
            r.postgres_pct,
            r.lock_waits.map_or("-".to_string(), |w| format!("{w:.1}")),
        );
    }
    println!(
        "CPU %: the whole machine busy; server % / postgres %: their share of all cores; \
         lock waits: PostgreSQL backends waiting on a lock, on average."
    );
    std::process::ExitCode::SUCCESS
}
