//! The storage interface, one trait per aggregate. [`Store`](super::Store) is their union;
//! each backend implements every one of them (in `sqlite/` and `postgres/`, one file per
//! trait), and the shared suite in `server/tests/store_suite` runs each against both.
//!
//! Every method is ONE transaction. The rules a method applies inside it (who gets a
//! passcode, what an SMS code attempt yields, ...) are in [`rules`](super::rules), the same
//! for every backend.

use access_domain::{Access, AccessPeriod, CodeSyncState, LockMode, Permission};
use time::OffsetDateTime;
use uuid::Uuid;

use super::rules::Limit;
use super::user_list::{UserPage, UserQuery};
use super::*;

/// Organizations, their keys, properties and units.
pub trait OrgStore {
    fn organization_count(&self) -> StoreResult<u64>;
    /// Creates an organization with its key and first (active) administrator.
    fn create_organization(&self, org: &NewOrganization) -> StoreResult<()>;
    fn organization_key(&self, org_id: Uuid) -> StoreResult<OrganizationKey>;
    fn organization_name(&self, org_id: Uuid) -> StoreResult<String>;
    /// Every organization, oldest first.
    fn list_organizations(&self) -> StoreResult<Vec<OrganizationRecord>>;

    fn create_property(&self, org_id: Uuid, id: Uuid, name: &str) -> StoreResult<()>;
    fn list_properties(&self, org_id: Uuid) -> StoreResult<Vec<PropertyRecord>>;
    /// `NotFound` when the property is not the organization's.
    fn create_unit(&self, org_id: Uuid, property_id: Uuid, id: Uuid, name: &str)
    -> StoreResult<()>;
    fn unit(&self, org_id: Uuid, unit_id: Uuid) -> StoreResult<UnitRecord>;
    /// Which of `unit_ids` exist in the organization.
    fn existing_units(&self, org_id: Uuid, unit_ids: &[Uuid]) -> StoreResult<Vec<Uuid>>;
}

