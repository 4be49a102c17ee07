//! `access-server-bench`: load benchmark of the platform server with wrk.
//!
//! Starts the server in-process on SQLite in a temp directory, seeds 10,000 locks, 10,000
//! users and 10,000 log entries of one lock, and runs wrk against a bare axum route (the
//! baseline, same process and runtime), `GET /api/v1/me`, the pages people wait for
//! (`GET /api/v1/locks`: one page of 100 among 10,000; the users table filtered, searched and
//! sorted; one lock's log page) and a gated action (`GET /api/v1/locks/{id}/master-code` by
//! a team member: gate + audit write). Prints requests/s, p50 and p99 of each against the
//! goals, and the `/me`-to-bare ratio.
//!
//! ```text
//! apt-get install wrk
//! scripts/bench server --duration 10
//! ```

use std::process::Command;
use std::time::{Duration, Instant};

use access_server::{ServerConfig, secrets};
use access_server_bench::{
    ADMIN_EMAIL, ADMIN_PASSWORD, WrkArgs, call, load_average, proc_stat, register_member,
    seed_lock, seed_user, sign_in_admin,
};
use clap::Parser;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

// The same allocator as the server binary, so the bench measures what is shipped.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(about = "Load benchmark of access-server with wrk")]
struct Args {
    /// Locks to seed.
    #[arg(long, default_value_t = 10_000)]
    locks: usize,
    /// Users to seed (pending; a third residents).
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Entries seeded in the log of the first lock (the log page that is loaded).
    #[arg(long, default_value_t = 10_000)]
    log_entries: usize,
    /// The users table's query string that is loaded.
    #[arg(
        long,
        default_value = "type=team_member&q=person&sort=name&order=asc&limit=50"
    )]
    users_query: String,
    #[command(flatten)]
    wrk: WrkArgs,
    /// Runs of the bare route and `/me`, alternating; the ratio reported is the median of
    /// the rounds' ratios, so load from elsewhere on the machine shows less in it.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Only the bare route and `/me` (skip the lock page and the gated action).
    #[arg(long)]
    me_only: bool,
    /// Only the pages whose name contains this text (e.g. `logs`), after the `/me` rounds:
    /// one page under a profiler.
    #[arg(long)]
    only: Option<String>,
}

/// One wrk result.
#[derive(Debug, Clone)]
struct Run {
    name: String,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    /// Server CPU time (user + system of this process) per request, in microseconds.
    cpu_us: f64,
    /// wrk's CPU time per request, in microseconds.
    wrk_cpu_us: f64,
}

/// CPU time (user + system) in seconds used so far by this process, and by its children
/// that have been waited for. wrk is such a child: the first figure is the server (and the
/// idle bench), the second grows by wrk's time when a wrk run ends.
fn process_cpu_seconds() -> (f64, f64) {
    let fields = proc_stat("self").unwrap_or_default();
    let secs = |i: usize, j: usize| match (fields.get(i), fields.get(j)) {
        (Some(a), Some(b)) => (a + b) as f64 / 100.0,
        _ => f64::NAN,
    };
    // utime + stime, cutime + cstime.
    (secs(11, 12), secs(13, 14))
}

fn parse_latency(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(v) = s.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|n| n * mult)
}

fn wrk(args: &WrkArgs, name: &str, url: &str, token: Option<&str>) -> Result<Run, String> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        &args.threads.to_string(),
        "-c",
        &args.connections.to_string(),
        "-d",
        &format!("{}s", args.duration),
        "--latency",
    ]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    cmd.arg(url);
    let cpu_before = process_cpu_seconds();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run wrk ({e}); install it: apt-get install wrk"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut run = Run {
        name: name.to_string(),
        rps: 0.0,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        non_2xx: 0,
        cpu_us: f64::NAN,
        wrk_cpu_us: f64::NAN,
    };
    let cpu_after = process_cpu_seconds();
    let (cpu, wrk_cpu) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    let mut requests = 0.0;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => run.rps = v.parse().unwrap_or(0.0),
            ["50%", v] => run.p50_ms = parse_latency(v).unwrap_or(f64::NAN),
            ["99%", v] => run.p99_ms = parse_latency(v).unwrap_or(f64::NAN),
            ["Non-2xx", "or", "3xx", "responses:", v] => run.non_2xx = v.parse().unwrap_or(0),
            [n, "requests", "in", ..] => requests = n.parse().unwrap_or(0.0),
            _ => {}
        }
    }
    if requests > 0.0 {
        run.cpu_us = cpu / requests * 1e6;
        run.wrk_cpu_us = wrk_cpu / requests * 1e6;
    }
    Ok(run)
}

