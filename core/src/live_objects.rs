//! How many of the core's exported objects ([`crate::AccessClient`] and the objects it hands
//! out, [`crate::FileSecretStore`]) are alive in the process, so the shells' leak tests can
//! check that every object they opened was really freed on the Rust side.
//!
//! Each exported object holds a [`LiveObject`]: counted when it is made, uncounted when the
//! object is dropped (when the last Kotlin/Swift handle is closed or released and no call
//! still runs on it).
//!
//! ```
//! use access_core::{FileSecretStore, live_object_count};
//! let dir = tempfile::tempdir().unwrap();
//! let store = FileSecretStore::new(dir.path().join("s.json").display().to_string());
//! assert!(live_object_count() >= 1); // at least `store` (tests run in parallel)
//! drop(store);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

static LIVE: AtomicU64 = AtomicU64::new(0);

/// Counts the object holding it among the live ones, until it is dropped.
#[derive(Debug)]
pub(crate) struct LiveObject {
    counter: &'static AtomicU64,
}

impl LiveObject {
    /// Counts one more live object in the process-wide count.
    pub(crate) fn new() -> Self {
        Self::counted_in(&LIVE)
    }

    fn counted_in(counter: &'static AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        LiveObject { counter }
    }
}

impl Drop for LiveObject {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The core's exported objects alive now in this process. Meant for leak tests: read it
/// before a burst of work and after closing everything the burst opened; it must come back
/// to the same value.
#[uniffi::export]
pub fn live_object_count() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_object_until_it_is_dropped() {
        // A counter of its own: other tests create objects in parallel.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let a = LiveObject::counted_in(&COUNTER);
        let b = LiveObject::counted_in(&COUNTER);
        assert_eq!(COUNTER.load(Ordering::Relaxed), 2);
        drop(a);
        assert_eq!(COUNTER.load(Ordering::Relaxed), 1);
        let moved = std::sync::Arc::new(b);
        let clone = moved.clone();
        drop(moved);
        assert_eq!(COUNTER.load(Ordering::Relaxed), 1, "still held by a clone");
        drop(clone);
        assert_eq!(COUNTER.load(Ordering::Relaxed), 0);
    }
}
