//! The records the stores read and write: plain data, the same on every backend.

use access_domain::{
    Access, AccessCodeKind, AccessPeriod, CodeSyncState, LockMode, Member, Permission, UserStatus,
    UserType,
    api::{Channel, LogMethod},
};
use time::OffsetDateTime;
use uuid::Uuid;

/// A user row, as every handler needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_type: UserType,
    pub status: UserStatus,
    pub name: Option<String>,
    pub username: Option<String>,
    pub invited_email: Option<String>,
    pub registered_email: Option<String>,
    pub phone: Option<String>,
    pub permissions: Vec<Permission>,
    pub access: Access,
    pub invited_by: Option<Uuid>,
    pub invited_at: OffsetDateTime,
    /// Expiry of the current invitation while the user is pending.
    pub invitation_expires_at: Option<OffsetDateTime>,
    /// When the access holds (start, end, weekly hours).
    pub period: AccessPeriod,
}

impl Member for UserRecord {
    fn user_type(&self) -> UserType {
        self.user_type
    }
    fn status(&self) -> UserStatus {
        self.status
    }
    fn permissions(&self) -> &[Permission] {
        &self.permissions
    }
    fn access(&self) -> &Access {
        &self.access
    }
    fn period(&self) -> &AccessPeriod {
        &self.period
    }
}

/// A new organization with its first administrator.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub id: Uuid,
    pub name: String,
    /// The organization's Ed25519 key pair, PKCS#8 (ring).
    pub signing_key_pkcs8: Vec<u8>,
    pub public_key: Vec<u8>,
    pub admin_id: Uuid,
    pub admin_email: String,
    pub admin_name: String,
    pub admin_password_hash: String,
    pub now: OffsetDateTime,
}

/// The store's figures `/metrics` reports at each scrape, over every organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    pub live_sessions: u64,
    pub locks_battery_unknown: u64,
    /// Below [`LOW_BATTERY_PERCENT`](super::rules::LOW_BATTERY_PERCENT).
    pub locks_battery_low: u64,
    pub locks_battery_ok: u64,
}

/// An organization as the operator's `org list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRecord {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
    /// Users who can sign in now (status active).
    pub active_users: u64,
}

/// The organization's signing key.
#[derive(Debug, Clone)]
pub struct OrganizationKey {
    pub signing_key_pkcs8: Vec<u8>,
    pub public_key: Vec<u8>,
}

/// A session to store: only the SHA-256 of the token is kept.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: [u8; 32],
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A message for the outbox (always recorded, then delivered if a transport is set).
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: Uuid,
    pub org_id: Uuid,
    pub channel: Channel,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// A stored outbox message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub seq: i64,
    pub id: Uuid,
    pub channel: Channel,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: OffsetDateTime,
    /// `queued`, `sent`, `failed`, `outbox_only` or `refused`.
    pub delivery: String,
    pub delivery_error: Option<String>,
}

/// An invitation token (hashed) and its validity.
#[derive(Debug, Clone)]
pub struct NewInvitationToken {
    pub id: Uuid,
    pub token_hash: [u8; 32],
    pub sent_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A new pending user and their first invitation.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub user_type: UserType,
    pub invited_email: String,
    pub username: Option<String>,
    pub permissions: Vec<Permission>,
    pub access: Access,
    pub invited_by: Uuid,
    pub token: NewInvitationToken,
    /// The phone (E.164) that alone may complete the registration; `None`: any.
    pub invited_phone: Option<String>,
    pub period: AccessPeriod,
}

/// An invitation looked up by its token.
#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub user_type: UserType,
    pub user_status: UserStatus,
    pub expires_at: OffsetDateTime,
    /// Replaced by a resend, or used by a completed registration.
    pub voided: bool,
    /// The phone (E.164) the inviter named: only it can complete the registration.
    pub invited_phone: Option<String>,
}

/// A registration waiting for its SMS code.
#[derive(Debug, Clone)]
pub struct NewRegistration {
    pub id: Uuid,
    pub invitation_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub phone: String,
    pub name: String,
    pub password_hash: String,
    pub code_hash: [u8; 32],
    pub created_at: OffsetDateTime,
    pub code_expires_at: OffsetDateTime,
    /// Checked ([`access_domain::normalize_username`]); taken for the user at once, so two
    /// registrations cannot both hold it (`Conflict` for the second).
    pub username: String,
}

