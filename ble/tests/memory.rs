//! The in-memory transport: fragmentation at the smallest MTU, typed errors, link lifecycle.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use lock_ble::{
    AnyTransport, BleError, FnHandler, LinkHandler, LockLink, LockTransport, MemoryTransport,
};
use lock_protocol::gatt::Advertisement;

const AD: Advertisement = Advertisement {
    paired: false,
    lock_tag: *b"MEMLOCK1",
};

/// A lock that reassembles a length-prefixed message (2 bytes, big endian) from any number
/// of writes and answers with the message reversed, cut to the MTU it was given.
#[derive(Default)]
struct Reverser {
    mtu: usize,
    buffer: Vec<u8>,
    events: Arc<Mutex<Vec<String>>>,
}

impl LinkHandler for Reverser {
    fn advertisement(&self) -> Advertisement {
        AD
    }
    fn on_connect(&mut self, mtu: usize) {
        self.mtu = mtu;
        self.buffer.clear();
        self.events.lock().unwrap().push(format!("connect {mtu}"));
    }
    fn on_write(&mut self, fragment: &[u8]) -> Vec<Vec<u8>> {
        self.buffer.extend_from_slice(fragment);
        let Some(len) = self
            .buffer
            .get(..2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return Vec::new();
        };
        if self.buffer.len() < 2 + len {
            return Vec::new();
        }
        let message: Vec<u8> = self.buffer.drain(..).skip(2).rev().collect();
        message.chunks(self.mtu - 3).map(<[u8]>::to_vec).collect()
    }
    fn on_disconnect(&mut self) {
        self.events.lock().unwrap().push("disconnect".into());
    }
}

fn fragments(message: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    framed.chunks(max).map(<[u8]>::to_vec).collect()
}

#[tokio::test]
async fn message_crosses_a_23_byte_mtu_in_fragments() {
    let transport = MemoryTransport::new(23);
    let events = Arc::new(Mutex::new(Vec::new()));
    transport.add_lock(
        "lock",
        Some("Unit 4B"),
        Reverser {
            events: events.clone(),
            ..Default::default()
        },
    );
    let mut link = transport.connect("lock").await.expect("in range");
    assert_eq!((link.mtu(), link.max_fragment()), (23, 20));

    let message: Vec<u8> = (0..=200).collect();
    let out = fragments(&message, link.max_fragment());
    assert_eq!(out.len(), 11, "203 bytes at 20 per write");
    link.send(out).await.expect("every fragment fits");

    let mut answer = Vec::new();
    while answer.len() < message.len() {
        let fragment = link.recv(Duration::from_secs(1)).await.expect("notified");
        assert!(fragment.len() <= 20);
        answer.extend(fragment);
    }
    assert_eq!(answer, message.iter().rev().copied().collect::<Vec<_>>());
    link.disconnect().await;
    assert_eq!(*events.lock().unwrap(), ["connect 23", "disconnect"]);
}

#[tokio::test]
async fn fragments_larger_than_the_att_payload_are_refused() {
    let transport = MemoryTransport::new(23);
    transport.add_lock(
        "echo",
        None,
        FnHandler::new(AD, |b: &[u8]| vec![b.to_vec()]),
    );
    let mut link = transport.connect("echo").await.unwrap();
    assert_eq!(
        link.send(vec![vec![1; 20], vec![2; 21]]).await,
        Err(BleError::FragmentTooLarge { len: 21, max: 20 })
    );
    // Nothing of the refused batch reached the lock.
    assert!(matches!(
        link.recv(Duration::from_millis(10)).await,
        Err(BleError::Timeout { .. })
    ));

    // A lock that notifies past the MTU is reported, not truncated.
    let big = MemoryTransport::new(23);
    big.add_lock(
        "big",
        None,
        FnHandler::new(AD, |_: &[u8]| vec![vec![0; 40]]),
    );
    let mut link = big.connect("big").await.unwrap();
    assert_eq!(
        link.send(vec![vec![1]]).await,
        Err(BleError::FragmentTooLarge { len: 40, max: 20 })
    );
}

#[tokio::test]
async fn mtu_below_the_minimum_is_raised_to_23() {
    let transport = MemoryTransport::new(5);
    transport.add_lock(
        "echo",
        None,
        FnHandler::new(AD, |b: &[u8]| vec![b.to_vec()]),
    );
    assert_eq!(transport.connect("echo").await.unwrap().mtu(), 23);
}