/// What each request checks before it runs: sign-in, sessions, login throttling and
/// idempotency keys.
pub trait SessionStore {
    /// The user whose registered email is `email` (case-insensitive) and their password hash.
    fn login_lookup(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>>;
    fn create_session(&self, session: &NewSession) -> StoreResult<()>;
    /// The user of a live (unexpired, not revoked) session. The backend compares the stored
    /// hash with `token_hash` in constant time after the indexed lookup. Shared, not copied:
    /// a store that remembers sessions hands every request the same record.
    fn session_user(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<Arc<UserRecord>>>;
    fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()>;
    /// Counts one attempt under every limit's key, unless one of them already holds its
    /// `max` since its `since`: then nothing is counted and the answer is that limit's index
    /// ([`rules::first_full`](super::rules::first_full)). Check and count are one step, so
    /// parallel requests cannot all pass before any is counted. Attempts past
    /// [`ATTEMPTS_KEPT`](super::rules::ATTEMPTS_KEPT) are forgotten.
    fn take_attempt(&self, limits: &[Limit], now: OffsetDateTime) -> StoreResult<Option<usize>>;
    /// Uncounts one attempt under `key` made at `at` (a sign-in that succeeded).
    fn release_attempt(&self, key: &str, at: OffsetDateTime) -> StoreResult<()>;
    /// Forgets every attempt under `key`.
    fn clear_attempts(&self, key: &str) -> StoreResult<()>;

    /// Stores a password reset and its mail and SMS; the user's earlier resets die.
    fn create_password_reset(
        &self,
        reset: &NewPasswordReset,
        mail: &NewMessage,
        sms: &NewMessage,
    ) -> StoreResult<()>;
    /// One try at a reset ([`rules::check_reset`](super::rules::check_reset)): on success
    /// sets the password, ends every session of the user and uses the link up; a wrong code
    /// is counted, and the last allowed one kills the link.
    fn confirm_password_reset(&self, attempt: &ResetAttempt) -> StoreResult<ResetOutcome>;

    /// Claims `key` for a request, or says how it was answered (see
    /// [`rules::idempotency_check`](super::rules::idempotency_check)). Expired keys are
    /// deleted first; a user holding
    /// [`IDEMPOTENCY_KEYS_PER_USER`](super::rules::IDEMPOTENCY_KEYS_PER_USER) live keys gets
    /// [`IdempotencyBegin::TooMany`] for a new one.
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
}

/// Users of an organization: reads, the Manage Access table, scope and revocation.
pub trait UserStore {
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
    /// [`user_list`](super::user_list)).
    fn user_page(&self, org_id: Uuid, query: &UserQuery) -> StoreResult<UserPage>;
    /// Whether [`user_page`](Self::user_page) for `query` is a short read right now (its
    /// total remembered, few rows to visit), so it may run on the request's own thread.
    fn user_page_is_quick(&self, _org_id: Uuid, _query: &UserQuery) -> bool {
        false
    }
    /// The page's counters; with `within_units`, of a unit manager's users only. An
    /// invitation is expired at `now` when its link's validity has passed.
    fn summary(
        &self,
        org_id: Uuid,
        within_units: Option<&[Uuid]>,
        now: OffsetDateTime,
    ) -> StoreResult<SummaryCounts>;
    /// An invitation by username to an existing pending or active account: adds the
    /// permissions and units ([`rules::union_access`](super::rules::union_access)) and
    /// queues the mail; `Conflict` for a revoked user. Answers the updated user.
    fn link_access(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        permissions: &[Permission],
        access: &Access,
        mail: &NewMessage,
        now: OffsetDateTime,
    ) -> StoreResult<UserRecord>;
    /// A revoked user is pending again under the same id with a fresh invitation: the old
    /// password and login email are dropped (sessions stay dead), history is kept; with
    /// `grant`, the permissions and access become those. `Conflict` unless revoked.
    fn reinstate_user(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        grant: Option<(&[Permission], &Access)>,
        token: &NewInvitationToken,
        mail: &NewMessage,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Refused with [`LAST_MANAGER`](super::LAST_MANAGER) when it would leave no active
    /// holder of `manage_access`.
    fn set_permissions(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        permissions: &[Permission],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Sets when the user's access holds (start, end, weekly hours), replacing the period.
    fn set_period(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        period: &AccessPeriod,
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
    /// Revokes the user, their sessions, links and passcodes at once; refused like
    /// [`set_permissions`](Self::set_permissions) for the last manager.
    fn revoke_user(&self, org_id: Uuid, user_id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
    fn user_passcodes(&self, user_id: Uuid) -> StoreResult<Vec<PasscodeRecord>>;
    /// Replaces the user's passcode on one lock with a new one (a new id and new digits):
    /// the old one leaves the lock with its next door update, the new one is installed
    /// then. `NotFound` when the user holds none there.
    fn renew_passcode(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        lock_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}

/// From invitation to active account: links, registrations and their SMS codes.
pub trait InvitationStore {
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
    /// Checks one SMS code attempt ([`rules::check_sms_code`](super::rules::check_sms_code));
    /// on success activates the account, stores the session and generates the user's
    /// passcodes.
    fn verify_registration(&self, attempt: &VerifyAttempt) -> StoreResult<VerifyOutcome>;
}

/// Locks: registration, settings, the master code, pairing and the BLE credentials signed
/// for them. Every change is audited in the lock's log.
pub trait LockStore {
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
}

/// The codes on a lock: access codes given by staff and the users' personal passcodes.
pub trait CodeStore {
    /// `Conflict` when the code is already in use on the lock.
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
    /// Revokes an access code given as an offline code: the row stays, with when and by
    /// whom. `NotFound` for another lock's code, `Conflict` when it is already revoked.
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
}

/// The door: updates issued for each lock and what the lock confirmed.
pub trait DoorStore {
    /// The update of the lock issued under `version`, if the server still keeps it.
    fn door_update(&self, lock_id: Uuid, version: u64) -> StoreResult<Option<DoorUpdateRecord>>;
    /// Every update of the lock from version `from` on (that one included), oldest first.
    fn door_updates_from(&self, lock_id: Uuid, from: u64) -> StoreResult<Vec<DoorUpdateRecord>>;
    /// Stores a chain of issued updates (each built on the one before, the first above every
    /// version issued so far) and forgets those older than what the lock confirmed. Stores
    /// nothing and answers `false` when another request issued a version at or above the
    /// chain's first meanwhile: that request's chain stands.
    fn record_door_chain(&self, org_id: Uuid, chain: &[DoorUpdateRecord]) -> StoreResult<bool>;
    /// Records a contact: the lock holds `door_version` (an issued version: its codes become
    /// installed), its battery and firmware, when and through which app. A version the
    /// server never issued is refused ([`StoreError::Conflict`]).
    fn record_contact(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        contact: &LockContact,
    ) -> StoreResult<DoorStatus>;
    fn door_status(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<DoorStatus>;
    /// The lock's master code, to seal into its updates (no person sees it: not audited,
    /// unlike [`LockStore::master_code`]).
    fn door_master_code(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<String>;
}

/// What was sent and what happened: the outbox, the server's audit and the locks' logs.
pub trait LogStore {
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
    /// Puts a message that was not sent in the outbox, delivery `refused` with `reason`, so
    /// the operator sees the refused attempt.
    fn record_refused_message(&self, msg: &NewMessage, reason: &str) -> StoreResult<()>;

    /// Writes an audit entry without other change (e.g. viewing logs).
    fn audit(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<()>;
    /// The log of a lock of the organization, newest first, before sequence `before`.
    fn list_logs(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<LogPage>;
    /// Stores events read from the lock; returns how many were new (dedup by `lock_seq`).
    fn upload_lock_events(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        uploaded_by: Uuid,
        events: &[NewLockEvent],
    ) -> StoreResult<u64>;
    /// The newest sequence number of the lock's own log the server holds (0: none).
    fn lock_log_seq(&self, lock_id: Uuid) -> StoreResult<u64>;
}

/// The client's incremental sync, over the change log (see the cursor rule in the
/// [module docs](super)).
pub trait SyncStore {
    /// What changed for `user_id` (seeing `filter`) since `since` (None: everything).
    fn sync(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        filter: &LockFilter,
        since: Option<i64>,
    ) -> StoreResult<SyncData>;
}
