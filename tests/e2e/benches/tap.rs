//! Tap to open, as a person at the door feels it: from starting the phone-side program (the
//! `access` CLI stands in for the app's process) to "unlocked" on its output, cold, through
//! btleplug, BlueZoo and the `virtual-lock` binary at 30 ms link latency, with the network
//! up, down, and up but silent (a server that takes connections and never answers), for a
//! team member's phone and a resident's phone whose credential is in its renewal window.
//! Beside it, in the same run, the floor: a connection and one exchange (the session's first
//! message and its answer) in-process. The phases come from `access -v` (each line stamped
//! with the time since the process started).
//!
//! `scripts/bench tap` (builds the release binaries first); `TAP_RUNS` sets the runs per
//! set (default 15).

#[path = "../tests/rig/mod.rs"]
mod rig;
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use access_core::ble::link::Framed;
use access_domain::LockMode;
use lock_ble::LockTransport;
use lock_protocol::command::{Command as LockCommand, Response};
use lock_protocol::session::PhoneSession;
use serde_json::json;

const LATENCY_MS: u64 = 30;

/// The phases `access -v` logs, in order, as they are matched in its stderr.
const PHASES: [(&str, &str); 5] = [
    ("credential ready", "credential"),
    ("connecting", "connecting"),
    ("connected", "connected"),
    ("session open", "answered"),
    ("contact closed", "closed"),
];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One cold `access unlock`: time to the "unlocked" line, time to exit, and each phase's
/// time since the process started as it logged it.
struct Run {
    unlocked: Duration,
    exited: Duration,
    phases: Vec<Option<Duration>>,
}

fn tap(home: &Path, app: &str, server: &str, adapter: &str, lock: &str) -> Run {
    let start = Instant::now();
    let mut child = Command::new(rig::access_binary())
        .args(["-v", "--server", server, "--app", app, "--home"])
        .arg(home)
        .args(["unlock", lock])
        .env("ACCESS_BLE_ADAPTER", adapter)
        .env("ACCESS_TIMEOUT_MS", "20000")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("access runs");
    let stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let mut unlocked = None;
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if line.trim() == "unlocked" && unlocked.is_none() {
            unlocked = Some(start.elapsed());
        }
    }
    let status = child.wait().expect("access ends");
    let exited = start.elapsed();
    let log = log.join().unwrap();
    assert!(status.success(), "access unlock failed: {}", log.join("\n"));
    let phases = PHASES
        .iter()
        .map(|(needle, _)| {
            log.iter()
                .find(|l| l.contains(needle))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|t| t.trim_end_matches('s').parse::<f64>().ok())
                .map(Duration::from_secs_f64)
        })
        .collect();
    Run {
        unlocked: unlocked.expect("no \"unlocked\" line"),
        exited,
        phases,
    }
}

fn report(set: &str, runs: &[Run], floor: Duration) {
    let mut to_open: Vec<_> = runs.iter().map(|r| r.unlocked).collect();
    let mut to_exit: Vec<_> = runs.iter().map(|r| r.exited).collect();
    to_open.sort();
    to_exit.sort();
    let (median, p90) = (percentile(&to_open, 0.5), percentile(&to_open, 0.9));
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "{set:<38} to unlocked: median {:>6.1} ms ({:.2}x floor, goal 1.5x {}), p90 {:>6.1} ms ({:.2}x, goal 2x {}); process exit median {:.1} ms",
        ms(median),
        ms(median) / ms(floor),
        verdict(ms(median) <= 1.5 * ms(floor)),
        ms(p90),
        ms(p90) / ms(floor),
        verdict(ms(p90) <= 2.0 * ms(floor)),
        ms(percentile(&to_exit, 0.5)),
    );
    let phases: Vec<String> = PHASES
        .iter()
        .enumerate()
        .map(|(i, (_, name))| {
            let mut at: Vec<Duration> = runs.iter().filter_map(|r| r.phases[i]).collect();
            at.sort();
            if at.is_empty() {
                format!("{name} -")
            } else {
                format!("{name} {:.1}", ms(percentile(&at, 0.5)))
            }
        })
        .collect();
    println!(
        "{:<38} phases (median ms since start): {}",
        "",
        phases.join(", ")
    );
}

