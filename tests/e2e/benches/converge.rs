//! One contact that brings a lock far behind in line: 100 code changes waiting (50 given
//! codes revoked, 50 new: a lock holds at most 100 codes), a mode and a name change, and
//! 1,000 new entries in the lock's log, at 30 ms link latency through
//! btleplug, BlueZoo and the `virtual-lock` binary, with a staff phone (the `access` CLI,
//! which may read the log) that came to open the door. From `access -v`: the time from
//! "connected" to "in step" (update applied, status read, every new log page read and
//! queued), the round trips (messages sent together count once) and the bytes each way;
//! beside them the floor for those bytes: one exchange's latency plus the bytes at the LE
//! 1M PHY's 1 Mbit/s.
//!
//! `scripts/bench converge` (builds the release binaries first); `CONVERGE_RUNS` sets the
//! contacts measured (default 5), each after a fresh backlog.

#[path = "../tests/rig/mod.rs"]
mod rig;
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use access_domain::LockMode;
use serde_json::json;
use support::Rig as _;

const LATENCY_MS: u64 = 30;
/// Codes given and revoked each run: together the run's code changes.
const CODES: usize = 50;
const LOG_ENTRIES: usize = 1_000;
/// The LE 1M PHY's raw rate, bits per second: no link carries more.
const PHY_BITS_PER_SECOND: f64 = 1_000_000.0;

/// What one contact printed with `access -v`.
struct Contact {
    connected: f64,
    opened: f64,
    in_step: f64,
    round_trips: u64,
    bytes_out: u64,
    bytes_in: u64,
    entries: u64,
}

/// The seconds stamp that starts an `access -v` line.
fn stamp(line: &str) -> Option<f64> {
    line.split_whitespace()
        .next()?
        .trim_end_matches('s')
        .parse()
        .ok()
}

/// A `key=value` field of a tracing line.
fn field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.trim_matches(',').parse().ok())
}

