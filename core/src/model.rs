//! The records and enums the shells see. Domain enums are exported as they are (declared
//! here as UniFFI remote types); records are flat views with string ids and timestamps.

use std::time::SystemTime;

use access_domain::api::{AccessCode, Lock, LogEntry, LogMethod, Me, Passcode};
use access_domain::{
    Access, AccessCodeKind, Action, App, CodeSyncState, LockMode, Permission, UserStatus, UserType,
};

use crate::queue::{Queued, State};

#[uniffi::remote(Enum)]
pub enum App {
    AccessManager,
    NokeyResident,
}

#[uniffi::remote(Enum)]
pub enum UserType {
    TeamMember,
    Resident,
}

#[uniffi::remote(Enum)]
pub enum UserStatus {
    Pending,
    Active,
    Revoked,
}

#[uniffi::remote(Enum)]
pub enum Permission {
    GiveAccess,
    ResetCodes,
    ViewLogs,
    RenameLocks,
    ChangeModes,
    ViewMasterCode,
    ManageAccess,
}

#[uniffi::remote(Enum)]
pub enum LockMode {
    Vacant,
    Tour,
    Resident,
    Maintenance,
}

#[uniffi::remote(Enum)]
pub enum AccessCodeKind {
    Permanent,
    Window,
    OneTime,
}

#[uniffi::remote(Enum)]
pub enum CodeSyncState {
    Pending,
    Installed,
    Failed,
}

#[uniffi::remote(Enum)]
pub enum Action {
    View,
    Unlock,
    ResetCodes,
    Rename,
    ChangeMode,
    ViewLogs,
    ViewMasterCode,
    GiveAccess,
    Pair,
    ShareGuestCode,
}

/// One action on a lock as a screen shows it: allowed, or not with the reason a person can
/// act on (the gate's own words).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ActionGate {
    pub action: Action,
    pub allowed: bool,
    pub reason: Option<String>,
}

/// How a client is set up.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientConfig {
    /// Base address of the platform server, e.g. `https://access.example.com`.
    pub server_url: String,
    /// A directory the core owns (cache database lives there).
    pub data_dir: String,
    /// Which app this is: each refuses the other app's accounts.
    pub app: App,
    /// Limit for one request, body included; 20 s when not set.
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u32>,
}

/// The signed-in user, with what they may do.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UserInfo {
    pub id: String,
    pub name: String,
    pub email: String,
    pub user_type: UserType,
    pub status: UserStatus,
    pub app: App,
    pub permissions: Vec<Permission>,
    /// True for "all locks" access; otherwise `unit_ids` lists the units.
    pub all_locks: bool,
    pub unit_ids: Vec<String>,
    /// When the access starts (move-in, a contract's start); `None`: no start.
    #[uniffi(default = None)]
    pub access_starts_at: Option<SystemTime>,
    /// When the access ends (move-out, a contract's end); `None`: no end.
    #[uniffi(default = None)]
    pub access_ends_at: Option<SystemTime>,
    /// The weekly hours as a person reads them ("Mon-Fri 08:00-17:00 UTC-05:00"); `None`:
    /// any hour. Outside the period the gate refuses with the reason (`Locks::action_gates`).
    #[uniffi(default = None)]
    pub access_hours: Option<String>,
}

impl From<&Me> for UserInfo {
    fn from(m: &Me) -> Self {
        let (all_locks, unit_ids) = match &m.access {
            Access::AllLocks => (true, vec![]),
            Access::Units { unit_ids } => (false, unit_ids.iter().map(|u| u.to_string()).collect()),
        };
        UserInfo {
            id: m.id.to_string(),
            name: m.name.clone(),
            email: m.email.clone(),
            user_type: m.user_type,
            status: m.status,
            app: m.app,
            permissions: m.permissions.clone(),
            all_locks,
            unit_ids,
            access_starts_at: m.period.starts_at.map(SystemTime::from),
            access_ends_at: m.period.ends_at.map(SystemTime::from),
            access_hours: m.period.weekly_hours.map(|h| h.to_string()),
        }
    }
}

/// A lock from the cache.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LockInfo {
    pub id: String,
    pub name: String,
    pub unit_id: String,
    pub unit_name: String,
    pub property_id: String,
    pub property_name: String,
    pub mode: LockMode,
    pub battery: Option<u8>,
    pub firmware: Option<String>,
    pub paired: bool,
}

impl From<Lock> for LockInfo {
    fn from(l: Lock) -> Self {
        LockInfo {
            id: l.id.to_string(),
            name: l.name,
            unit_id: l.unit_id.to_string(),
            unit_name: l.unit_name,
            property_id: l.property_id.to_string(),
            property_name: l.property_name,
            mode: l.mode,
            battery: l.battery,
            firmware: l.firmware,
            paired: l.paired,
        }
    }
}

/// How far a lock is in step with the platform, as the server knows from the last phone
/// that reached it (`GET /locks/{id}/door`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DoorInfo {
    /// The lock holds everything the platform wants (mode, name, codes, revocations).
    pub in_step: bool,
    /// Given codes and passcodes waiting for a phone to reach the lock.
    pub pending_codes: u32,
    /// Percent, as the lock last reported it.
    pub battery: Option<u8>,
    /// At or below the platform's low-battery mark.
    pub low_battery: bool,
    pub last_contact_at: Option<SystemTime>,
    /// The app whose phone made the last contact.
    pub last_contact_app: Option<String>,
}

impl From<access_domain::api::DoorState> for DoorInfo {
    fn from(d: access_domain::api::DoorState) -> Self {
        DoorInfo {
            in_step: d.in_step,
            pending_codes: d.pending_codes,
            battery: d.battery,
            low_battery: d.low_battery,
            last_contact_at: d.last_contact_at.map(SystemTime::from),
            last_contact_app: d.last_contact_app,
        }
    }
}

