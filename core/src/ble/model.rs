//! What the shells see of BLE: nearby locks, pairing phases, the lock's status.

use lock_protocol::command::{Bolt, Status};

use access_domain::LockMode;

/// A lock seen advertising nearby.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NearbyLock {
    /// Pass to [`crate::OnSite::pair`] (the platform's device id).
    pub device_id: String,
    /// Advertised local name, if any.
    pub name: Option<String>,
    /// Paired to an organization (ours or another).
    pub paired: bool,
    /// The cached lock this is, when it is one of ours.
    pub lock_id: Option<String>,
    /// The advertised tag: the lock id's first 8 bytes once paired, the factory serial before.
    pub tag: String,
    /// Signal strength in dBm when the radio reports it.
    pub rssi: Option<i16>,
}

/// Told about each lock a scan sees (again when its advertising changes). A failure never
/// stops the scan (see [`crate::callback`]).
#[uniffi::export(with_foreign)]
pub trait ScanListener: Send + Sync {
    fn on_lock(&self, lock: NearbyLock) -> Result<(), crate::CallbackError>;
}

/// The steps of pairing, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PairingPhase {
    /// Opening the BLE link.
    Connecting,
    /// Registering the lock under the unit; the server answers what to install.
    Registering,
    /// Proving the code printed on the lock (SPAKE2).
    KeyExchange,
    /// Installing the organization key, time and master code; storing the lock's key.
    Installing,
    Done,
}

/// A unit where the user may pair a lock, with the locks added on the platform for it and
/// not paired yet (pair onto one of them, or pair a new one into the unit).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PairingPlace {
    pub property_id: String,
    pub property_name: String,
    pub unit_id: String,
    pub unit_name: String,
    pub waiting_locks: Vec<crate::model::LockInfo>,
}

/// Told how pairing progresses. A failure never fails the pairing (see [`crate::callback`]).
#[uniffi::export(with_foreign)]
pub trait PairingProgress: Send + Sync {
    fn on_phase(&self, phase: PairingPhase) -> Result<(), crate::CallbackError>;
}

/// The steps of opening a door, in order; `Opened` is told when the lock answers that it
/// opened, before the rest of the contact (door update, status, log) and the disconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UnlockPhase {
    /// Looking for the lock: this phone does not know where it is (first time, or moved).
    Searching,
    /// Opening the link and the session.
    Connecting,
    Opened,
}

/// Told how an unlock progresses. A failure never fails the unlock (see [`crate::callback`]).
#[uniffi::export(with_foreign)]
pub trait UnlockProgress: Send + Sync {
    fn on_phase(&self, phase: UnlockPhase) -> Result<(), crate::CallbackError>;
}

/// What a lock says about itself.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LockStatusInfo {
    /// Percent.
    pub battery: u8,
    pub firmware: String,
    /// The lock's clock, unix seconds.
    pub clock: u64,
    pub mode: LockMode,
    pub name: String,
    /// Newest log sequence number on the lock.
    pub log_head: u64,
    pub access_codes: u32,
    pub bolt_locked: bool,
}

impl From<Status> for LockStatusInfo {
    fn from(s: Status) -> Self {
        LockStatusInfo {
            battery: s.battery,
            firmware: s.firmware,
            clock: s.clock,
            mode: s.mode,
            name: s.name,
            log_head: s.log_head,
            access_codes: s.access_codes,
            bolt_locked: s.bolt == Bolt::Locked,
        }
    }
}

/// What reading a lock's log did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogReadSummary {
    /// Entries read from the lock this time.
    pub read: u64,
    /// Entries the server has now (0 when offline: they wait in the queue).
    pub uploaded: u64,
    /// Entries still waiting for upload, all locks.
    pub waiting: u64,
    /// The entries read this time, oldest first, one readable line each.
    pub lines: Vec<String>,
}
