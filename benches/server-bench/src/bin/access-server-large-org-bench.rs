//! `access-server-large-org-bench`: one large organization, on SQLite and on PostgreSQL.
//!
//! Seeds one organization of 100,000 locks (one per unit, 500 units a property) and 200,000
//! users (`--locks`, `--users`) into a real `access-server` process (the binary as shipped,
//! its own migrations), then measures what its people wait for, each figure beside its goal:
//! - the Manage Access page's first table and counters, as the admin: `GET /api/v1/users?
//!   limit=50` (first page, default sort), `GET /api/v1/access/summary` and
//!   `GET /api/v1/locks?limit=100`, 20 sequential requests each (`--requests`): median and
//!   p90 < 300 ms;
//! - the users search, `GET /api/v1/users?q=<a username fragment matching ~10 users>&limit=50`:
//!   median and p90 < 50 ms;
//! - a staff phone's full sync of every lock with the real core (`access-core`, as
//!   `core/benches/sync.rs` runs it): a fresh process signs in as a team member with access
//!   to all locks (and so a passcode on each) and syncs once into an empty cache; its time
//!   (median of `--syncs` runs) < 3 s and its peak memory (VmHWM, the largest run) < 128 MiB.
//!
//! Times are the client's, request to last byte, over loopback on this machine: the server's
//! time plus well under a millisecond. The users are 96 % residents of one unit and 4 % team
//! members of three units; nine in ten registered (a name, username, email, phone and a
//! passcode on each lock of their units), one in ten invited and pending (half of those
//! expired). The rows go straight into the server's database, 10,000 a transaction (SQLite:
//! one prepared INSERT a row; PostgreSQL: one COPY a batch), the same rows the API writes
//! (lock: log entry and change; user: invitation and change); the admin's passcodes on
//! every lock too. PostgreSQL is ANALYZEd after the import, as autovacuum would soon after.
//!
//! ```text
//! scripts/bench large_org                          # 100,000 locks, 200,000 users, both stores
//! scripts/bench large_org --locks 10000 --users 20000 --store sqlite
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use access_server::secrets;
use access_server_bench::{
    analyze, call, load_average, pg_connect, register_member, seed_lock, server_binary_next_to_me,
    sign_in_admin, spawn_server, with_schema,
};
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Locks in each unit's property.
const UNITS_PER_PROPERTY: usize = 500;
/// Rows a transaction (SQLite) or a COPY (PostgreSQL).
const BATCH: usize = 10_000;
/// The staff phone's user: a team member with access to every lock.
const STAFF_EMAIL: &str = "staff@bench.test";
const STAFF_PASSWORD: &str = "staff-password-1";
/// Goals, milliseconds.
const PAGE_GOAL_MS: f64 = 300.0;
const SEARCH_GOAL_MS: f64 = 50.0;
const SYNC_GOAL_MS: f64 = 3_000.0;
const SYNC_PEAK_GOAL_MIB: f64 = 128.0;

const FIRST: [&str; 40] = [
    "Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kai", "Lena", "Max",
    "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Xena", "Yuri",
    "Zoe", "Alma", "Boris", "Carla", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jana",
    "Kofi", "Lior", "Mina", "Nils",
];
const LAST: [&str; 50] = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Knuth",
    "Ritchie",
    "Thompson",
    "Liskov",
    "Dijkstra",
    "Hamilton",
    "Shannon",
    "Backus",
    "Codd",
    "Kay",
    "Lamport",
    "Perlman",
    "Stroustrup",
    "Wirth",
    "Hoare",
    "Milner",
    "Allen",
    "Berners",
    "Cerf",
    "Engelbart",
    "Goldberg",
    "Hennessy",
    "Iverson",
    "Joy",
    "Kernighan",
    "Lampson",
    "McCarthy",
    "Naur",
    "Ousterhout",
    "Pike",
    "Rivest",
    "Sutherland",
    "Tarjan",
    "Ullman",
    "Valiant",
    "Wozniak",
    "Yao",
    "Zuse",
    "Babbage",
    "Church",
    "Diffie",
    "Feigenbaum",
    "Gosling",
    "Hellman",
    "Kahan",
    "Lee",
    "Minsky",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreChoice {
    Sqlite,
    Postgres,
    Both,
}