#[tokio::test]
async fn scan_lists_locks_in_range_only() {
    let transport = MemoryTransport::new(185);
    let paired = Advertisement {
        paired: true,
        lock_tag: *b"PAIRED01",
    };
    transport.add_lock("a", Some("A"), FnHandler::new(AD, |_: &[u8]| Vec::new()));
    transport.add_lock("b", None, FnHandler::new(paired, |_: &[u8]| Vec::new()));
    transport.set_in_range("a", false);
    let mut scan = transport.scan().await.unwrap();
    let first = scan.next().await.expect("b is in range");
    assert_eq!(first.id, "b");
    assert!(first.advertisement.paired);
    // The stream does not end by itself; nothing else is in range.
    assert!(
        tokio::time::timeout(Duration::from_millis(20), scan.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn going_out_of_range_drops_the_link_and_refuses_connections() {
    let transport = MemoryTransport::new(64);
    let events = Arc::new(Mutex::new(Vec::new()));
    transport.add_lock(
        "lock",
        None,
        Reverser {
            events: events.clone(),
            ..Default::default()
        },
    );
    let mut link = transport.connect("lock").await.unwrap();
    transport.set_in_range("lock", false);
    assert_eq!(
        link.send(vec![vec![0, 1, 9]]).await,
        Err(BleError::Disconnected)
    );
    assert_eq!(
        link.recv(Duration::from_secs(5)).await,
        Err(BleError::Disconnected)
    );
    assert_eq!(
        transport.connect("lock").await.err(),
        Some(BleError::OutOfRange("lock".into()))
    );
    assert_eq!(
        transport.connect("nowhere").await.err(),
        Some(BleError::OutOfRange("nowhere".into()))
    );
    transport.set_in_range("lock", true);
    let mut link = transport.connect("lock").await.expect("back in range");
    link.send(vec![vec![0, 2, 1, 2]]).await.unwrap();
    assert_eq!(link.recv(Duration::from_secs(1)).await.unwrap(), [2, 1]);
    assert_eq!(
        *events.lock().unwrap(),
        ["connect 64", "disconnect", "connect 64"]
    );
}

#[tokio::test]
async fn a_new_connection_ends_the_previous_link() {
    let transport = AnyTransport::from(MemoryTransport::new(23));
    let AnyTransport::Memory(memory) = &transport else {
        unreachable!()
    };
    memory.add_lock(
        "echo",
        None,
        FnHandler::new(AD, |b: &[u8]| vec![b.to_vec()]),
    );
    let mut first = transport.connect("echo").await.unwrap();
    let mut second = transport.connect("echo").await.unwrap();
    assert_eq!(first.send(vec![vec![1]]).await, Err(BleError::Disconnected));
    second.send(vec![vec![7]]).await.unwrap();
    assert_eq!(second.recv(Duration::from_secs(1)).await.unwrap(), [7]);
}

/// The protocol's own framing over the in-memory link at MTU 23: a lock that reassembles
/// each message and answers with it reversed, fragmented at the link's MTU.
struct FramedReverser {
    mtu: usize,
    reassembler: lock_protocol::frame::Reassembler,
}

impl LinkHandler for FramedReverser {
    fn advertisement(&self) -> Advertisement {
        AD
    }
    fn on_connect(&mut self, mtu: usize) {
        self.mtu = mtu;
        self.reassembler.reset();
    }
    fn on_write(&mut self, fragment: &[u8]) -> Vec<Vec<u8>> {
        match self.reassembler.push(fragment) {
            Ok(Some(message)) => {
                let reply: Vec<u8> = message.into_iter().rev().collect();
                lock_protocol::frame::fragment(2, &reply, self.mtu).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
    fn on_disconnect(&mut self) {
        self.reassembler.reset();
    }
}

#[tokio::test]
async fn protocol_framing_round_trips_at_mtu_23() {
    let transport = MemoryTransport::new(23);
    transport.add_lock(
        "lock",
        None,
        FramedReverser {
            mtu: 0,
            reassembler: lock_protocol::frame::Reassembler::new(),
        },
    );
    let mut link = transport.connect("lock").await.unwrap();
    let message: Vec<u8> = (0..300u16).map(|i| (i % 251) as u8).collect();
    let out = lock_protocol::frame::fragment(1, &message, link.mtu()).expect("fits");
    assert!(out.len() > 1 && out.iter().all(|f| f.len() <= link.max_fragment()));
    link.send(out).await.expect("sent");

    let mut reassembler = lock_protocol::frame::Reassembler::new();
    let reply = loop {
        let fragment = link.recv(Duration::from_secs(1)).await.expect("notified");
        assert!(fragment.len() <= 20);
        if let Some(reply) = reassembler.push(&fragment).expect("valid fragment") {
            break reply;
        }
    };
    assert_eq!(reply, message.iter().rev().copied().collect::<Vec<_>>());
}
