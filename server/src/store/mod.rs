//! The one storage interface of the server, and its implementations.
//!
//! Every piece of shared state lives behind [`Store`]: users, sessions, login throttling,
//! idempotency keys, invitation tokens, SMS codes, the change log behind sync cursors, the
//! outbox and the audit log. Nothing is kept in one process's memory, so any number of
//! instances can answer any request once a shared backend (PostgreSQL) implements this trait.
//!
//! Methods are synchronous and each runs as ONE transaction; the HTTP layer calls them on
//! tokio's blocking pool through [`Db::run`]. Handlers do validation, hashing, randomness and
//! authorization (`access_domain::authorize`); the store only reads and writes rows.
//!
//! # Sync cursor rule (every backend must keep it)
//! Each write that changes what a client caches appends rows to a change log with a
//! monotonic sequence number `seq`, in the same transaction as the change. A backend must
//! make `seq` order equal commit order: SQLite does so by construction (one writer at a time,
//! `BEGIN IMMEDIATE`); PostgreSQL must take a transaction-scoped lock
//! (`pg_advisory_xact_lock`) before inserting change rows, held until commit. Then a reader
//! that reads `MAX(seq)` and the data in one snapshot has seen every change up to that
//! `seq` and none after it, so the cursor it returns never skips a change committed later
//! with a smaller number and never repeats one: concurrent writers on several instances
//! cannot make a client miss or see twice a change.

pub mod postgres;
pub mod session_cache;
pub mod sqlite;
pub mod user_list;

use std::sync::Arc;

use access_domain::{
    Access, AccessCodeKind, CodeSyncState, LockMode, Permission, UserStatus, UserType,
    api::{Channel, LogMethod},
};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

/// What can go wrong in a store call.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another organization).
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule refused the write; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("database error: {0}")]
    Backend(String),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Backend(format!("i/o: {e}"))
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A user row, as every handler needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_type: UserType,
    pub status: UserStatus,
    pub is_admin: bool,
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
    /// `queued`, `sent`, `failed` or `outbox_only`.
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
}

/// A revoked access code: when, and by whom.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRevocationRecord {
    pub code_id: Uuid,
    pub revoked_at: OffsetDateTime,
    pub revoked_by: Uuid,
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
}

/// The result of [`Store::idempotency_begin`].
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
}

/// Which locks a list or sync covers; the gate still checks every row.
#[derive(Debug, Clone, PartialEq)]
pub enum LockFilter {
    All,
    Units(Vec<Uuid>),
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

/// The storage interface. One implementation per database; see the module docs.
pub trait Store: Send + Sync + 'static {
    /// Which backend, e.g. `sqlite`.
    fn backend(&self) -> &'static str;

    /// Whether short indexed reads (the session lookup of every request) may run right on
    /// the async worker: true for an embedded database whose readers never wait (SQLite in
    /// WAL mode), false for a networked one.
    fn inline_reads(&self) -> bool {
        false
    }

    // ---- organizations ----
    fn organization_count(&self) -> StoreResult<u64>;
    /// Creates an organization with its key and first (active) administrator.
    fn create_organization(&self, org: &NewOrganization) -> StoreResult<()>;
    fn organization_key(&self, org_id: Uuid) -> StoreResult<OrganizationKey>;
    fn organization_name(&self, org_id: Uuid) -> StoreResult<String>;