/// A password reset about to be sent: the link's token and the SMS code, both hashed.
#[derive(Debug, Clone)]
pub struct NewPasswordReset {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: [u8; 32],
    pub code_hash: [u8; 32],
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// One try at completing a password reset.
#[derive(Debug, Clone)]
pub struct ResetAttempt {
    pub token_hash: [u8; 32],
    /// Hash of the typed SMS code with the token (`rules::reset_code_hash`).
    pub code_hash: [u8; 32],
    /// The new password, already hashed.
    pub password_hash: String,
    pub max_attempts: u32,
    pub now: OffsetDateTime,
}

/// What one reset attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetOutcome {
    /// The password is set, every session of the user ended, the link used up.
    Done(Uuid),
    /// Unknown, used, replaced or expired link, or an account that is not active.
    Invalid,
    Wrong {
        attempts_left: u32,
    },
    /// That wrong code was the last allowed: the link is dead.
    TooManyAttempts,
}

/// The result of one SMS code attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyOutcome {
    /// The account is active and the session stored.
    Verified(Box<UserRecord>),
    Wrong {
        attempts_left: u32,
    },
    TooManyAttempts,
    Expired,
    /// The invitation was resent or revoked meanwhile, or the registration was completed.
    InvitationVoided,
}

/// What the verify call needs besides the code. `session.user_id` is ignored: the session
/// belongs to the registration's user.
#[derive(Debug, Clone)]
pub struct VerifyAttempt {
    pub registration_id: Uuid,
    pub code_hash: [u8; 32],
    pub max_attempts: u32,
    pub session: NewSession,
    pub now: OffsetDateTime,
}

/// Who did a server-side action, for the audit log.
#[derive(Debug, Clone)]
pub struct Audit {
    pub user_id: Uuid,
    pub action: String,
    pub detail: Option<String>,
    pub at: OffsetDateTime,
}

/// A lock row with what the gate needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LockRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub property_id: Uuid,
    pub property_name: String,
    pub mode: LockMode,
    pub battery: Option<u8>,
    pub firmware: Option<String>,
    pub identity_public_key: Option<String>,
}

/// A lock to register.
#[derive(Debug, Clone)]
pub struct NewLock {
    pub id: Uuid,
    pub org_id: Uuid,
    pub unit_id: Uuid,
    pub name: String,
    pub master_code: String,
    pub firmware: Option<String>,
    pub identity_public_key: Option<String>,
}

/// A BLE credential the server signed, kept for revocation lists.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRecord {
    pub serial: u64,
    pub user_id: Uuid,
    pub lock_id: Uuid,
    /// `lock_protocol::credential::Rights` bits.
    pub rights: u32,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A property and its units.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyRecord {
    pub id: Uuid,
    pub name: String,
    pub units: Vec<UnitRecord>,
}

/// A unit.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRecord {
    pub id: Uuid,
    pub property_id: Uuid,
    pub name: String,
}

/// A personal passcode of a user on a lock.
#[derive(Debug, Clone, PartialEq)]
pub struct PasscodeRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub lock_id: Uuid,
    pub lock_name: String,
    pub code: String,
    pub sync_state: CodeSyncState,
    /// Why the lock refused it, when it did.
    pub failure_reason: Option<String>,
}

/// An access code given on a lock.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessCodeRecord {
    pub id: Uuid,
    pub lock_id: Uuid,
    pub kind: AccessCodeKind,
    pub label: Option<String>,
    pub code: String,
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    pub sync_state: CodeSyncState,
    pub failure_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    /// When it was revoked (an offline code stops verifying, a code over BLE leaves the lock
    /// at the next contact).
    pub revoked_at: Option<OffsetDateTime>,
}

/// A door update the server issued for a lock.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorUpdateRecord {
    pub lock_id: Uuid,
    /// Strictly increasing per lock (the lock refuses anything not newer than it holds).
    pub version: u64,
    /// The version it is built on (0: a whole state, applied over anything older).
    pub base_version: u64,
    /// SHA-256 of the desired state the lock holds once it applied this update (zeros for
    /// the updates of a chain before its last): an unchanged state reuses the chain.
    pub digest: [u8; 32],
    /// The access codes and passcodes the lock holds once it applied it.
    pub code_ids: Vec<Uuid>,
    /// The signed update, secrets sealed to the lock's key.
    pub body: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// What the lock holds once it applied it; `None` for updates issued before chains,
    /// after which the next update is a whole state.
    pub held: Option<HeldState>,
}