/// An access code on a lock and whether the lock has it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccessCodeInfo {
    pub id: String,
    pub lock_id: String,
    pub kind: AccessCodeKind,
    pub label: Option<String>,
    pub code: String,
    pub starts_at: Option<SystemTime>,
    pub ends_at: Option<SystemTime>,
    pub sync_state: CodeSyncState,
    pub failure_reason: Option<String>,
    pub created_at: SystemTime,
    /// When it was revoked (it leaves the lock at the next contact); `None` while live.
    pub revoked_at: Option<SystemTime>,
}

impl From<AccessCode> for AccessCodeInfo {
    fn from(c: AccessCode) -> Self {
        AccessCodeInfo {
            id: c.id.to_string(),
            lock_id: c.lock_id.to_string(),
            kind: c.kind,
            label: c.label,
            code: c.code,
            starts_at: c.starts_at.map(SystemTime::from),
            ends_at: c.ends_at.map(SystemTime::from),
            sync_state: c.sync_state,
            failure_reason: c.failure_reason,
            created_at: c.created_at.into(),
            revoked_at: c.revoked_at.map(SystemTime::from),
        }
    }
}

/// The signed-in user's own passcode on one lock.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PasscodeInfo {
    pub lock_id: String,
    pub lock_name: String,
    pub code: String,
    pub sync_state: CodeSyncState,
    /// Why the lock refused it, when `sync_state` is `Failed`.
    pub failure_reason: Option<String>,
}

impl From<Passcode> for PasscodeInfo {
    fn from(p: Passcode) -> Self {
        PasscodeInfo {
            lock_id: p.lock_id.to_string(),
            lock_name: p.lock_name,
            code: p.code,
            sync_state: p.sync_state,
            failure_reason: p.failure_reason,
        }
    }
}

/// One access-log entry: who, how, what, when.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogEntryInfo {
    pub id: String,
    pub at: SystemTime,
    pub action: String,
    /// `ble`, `keypad`, `master_code` or `admin`.
    pub method: String,
    /// `server` or `lock`.
    pub source: String,
    pub user_name: Option<String>,
    pub code_label: Option<String>,
    pub detail: Option<String>,
}

impl From<LogEntry> for LogEntryInfo {
    fn from(e: LogEntry) -> Self {
        LogEntryInfo {
            id: e.id.to_string(),
            at: e.at.into(),
            action: e.action,
            method: match e.method {
                LogMethod::Ble => "ble",
                LogMethod::Keypad => "keypad",
                LogMethod::MasterCode => "master_code",
                LogMethod::Admin => "admin",
            }
            .into(),
            source: e.source,
            user_name: e.user_name,
            code_label: e.code_label,
            detail: e.detail,
        }
    }
}

/// A time window for a `Window` access code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TimeWindow {
    pub starts_at: SystemTime,
    pub ends_at: SystemTime,
}

/// Where a queued action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum QueueState {
    Pending,
    Done,
    Failed,
}

/// An action waiting for the network, or refused by the server on replay.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QueuedActionInfo {
    /// Also its idempotency key.
    pub id: String,
    pub lock_id: String,
    /// `rename`, `change_mode` or `give_access`.
    pub kind: String,
    pub description: String,
    pub state: QueueState,
    pub attempts: u32,
    /// For failed actions: the reason's machine code and message.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: SystemTime,
}

impl From<Queued> for QueuedActionInfo {
    fn from(q: Queued) -> Self {
        QueuedActionInfo {
            id: q.key,
            lock_id: q.lock_id.to_string(),
            kind: q.action.kind().into(),
            description: q.action.describe(),
            state: match q.state {
                State::Pending => QueueState::Pending,
                State::Done => QueueState::Done,
                State::Failed => QueueState::Failed,
            },
            attempts: q.attempts,
            error_code: q.error_code,
            error_message: q.error_message,
            created_at: SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(q.created_at.max(0) as u64),
        }
    }
}

/// The result of an action that may wait for the network.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ActionOutcome {
    /// The server applied it.
    Done,
    /// No network: applied to the cache, queued, sent when the network is back.
    Queued { action_id: String },
}

/// The result of giving access.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum GiveAccessOutcome {
    /// The server created the code.
    Created { code: AccessCodeInfo },
    /// No network: queued; the code appears after the next sync.
    Queued { action_id: String },
}

/// Phases of a sync, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    /// Sending queued actions.
    Replaying,
    /// Receiving; `done` counts bytes.
    Downloading,
    /// Writing the cache; `done` and `total` count rows.
    Saving,
    Finished,
}

/// Told how a sync progresses. Implemented by the shells (and the CLI's progress bar).
/// A failure never fails the sync (see [`crate::callback`]).
#[uniffi::export(with_foreign)]
pub trait SyncProgress: Send + Sync {
    fn on_progress(
        &self,
        phase: SyncPhase,
        done: u64,
        total: u64,
    ) -> Result<(), crate::CallbackError>;
}

/// What a sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    /// The cache was replaced rather than updated.
    pub full: bool,
    pub locks_changed: u64,
    pub locks_removed: u64,
    pub access_codes: u64,
    pub total_locks: u64,
    /// Queued actions sent before syncing, and those the server refused.
    pub replayed: u32,
    pub failed: u32,
    /// Size of the sync answer after decompression.
    pub bytes: u64,
}

/// What a replay of the queue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ReplaySummary {
    pub sent: u32,
    pub failed: u32,
    /// Still waiting (the network went away again).
    pub pending: u32,
}