    // ---- sessions and login throttling ----
    /// The user whose registered email is `email` (case-insensitive) and their password hash.
    fn login_lookup(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>>;
    fn create_session(&self, session: &NewSession) -> StoreResult<()>;
    /// The user of a live (unexpired, not revoked) session. The backend compares the stored
    /// hash with `token_hash` in constant time after the indexed lookup.
    fn session_user(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>>;
    fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()>;
    /// Failed logins per key since `since`, in the order of `keys`.
    fn login_failures(&self, keys: &[String], since: OffsetDateTime) -> StoreResult<Vec<u64>>;
    fn record_login_failure(&self, keys: &[String], at: OffsetDateTime) -> StoreResult<()>;
    fn clear_login_failures(&self, key: &str) -> StoreResult<()>;

    // ---- idempotency ----
    fn idempotency_begin(
        &self,
        user_id: Uuid,
        key: &str,
        fingerprint: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<IdempotencyBegin>;
    fn idempotency_finish(
        &self,
        user_id: Uuid,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()>;
    /// Forgets a key whose request failed on the server side, so a retry runs again.
    fn idempotency_abort(&self, user_id: Uuid, key: &str) -> StoreResult<()>;

    // ---- users and invitations ----
    fn user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<UserRecord>;
    fn user_by_username(&self, org_id: Uuid, username: &str) -> StoreResult<Option<UserRecord>>;
    /// Users ordered by id, after `after`.
    fn list_users(
        &self,
        org_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<UserRecord>>;
    /// The Manage Access table: filtered, searched, sorted, one keyset page (see
    /// [`user_list`]).
    fn user_page(
        &self,
        org_id: Uuid,
        query: &user_list::UserQuery,
    ) -> StoreResult<user_list::UserPage>;
    fn summary(&self, org_id: Uuid) -> StoreResult<SummaryCounts>;
    /// Creates the pending user, its invitation and the outbox message, atomically.
    fn create_invitation(&self, inv: &NewInvitation, mail: &NewMessage) -> StoreResult<()>;
    /// Voids the user's previous links and stores a fresh one; `Conflict` unless pending.
    fn resend_invitation(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        token: &NewInvitationToken,
        mail: &NewMessage,
    ) -> StoreResult<()>;
    fn invitation_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<InvitationRecord>>;
    /// `Conflict` when the email is already someone's login.
    fn create_registration(&self, reg: &NewRegistration, sms: &NewMessage) -> StoreResult<()>;
    /// Checks one SMS code attempt; on success activates the account, stores the session
    /// and generates the user's passcodes.
    fn verify_registration(&self, attempt: &VerifyAttempt) -> StoreResult<VerifyOutcome>;
    fn set_permissions(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        permissions: &[Permission],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Sets the scope and brings the user's passcodes in line with it.
    fn set_access(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        access: &Access,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Revokes the user, their sessions, links and passcodes at once.
    fn revoke_user(&self, org_id: Uuid, user_id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
    fn user_passcodes(&self, user_id: Uuid) -> StoreResult<Vec<PasscodeRecord>>;

    // ---- outbox ----
    /// Newest first, before sequence `before`.
    fn list_outbox(
        &self,
        org_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>>;
    fn mark_delivery(
        &self,
        message_id: Uuid,
        delivery: &str,
        error: Option<&str>,
    ) -> StoreResult<()>;

    // ---- properties, units ----
    fn create_property(&self, org_id: Uuid, id: Uuid, name: &str) -> StoreResult<()>;
    fn list_properties(&self, org_id: Uuid) -> StoreResult<Vec<PropertyRecord>>;
    /// `NotFound` when the property is not the organization's.
    fn create_unit(&self, org_id: Uuid, property_id: Uuid, id: Uuid, name: &str)
    -> StoreResult<()>;
    fn unit(&self, org_id: Uuid, unit_id: Uuid) -> StoreResult<UnitRecord>;
    /// Which of `unit_ids` exist in the organization.
    fn existing_units(&self, org_id: Uuid, unit_ids: &[Uuid]) -> StoreResult<Vec<Uuid>>;

    // ---- locks ----
    /// Registers a lock and generates the passcodes of active users in scope.
    fn create_lock(&self, lock: &NewLock, audit: &Audit) -> StoreResult<LockRecord>;
    fn lock(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<LockRecord>;
    /// Locks ordered by id, after `after`.
    fn list_locks(
        &self,
        org_id: Uuid,
        filter: &LockFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<LockRecord>>;
    fn rename_lock(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        name: &str,
        audit: &Audit,
    ) -> StoreResult<LockRecord>;
    fn set_lock_mode(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        mode: LockMode,
        audit: &Audit,
    ) -> StoreResult<LockRecord>;
    /// New master code, every passcode regenerated, every access code removed.
    fn reset_lock_codes(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        master_code: &str,
        audit: &Audit,
    ) -> StoreResult<LockRecord>;
    /// Reads the master code and audits the read.
    fn master_code(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<String>;
    fn create_access_code(
        &self,
        org_id: Uuid,
        code: &AccessCodeRecord,
        audit: &Audit,
    ) -> StoreResult<()>;
    fn list_access_codes(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<Vec<AccessCodeRecord>>;
    /// Records what a lock confirmed for an access code or passcode; `NotFound` for others.
    fn set_code_state(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        code_id: Uuid,
        state: CodeSyncState,
        reason: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<()>;
    fn lock_passcodes(&self, lock_id: Uuid) -> StoreResult<Vec<PasscodeRecord>>;
    /// Revokes an access code (offline codes, issue 6): the row stays, with when and by whom.
    /// `NotFound` for another lock's code, `Conflict` when it is already revoked.
    fn revoke_access_code(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        code_id: Uuid,
        audit: &Audit,
    ) -> StoreResult<()>;
    /// The revoked access codes of a lock.
    fn access_code_revocations(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
    ) -> StoreResult<Vec<CodeRevocationRecord>>;

    // ---- logs ----
    /// Writes an audit entry without other change (e.g. viewing logs).
    fn audit(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<()>;
    /// Newest first, before sequence `before`.
    fn list_logs(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<LogRecord>>;
    /// Stores events read from the lock; returns how many were new (dedup by `lock_seq`).
    fn upload_lock_events(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        uploaded_by: Uuid,
        events: &[NewLockEvent],
    ) -> StoreResult<u64>;

    // ---- BLE credentials and pairing ----
    /// Records a credential about to be signed; returns its serial (unique, increasing).
    fn record_credential(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        lock_id: Uuid,
        rights: u32,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// The lock's credentials that have not expired at `now`.
    fn lock_credentials(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<CredentialRecord>>;
    /// Stores the identity key learned at pairing; `Conflict` when the lock has one.
    fn set_lock_identity(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        identity_public_key: &str,
        firmware: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<LockRecord>;

    // ---- sync ----
    /// What changed for `user_id` (seeing `filter`) since `since` (None: everything).
    fn sync(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        filter: &LockFilter,
        since: Option<i64>,
    ) -> StoreResult<SyncData>;

    // ---- test support ----
    /// Moves the user's current invitation and pending SMS codes `seconds` into the past,
    /// so tests can see expiry without waiting. Not reachable over HTTP.
    fn age_pending(&self, user_id: Uuid, seconds: i64) -> StoreResult<()>;
}

/// The store as the async HTTP layer uses it.
///
/// Calls run on tokio's blocking pool; a semaphore bounds how many run at once, so a burst
/// of requests queues here instead of opening connections or threads beyond what the
/// database can use.
#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Store>,
    permits: Arc<tokio::sync::Semaphore>,
}

/// Store calls in flight at once.
const MAX_CONCURRENT_CALLS: usize = 16;

impl Db {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Db {
        Db {
            store,
            permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CALLS)),
        }
    }

    /// The wrapped store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs a short indexed read: inline when the store allows it (see
    /// [`Store::inline_reads`]), which saves two thread hand-offs on every request;
    /// otherwise like [`Db::run`].
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        if self.store.inline_reads() {
            f(self.store.as_ref())
        } else {
            self.run(f).await
        }
    }

    /// Runs one store call on tokio's blocking pool.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Backend("store closed".into()))?;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }
}
