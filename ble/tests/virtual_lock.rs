//! The phone pairs the virtual lock's brain through btleplug, BlueZoo and the bluer
//! peripheral: the protocol's framing at the link's MTU, two round trips, and the paired
//! advertisement seen by the next scan.

use std::time::Duration;

use access_domain::LockMode;
use futures::StreamExt;
use lock_ble::peripheral::{LockPeripheral, PeripheralConfig};
use lock_ble::testing::VirtualBluez;
use lock_ble::{BtleplugConfig, BtleplugTransport, LockLink, LockTransport};
use lock_protocol::frame::{Reassembler, fragment};
use lock_protocol::pairing::{Install, PairingPhone, PairingStep};
use virtual_lock::{FactorySettings, LockBrain, VirtualLock};

/// Sends one protocol message and reassembles the lock's answer.
async fn exchange(link: &mut impl LockLink, msg_id: u8, message: &[u8]) -> Vec<u8> {
    let fragments = fragment(msg_id, message, link.mtu()).expect("fits the MTU");
    link.send(fragments).await.expect("written");
    let mut reassembler = Reassembler::new();
    loop {
        let fragment = link.recv(Duration::from_secs(5)).await.expect("answer");
        if let Some(answer) = reassembler.push(&fragment).expect("valid fragment") {
            return answer;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_pairs_the_virtual_lock_over_bluezoo() {
    let bluez = VirtualBluez::start(1).await;
    let dir = tempfile::tempdir().unwrap();
    let factory = FactorySettings {
        factory_serial: "VL-E2E-01".into(),
        pairing_code: Some("1357924680".into()),
    };
    let lock = VirtualLock::open(&dir.path().join("lock.state"), factory).unwrap();
    let config = PeripheralConfig {
        adapter: Some(bluez.locks[0].clone()),
        ..Default::default()
    };
    let _peripheral = LockPeripheral::start(config, LockBrain::new(lock))
        .await
        .expect("on the air");
    let phone = BtleplugTransport::new(BtleplugConfig {
        adapter: Some(bluez.phone.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let id = bluez.lock_id(&bluez.locks[0]);

    let mut scan = phone.scan().await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), scan.next())
        .await
        .expect("seen")
        .unwrap();
    assert_eq!(
        (seen.advertisement.paired, &seen.advertisement.lock_tag),
        (false, b"VL-E2E-0")
    );
    drop(scan);

    let lock_id = uuid::Uuid::new_v4();
    let install = Install {
        org_public_key: vec![7; 32],
        lock_id,
        now: 1_800_000_000,
        name: "Unit 4B front door".into(),
        mode: LockMode::Vacant,
    };
    let (start, mut pairing) = PairingPhone::start("1357-9246-80", install).unwrap();
    let mut link = phone.connect(&id).await.expect("connects");
    let challenge = exchange(&mut link, 1, &start).await;
    let PairingStep::Send(finish) = pairing
        .on_message(&challenge)
        .expect("lock proved the code")
    else {
        panic!("pairing needs a second round trip");
    };
    let done = exchange(&mut link, 2, &finish).await;
    let PairingStep::Paired(result) = pairing.on_message(&done).expect("paired") else {
        panic!("pairing did not finish");
    };
    assert_eq!(result.factory_serial, "VL-E2E-01");
    link.disconnect().await;

    // The lock now advertises itself as paired, under its new id.
    let mut scan = phone.scan().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(seen) = scan.next().await {
            if seen.advertisement.paired {
                assert_eq!(&seen.advertisement.lock_tag, &lock_id.as_bytes()[..8]);
                return;
            }
        }
    })
    .await
    .expect("paired advertisement within 10 s");
}

/// The `virtual-lock` binary beside this test's directory (target/debug/virtual-lock). It is
/// built by `cargo test --workspace` (virtual-lock has tests) and by `suite_ble`; on its own,
/// `cargo build -p virtual-lock` first.
fn virtual_lock_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("virtual-lock");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p virtual-lock` first",
        binary.display()
    );
    binary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_lock_binary_serves_and_obeys_its_controls() {
    let bluez = VirtualBluez::start(1).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lock.state");
    let mut lock = lock_ble::testing::VirtualLockProcess::start(
        &virtual_lock_binary(),
        &[
            "--state",
            state.to_str().unwrap(),
            "--adapter",
            &bluez.locks[0],
            "--pairing-code",
            "1122334455",
            "--serial",
            "VL-BIN-01",
            "--latency-ms",
            "20",
        ],
    );
    assert_eq!(lock.field("address"), Some(bluez.locks[0].as_str()));
    assert_eq!(lock.field("pairing_code"), Some("1122334455"));
    assert_eq!(lock.field("paired"), Some("false"));
    assert_eq!(lock.field("tag"), Some("VL-BIN-0"));

    let phone = BtleplugTransport::new(BtleplugConfig {
        adapter: Some(bluez.phone.clone()),
        scan_timeout: Duration::from_secs(3),
        ..Default::default()
    })
    .await
    .unwrap();
    let id = bluez.lock_id(&bluez.locks[0]);
    let mut link = phone.connect(&id).await.expect("connects to the binary");
    // Garbage is refused by the brain with a framed `Rejected(Malformed)`.
    let answer = exchange(&mut link, 1, b"not a protocol message").await;
    assert_eq!(
        lock_protocol::wire::decode::<lock_protocol::wire::LockMessage>(&answer).unwrap(),
        lock_protocol::wire::LockMessage::Rejected(lock_protocol::wire::Rejection::Malformed)
    );

    lock.command("keypad 0000000");
    assert!(lock.expect_line("virtual-lock keypad ").contains("Refused"));

    lock.command("out-of-range");
    lock.expect_line("virtual-lock out-of-range");
    let err = phone.connect(&id).await.err().expect("out of range");
    assert!(matches!(err, lock_ble::BleError::OutOfRange(_)), "{err:?}");
    lock.command("in-range");
    lock.expect_line("virtual-lock in-range");
    phone
        .connect(&id)
        .await
        .expect("back in range")
        .disconnect()
        .await;
}