/// One large organization on SQLite and PostgreSQL: the Manage Access page, the users
/// search and a staff phone's full sync, against their goals.
#[derive(Debug, Parser)]
struct Args {
    /// Locks in the organization (one per unit).
    #[arg(long, default_value_t = 100_000)]
    locks: usize,
    /// Users in the organization.
    #[arg(long, default_value_t = 200_000)]
    users: usize,
    /// Which stores to measure.
    #[arg(long, value_enum, default_value_t = StoreChoice::Both)]
    store: StoreChoice,
    /// PostgreSQL to use (a fresh schema in it); `scripts/bench large_org` starts one.
    #[arg(long, env = "ACCESS_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Sequential requests measured per endpoint (after 2 not measured).
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// Full syncs measured, each by a fresh process into an empty cache.
    #[arg(long, default_value_t = 3)]
    syncs: usize,
    /// The `access-server` binary (default: next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Leave the seeded SQLite folder (and PostgreSQL schema) in place and say where, to
    /// look at query plans afterwards.
    #[arg(long)]
    keep: bool,
    /// Internal: the phone process, `URL DIR`: signs in as the staff user, syncs once,
    /// prints `elapsed_ms hwm_before_kib hwm_after_kib locks`.
    #[arg(long, hide = true, num_args = 2, value_names = ["URL", "DIR"])]
    sync_child: Option<Vec<String>>,
}

/// A column value, written as each backend stores it.
enum Val {
    Null,
    Text(String),
    Time(OffsetDateTime),
    Uuid(Uuid),
    /// A list of ids: JSON text on SQLite, `uuid[]` on PostgreSQL.
    Uuids(Vec<Uuid>),
    /// A list of words: comma-separated text on SQLite, `text[]` on PostgreSQL.
    Words(Vec<&'static str>),
    Bytes(Vec<u8>),
}

fn text(s: impl Into<String>) -> Val {
    Val::Text(s.into())
}

fn opt_text(s: Option<String>) -> Val {
    s.map_or(Val::Null, Val::Text)
}

/// Where the seeded rows go.
enum Sink {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Sink {
    /// Inserts `rows` into `table`, `BATCH` rows a transaction.
    fn insert(
        &mut self,
        table: &str,
        cols: &[&str],
        rows: impl Iterator<Item = Vec<Val>>,
        progress: &mut Progress,
    ) -> Result<(), String> {
        let mut rows = rows.peekable();
        while rows.peek().is_some() {
            let batch: Vec<Vec<Val>> = rows.by_ref().take(BATCH).collect();
            match self {
                Sink::Sqlite(conn) => sqlite_batch(conn, table, cols, &batch),
                Sink::Postgres(client) => copy_batch(client, table, cols, &batch),
            }
            .map_err(|e| format!("{table}: {e}"))?;
            progress.add(batch.len());
        }
        Ok(())
    }
}

fn sqlite_batch(
    conn: &mut rusqlite::Connection,
    table: &str,
    cols: &[&str],
    batch: &[Vec<Val>],
) -> Result<(), String> {
    use rusqlite::types::Value as V;
    let e = |e: rusqlite::Error| e.to_string();
    let tx = conn.transaction().map_err(e)?;
    {
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let mut st = tx
            .prepare(&format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                cols.join(", "),
                marks.join(", ")
            ))
            .map_err(e)?;
        for row in batch {
            let values = row.iter().map(|v| match v {
                Val::Null => V::Null,
                Val::Text(s) => V::Text(s.clone()),
                Val::Time(t) => V::Integer(t.unix_timestamp()),
                Val::Uuid(u) => V::Text(u.to_string()),
                Val::Uuids(ids) => V::Text(serde_json::to_string(ids).unwrap_or_default()),
                Val::Words(w) => V::Text(w.join(",")),
                Val::Bytes(b) => V::Blob(b.clone()),
            });
            st.execute(rusqlite::params_from_iter(values)).map_err(e)?;
        }
    }
    tx.commit().map_err(e)
}

/// One COPY in PostgreSQL's text format (no seeded value holds a tab, newline or backslash).
fn copy_batch(
    client: &mut postgres::Client,
    table: &str,
    cols: &[&str],
    batch: &[Vec<Val>],
) -> Result<(), String> {
    let mut out = String::with_capacity(batch.len() * 200);
    for row in batch {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            match v {
                Val::Null => out.push_str("\\N"),
                Val::Text(s) => out.push_str(s),
                Val::Time(t) => {
                    // PostgreSQL keeps microseconds.
                    let t = t
                        .replace_nanosecond(t.nanosecond() / 1000 * 1000)
                        .map_err(|e| e.to_string())?;
                    out.push_str(
                        &t.format(&time::format_description::well_known::Rfc3339)
                            .map_err(|e| e.to_string())?,
                    )
                }
                Val::Uuid(u) => out.push_str(&u.to_string()),
                Val::Uuids(ids) => {
                    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
                    out.push_str(&format!("{{{}}}", ids.join(",")));
                }
                Val::Words(w) => out.push_str(&format!("{{{}}}", w.join(","))),
                Val::Bytes(b) => {
                    // `\\x` in the COPY text: bytea's hex input `\x...`.
                    out.push_str("\\\\x");
                    for byte in b {
                        out.push_str(&format!("{byte:02x}"));
                    }
                }
            }
        }
        out.push('\n');
    }
    let mut w = client
        .copy_in(&format!("COPY {table} ({}) FROM STDIN", cols.join(", ")))
        .map_err(|e| e.to_string())?;
    w.write_all(out.as_bytes()).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(())
}

