//! [`Locks`]: the cached locks (offline) and the gated actions on one lock
//! (`crate::locks`).

use std::sync::Arc;

use access_domain::{AccessCodeKind, Action, LockMode};

use crate::AccessError;
use crate::engine::Engine;
use crate::live_objects::LiveObject;
use crate::model::*;

/// The locks the signed-in user can see.
#[derive(uniffi::Object)]
pub struct Locks {
    engine: Arc<Engine>,
    _live: LiveObject,
}

impl Locks {
    pub(crate) fn new(engine: Arc<Engine>) -> Locks {
        Locks {
            engine,
            _live: LiveObject::new(),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Locks {
    /// Every cached lock, by name. Works offline.
    pub async fn list(&self) -> Result<Vec<LockInfo>, AccessError> {
        self.engine.list_locks().await
    }

    /// Cached locks whose name, unit or property contains each word of `query`, the first
    /// `limit` by name (100 unless the app asks otherwise: a screenful or two, since every
    /// hit crosses the FFI as a `LockInfo`). Offline.
    #[uniffi::method(default(limit = 100))]
    pub async fn search(&self, query: String, limit: u32) -> Result<Vec<LockInfo>, AccessError> {
        self.engine.search_locks(query, limit).await
    }

    /// One cached lock. Offline.
    pub async fn get(&self, lock_id: String) -> Result<LockInfo, AccessError> {
        self.engine.lock(lock_id).await
    }

    /// The actions the signed-in user may take on a lock, for showing only those buttons.
    pub async fn allowed_actions(&self, lock_id: String) -> Result<Vec<Action>, AccessError> {
        self.engine.allowed_actions(lock_id).await
    }

    /// Every action on a lock (the six permitted actions, pairing in its unit, sharing a
    /// guest code) with whether the user may take it and, when not, the reason to show.
    /// Offline, from the cached profile.
    pub async fn action_gates(&self, lock_id: String) -> Result<Vec<ActionGate>, AccessError> {
        self.engine.action_gates(lock_id).await
    }

    /// Revokes one given code on the platform: it leaves the lock at the next contact
    /// (any phone's). Offline it shows revoked at once and the revoke is queued.
    pub async fn revoke_code(
        &self,
        lock_id: String,
        code_id: String,
    ) -> Result<ActionOutcome, AccessError> {
        self.engine.revoke_code(lock_id, code_id).await
    }

    /// Access codes of a lock from the cache, with their sync state. Offline.
    pub async fn access_codes(&self, lock_id: String) -> Result<Vec<AccessCodeInfo>, AccessError> {
        self.engine.access_codes(lock_id).await
    }

    /// The signed-in user's own passcodes. Offline.
    pub async fn my_passcodes(&self) -> Result<Vec<PasscodeInfo>, AccessError> {
        self.engine.my_passcodes().await
    }

    /// Renames a lock. Without network the new name shows at once and the rename is queued.
    pub async fn rename(
        &self,
        lock_id: String,
        name: String,
    ) -> Result<ActionOutcome, AccessError> {
        self.engine.rename_lock(lock_id, name).await
    }

    /// Changes a lock's mode (e.g. Tour to Resident). Queued when offline.
    pub async fn change_mode(
        &self,
        lock_id: String,
        mode: LockMode,
    ) -> Result<ActionOutcome, AccessError> {
        self.engine.change_mode(lock_id, mode).await
    }

    /// Gives access: a permanent, time-window or one-time code on the lock. Queued when
    /// offline (the code appears after the next sync).
    pub async fn give_access(
        &self,
        lock_id: String,
        kind: AccessCodeKind,
        label: Option<String>,
        window: Option<TimeWindow>,
    ) -> Result<GiveAccessOutcome, AccessError> {
        self.engine.give_access(lock_id, kind, label, window).await
    }

    /// Resets the access codes of a lock. Needs the network.
    pub async fn reset_codes(&self, lock_id: String) -> Result<(), AccessError> {
        self.engine.reset_codes(lock_id).await
    }

    /// The access log of a lock, newest first. Needs the network.
    pub async fn view_logs(&self, lock_id: String) -> Result<Vec<LogEntryInfo>, AccessError> {
        self.engine.view_logs(lock_id).await
    }

    /// How far the lock is in step with the platform: in step or codes waiting, battery (and
    /// whether it is low), the last contact and by which app. Needs the network.
    pub async fn door(&self, lock_id: String) -> Result<DoorInfo, AccessError> {
        self.engine.door(lock_id).await
    }

    /// The lock's master code. Needs the network.
    pub async fn view_master_code(&self, lock_id: String) -> Result<String, AccessError> {
        self.engine.view_master_code(lock_id).await
    }
}
