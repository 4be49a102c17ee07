//! The real btleplug path against a bluer peripheral through BlueZoo (started per test by
//! `lock_ble::testing::VirtualBluez`; these tests fail, never skip, when it cannot start).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lock_ble::peripheral::{LockPeripheral, PeripheralConfig};
use lock_ble::testing::VirtualBluez;
use lock_ble::{
    BleError, BtleplugConfig, BtleplugTransport, FnHandler, LinkHandler, LockLink, LockTransport,
};
use lock_protocol::gatt::Advertisement;

const WAIT: Duration = Duration::from_secs(5);

fn echo(tag: &[u8; 8], paired: bool) -> impl LinkHandler {
    let ad = Advertisement {
        paired,
        lock_tag: *tag,
    };
    // Answers each write with "re:" + the write, so an answer cannot be mistaken for an echo
    // of the stack.
    FnHandler::new(ad, |bytes: &[u8]| vec![[b"re:", bytes].concat()])
}

async fn lock(bluez: &VirtualBluez, index: usize, handler: impl LinkHandler) -> LockPeripheral {
    let config = PeripheralConfig {
        adapter: Some(bluez.locks[index].clone()),
        local_name: Some(format!("lock-{index}")),
        ..Default::default()
    };
    LockPeripheral::start(config, handler)
        .await
        .expect("peripheral starts")
}

