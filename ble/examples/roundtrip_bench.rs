//! Write -> notification round trip through btleplug, BlueZoo and the bluer peripheral, at
//! link latencies of 0 and 30 ms; also connect (+ service discovery + subscribe) time.
//! Starts its own BlueZoo (tools/bluezoo/launcher.py). Run:
//!
//! ```text
//! cargo run --release -p lock-ble --example roundtrip_bench [-- ROUNDS]
//! ```

use std::time::{Duration, Instant};

use lock_ble::peripheral::{LockPeripheral, PeripheralConfig};
use lock_ble::testing::VirtualBluez;
use lock_ble::{BtleplugConfig, BtleplugTransport, FnHandler, LockLink, LockTransport};
use lock_protocol::gatt::Advertisement;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run(latency: Duration, rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let bluez = VirtualBluez::start(1).await;
    let ad = Advertisement {
        paired: true,
        lock_tag: *b"BENCH001",
    };
    let config = PeripheralConfig {
        adapter: Some(bluez.locks[0].clone()),
        latency,
        local_name: None,
    };
    let _lock =
        LockPeripheral::start(config, FnHandler::new(ad, |b: &[u8]| vec![b.to_vec()])).await?;
    let phone = BtleplugTransport::new(BtleplugConfig {
        adapter: Some(bluez.phone.clone()),
        ..Default::default()
    })
    .await?;
    let id = bluez.lock_id(&bluez.locks[0]);

    let mut connects = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let link = phone.connect(&id).await?;
        connects.push(started.elapsed());
        link.disconnect().await;
    }

    let mut link = phone.connect(&id).await?;
    let payload = vec![0x5a; 64];
    for _ in 0..10 {
        link.send(vec![payload.clone()]).await?;
        link.recv(Duration::from_secs(5)).await?;
    }
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        link.send(vec![payload.clone()]).await?;
        let answer = link.recv(Duration::from_secs(5)).await?;
        samples.push(started.elapsed());
        assert_eq!(answer, payload);
    }
    link.disconnect().await;
    samples.sort();
    connects.sort();
    println!(
        "latency {:>3} ms: round trip median {:>7.2} ms  p99 {:>7.2} ms  (n={}); \
         connect median {:>6.2} ms  max {:>6.2} ms (n={})",
        latency.as_millis(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        samples.len(),
        ms(percentile(&connects, 0.5)),
        ms(*connects.last().unwrap_or(&Duration::ZERO)),
        connects.len(),
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(200);
    for latency in [0, 30] {
        run(Duration::from_millis(latency), rounds).await?;
    }
    Ok(())
}
