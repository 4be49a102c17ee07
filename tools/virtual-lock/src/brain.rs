//! The lock brain behind a link: a shared [`VirtualLock`] answering the link's events, for
//! the binary's BlueZ peripheral and for tests over lock-ble's in-memory transport.

use std::sync::{Arc, Mutex, PoisonError};

use lock_ble::LinkHandler;
use lock_protocol::gatt::Advertisement;

use crate::VirtualLock;

/// A [`VirtualLock`] as a [`LinkHandler`]; clones share the lock (e.g. with a keypad).
#[derive(Clone)]
pub struct LockBrain(pub Arc<Mutex<VirtualLock>>);

impl LockBrain {
    pub fn new(lock: VirtualLock) -> LockBrain {
        LockBrain(Arc::new(Mutex::new(lock)))
    }

    /// Runs `f` on the lock (a panic elsewhere does not make it unusable).
    pub fn with<T>(&self, f: impl FnOnce(&mut VirtualLock) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl LinkHandler for LockBrain {
    fn advertisement(&self) -> Advertisement {
        self.with(|lock| lock.advertisement())
    }
    fn on_connect(&mut self, mtu: usize) {
        self.with(|lock| lock.on_connect(mtu));
    }
    fn on_write(&mut self, fragment: &[u8]) -> Vec<Vec<u8>> {
        self.with(|lock| lock.on_write(fragment))
    }
    fn on_disconnect(&mut self) {
        self.with(|lock| lock.on_disconnect());
    }
}