/// Seeding progress on stderr, every 10 % of the rows.
struct Progress {
    label: String,
    total: usize,
    done: usize,
    next_pct: usize,
    started: Instant,
}

impl Progress {
    fn add(&mut self, n: usize) {
        self.done += n;
        while self.next_pct <= 100 && self.done * 100 >= self.next_pct * self.total {
            eprintln!(
                "{}: seeded {:>3} % ({} of {} rows) in {:.1} s",
                self.label,
                self.next_pct,
                self.done,
                self.total,
                self.started.elapsed().as_secs_f64()
            );
            self.next_pct += 10;
        }
    }
}

/// The seeded user number `i`: who they are and what they hold.
struct Person {
    team_member: bool,
    pending: bool,
    expired: bool,
    name: String,
    username: String,
    email: String,
    /// Indexes of their units (and so of their locks: one lock a unit).
    units: Vec<usize>,
}

fn person(i: usize, units: usize) -> Person {
    let (first, last) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
    let username = format!(
        "{}.{}{i}",
        first.to_ascii_lowercase(),
        last.to_ascii_lowercase()
    );
    let team_member = i.is_multiple_of(25);
    let units = if team_member {
        (0..3).map(|k| (i + k) % units).collect()
    } else {
        vec![i % units]
    };
    Person {
        team_member,
        pending: i % 10 == 7,
        expired: i % 20 == 17,
        name: format!("{first} {last}"),
        email: format!("{username}@example.test"),
        username,
        units,
    }
}

/// A username fragment that matches about ten users (`<last name><number>`, the number
/// without its last digit), and the number of users whose fields hold it.
fn search_fragment(users: usize) -> (String, usize) {
    let k = users * 3 / 4;
    let last = LAST[(k / FIRST.len()) % LAST.len()].to_ascii_lowercase();
    let q = format!("{last}{}", k / 10);
    let matches = (0..users)
        .filter(|&i| person(i, 1).username.contains(&q))
        .count();
    (q, matches)
}

