//! An in-memory transport: the phone's protocol code talks to an in-process lock handler,
//! at any MTU, with the same fragment-size rules and typed errors as a radio link.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::stream::{self, Chain, Iter, Pending};

use crate::transport::{MIN_ATT_MTU, check_fragments};
use crate::{BleError, Discovered, LinkHandler, LockLink, LockTransport};

type SharedHandler = Arc<Mutex<Box<dyn LinkHandler>>>;

struct MemoryLock {
    name: Option<String>,
    handler: SharedHandler,
    in_range: bool,
    /// Whether a link is open (then `generation` names it).
    connected: bool,
    /// Bumped whenever the current link ends, so stale links see they are closed.
    generation: u64,
}

type Locks = Arc<Mutex<HashMap<String, MemoryLock>>>;

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked leaves its state as it was; keep serving the others.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Locks living in this process, reached without a radio.
///
/// ```
/// use lock_ble::{FnHandler, LockLink, LockTransport, MemoryTransport, BleError};
/// use lock_protocol::gatt::Advertisement;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let transport = MemoryTransport::new(23);
/// let ad = Advertisement { paired: true, lock_tag: *b"LOCK0001" };
/// transport.add_lock("front-door", None, FnHandler::new(ad, |b: &[u8]| vec![b.to_vec()]));
/// let mut link = transport.connect("front-door").await.unwrap();
/// // 20 bytes fit an ATT payload at MTU 23, 21 do not.
/// assert!(link.send(vec![vec![0; 20]]).await.is_ok());
/// assert_eq!(
///     link.send(vec![vec![0; 21]]).await,
///     Err(BleError::FragmentTooLarge { len: 21, max: 20 })
/// );
/// transport.set_in_range("front-door", false);
/// assert!(matches!(transport.connect("front-door").await, Err(BleError::OutOfRange(_))));
/// # });
/// ```
#[derive(Clone)]
pub struct MemoryTransport {
    locks: Locks,
    mtu: usize,
}

impl MemoryTransport {
    /// A transport whose links have this ATT MTU (raised to 23 if lower).
    pub fn new(mtu: usize) -> Self {
        Self {
            locks: Arc::default(),
            mtu: mtu.max(MIN_ATT_MTU),
        }
    }

    /// Adds a lock (in range) under `id`, replacing any lock of that id.
    pub fn add_lock(&self, id: &str, name: Option<&str>, handler: impl LinkHandler) {
        let lock = MemoryLock {
            name: name.map(str::to_owned),
            handler: Arc::new(Mutex::new(Box::new(handler))),
            in_range: true,
            connected: false,
            generation: 0,
        };
        locked(&self.locks).insert(id.to_owned(), lock);
    }

    /// Moves a lock in or out of range; going out of range drops its link.
    pub fn set_in_range(&self, id: &str, in_range: bool) {
        let mut locks = locked(&self.locks);
        if let Some(lock) = locks.get_mut(id) {
            if !in_range && lock.connected {
                lock.connected = false;
                locked(&lock.handler).on_disconnect();
            }
            lock.in_range = in_range;
        }
    }
}

impl LockTransport for MemoryTransport {
    type Link = MemoryLink;
    type Scan = Chain<Iter<std::vec::IntoIter<Discovered>>, Pending<Discovered>>;

    async fn scan(&self) -> Result<Self::Scan, BleError> {
        let seen: Vec<Discovered> = locked(&self.locks)
            .iter()
            .filter(|(_, lock)| lock.in_range)
            .map(|(id, lock)| Discovered {
                id: id.clone(),
                name: lock.name.clone(),
                advertisement: locked(&lock.handler).advertisement(),
                rssi: None,
            })
            .collect();
        Ok(futures::StreamExt::chain(
            stream::iter(seen),
            stream::pending(),
        ))
    }

    async fn connect(&self, id: &str) -> Result<MemoryLink, BleError> {
        let mut locks = locked(&self.locks);
        let lock = locks
            .get_mut(id)
            .filter(|lock| lock.in_range)
            .ok_or_else(|| BleError::OutOfRange(id.to_owned()))?;
        // One link per lock, as on a real lock: a new connection ends the previous one.
        let mut handler = locked(&lock.handler);
        if lock.connected {
            handler.on_disconnect();
        }
        lock.connected = true;
        lock.generation += 1;
        handler.on_connect(self.mtu);
        drop(handler);
        Ok(MemoryLink {
            id: id.to_owned(),
            locks: self.locks.clone(),
            handler: lock.handler.clone(),
            generation: lock.generation,
            mtu: self.mtu,
            pending: VecDeque::new(),
        })
    }
}

/// A link of the [`MemoryTransport`].
pub struct MemoryLink {
    id: String,
    locks: Locks,
    handler: SharedHandler,
    generation: u64,
    mtu: usize,
    pending: VecDeque<Vec<u8>>,
}

impl MemoryLink {
    fn is_open(&self) -> bool {
        locked(&self.locks)
            .get(&self.id)
            .is_some_and(|lock| lock.connected && lock.generation == self.generation)
    }
}

impl LockLink for MemoryLink {
    fn mtu(&self) -> usize {
        self.mtu
    }

    async fn send(&mut self, fragments: Vec<Vec<u8>>) -> Result<(), BleError> {
        check_fragments(&fragments, self.mtu)?;
        for fragment in fragments {
            if !self.is_open() {
                return Err(BleError::Disconnected);
            }
            let notifications = locked(&self.handler).on_write(&fragment);
            // A lock that notifies more than the MTU allows is broken: say so, don't truncate.
            check_fragments(&notifications, self.mtu)?;
            self.pending.extend(notifications);
        }
        Ok(())
    }

    async fn recv(&mut self, timeout: Duration) -> Result<Vec<u8>, BleError> {
        if !self.is_open() {
            return Err(BleError::Disconnected);
        }
        match self.pending.pop_front() {
            Some(fragment) => Ok(fragment),
            None => {
                // Nothing will arrive: the handler only answers writes.
                tokio::time::sleep(timeout).await;
                Err(BleError::Timeout {
                    after: timeout,
                    waiting_for: "a notification",
                })
            }
        }
    }

    async fn disconnect(self) {
        let mut locks = locked(&self.locks);
        if let Some(lock) = locks.get_mut(&self.id)
            && lock.connected
            && lock.generation == self.generation
        {
            lock.connected = false;
            locked(&lock.handler).on_disconnect();
        }
    }
}
