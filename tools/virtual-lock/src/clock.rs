//! Where the lock's time comes from. The lock's clock is this source plus the offset that
//! pairing and door updates keep in the state file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of unix seconds.
pub trait Clock: Send + Sync {
    fn unix_now(&self) -> u64;
}

/// The host's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that moves only when told to, shared between a test and the lock.
///
/// ```
/// use virtual_lock::clock::{Clock, ManualClock};
/// let clock = ManualClock::new(100);
/// let seen_by_lock = clock.clone();
/// clock.advance(5);
/// assert_eq!(seen_by_lock.unix_now(), 105);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn new(unix_now: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(unix_now)))
    }

    pub fn set(&self, unix_now: u64) {
        self.0.store(unix_now, Ordering::SeqCst);
    }

    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn unix_now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