/// Per-request cost, in microseconds, of a bare router and of `GET /api/v1/me` through the
/// server's full router (layers, auth, store, JSON), called in process without TCP; between
/// them, the parts: the auth extractor alone, and the `/me` handler without the layers. Last,
/// the log page `logs_path` through the full router: its cost without the machine's TCP and
/// scheduling, steadier than its req/s.
async fn router_costs(
    server: &access_server::RunningServer,
    cfg: ServerConfig,
    token: &str,
    logs_path: &str,
) -> Result<Vec<(&'static str, f64)>, String> {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    let state = access_server::AppState::new(access_server::Shared {
        metrics: None,
        db: access_server::store::Db::new(server.store()),
        public_url: server.base_url().into(),
        config: std::sync::Arc::new(cfg),
        mailer: None,
        sms: None,
        dummy_password_hash: String::new(),
        me_answers: Default::default(),
    });
    use axum::routing::get;
    let mut apps: Vec<(&'static str, axum::Router)> = vec![
        (
            "bare router",
            axum::Router::new().route("/api/v1/me", get(|| async { "ok" })),
        ),
        (
            "auth extractor only",
            axum::Router::new()
                .route(
                    "/api/v1/me",
                    get(|_: access_server::api::Auth| async { "ok" }),
                )
                .with_state(state.clone()),
        ),
        (
            "/me handler, no layers",
            axum::Router::new()
                .route("/api/v1/me", get(access_server::api::auth::me_handler))
                .with_state(state.clone()),
        ),
        ("/me, full router", access_server::router(state.clone())),
    ];
    // What each runs: the path and requests per batch (a log page costs ~50 /me's).
    let mut runs: Vec<(&str, u32)> = vec![("/api/v1/me", 4_000); apps.len()];
    apps.push(("log page, full router", access_server::router(state)));
    runs.push((logs_path, 200));
    let auth = format!("Bearer {token}");
    let mut best = vec![Duration::MAX; apps.len()];
    for _ in 0..5 {
        for (i, (_, app)) in apps.iter().enumerate() {
            let (path, n) = runs[i];
            let t = Instant::now();
            for _ in 0..n {
                let req = Request::get(path)
                    .header(header::AUTHORIZATION, &auth)
                    .body(Body::empty())
                    .map_err(|e| e.to_string())?;
                let Ok(res) = app.clone().oneshot(req).await;
                if !res.status().is_success() {
                    return Err(format!("{} answered {}", apps[i].0, res.status()));
                }
                axum::body::to_bytes(res.into_body(), 1 << 20)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            best[i] = best[i].min(t.elapsed() / n);
        }
    }
    Ok(apps
        .iter()
        .zip(best)
        .map(|((name, _), d)| (*name, d.as_secs_f64() * 1e6))
        .collect())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    // Before the bench adds its own load.
    let load_at_start = load_average();
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err("wrk is not installed: apt-get install wrk".into());
    }
    let dir = std::env::temp_dir().join(format!("access-bench-{}", Uuid::new_v4()));
    let mut cfg = ServerConfig::new(dir.clone());
    cfg.listen = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    cfg.admin_email = Some(ADMIN_EMAIL.into());
    cfg.admin_password = Some(ADMIN_PASSWORD.into());
    let cfg_for_router = cfg.clone();
    let server = access_server::start(cfg).await.map_err(|e| e.to_string())?;
    let base = server.base_url();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let (post, get) = (reqwest::Method::POST, reqwest::Method::GET);

    // Seed: a property, 100 units, 10,000 locks (through the store, one transaction each).
    let signed_in = sign_in_admin(&http, &base).await?;
    let (admin, org, admin_id) = (signed_in.token, signed_in.org_id, signed_in.id);
    let prop = call(
        &http,
        post.clone(),
        format!("{base}/api/v1/properties"),
        Some(&admin),
        json!({"name": "Bench Towers"}),
    )
    .await?;
    let pid = prop["id"].as_str().ok_or("property")?.to_string();
    let mut units = Vec::new();
    for i in 0..100 {
        let u = call(
            &http,
            post.clone(),
            format!("{base}/api/v1/properties/{pid}/units"),
            Some(&admin),
            json!({"name": format!("Unit {i}")}),
        )
        .await?;
        units.push(Uuid::parse_str(u["id"].as_str().ok_or("unit")?).map_err(|e| e.to_string())?);
    }
    let started = Instant::now();
    let store = server.store();
    let n = args.locks;
    let seeded_units = units.clone();
    let first_lock = tokio::task::spawn_blocking(move || {
        let mut first = None;
        for i in 0..n {
            let unit = seeded_units[i % seeded_units.len()];
            let (lock, audit) = seed_lock(org, unit, admin_id, i, Some("1.0.0"));
            let rec = store
                .create_lock(&lock, &audit)
                .map_err(|e| e.to_string())?;
            first.get_or_insert(rec.id);
        }
        Ok::<_, String>(first)
    })
    .await
    .map_err(|e| e.to_string())??
    .ok_or("no locks seeded")?;
    println!(
        "seeded {n} locks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let (store, people, unit) = (server.store(), args.users, units[0]);
    tokio::task::spawn_blocking(move || {
        for i in 0..people {
            let (invitation, mail) = seed_user(org, unit, admin_id, i);
            store
                .create_invitation(&invitation, &mail)
                .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    })
    .await
    .map_err(|e| e.to_string())??;
    println!(
        "seeded {people} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let (store, entries) = (server.store(), args.log_entries);
    tokio::task::spawn_blocking(move || {
        let at = OffsetDateTime::now_utc() - time::Duration::seconds(entries as i64);
        for i in 0..entries {
            let audit = access_server::store::Audit {
                user_id: admin_id,
                action: "unlock".into(),
                detail: Some(format!("entry {i}")),
                at: at + time::Duration::seconds(i as i64),
            };
            store
                .audit(org, first_lock, &audit)
                .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    })
    .await
    .map_err(|e| e.to_string())??;
    println!(
        "seeded {entries} log entries of one lock in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A team member with view_master_code on the first unit: the gated action's caller.
    let agent = register_member(
        &http,
        &base,
        &admin,
        json!({"user_type": "team_member", "email": "agent@bench.test",
               "permissions": ["view_master_code"],
               "access": {"type": "units", "unit_ids": [units[0]]}}),
        "+15551234567",
        "agent-password",
        "Agent",
    )
    .await?;

    // The baseline: a bare axum route in the same process and runtime.
    let bare = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let bare_addr = bare.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let app = axum::Router::new().route("/bare", axum::routing::get(|| async { "ok" }));
        let _ = axum::serve(bare, app).await;
    });

    let page = call(
        &http,
        get.clone(),
        format!("{base}/api/v1/locks?limit=100"),
        Some(&admin),
        Value::Null,
    )
    .await?;
    let items = page["items"].as_array().map(Vec::len).unwrap_or(0);
    if items != 100 || page["next"].is_null() {
        return Err(format!("unexpected first page: {items} items"));
    }
    let gated_lock = first_lock;
    // The gated action's lock must be in the agent's unit.
    let gl = http
        .get(format!("{base}/api/v1/locks/{gated_lock}/master-code"))
        .bearer_auth(&agent)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !gl.status().is_success() {
        return Err(format!("gated action refused: {}", gl.status()));
    }

    // The store's share of /me: the session lookup alone, on one thread. The best of five
    // batches, so other work on the machine shows less in it. Every call after the first is
    // answered by the SQLite store's session cache (nothing is written meanwhile).
    let store = server.store();
    let hash = secrets::hash_token(&admin);
    let micro = tokio::task::spawn_blocking(move || {
        let n = 4_000u32;
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..n {
                if !matches!(
                    store.session_user(&hash, OffsetDateTime::now_utc()),
                    Ok(Some(_))
                ) {
                    return Err("session_user did not find the admin's session".to_string());
                }
            }
            best = best.min(t.elapsed() / n);
        }
        Ok(best)
    })
    .await
    .map_err(|e| e.to_string())??;
    println!(
        "store.session_user alone (the session cache answering): {:.2} us per call (best of 5 batches)",
        micro.as_secs_f64() * 1e6
    );

    // The same two routes through their routers without TCP: what each costs the server in
    // user space, one request at a time (best of five batches).
    let logs_path = format!("/api/v1/locks/{first_lock}/logs?limit=100");
    let in_process = router_costs(&server, cfg_for_router, &admin, &logs_path).await?;
    println!(
        "in process, no TCP, us per request (best of 5 batches): {}",
        in_process
            .iter()
            .map(|(name, us)| format!("{name} {us:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let a = args;
    let bare_url = format!("http://{bare_addr}/bare");
    let me_url = format!("{base}/api/v1/me");
    let run_wrk = |name: String, url: String, token: Option<String>| {
        let a2 = a.wrk.clone();
        async move {
            let r = tokio::task::spawn_blocking(move || wrk(&a2, &name, &url, token.as_deref()))
                .await
                .map_err(|e| e.to_string())??;
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, String>(r)
        }
    };
    // Bare and /me alternate, each round one of each, so both see the same machine.
    let mut runs = Vec::new();
    let mut ratios = Vec::new();
    let rounds = a.rounds.max(1);
    for round in 1..=rounds {
        let suffix = if rounds > 1 {
            format!(" [{round}]")
        } else {
            String::new()
        };
        let bare_run = run_wrk(format!("bare axum route{suffix}"), bare_url.clone(), None).await?;
        let me_run = run_wrk(
            format!("GET /api/v1/me{suffix}"),
            me_url.clone(),
            Some(admin.clone()),
        )
        .await?;
        ratios.push((
            me_run.rps / bare_run.rps.max(1.0),
            me_run.p99_ms,
            me_run.cpu_us / bare_run.cpu_us,
            (bare_run.cpu_us + bare_run.wrk_cpu_us) / (me_run.cpu_us + me_run.wrk_cpu_us),
        ));
        runs.push(bare_run);
        runs.push(me_run);
    }
    if !a.me_only {
        let pages = [
            (
                format!("GET /api/v1/locks?limit=100 ({n} locks)"),
                format!("{base}/api/v1/locks?limit=100"),
                admin.clone(),
            ),
            (
                format!("GET /api/v1/users?{} ({} users)", a.users_query, a.users),
                format!("{base}/api/v1/users?{}", a.users_query),
                admin.clone(),
            ),
            (
                format!(
                    "GET /api/v1/locks/{{id}}/logs?limit=100 ({} entries)",
                    a.log_entries
                ),
                format!("{base}/api/v1/locks/{first_lock}/logs?limit=100"),
                admin.clone(),
            ),
            (
                "GET /api/v1/locks/{id}/master-code (gated+audit)".into(),
                format!("{base}/api/v1/locks/{gated_lock}/master-code"),
                agent.clone(),
            ),
        ];
        for (name, url, token) in pages {
            if a.only
                .as_ref()
                .is_none_or(|only| name.contains(only.as_str()))
            {
                runs.push(run_wrk(name, url, Some(token)).await?);
            }
        }
    }
    println!(
        "\nwrk -t{} -c{} -d{}s, server and wrk on this machine ({} cores, load average {} before the bench)\n",
        a.wrk.threads,
        a.wrk.connections,
        a.wrk.duration,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load_at_start
    );
    println!(
        "{:<52} {:>10} {:>9} {:>9} {:>8} {:>10} {:>8}",
        "endpoint", "req/s", "p50 ms", "p99 ms", "non-2xx", "server us", "wrk us"
    );
    for r in &runs {
        println!(
            "{:<52} {:>10.0} {:>9.3} {:>9.3} {:>8} {:>10.1} {:>8.1}",
            r.name, r.rps, r.p50_ms, r.p99_ms, r.non_2xx, r.cpu_us, r.wrk_cpu_us
        );
    }
    // The pages people wait for: at least 10k req/s with p99 under 20 ms.
    for r in runs
        .iter()
        .filter(|r| r.name.contains("?limit=") || r.name.contains("/users?"))
    {
        println!(
            "goal for {}: >= 10,000 req/s and p99 < 20 ms: {}",
            r.name,
            if r.rps >= 10_000.0 && r.p99_ms < 20.0 {
                "PASS"
            } else {
                "MISS"
            }
        );
    }
    // The median round by ratio (the upper one of an even count).
    ratios.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (ratio, p99, _, _) = ratios[ratios.len() / 2];
    // CPU time per request moves less with other load than req/s does.
    let mut cpu_ratios: Vec<(f64, f64)> = ratios.iter().map(|r| (r.2, r.3)).collect();
    cpu_ratios.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (cpu_ratio, cpu_share) = cpu_ratios[cpu_ratios.len() / 2];
    println!(
        "\n/me to bare ratio: {:.1} %{} (target >= 75 %), /me p99 {:.2} ms (target < 5 ms): {}",
        ratio * 100.0,
        if rounds > 1 {
            format!(", median of {rounds} rounds")
        } else {
            String::new()
        },
        p99,
        if ratio >= 0.75 && p99 < 5.0 {
            "PASS"
        } else {
            "MISS"
        }
    );
    println!(
        "CPU per request (median round): server {cpu_ratio:.2}x the bare route's; \
         bare's (server + wrk) is {:.0} % of /me's (what req/s would show on idle cores)",
        cpu_share * 100.0
    );
    println!(
        "server and wrk us: CPU time per request (user + system; the server's includes its \
         share of loopback TCP)"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