/// What a lock holds at one door version, as much as the platform needs to build the next
/// update on it. Secrets are kept as a digest, codes as fingerprints of what the lock was
/// given (digits, window, class, owner): a changed code is put again.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeldState {
    pub name: String,
    pub mode: Option<LockMode>,
    /// Hex SHA-256 of the master code, the code secret and the report key.
    pub secrets: String,
    /// Code id -> hex fingerprint.
    pub codes: std::collections::BTreeMap<Uuid, String>,
    /// Credential serial -> when the revocation may be forgotten (unix seconds).
    pub revocations: std::collections::BTreeMap<u64, u64>,
}

/// What a phone saw of a lock during a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct LockContact {
    /// The door-update version the lock holds.
    pub door_version: u64,
    /// Percent.
    pub battery: Option<u8>,
    pub firmware: Option<String>,
    /// Which app made the contact.
    pub app: access_domain::App,
    pub at: OffsetDateTime,
}

/// How far a lock is in step with the platform.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorStatus {
    /// The door-update version the lock last confirmed (0: none yet).
    pub confirmed: u64,
    /// The newest version issued (0: none yet).
    pub latest: u64,
    pub last_contact_at: Option<OffsetDateTime>,
    pub last_contact_app: Option<String>,
}

/// A revoked access code: when, and by whom.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRevocationRecord {
    pub code_id: Uuid,
    pub revoked_at: OffsetDateTime,
    pub revoked_by: Uuid,
}

/// A page of one lock's access log, with the lock's unit: what the caller's gate needs, read
/// with the page so a log page reads its lock once.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    pub unit_id: Uuid,
    /// Newest first.
    pub entries: Vec<LogRecord>,
}

/// One access-log row (server audit or uploaded from the lock).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub seq: i64,
    pub id: Uuid,
    pub lock_id: Uuid,
    pub at: OffsetDateTime,
    pub action: String,
    pub method: LogMethod,
    /// `server` or `lock`.
    pub source: String,
    pub user_id: Option<Uuid>,
    pub user_name: Option<String>,
    pub code_id: Option<Uuid>,
    pub code_label: Option<String>,
    pub detail: Option<String>,
    pub lock_seq: Option<u64>,
}

/// An event read from a lock, to upload.
#[derive(Debug, Clone)]
pub struct NewLockEvent {
    pub lock_seq: u64,
    pub at: OffsetDateTime,
    pub action: String,
    pub method: LogMethod,
    pub user_id: Option<Uuid>,
    pub code_id: Option<Uuid>,
    pub detail: Option<String>,
}

/// Counts for the Manage Access header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SummaryCounts {
    pub total_users: u64,
    pub team_members: u64,
    pub residents: u64,
    pub pending_invites: u64,
    pub expired_invites: u64,
}

/// The result of [`SessionStore::idempotency_begin`](super::SessionStore::idempotency_begin).
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyBegin {
    /// First time: the caller runs the request and then calls `idempotency_finish`.
    New,
    /// Done before: replay this response.
    Done { status: u16, body: Vec<u8> },
    /// The same key is running right now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The user holds too many live keys to claim another.
    TooMany,
}

/// Which locks a list or sync covers; the gate still checks every row.
#[derive(Debug, Clone, PartialEq)]
pub enum LockFilter {
    All,
    Units(Vec<Uuid>),
}

impl LockFilter {
    /// Whether a lock in `unit_id` is in the filter.
    pub fn covers(&self, unit_id: Uuid) -> bool {
        match self {
            LockFilter::All => true,
            LockFilter::Units(units) => units.contains(&unit_id),
        }
    }
}

impl From<&Access> for LockFilter {
    fn from(a: &Access) -> Self {
        match a {
            Access::AllLocks => LockFilter::All,
            Access::Units { unit_ids } => LockFilter::Units(unit_ids.clone()),
        }
    }
}

/// What changed since a cursor, read in one snapshot.
#[derive(Debug, Clone, Default)]
pub struct SyncData {
    /// The sequence number the answer is complete up to.
    pub cursor: i64,
    /// The caller's own record (permissions, access) changed: the client needs a full sync.
    pub me_changed: bool,
    /// Locks (in the filter) to send whole, with their codes.
    pub locks: Vec<LockRecord>,
    /// Locks of the organization that changed and no longer exist.
    pub removed_lock_ids: Vec<Uuid>,
    pub access_codes: Vec<AccessCodeRecord>,
    pub passcodes: Vec<PasscodeRecord>,
}
