//! [`OnSite`]: the locks in Bluetooth range (`crate::ble`): scan, pairing, and the lock
//! commands, each gated like its HTTP action and working offline with the cached
//! credential.

use std::sync::Arc;

use access_domain::LockMode;

use crate::AccessError;
use crate::ble::{
    LockStatusInfo, LogReadSummary, NearbyLock, PairingPlace, PairingProgress, ScanListener,
    UnlockProgress,
};
use crate::engine::Engine;
use crate::live_objects::LiveObject;
use crate::model::LockInfo;

/// What the phone does next to a lock.
#[derive(uniffi::Object)]
pub struct OnSite {
    engine: Arc<Engine>,
    _live: LiveObject,
}

impl OnSite {
    pub(crate) fn new(engine: Arc<Engine>) -> OnSite {
        OnSite {
            engine,
            _live: LiveObject::new(),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl OnSite {
    /// Uses the Bluetooth adapter with this address (`None`: the first one). Takes effect
    /// for the next lock conversation.
    pub async fn use_bluetooth_adapter(&self, address: Option<String>) {
        self.engine.use_bluetooth_adapter(address).await
    }

    /// Scans for `duration_ms`, telling `listener` of each lock seen (again when its
    /// advertising changes); returns the locks seen, one per device.
    pub async fn scan(
        &self,
        duration_ms: u32,
        listener: Option<Arc<dyn ScanListener>>,
    ) -> Result<Vec<NearbyLock>, AccessError> {
        self.engine.scan_locks(duration_ms, listener).await
    }

    /// Pairs a factory-fresh lock on site and registers it under `unit_id` as `name`.
    /// `pairing_code` is the code printed on the lock. Needs the network and the `Pair`
    /// right in the unit.
    pub async fn pair(
        &self,
        unit_id: String,
        device_id: String,
        pairing_code: String,
        name: String,
        progress: Option<Arc<dyn PairingProgress>>,
    ) -> Result<LockInfo, AccessError> {
        self.engine
            .pair_lock(unit_id, device_id, pairing_code, name, progress)
            .await
    }

    /// Pairs a factory-fresh lock onto a lock record added on the platform and not paired
    /// yet (see [`OnSite::pairing_places`]): it keeps its id, unit and name. Needs the
    /// network and the `Pair` right in its unit.
    pub async fn pair_onto(
        &self,
        lock_id: String,
        device_id: String,
        pairing_code: String,
        progress: Option<Arc<dyn PairingProgress>>,
    ) -> Result<LockInfo, AccessError> {
        self.engine
            .pair_onto(lock_id, device_id, pairing_code, progress)
            .await
    }

    /// The units where the user may pair, each with the locks waiting for pairing there.
    /// Needs the network.
    pub async fn pairing_places(&self) -> Result<Vec<PairingPlace>, AccessError> {
        self.engine.pairing_places().await
    }

    /// Opens the door, telling `progress` each phase (searching, connecting, opened: the
    /// last as soon as the lock says so). Offline with a cached credential. A lock whose mode
    /// does not admit this user now is [`AccessError::NotNow`].
    #[uniffi::method(default(progress = None))]
    pub async fn unlock(
        &self,
        lock_id: String,
        progress: Option<Arc<dyn UnlockProgress>>,
    ) -> Result<(), AccessError> {
        self.engine.ble_unlock(lock_id, progress).await
    }

    /// Throws the bolt.
    pub async fn lock(&self, lock_id: String) -> Result<(), AccessError> {
        self.engine.ble_lock(lock_id).await
    }

    /// Sets the mode on the lock (`change_modes`), then records it on the server (queued
    /// when offline).
    pub async fn set_mode(&self, lock_id: String, mode: LockMode) -> Result<(), AccessError> {
        self.engine.ble_set_mode(lock_id, mode).await
    }

    /// Renames the lock (`rename_locks`), then on the server (queued when offline).
    pub async fn rename(&self, lock_id: String, name: String) -> Result<(), AccessError> {
        self.engine.ble_rename(lock_id, name).await
    }

    /// Resets the codes (`reset_codes`) in one session: the lock is reached first, then the
    /// server makes the new master code, then the lock takes it and drops every access code.
    /// Needs the network; nothing changes anywhere when the lock is out of range.
    pub async fn reset_codes(&self, lock_id: String) -> Result<u32, AccessError> {
        self.engine.ble_reset_codes(lock_id).await
    }

    /// Installs a given access code (from the cache) in the lock (`give_access`); the
    /// lock's confirmation is reported to the server (queued when offline).
    pub async fn install_access_code(
        &self,
        lock_id: String,
        code_id: String,
    ) -> Result<(), AccessError> {
        self.engine.ble_install_access_code(lock_id, code_id).await
    }

    /// Removes an access code from the lock (`give_access`).
    pub async fn remove_access_code(
        &self,
        lock_id: String,
        code_id: String,
    ) -> Result<(), AccessError> {
        self.engine.ble_remove_access_code(lock_id, code_id).await
    }

    /// Battery, firmware, clock, mode, name of the lock.
    pub async fn read_status(&self, lock_id: String) -> Result<LockStatusInfo, AccessError> {
        self.engine.ble_read_status(lock_id).await
    }

    /// Reads the lock's log since the last entry read (`view_logs`), queues the entries and
    /// uploads what waits when the network is there.
    pub async fn read_log(&self, lock_id: String) -> Result<LogReadSummary, AccessError> {
        self.engine.ble_read_log(lock_id).await
    }

    /// Brings the lock in line with the platform now: an ordinary contact with a status
    /// read that carries the lock's door update (fetched fresh first when online), the only
    /// way its clock and revocation list move. Answers the lock's status after it.
    pub async fn bring_in_line(&self, lock_id: String) -> Result<LockStatusInfo, AccessError> {
        self.engine.ble_bring_in_line(lock_id).await
    }

    /// Uploads contact reports and log pages waiting from earlier lock contacts; returns
    /// how many log entries the server took.
    pub async fn upload_lock_logs(&self) -> Result<u64, AccessError> {
        self.engine.flush_ble_uploads().await
    }
}