/// Writes the organization's properties, units, locks and users straight into the store.
fn seed(
    sink: &mut Sink,
    label: &str,
    org: Uuid,
    admin: Uuid,
    n_locks: usize,
    n_users: usize,
) -> Result<(), String> {
    let now = OffsetDateTime::now_utc();
    let n_props = n_locks.div_ceil(UNITS_PER_PROPERTY).max(1);
    let props: Vec<Uuid> = (0..n_props).map(|_| Uuid::new_v4()).collect();
    let units: Vec<Uuid> = (0..n_locks).map(|_| Uuid::new_v4()).collect();
    let users: Vec<Uuid> = (0..n_users).map(|_| Uuid::new_v4()).collect();
    let passcodes: usize = n_locks
        + (0..n_users)
            .map(|i| person(i, n_locks))
            .filter(|p| !p.pending)
            .map(|p| p.units.len())
            .sum::<usize>();
    let mut progress = Progress {
        label: label.to_string(),
        total: n_props + n_locks * 4 + n_users * 3 + passcodes,
        done: 0,
        next_pct: 10,
        started: Instant::now(),
    };
    sink.insert(
        "properties",
        &["id", "org_id", "name"],
        props.iter().enumerate().map(|(p, id)| {
            vec![
                Val::Uuid(*id),
                Val::Uuid(org),
                text(format!("{} Apartments {}", LAST[p % LAST.len()], p + 1)),
            ]
        }),
        &mut progress,
    )?;
    sink.insert(
        "units",
        &["id", "property_id", "org_id", "name"],
        units.iter().enumerate().map(|(u, id)| {
            vec![
                Val::Uuid(*id),
                Val::Uuid(props[u / UNITS_PER_PROPERTY]),
                Val::Uuid(org),
                text(format!("Unit {}", u % UNITS_PER_PROPERTY + 1)),
            ]
        }),
        &mut progress,
    )?;
    // The rows `POST /api/v1/locks` writes: the lock, its log entry and its change.
    let locks: Vec<_> = (0..n_locks)
        .map(|i| seed_lock(org, units[i], admin, i, Some("1.0.0")))
        .collect();
    sink.insert(
        "locks",
        &[
            "id",
            "org_id",
            "unit_id",
            "name",
            "mode",
            "firmware",
            "master_code",
            "created_at",
        ],
        locks.iter().map(|(l, a)| {
            vec![
                Val::Uuid(l.id),
                Val::Uuid(org),
                Val::Uuid(l.unit_id),
                text(l.name.clone()),
                text("vacant"),
                opt_text(l.firmware.clone()),
                text(l.master_code.clone()),
                Val::Time(a.at),
            ]
        }),
        &mut progress,
    )?;
    sink.insert(
        "logs",
        &[
            "id", "lock_id", "at", "action", "method", "source", "user_id",
        ],
        locks.iter().map(|(l, a)| {
            vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(l.id),
                Val::Time(a.at),
                text(a.action.clone()),
                text("admin"),
                text("server"),
                Val::Uuid(a.user_id),
            ]
        }),
        &mut progress,
    )?;
    sink.insert(
        "changes",
        &["org_id", "lock_id", "at"],
        locks
            .iter()
            .map(|(l, a)| vec![Val::Uuid(org), Val::Uuid(l.id), Val::Time(a.at)]),
        &mut progress,
    )?;
    let invited_at = |i: usize| now - Duration::minutes((n_users - i) as i64);
    sink.insert(
        "users",
        &[
            "id",
            "org_id",
            "user_type",
            "status",
            "name",
            "username",
            "invited_email",
            "registered_email",
            "phone",
            "password_hash",
            "permissions",
            "access_type",
            "unit_ids",
            "invited_by",
            "invited_at",
        ],
        (0..n_users).map(|i| {
            let p = person(i, n_locks);
            let active = |v: Val| if p.pending { Val::Null } else { v };
            vec![
                Val::Uuid(users[i]),
                Val::Uuid(org),
                text(if p.team_member {
                    "team_member"
                } else {
                    "resident"
                }),
                text(if p.pending { "pending" } else { "active" }),
                active(text(p.name.clone())),
                text(p.username.clone()),
                text(p.email.clone()),
                active(text(p.email.clone())),
                active(text(format!("+1555{i:07}"))),
                // Nobody signs in as a seeded user.
                active(text("seeded")),
                Val::Words(if p.team_member {
                    vec!["rename_locks"]
                } else {
                    vec![]
                }),
                text("units"),
                Val::Uuids(p.units.iter().map(|u| units[*u]).collect()),
                Val::Uuid(admin),
                Val::Time(invited_at(i)),
            ]
        }),
        &mut progress,
    )?;
    sink.insert(
        "invitations",
        &["id", "user_id", "token_hash", "sent_at", "expires_at"],
        (0..n_users).map(|i| {
            let p = person(i, n_locks);
            let expires = if p.expired {
                now - Duration::days(1)
            } else if p.pending {
                now + Duration::days(7)
            } else {
                invited_at(i) + Duration::days(7)
            };
            let mut hash = vec![0xbe; 32];
            hash[..8].copy_from_slice(&(i as u64).to_be_bytes());
            vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(users[i]),
                Val::Bytes(hash),
                Val::Time(invited_at(i)),
                Val::Time(expires),
            ]
        }),
        &mut progress,
    )?;
    // A passcode for each lock its holder may open: the admin (all locks) and each
    // registered user on the lock of each of their units.
    let holders = (0..n_locks).map(|l| (admin, l)).chain(
        (0..n_users)
            .map(|i| (i, person(i, n_locks)))
            .filter(|(_, p)| !p.pending)
            .flat_map(|(i, p)| {
                let user = users[i];
                p.units.into_iter().map(move |u| (user, u))
            }),
    );
    sink.insert(
        "passcodes",
        &["id", "user_id", "lock_id", "code"],
        holders.map(|(user, lock)| {
            vec![
                Val::Uuid(Uuid::new_v4()),
                Val::Uuid(user),
                Val::Uuid(locks[lock].0.id),
                text(secrets::random_digits(secrets::PASSCODE_DIGITS)),
            ]
        }),
        &mut progress,
    )?;
    sink.insert(
        "changes",
        &["org_id", "user_id", "at"],
        (0..n_users).map(|i| {
            vec![
                Val::Uuid(org),
                Val::Uuid(users[i]),
                Val::Time(invited_at(i)),
            ]
        }),
        &mut progress,
    )?;
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