async fn phone(bluez: &VirtualBluez) -> BtleplugTransport {
    BtleplugTransport::new(BtleplugConfig {
        adapter: Some(bluez.phone.clone()),
        scan_timeout: Duration::from_secs(4),
        connect_timeout: WAIT,
        io_timeout: WAIT,
    })
    .await
    .expect("phone adapter")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_sees_paired_and_unpaired_locks_from_advertising_data() {
    let bluez = VirtualBluez::start(2).await;
    let _paired = lock(&bluez, 0, echo(b"PAIRED01", true)).await;
    let _fresh = lock(&bluez, 1, echo(b"FRESH001", false)).await;
    let phone = phone(&bluez).await;

    let mut scan = phone.scan().await.expect("scan starts");
    let mut seen = std::collections::HashMap::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while seen.len() < 2 {
            let lock = scan.next().await.expect("scan goes on");
            seen.insert(lock.advertisement.lock_tag, lock);
        }
    })
    .await
    .expect("both locks seen within 10 s");

    let paired = &seen[b"PAIRED01"];
    assert!(paired.advertisement.paired);
    assert_eq!(paired.id, bluez.lock_id(&bluez.locks[0]));
    assert_eq!(paired.name.as_deref(), Some("lock-0"));
    let fresh = &seen[b"FRESH001"];
    assert!(!fresh.advertisement.paired);
    assert_eq!(fresh.id, bluez.lock_id(&bluez.locks[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_and_notification_round_trip_in_order() {
    let bluez = VirtualBluez::start(1).await;
    let _lock = lock(&bluez, 0, echo(b"LOCK0001", true)).await;
    let phone = phone(&bluez).await;

    let mut link = phone
        .connect(&bluez.lock_id(&bluez.locks[0]))
        .await
        .expect("connects");
    assert!(link.mtu() >= lock_ble::MIN_ATT_MTU);
    link.send(vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()])
        .await
        .expect("writes acknowledged");
    for expected in [&b"re:one"[..], b"re:two", b"re:three"] {
        assert_eq!(link.recv(WAIT).await.expect("notification"), expected);
    }
    // Nothing more was sent: the next wait ends in a typed timeout.
    let err = link.recv(Duration::from_millis(300)).await.unwrap_err();
    assert!(matches!(err, BleError::Timeout { .. }), "{err:?}");
    link.disconnect().await;
}

/// Counts the GATT events the peripheral maps to the handler.
struct Counting {
    connects: Arc<AtomicUsize>,
    disconnects: Arc<AtomicUsize>,
}

impl LinkHandler for Counting {
    fn advertisement(&self) -> Advertisement {
        Advertisement {
            paired: true,
            lock_tag: *b"COUNTING",
        }
    }
    fn on_connect(&mut self, mtu: usize) {
        assert!(mtu >= lock_ble::MIN_ATT_MTU);
        self.connects.fetch_add(1, Ordering::SeqCst);
    }
    fn on_write(&mut self, fragment: &[u8]) -> Vec<Vec<u8>> {
        vec![fragment.iter().rev().copied().collect()]
    }
    fn on_disconnect(&mut self) {
        self.disconnects.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_again_to_the_same_lock_after_disconnect() {
    let bluez = VirtualBluez::start(1).await;
    let connects = Arc::new(AtomicUsize::new(0));
    let disconnects = Arc::new(AtomicUsize::new(0));
    let handler = Counting {
        connects: connects.clone(),
        disconnects: disconnects.clone(),
    };
    let _lock = lock(&bluez, 0, handler).await;
    let phone = phone(&bluez).await;
    let id = bluez.lock_id(&bluez.locks[0]);

    for round in 1..=3usize {
        let mut link = phone
            .connect(&id)
            .await
            .unwrap_or_else(|e| panic!("connect #{round}: {e}"));
        link.send(vec![vec![1, 2, round as u8]])
            .await
            .expect("write");
        assert_eq!(link.recv(WAIT).await.expect("notify"), [round as u8, 2, 1]);
        link.disconnect().await;
        assert_eq!(connects.load(Ordering::SeqCst), round);
        // The peripheral learns of the disconnect when BlueZoo ends the notification session.
        let deadline = Instant::now() + WAIT;
        while disconnects.load(Ordering::SeqCst) < round && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(disconnects.load(Ordering::SeqCst), round);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_lock_gives_typed_errors_and_comes_back() {
    let bluez = VirtualBluez::start(1).await;
    let lock = lock(&bluez, 0, echo(b"LOCK0001", true)).await;
    let phone = phone(&bluez).await;
    let id = bluez.lock_id(&bluez.locks[0]);

    let mut link = phone.connect(&id).await.expect("connects");
    link.send(vec![b"hi".to_vec()]).await.expect("write");
    assert_eq!(link.recv(WAIT).await.expect("notify"), b"re:hi");

    lock.set_in_range(false).await.expect("goes out of range");
    // The open link is lost...
    let err = match link.send(vec![b"again".to_vec()]).await {
        Err(e) => e,
        Ok(()) => link.recv(Duration::from_secs(1)).await.unwrap_err(),
    };
    assert!(
        matches!(err, BleError::Disconnected | BleError::Timeout { .. }),
        "{err:?}"
    );
    // ...and a new connection finds no lock.
    let started = Instant::now();
    let err = phone.connect(&id).await.err().expect("no connection");
    assert!(
        matches!(err, BleError::OutOfRange(ref which) if *which == id),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(8), "bounded wait");

    lock.set_in_range(true).await.expect("back in range");
    let mut link = phone.connect(&id).await.expect("connects again");
    link.send(vec![b"back".to_vec()]).await.expect("write");
    assert_eq!(link.recv(WAIT).await.expect("notify"), b"re:back");
    link.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_latency_delays_each_answer() {
    let bluez = VirtualBluez::start(1).await;
    let lock = lock(&bluez, 0, echo(b"LOCK0001", true)).await;
    lock.set_latency(Duration::from_millis(60));
    let phone = phone(&bluez).await;

    let mut link = phone
        .connect(&bluez.lock_id(&bluez.locks[0]))
        .await
        .expect("connects");
    let started = Instant::now();
    link.send(vec![b"x".to_vec()]).await.expect("write");
    assert_eq!(link.recv(WAIT).await.expect("notify"), b"re:x");
    assert!(started.elapsed() >= Duration::from_millis(60));
    link.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_lock_is_out_of_range_after_the_scan_timeout() {
    let bluez = VirtualBluez::start(1).await;
    let phone = phone(&bluez).await;
    let started = Instant::now();
    let err = phone
        .connect("hci0/dev_C0_FF_EE_00_99_99")
        .await
        .err()
        .expect("nothing to connect to");
    assert_eq!(
        err,
        BleError::OutOfRange("hci0/dev_C0_FF_EE_00_99_99".into())
    );
    assert!(started.elapsed() >= Duration::from_secs(4));
}

/// A lock that becomes paired when it is written "pair".
struct Pairable {
    paired: bool,
}

impl LinkHandler for Pairable {
    fn advertisement(&self) -> Advertisement {
        Advertisement {
            paired: self.paired,
            lock_tag: *b"PAIRABLE",
        }
    }
    fn on_connect(&mut self, _mtu: usize) {}
    fn on_write(&mut self, fragment: &[u8]) -> Vec<Vec<u8>> {
        self.paired |= fragment == b"pair";
        vec![vec![u8::from(self.paired)]]
    }
    fn on_disconnect(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_advertisement_is_seen_by_the_next_scan() {
    let bluez = VirtualBluez::start(1).await;
    let _lock = lock(&bluez, 0, Pairable { paired: false }).await;
    let phone = phone(&bluez).await;
    let id = bluez.lock_id(&bluez.locks[0]);

    let mut scan = phone.scan().await.expect("scan");
    let first = tokio::time::timeout(Duration::from_secs(10), scan.next())
        .await
        .expect("seen")
        .expect("scan goes on");
    assert!(!first.advertisement.paired);
    drop(scan);

    let mut link = phone.connect(&id).await.expect("connects");
    link.send(vec![b"pair".to_vec()]).await.expect("write");
    assert_eq!(link.recv(WAIT).await.expect("notify"), [1]);
    link.disconnect().await;

    let mut scan = phone.scan().await.expect("scan");
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(seen) = scan.next().await {
            if seen.id == id && seen.advertisement.paired {
                return;
            }
        }
    })
    .await
    .expect("the paired advertisement is seen within 10 s");
}
