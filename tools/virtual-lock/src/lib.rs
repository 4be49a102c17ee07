//! A virtual lock: the lock side of the protocol with its state in a file, for tests and
//! demos. The BLE peripheral (`peripheral.rs`, the `virtual-lock` binary) feeds it the
//! phone's writes and notifies what it returns; tests drive it over in-memory byte links.
//!
//! ```
//! use virtual_lock::{FactorySettings, VirtualLock};
//! let dir = tempfile::tempdir().unwrap();
//! let lock = VirtualLock::open(&dir.path().join("lock.state"),
//!                              FactorySettings::new("VL-0001")).unwrap();
//! assert!(!lock.advertisement().paired);
//! assert_eq!(lock.state().identity.pairing_code.len(), 10);
//! ```

mod brain;
pub mod clock;
mod commands;
mod keypad;
mod lock;
pub mod state;
mod store;
mod update;

pub use brain::LockBrain;
pub use keypad::{
    KEYPAD_FORGIVE_SECS, KEYPAD_FREE_ATTEMPTS, KEYPAD_LOCKOUT_BASE_SECS, KEYPAD_LOCKOUT_MAX_SECS,
    KeypadOutcome, keypad_lockout_secs, keypad_max_guesses,
};
pub use lock::{FIRMWARE_VERSION, FactorySettings, VirtualLock};
pub use state::LockState;

/// What can go wrong opening or saving a lock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("state file: {0}")]
    Io(String),
    #[error("state file is corrupt: {0}")]
    Corrupt(String),
    #[error("the system random source failed")]
    Random,
    #[error("invalid factory settings: {0}")]
    Factory(String),
}