/// Peak resident memory of this process so far (VmHWM), KiB.
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

/// `--sync-child URL DIR`: the staff phone, a fresh process: signs in with the real core,
/// syncs once into an empty cache in `DIR`.
fn sync_child(url: &str, dir: &str) -> Result<(), String> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let client = access_core::AccessClient::new(
            access_core::ClientConfig {
                server_url: url.into(),
                data_dir: dir.into(),
                app: access_domain::App::AccessManager,
                request_timeout_ms: None,
            },
            access_core::file_secret_store(format!("{dir}/secrets.json")),
            None,
        )
        .map_err(|e| e.to_string())?;
        client
            .account()
            .login(STAFF_EMAIL.into(), STAFF_PASSWORD.into())
            .await
            .map_err(|e| e.to_string())?;
        let before = hwm_kib();
        let t = Instant::now();
        let s = client.sync(None).await.map_err(|e| e.to_string())?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!("{ms:.1} {before} {} {}", hwm_kib(), s.total_locks);
        Ok(())
    })
}

/// One measured endpoint.
struct Figure {
    name: String,
    median_ms: f64,
    p90_ms: f64,
    goal_ms: f64,
    note: String,
}

/// `requests` sequential GETs of `path` as the admin after two not measured: milliseconds
/// from request to last byte, and the last answer.
async fn time_get(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    requests: usize,
) -> Result<(Vec<f64>, Value), String> {
    let mut times = Vec::new();
    let mut last = Value::Null;
    for i in 0..requests + 2 {
        let t = Instant::now();
        let resp = http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("{path}: {e}"))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if !status.is_success() {
            return Err(format!("{path}: {status}"));
        }
        if i >= 2 {
            times.push(ms);
        }
        last = serde_json::from_slice(&body).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok((times, last))
}

/// What one store gave.
struct StoreRun {
    store: &'static str,
    seed_s: f64,
    staff_s: f64,
    figures: Vec<Figure>,
    sync_ms: Vec<f64>,
    /// The server's answer to the same full sync, request to last byte (gzip, as the core asks).
    sync_server_ms: Vec<f64>,
    sync_bytes: usize,
    sync_peak_mib: f64,
    sync_before_mib: f64,
}