fn contact(home: &Path, server: &str, adapter: &str, lock: &str) -> Contact {
    let out = Command::new(rig::access_binary())
        .args(["-v", "--server", server, "--app", "manager", "--home"])
        .arg(home)
        .args(["unlock", lock])
        .env("ACCESS_BLE_ADAPTER", adapter)
        .env("ACCESS_TIMEOUT_MS", "20000")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("access runs");
    let log: Vec<String> = BufReader::new(&out.stderr[..])
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(
        out.status.success(),
        "access unlock failed: {}",
        log.join("\n")
    );
    let find = |needle: &str| {
        log.iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{}", log.join("\n")))
    };
    let in_step = find("in step");
    Contact {
        connected: stamp(find(" connected")).unwrap(),
        opened: stamp(find("session open")).unwrap(),
        in_step: stamp(in_step).unwrap(),
        round_trips: field(in_step, "round_trips").unwrap(),
        bytes_out: field(in_step, "bytes_out").unwrap(),
        bytes_in: field(in_step, "bytes_in").unwrap(),
        entries: field(in_step, "entries").unwrap(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("CONVERGE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut rig = rig::BluezooRig::start(LATENCY_MS).await;
        let server = support::Server::start().await;
        let url = server.base_url();
        let admin = support::Admin::login(&url).await;
        let property = admin.property("Bench").await;
        let unit = admin.unit(&property, "1").await;
        let transport = rig.transport();
        let device = rig.device_id();
        let staff = support::onboard(
            &admin,
            &url,
            "team_member",
            "staff@converge.example",
            &["reset_codes", "change_modes", "rename_locks", "give_access", "view_logs"],
            &unit,
            &transport,
        )
        .await;
        let lock = staff
            .client
            .on_site()
            .pair(
                unit.clone(),
                device,
                support::PAIRING_CODE.into(),
                "Converge".into(),
                None,
            )
            .await
            .expect("paired")
            .id;
        // In step once, where the lock is known: each run starts from there.
        staff
            .client
            .on_site()
            .unlock(lock.clone(), None)
            .await
            .unwrap();
        let master = admin.master_code(&lock).await;
        let adapter = rig.bluez.phone.clone();
        let modes = [LockMode::Maintenance, LockMode::Vacant];

        let give = |run: usize| {
            let (admin, lock) = (&admin, &lock);
            async move {
                let mut ids = Vec::new();
                for i in 0..CODES {
                    let code = admin
                        .post(
                            &format!("/api/v1/locks/{lock}/access-codes"),
                            json!({"kind": "permanent", "label": format!("Bench {run}-{i}")}),
                        )
                        .await;
                    ids.push(code["id"].as_str().unwrap().to_string());
                }
                ids
            }
        };
        // The codes the first run revokes, installed before it.
        let mut given = give(runs).await;
        staff.client.account().refresh_credentials().await.unwrap();
        staff
            .client
            .on_site()
            .unlock(lock.clone(), None)
            .await
            .unwrap();

        let mut contacts = Vec::new();
        for run in 0..runs {
            for id in given.drain(..) {
                admin
                    .post(
                        &format!("/api/v1/locks/{lock}/access-codes/{id}/revoke"),
                        json!({}),
                    )
                    .await;
            }
            given = give(run).await;
            admin
                .ok(
                    reqwest::Method::PUT,
                    &format!("/api/v1/locks/{lock}/mode"),
                    Some(json!({"mode": modes[run % 2]})),
                )
                .await;
            admin
                .ok(
                    reqwest::Method::PATCH,
                    &format!("/api/v1/locks/{lock}"),
                    Some(json!({"name": format!("Converge {run}")})),
                )
                .await;
            for _ in 0..LOG_ENTRIES {
                rig.keypad(&master);
            }
            // A thousand turns of the bolt drain half the battery: a new one for each run.
            rig.lock.command("battery");
            rig.lock.expect_line("virtual-lock battery ");
            // The phone holds the platform's newest update, as after any sync.
            staff.client.account().refresh_credentials().await.unwrap();
            let home = staff.dir.path().to_path_buf();
            let (url, adapter, lock) = (url.clone(), adapter.clone(), lock.clone());
            let c = tokio::task::spawn_blocking(move || contact(&home, &url, &adapter, &lock))
                .await
                .unwrap();
            assert!(
                c.entries as usize >= LOG_ENTRIES,
                "read {} entries, {LOG_ENTRIES} were new",
                c.entries
            );
            contacts.push(c);
        }

        let ms = |f: &dyn Fn(&Contact) -> f64| median(contacts.iter().map(f).collect());
        let to_step = ms(&|c| (c.in_step - c.connected) * 1e3);
        let to_open = ms(&|c| (c.opened - c.connected) * 1e3);
        let round_trips = ms(&|c| c.round_trips as f64);
        let (out, inb) = (ms(&|c| c.bytes_out as f64), ms(&|c| c.bytes_in as f64));
        let floor = LATENCY_MS as f64 + (out + inb) * 8.0 / PHY_BITS_PER_SECOND * 1e3;
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        println!(
            "backlog: {} code changes ({CODES} revoked, {CODES} given), a mode and a name change, {LOG_ENTRIES} log entries; {LATENCY_MS} ms link latency; {runs} contacts, medians",
            2 * CODES
        );
        println!(
            "connected -> unlock answered: {to_open:.1} ms (in the first round trip: {})",
            verdict(to_open <= 2.0 * LATENCY_MS as f64 + 20.0)
        );
        println!(
            "connected -> in step: {to_step:.1} ms (goal under 1000 ms: {}); floor {floor:.1} ms ({LATENCY_MS} ms + {:.0} bytes at 1 Mbit/s), {:.2}x floor",
            verdict(to_step < 1000.0),
            out + inb,
            to_step / floor
        );
        println!(
            "  (BlueZoo adds the latency but no per-byte time, so the run can beat the byte floor; \
             on a phone's link the same contact takes at least {:.0} ms: {round_trips:.0} round trips \
             of {LATENCY_MS} ms plus the bytes at 1 Mbit/s)",
            round_trips * LATENCY_MS as f64 + (out + inb) * 8.0 / PHY_BITS_PER_SECOND * 1e3
        );
        println!(
            "round trips: {round_trips:.0} (goal at most 4: {}); bytes to the lock {out:.0}, from the lock {inb:.0}",
            verdict(round_trips <= 4.0)
        );
        drop(server);
        drop(rig);
    });
}
