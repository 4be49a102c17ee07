//! End-to-end unlock through btleplug, BlueZoo and the `virtual-lock` binary with its link
//! latency at 30 ms per exchange, paired and credentialed through the real server:
//!
//! - connected to unlocked: the protocol's session over an open btleplug link (the phone's
//!   first write carries credential and command), median and p99, and round trips;
//! - the core's whole `ble_unlock` (gate, cached credential, counter, connect, session,
//!   disconnect), median and p99.
//!
//! `cargo build --release -p virtual-lock && cargo bench -p access-e2e --bench unlock`
//! (BlueZoo installed: `need_ble_deps` in scripts/lib/ble.sh). `E2E_BENCH_N` sets the
//! number of unlocks (default 100).

#[path = "../tests/rig/mod.rs"]
mod rig;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use access_core::ble::link::Framed;
use lock_ble::LockTransport;
use lock_protocol::command::{Command, Response};
use lock_protocol::session::PhoneSession;
use serde_json::json;

const LATENCY_MS: u64 = 30;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (median, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "{what}: n={} median={:.1} ms p99={:.1} ms min={:.1} ms max={:.1} ms",
        samples.len(),
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
    );
    (median, p99)
}

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn main() {
    let n: usize = std::env::var("E2E_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut rig = rig::BluezooRig::start(LATENCY_MS).await;
        let (server, admin, unit) = support::site().await;
        let transport = support::Rig::transport(&rig);
        let device = support::Rig::device_id(&rig);
        let tech = support::onboard(
            &admin,
            &server.base_url(),
            "team_member",
            "bench@example.test",
            &["reset_codes", "change_modes"],
            &unit,
            &transport,
        )
        .await;
        let t0 = Instant::now();
        let lock = tech
            .client
            .on_site()
            .pair(
                unit,
                device.clone(),
                support::PAIRING_CODE.into(),
                "Bench".into(),
                None,
            )
            .await
            .expect("paired");
        println!(
            "pairing (scan check, register, 2 round trips, identity): {:.0} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
        tech.client
            .on_site()
            .set_mode(lock.id.clone(), access_domain::LockMode::Tour)
            .await
            .unwrap();

        // Connected -> unlocked, on one open link.
        let cred = admin
            .post(&format!("/api/v1/locks/{}/credentials", lock.id), json!({}))
            .await;
        let credential = b64(cred["credential"].as_str().unwrap());
        let key: [u8; 32] = b64(cred["lock_public_key"].as_str().unwrap())
            .try_into()
            .unwrap();
        let link = transport.connect(&device).await.expect("connected");
        let mut framed = Framed::new(link, Duration::from_secs(5));
        let mut samples = Vec::with_capacity(n);
        let base = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let mut phone_cpu = Duration::ZERO;
        for i in 0..n {
            let before = framed.round_trips;
            let start = Instant::now();
            let (request, pending) =
                PhoneSession::start(&key, &credential, &Command::Unlock, base + i as u64).unwrap();
            let sealed = start.elapsed();
            let answer = framed.exchange(&request).await.expect("answer");
            let open = Instant::now();
            let (_, response) = pending.open_response(&answer).expect("opens");
            phone_cpu += sealed + open.elapsed();
            samples.push(start.elapsed());
            assert_eq!(response, Response::Unlocked);
            assert_eq!(framed.round_trips - before, 1, "one round trip per unlock");
        }
        framed.close().await;
        let (median, p99) = report("connected -> unlocked (latency 30 ms)", samples);
        println!("round trips per unlock: 1");
        println!(
            "phone CPU per unlock (seal + open): {:.3} ms",
            phone_cpu.as_secs_f64() * 1e3 / n as f64
        );
        println!(
            "target: under 45 ms (1.5 x one exchange): median {} p99 {}",
            if median < Duration::from_millis(45) {
                "met"
            } else {
                "MISSED"
            },
            if p99 < Duration::from_millis(45) {
                "met"
            } else {
                "MISSED"
            }
        );

        // The core's whole unlock, connect and disconnect included.
        let mut samples = Vec::with_capacity(n / 4);
        for _ in 0..(n / 4).max(5) {
            let start = Instant::now();
            tech.client
                .on_site()
                .unlock(lock.id.clone(), None)
                .await
                .expect("unlocked");
            samples.push(start.elapsed());
        }
        report("access-core ble_unlock incl. connect + disconnect", samples);
        let _ = support::Rig::keypad(&mut rig, "0000");
        drop(server);
    });
}