async fn bench_store(
    args: &Args,
    server: &Path,
    store: &'static str,
    url: Option<String>,
) -> Result<StoreRun, String> {
    let dir = std::env::temp_dir().join(format!(
        "access-large-org-{}-{}",
        std::process::id(),
        Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = bench_in(args, server, store, url.clone(), &dir).await;
    if args.keep {
        eprintln!(
            "{store}: kept {}",
            url.unwrap_or_else(|| dir.join("access.db").display().to_string())
        );
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn bench_in(
    args: &Args,
    server: &Path,
    store: &'static str,
    url: Option<String>,
    dir: &Path,
) -> Result<StoreRun, String> {
    let process = spawn_server(server, dir, url.as_deref())?;
    let base = process.base.clone();
    let http = reqwest::Client::new();
    let admin = sign_in_admin(&http, &base).await?;
    let started = Instant::now();
    let (org, admin_id, n_locks, n_users) = (admin.org_id, admin.id, args.locks, args.users);
    let (seed_url, db) = (url.clone(), dir.join("access.db"));
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut sink = match &seed_url {
            Some(u) => Sink::Postgres(pg_connect(u)?),
            None => {
                let conn = rusqlite::Connection::open(&db).map_err(|e| e.to_string())?;
                conn.busy_timeout(std::time::Duration::from_secs(30))
                    .map_err(|e| e.to_string())?;
                Sink::Sqlite(conn)
            }
        };
        seed(&mut sink, store, org, admin_id, n_locks, n_users)?;
        if let Some(u) = &seed_url {
            analyze(u)?;
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())??;
    let seed_s = started.elapsed().as_secs_f64();
    eprintln!("{store}: seeded {n_locks} locks and {n_users} users in {seed_s:.1} s");

    // The staff phone's user, registered over HTTP: activating them gives them a passcode
    // on every lock, in the server.
    let started = Instant::now();
    register_member(
        &http,
        &base,
        &admin.token,
        json!({"user_type": "team_member", "email": STAFF_EMAIL, "permissions": [],
               "access": {"type": "all_locks"}}),
        "+15559999999",
        STAFF_PASSWORD,
        "Staff Phone",
    )
    .await?;
    let staff_s = started.elapsed().as_secs_f64();
    eprintln!("{store}: the staff user registered (a passcode on every lock) in {staff_s:.1} s");

    let (q, expected) = search_fragment(n_users);
    let endpoints = [
        ("/api/v1/users?limit=50".to_string(), PAGE_GOAL_MS),
        ("/api/v1/access/summary".to_string(), PAGE_GOAL_MS),
        ("/api/v1/locks?limit=100".to_string(), PAGE_GOAL_MS),
        (format!("/api/v1/users?q={q}&limit=50"), SEARCH_GOAL_MS),
    ];
    let mut figures = Vec::new();
    for (path, goal_ms) in endpoints {
        let (mut times, last) = time_get(&http, &base, &admin.token, &path, args.requests).await?;
        let items = last["items"].as_array().map(Vec::len);
        let note = match (items, &last["total"]) {
            (Some(n), Value::Number(t)) => format!("{n} rows of {t}"),
            (Some(n), _) => format!("{n} rows"),
            _ => last.to_string(),
        };
        if path.contains("q=") && last["total"].as_u64() != Some(expected as u64) {
            return Err(format!("{path} found {note}, {expected} expected"));
        }
        eprintln!("{store}: GET {path} measured");
        figures.push(Figure {
            name: format!("GET {path}"),
            median_ms: median(&mut times),
            p90_ms: pct(&mut times, 0.9),
            goal_ms,
            note,
        });
    }

    // The staff phone: fresh processes, each a full sync into an empty cache.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let (mut sync_ms, mut peak, mut before) = (Vec::new(), 0.0f64, 0.0f64);
    for run in 0..args.syncs.max(1) {
        let phone = dir.join(format!("phone-{run}"));
        std::fs::create_dir_all(&phone).map_err(|e| e.to_string())?;
        let out = Command::new(&exe)
            .arg("--sync-child")
            .arg(&base)
            .arg(&phone)
            .output()
            .map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&out.stdout);
        let nums: Vec<f64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let [ms, hwm_before, hwm_after, total] = nums[..] else {
            return Err(format!(
                "the sync process said {line:?} {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        };
        if total as usize != n_locks {
            return Err(format!("the phone synced {total} locks of {n_locks}"));
        }
        sync_ms.push(ms);
        peak = peak.max(hwm_after / 1024.0);
        before = before.max(hwm_before / 1024.0);
        eprintln!(
            "{store}: full sync {} of {}: {ms:.0} ms",
            run + 1,
            args.syncs.max(1)
        );
    }
    // The server's share: the same full sync as a bare HTTP client.
    let staff = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/v1/sessions"),
        None,
        json!({"email": STAFF_EMAIL, "password": STAFF_PASSWORD}),
    )
    .await?;
    let staff = staff["token"].as_str().ok_or("staff sign-in")?;
    let (mut sync_server_ms, mut sync_bytes) = (Vec::new(), 0);
    for _ in 0..args.syncs.max(1) {
        let t = Instant::now();
        let body = http
            .get(format!("{base}/api/v1/sync"))
            .bearer_auth(staff)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("sync: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("sync: {e}"))?;
        sync_server_ms.push(t.elapsed().as_secs_f64() * 1e3);
        sync_bytes = body.len();
    }
    drop(process);
    Ok(StoreRun {
        store,
        seed_s,
        staff_s,
        figures,
        sync_ms,
        sync_server_ms,
        sync_bytes,
        sync_peak_mib: peak,
        sync_before_mib: before,
    })
}

fn print_run(r: &mut StoreRun) {
    println!(
        "\n{}: seeding {:.1} s; registering the staff user (a passcode on every lock) {:.1} s",
        r.store, r.seed_s, r.staff_s
    );
    println!(
        "  {:<52} {:>9} {:>9} {:>8}  {:<6} answer",
        "figure", "median", "p90", "goal", ""
    );
    for f in &r.figures {
        println!(
            "  {:<52} {:>6.1} ms {:>6.1} ms {:>5.0} ms  {:<6} {}",
            f.name,
            f.median_ms,
            f.p90_ms,
            f.goal_ms,
            verdict(f.median_ms < f.goal_ms && f.p90_ms < f.goal_ms),
            f.note
        );
    }
    let runs = r.sync_ms.len();
    let sync = median(&mut r.sync_ms);
    println!(
        "  {:<52} {:>6.0} ms {:>9} {:>5.0} ms  {:<6} median of {runs} fresh processes",
        "staff phone: full sync of every lock (access-core)",
        sync,
        "",
        SYNC_GOAL_MS,
        verdict(sync < SYNC_GOAL_MS),
    );
    println!(
        "  {:<52} {:>6.0} ms {:>9} {:>8}  {:<6} {:.1} MB of JSON; the rest is the core's download, parse and write",
        "  of which the server's answer (request to last byte)",
        median(&mut r.sync_server_ms),
        "",
        "",
        "",
        r.sync_bytes as f64 / 1e6,
    );
    println!(
        "  {:<52} {:>6.1} MiB {:>8} {:>4.0} MiB  {:<6} largest of {runs}; {:.1} MiB signed in, before the sync",
        "staff phone: peak memory (VmHWM) of that process",
        r.sync_peak_mib,
        "",
        SYNC_PEAK_GOAL_MIB,
        verdict(r.sync_peak_mib < SYNC_PEAK_GOAL_MIB),
        r.sync_before_mib
    );
}

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    if let Some(child) = &args.sync_child {
        return match sync_child(&child[0], &child[1]) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sync child: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run(args)),
        Err(e) => {
            eprintln!("access-server-large-org-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::process::ExitCode {
    let load_at_start = load_average();
    let server = args.server.clone().unwrap_or_else(server_binary_next_to_me);
    let mut stores: Vec<(&'static str, Option<String>)> = Vec::new();
    if args.store != StoreChoice::Postgres {
        stores.push(("SQLite", None));
    }
    if args.store != StoreChoice::Sqlite {
        let Some(url) = &args.database_url else {
            eprintln!(
                "access-server-large-org-bench: PostgreSQL needs --database-url or \
                 ACCESS_BENCH_DATABASE_URL (scripts/bench large_org starts one)"
            );
            return std::process::ExitCode::FAILURE;
        };
        let tag = &Uuid::new_v4().simple().to_string()[..8];
        stores.push((
            "PostgreSQL",
            Some(with_schema(url, &format!("large_{tag}"))),
        ));
    }
    let mut runs = Vec::new();
    for (name, url) in stores {
        match bench_store(&args, &server, name, url).await {
            Ok(r) => runs.push(r),
            Err(e) => {
                eprintln!("access-server-large-org-bench: {name}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let (q, expected) = search_fragment(args.users);
    println!(
        "\none organization: {} locks (one a unit, {} units a property), {} users \
         (96 % residents, 4 % team members, 10 % pending); search q={q} matches {expected}",
        args.locks, UNITS_PER_PROPERTY, args.users
    );
    println!(
        "{} cores, load average {} before the bench, {} now; times are request to last byte \
         over loopback, {} sequential requests as the admin",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_at_start,
        load_average(),
        args.requests
    );
    for r in &mut runs {
        print_run(r);
    }
    std::process::ExitCode::SUCCESS
}