fn main() {
    let runs: usize = std::env::var("TAP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let rig = rig::BluezooRig::start(LATENCY_MS).await;
        // Credentials of 30 minutes: every phone is in its renewal window.
        let mut server = support::Server::start_with(|c| {
            c.credential_lifetime = Duration::from_secs(30 * 60)
        })
        .await;
        let url = server.base_url();
        let admin = support::Admin::login(&url).await;
        let property = admin.property("Bench").await;
        let unit = admin.unit(&property, "1").await;
        let transport = support::Rig::transport(&rig);
        let device = support::Rig::device_id(&rig);
        let staff = support::onboard(
            &admin,
            &url,
            "team_member",
            "staff@tap.example",
            &["reset_codes", "change_modes"],
            &unit,
            &transport,
        )
        .await;
        let lock = staff
            .client
            .on_site()
            .pair(
                unit.clone(),
                device.clone(),
                support::PAIRING_CODE.into(),
                "Tap".into(),
                None,
            )
            .await
            .expect("paired")
            .id;
        staff
            .client
            .locks()
            .change_mode(lock.clone(), LockMode::Maintenance)
            .await
            .unwrap();
        let resident = support::onboard(
            &admin,
            &url,
            "resident",
            "resident@tap.example",
            &[],
            &unit,
            &transport,
        )
        .await;
        for phone in [&staff, &resident] {
            phone.client.sync(None).await.unwrap();
            phone.client.account().refresh_credentials().await.unwrap();
            // Where the lock is, as an app that opened it before knows.
            phone
                .client
                .on_site()
                .unlock(lock.clone(), None)
                .await
                .expect("a first unlock");
        }

        // The floor: a connection and one exchange, in-process, on the same radio.
        let cred = admin
            .post(&format!("/api/v1/locks/{lock}/credentials"), json!({}))
            .await;
        let decode = |s: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(s).unwrap()
        };
        let credential = decode(cred["credential"].as_str().unwrap());
        let key: [u8; 32] = decode(cred["lock_public_key"].as_str().unwrap())
            .try_into()
            .unwrap();
        let base = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let mut floors = Vec::new();
        for i in 0..runs {
            let start = Instant::now();
            let link = transport.connect(&device).await.expect("connected");
            let mut framed = Framed::new(link, Duration::from_secs(5));
            let (request, pending) =
                PhoneSession::start(&key, &credential, &LockCommand::Unlock, base + i as u64)
                    .unwrap();
            let answer = framed.exchange(&request).await.expect("answer");
            let (_, response) = pending.open_response(&answer).expect("opens");
            floors.push(start.elapsed());
            assert_eq!(response, Response::Unlocked);
            framed.close().await;
        }
        floors.sort();
        let floor = percentile(&floors, 0.5);
        println!(
            "floor: connect + one exchange at {LATENCY_MS} ms latency: median {:.1} ms, p90 {:.1} ms (n={runs})",
            ms(floor),
            ms(percentile(&floors, 0.9))
        );

        let adapter = rig.bluez.phone.clone();
        let sets = |network: &'static str| {
            let (url, adapter, lock) = (url.clone(), adapter.clone(), lock.clone());
            let homes = [
                ("team member", "manager", staff.dir.path().to_path_buf()),
                ("resident (renewal window)", "resident", resident.dir.path().to_path_buf()),
            ];
            tokio::task::spawn_blocking(move || {
                for (who, app, home) in homes {
                    let results: Vec<Run> = (0..runs)
                        .map(|_| tap(&home, app, &url, &adapter, &lock))
                        .collect();
                    report(&format!("{who}, network {network}"), &results, floor);
                }
            })
        };
        sets("up").await.unwrap();
        let addr = server.addr();
        server.stop().await;
        let silent = support::SilentServer::bind(addr).await;
        sets("up but silent").await.unwrap();
        drop(silent);
        sets("down").await.unwrap();
        drop(rig);
    });
}
