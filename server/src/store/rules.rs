//! The business rules the stores apply inside their transactions, written once for every
//! backend: a backend reads the rows a rule needs, calls the rule, and writes what it
//! decides. Nothing here touches a database, so each rule is tested on its own below.
//!
//! - Who holds a personal passcode on which lock: [`may_open`], [`passcode_changes`],
//!   [`passcode_holders`].
//! - Codes on one lock never collide: [`CodesInUse`].
//! - One SMS code attempt: [`check_sms_code`].
//! - Idempotency keys: [`idempotency_check`].
//! - Limits on attempts (sign-ins, registrations, SMS): [`first_full`].
//! - Where a sync starts: [`sync_start`].
//! - Events uploaded from a lock: [`lock_seq`], [`uploaded_detail`].
//! - The refusals a store answers with: `ensure_*`, [`already_paired`].
//!
//! ```
//! use access_server::store::rules::{SyncStart, sync_start};
//! assert_eq!(sync_start(None, 7), SyncStart::Everything { me_changed: false });
//! assert_eq!(sync_start(Some(9), 7), SyncStart::Everything { me_changed: true });
//! assert_eq!(sync_start(Some(5), 7), SyncStart::Since(5));
//! ```

use std::collections::HashSet;

use access_domain::{
    Access, AccessPeriod, Action, Actor, Member, Permission, UserStatus, authorize,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{
    IdempotencyBegin, NewLockEvent, ResetOutcome, StoreError, StoreResult, UserRecord,
    VerifyAttempt, VerifyOutcome,
};
use crate::secrets;

/// Whether `user` may open a lock in `unit`, which is whether they hold a personal passcode
/// on it: the gate's answer for [`Action::Unlock`] on status and scope. The access period
/// does not take the passcode away: the lock holds it with the period's dates as its window,
/// and the door's desired state leaves it out once the access has ended
/// (`service::door::desired`), so a changed end date needs no new code.
pub fn may_open(user: &UserRecord, unit: Uuid) -> bool {
    let actor = Actor {
        period: &AccessPeriod::ALWAYS,
        ..user.actor()
    };
    authorize(&actor, Action::Unlock, unit, OffsetDateTime::UNIX_EPOCH).is_ok()
}

/// How a user's passcodes change to match their status and scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasscodeChanges {
    /// Locks whose passcode goes, in the order they were held.
    pub remove: Vec<Uuid>,
    /// Locks that get a new passcode, in the order of the organization's locks.
    pub add: Vec<Uuid>,
}

/// What [`passcode_changes`] are due for `user`, given the organization's `locks` as
/// `(lock, unit)` and the locks where the user `holds` a passcode. A backend that hands
/// out codes under row locks passes `locks` in id order, so two writers take them in the
/// same order.
pub fn passcode_changes(
    user: &UserRecord,
    locks: &[(Uuid, Uuid)],
    holds: &[Uuid],
) -> PasscodeChanges {
    let wanted: HashSet<Uuid> = locks
        .iter()
        .filter(|(_, unit)| may_open(user, *unit))
        .map(|(lock, _)| *lock)
        .collect();
    let held: HashSet<Uuid> = holds.iter().copied().collect();
    PasscodeChanges {
        remove: holds
            .iter()
            .filter(|lock| !wanted.contains(lock))
            .copied()
            .collect(),
        add: locks
            .iter()
            .map(|(lock, _)| *lock)
            .filter(|lock| wanted.contains(lock) && !held.contains(lock))
            .collect(),
    }
}

/// Who gets a passcode on a new (or reset) lock in `unit`, out of the organization's
/// active `users`.
pub fn passcode_holders(users: &[UserRecord], unit: Uuid) -> impl Iterator<Item = &UserRecord> {
    users.iter().filter(move |user| may_open(user, unit))
}

/// Every code on one lock: its master code, passcodes and access codes. The keypad tells
/// codes apart by their digits alone, so a new code must differ from all of them.
#[derive(Debug, Clone, Default)]
pub struct CodesInUse(HashSet<String>);

impl FromIterator<String> for CodesInUse {
    fn from_iter<I: IntoIterator<Item = String>>(codes: I) -> Self {
        CodesInUse(codes.into_iter().collect())
    }
}

impl CodesInUse {
    pub fn contains(&self, code: &str) -> bool {
        self.0.contains(code)
    }

    /// A random personal passcode not in use on the lock, counted as in use from now on.
    pub fn fresh_passcode(&mut self) -> String {
        self.fresh(secrets::PASSCODE_DIGITS)
    }

    /// A random code of `digits` digits not in use, counted as in use from now on.
    pub fn fresh(&mut self, digits: usize) -> String {
        loop {
            let code = secrets::random_digits(digits);
            if self.0.insert(code.clone()) {
                return code;
            }
        }
    }

    /// Refuses a code chosen by hand that is already in use on the lock.
    pub fn ensure_free(&self, code: &str) -> StoreResult<()> {
        if self.contains(code) {
            return Err(StoreError::Conflict(
                "code already in use on this lock".into(),
            ));
        }
        Ok(())
    }
}

/// A registration as the SMS code check sees it.
#[derive(Debug, Clone)]
pub struct PendingCode<'a> {
    /// SHA-256 of the code that was sent.
    pub code_hash: &'a [u8],
    /// Wrong attempts so far.
    pub attempts: u32,
    pub expires_at: OffsetDateTime,
    /// The registration was completed, or its invitation resent or revoked.
    pub voided: bool,
    pub user_status: UserStatus,
}

/// What one SMS code attempt does.
#[derive(Debug, Clone, PartialEq)]
pub enum SmsCheck {
    /// Answer this and change nothing.
    Refuse(VerifyOutcome),
    /// Count one more wrong attempt, then answer this.
    Wrong(VerifyOutcome),
    /// The right code in time: activate the account.
    Accept,
}

/// The SMS code rule: a voided registration, too many attempts and an expired code are
/// refused in that order whatever the code; a wrong code counts, and the last allowed
/// wrong attempt answers [`VerifyOutcome::TooManyAttempts`]. Codes are compared in
/// constant time.
pub fn check_sms_code(pending: &PendingCode<'_>, attempt: &VerifyAttempt) -> SmsCheck {
    if pending.voided || pending.user_status != UserStatus::Pending {
        return SmsCheck::Refuse(VerifyOutcome::InvitationVoided);
    }
    if pending.attempts >= attempt.max_attempts {
        return SmsCheck::Refuse(VerifyOutcome::TooManyAttempts);
    }
    if attempt.now >= pending.expires_at {
        return SmsCheck::Refuse(VerifyOutcome::Expired);
    }
    if !secrets::ct_eq(pending.code_hash, &attempt.code_hash) {
        let left = attempt.max_attempts.saturating_sub(pending.attempts + 1);
        return SmsCheck::Wrong(if left == 0 {
            VerifyOutcome::TooManyAttempts
        } else {
            VerifyOutcome::Wrong {
                attempts_left: left,
            }
        });
    }
    SmsCheck::Accept
}

/// How long a claimed key whose request never finished (its process was killed) holds
/// off a retry.
pub const IDEMPOTENCY_HOLD: Duration = Duration::seconds(60);

/// How long an answer stays stored under its key: a retry within it gets the answer, a
/// later one runs again. Stored answers hold code digits and credentials, so they do not
/// stay longer than retries need.
pub const IDEMPOTENCY_TTL: Duration = Duration::hours(24);

/// Keys one user may hold within [`IDEMPOTENCY_TTL`]: the table cannot grow without bound.
pub const IDEMPOTENCY_KEYS_PER_USER: u64 = 1_000;

/// An idempotency key found stored for the caller.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub fingerprint: Vec<u8>,
    /// The answer's status; 0 while its request runs.
    pub status: u16,
    pub body: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
}

/// What a request does about a key that is already stored.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyCheck {
    /// Answer this.
    Answer(IdempotencyBegin),
    /// The key's request died half-way, or its answer expired: claim it again from `now`
    /// for this request and run.
    Reclaim,
}

/// The idempotency rule for a key already stored: one older than [`IDEMPOTENCY_TTL`] is
/// taken afresh, another request's key is a mismatch, a running one answers "in progress"
/// for [`IDEMPOTENCY_HOLD`] and is then reclaimed, a finished one is replayed.
pub fn idempotency_check(
    stored: StoredKey,
    fingerprint: &[u8; 32],
    now: OffsetDateTime,
) -> KeyCheck {
    if now - stored.created_at >= IDEMPOTENCY_TTL {
        return KeyCheck::Reclaim;
    }
    if stored.fingerprint != fingerprint {
        return KeyCheck::Answer(IdempotencyBegin::Mismatch);
    }
    match stored.status {
        0 if now - stored.created_at < IDEMPOTENCY_HOLD => {
            KeyCheck::Answer(IdempotencyBegin::InProgress)
        }
        0 => KeyCheck::Reclaim,
        status => KeyCheck::Answer(IdempotencyBegin::Done {
            status,
            body: stored.body.unwrap_or_default(),
        }),
    }
}

/// The version a lock's report moves its confirmed version to, if any: a version the
/// server never issued is refused (a phone that lies, or a database restored to before the
/// update); an older report than what is known moves nothing.
///
/// ```
/// use access_server::store::rules::confirmed_after;
/// assert_eq!(confirmed_after(5, 7, true).unwrap(), Some(7));
/// assert_eq!(confirmed_after(7, 5, true).unwrap(), None);
/// assert_eq!(confirmed_after(5, 0, false).unwrap(), None);
/// assert!(confirmed_after(5, 9, false).is_err());
/// ```
pub fn confirmed_after(confirmed: u64, reported: u64, issued: bool) -> StoreResult<Option<u64>> {
    if reported == 0 || reported <= confirmed {
        return Ok(None);
    }
    if !issued {
        return Err(StoreError::Conflict(
            "The lock reports a door version this server never issued.".into(),
        ));
    }
    Ok(Some(reported))
}

/// Attempts older than this no longer count under any limit, and are deleted.
pub const ATTEMPTS_KEPT: Duration = Duration::days(1);

/// A limit on attempts: at most `max` under `key` since `since` (within [`ATTEMPTS_KEPT`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub key: String,
    pub max: u64,
    pub since: OffsetDateTime,
}

/// The first limit that `counts` (one per limit, in order) show full.
///
/// ```
/// use access_server::store::rules::{first_full, Limit};
/// let now = time::OffsetDateTime::UNIX_EPOCH;
/// let limits = [
///     Limit { key: "email:a".into(), max: 5, since: now },
///     Limit { key: "ip:1".into(), max: 50, since: now },
/// ];
/// assert_eq!(first_full(&limits, &[4, 49]), None);
/// assert_eq!(first_full(&limits, &[4, 50]), Some(1));
/// ```
pub fn first_full(limits: &[Limit], counts: &[u64]) -> Option<usize> {
    limits
        .iter()
        .zip(counts)
        .position(|(limit, &count)| count >= limit.max)
}

/// Where a sync starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStart {
    /// Every lock in the filter; `me_changed` when the client's cursor is from another
    /// database (past the current one), so it starts over.
    Everything { me_changed: bool },
    /// What changed after this cursor.
    Since(i64),
}

/// Where a sync from `since` starts when the change log ends at `cursor`.
pub fn sync_start(since: Option<i64>, cursor: i64) -> SyncStart {
    match since {
        None => SyncStart::Everything { me_changed: false },
        Some(since) if since > cursor => SyncStart::Everything { me_changed: true },
        Some(since) => SyncStart::Since(since),
    }
}

/// An event's `lock_seq` as the databases store it; `Conflict` past `i64::MAX`.
pub fn lock_seq(event: &NewLockEvent) -> StoreResult<i64> {
    i64::try_from(event.lock_seq).map_err(|_| StoreError::Conflict("lock_seq out of range".into()))
}

/// The detail kept with an uploaded event: the lock's own, and who uploaded it.
pub fn uploaded_detail(detail: Option<&str>, uploaded_by: Uuid) -> String {
    match detail {
        Some(d) => format!("{d} (uploaded by {uploaded_by})"),
        None => format!("uploaded by {uploaded_by}"),
    }
}

/// Only a pending user's invitation can be sent again.
pub fn ensure_resendable(status: UserStatus) -> StoreResult<()> {
    if status != UserStatus::Pending {
        return Err(StoreError::Conflict(format!(
            "Only pending invitations can be resent; this user is {}.",
            status.as_str()
        )));
    }
    Ok(())
}

/// A username is one person's in the organization: a registration choosing another user's
/// is refused.
pub fn ensure_username_free(taken: bool) -> StoreResult<()> {
    if taken {
        return Err(StoreError::Conflict(USERNAME_TAKEN.into()));
    }
    Ok(())
}

/// The refusal of a username someone else in the organization has.
pub const USERNAME_TAKEN: &str = "This username is taken in your organization; choose another one.";

/// Only a revoked user is reinstated.
pub fn ensure_reinstatable(status: UserStatus) -> StoreResult<()> {
    if status != UserStatus::Revoked {
        return Err(StoreError::Conflict(format!(
            "Only revoked users can be reinstated; this user is {}.",
            status.as_str()
        )));
    }
    Ok(())
}

/// An invitation to an existing account adds to what it holds: the union of the
/// permissions, and of the units (all locks stays all locks).
pub fn union_access(
    held: (&[Permission], &Access),
    given: (&[Permission], &Access),
) -> (Vec<Permission>, Access) {
    let mut perms: Vec<Permission> = held.0.iter().chain(given.0).copied().collect();
    perms.sort();
    perms.dedup();
    let access = match (held.1, given.1) {
        (Access::AllLocks, _) | (_, Access::AllLocks) => Access::AllLocks,
        (Access::Units { unit_ids: a }, Access::Units { unit_ids: b }) => {
            let mut units: Vec<Uuid> = a.iter().chain(b).copied().collect();
            units.sort();
            units.dedup();
            Access::Units { unit_ids: units }
        }
    };
    (perms, access)
}

/// The stored state of a password reset, as [`check_reset`] reads it.
#[derive(Debug, Clone)]
pub struct StoredReset<'a> {
    pub code_hash: &'a [u8],
    pub attempts: u32,
    pub expires_at: OffsetDateTime,
    /// Used, replaced by a newer reset, or dead after too many wrong codes.
    pub used: bool,
    pub user_active: bool,
}

/// What one password reset attempt yields: `Ok(())` to set the password; otherwise the
/// outcome, and whether a wrong code is to be counted (`true`) and kills the link.
pub fn check_reset(
    row: &StoredReset<'_>,
    code_hash: &[u8; 32],
    max_attempts: u32,
    now: OffsetDateTime,
) -> Result<(), (ResetOutcome, Option<bool>)> {
    if row.used || !row.user_active || now >= row.expires_at || row.attempts >= max_attempts {
        return Err((ResetOutcome::Invalid, None));
    }
    if !secrets::ct_eq(row.code_hash, code_hash) {
        let left = max_attempts - row.attempts - 1;
        return Err(if left == 0 {
            (ResetOutcome::TooManyAttempts, Some(true))
        } else {
            (
                ResetOutcome::Wrong {
                    attempts_left: left,
                },
                Some(false),
            )
        });
    }
    Ok(())
}

/// One login per email: a registration with an email someone signs in with is refused.
pub fn ensure_email_free(taken: bool) -> StoreResult<()> {
    if taken {
        return Err(StoreError::Conflict(
            "An account with this email already exists; sign in instead or use another email."
                .into(),
        ));
    }
    Ok(())
}

/// An access code is revoked once; `revoked_at` is the code's current revocation.
pub fn ensure_not_revoked(revoked_at: Option<OffsetDateTime>) -> StoreResult<()> {
    match revoked_at {
        Some(_) => Err(StoreError::Conflict("already revoked".into())),
        None => Ok(()),
    }
}

/// A lock is paired once: its identity key is never replaced.
pub fn already_paired() -> StoreError {
    StoreError::Conflict("the lock is already paired".into())
}

/// A lock whose battery is below this (percent) counts as low in `/metrics`.
pub const LOW_BATTERY_PERCENT: i64 = 20;

/// A database whose schema is newer than the migrations this server knows (a backup of a
/// newer release restored under an older one) is never opened: writing to it with older
/// code could lose what the newer code keeps.
pub fn ensure_schema_known(found: i64, known: i64) -> StoreResult<()> {
    if found > known {
        return Err(StoreError::Backend(format!(
            "the database has schema version {found}, newer than this server knows \
             ({known}); run the release that wrote it, or a newer one"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use access_domain::{Access, Permission, UserType};

    use super::*;
    use crate::store::NewSession;

    #[test]
    fn a_newer_schema_is_refused_and_an_older_or_equal_one_is_not() {
        assert!(ensure_schema_known(0, 3).is_ok());
        assert!(ensure_schema_known(3, 3).is_ok());
        let err = ensure_schema_known(4, 3).unwrap_err().to_string();
        assert!(
            err.contains("schema version 4") && err.contains("(3)"),
            "{err}"
        );
    }

    fn user(user_type: UserType, status: UserStatus, access: Access) -> UserRecord {
        UserRecord {
            id: Uuid::from_u128(1),
            org_id: Uuid::from_u128(2),
            user_type,
            status,
            name: None,
            username: None,
            invited_email: None,
            registered_email: None,
            phone: None,
            permissions: Vec::new(),
            access,
            invited_by: None,
            invited_at: OffsetDateTime::UNIX_EPOCH,
            invitation_expires_at: None,
            period: Default::default(),
        }
    }

    fn ids(ns: &[u128]) -> Vec<Uuid> {
        ns.iter().map(|n| Uuid::from_u128(*n)).collect()
    }

    #[test]
    fn passcodes_follow_status_and_scope() {
        let (unit_a, unit_b) = (Uuid::from_u128(100), Uuid::from_u128(200));
        // Locks 1 and 2 in unit A, 3 in unit B.
        let locks = [(1, unit_a), (2, unit_a), (3, unit_b)].map(|(l, u)| (Uuid::from_u128(l), u));
        let scoped = Access::Units {
            unit_ids: vec![unit_a],
        };
        let agent = user(UserType::TeamMember, UserStatus::Active, scoped.clone());
        // Held on 2 (kept) and 3 (now out of scope): 3 goes, 1 comes.
        assert_eq!(
            passcode_changes(&agent, &locks, &ids(&[3, 2])),
            PasscodeChanges {
                remove: ids(&[3]),
                add: ids(&[1]),
            }
        );
        // Everything, in the locks' order, for a user with every lock and none yet.
        let boss = user(UserType::TeamMember, UserStatus::Active, Access::AllLocks);
        assert_eq!(passcode_changes(&boss, &locks, &[]).add, ids(&[1, 2, 3]));
        // Pending and revoked users hold none.
        for status in [UserStatus::Pending, UserStatus::Revoked] {
            let gone = user(UserType::Resident, status, Access::AllLocks);
            assert_eq!(
                passcode_changes(&gone, &locks, &ids(&[1, 3])),
                PasscodeChanges {
                    remove: ids(&[1, 3]),
                    add: vec![],
                }
            );
        }
        // Permissions do not matter for opening: a resident in scope holds one too.
        let resident = user(UserType::Resident, UserStatus::Active, scoped);
        assert!(may_open(&resident, unit_a) && !may_open(&resident, unit_b));
        let mut no_perms = boss.clone();
        no_perms.permissions = vec![Permission::ViewLogs];
        let users = [boss, no_perms, agent, resident];
        assert_eq!(passcode_holders(&users, unit_b).count(), 2);
        assert_eq!(passcode_holders(&users, unit_a).count(), 4);
    }

    #[test]
    fn fresh_codes_never_collide_with_codes_in_use() {
        // Every 1-digit code but one is taken: the fresh one must be the last free digit.
        let mut used: CodesInUse = (0..9).map(|d: u8| d.to_string()).collect();
        assert_eq!(used.fresh(1), "9");
        assert!(used.contains("9"));
        let code = used.fresh_passcode();
        assert_eq!(code.len(), secrets::PASSCODE_DIGITS);
        assert!(matches!(
            used.ensure_free(&code),
            Err(StoreError::Conflict(_))
        ));
        assert!(used.ensure_free("1234567").is_ok());
    }

    fn attempt(code: u8, now: OffsetDateTime) -> VerifyAttempt {
        VerifyAttempt {
            registration_id: Uuid::nil(),
            code_hash: [code; 32],
            max_attempts: 3,
            session: NewSession {
                token_hash: [0; 32],
                user_id: Uuid::nil(),
                created_at: now,
                expires_at: now,
            },
            now,
        }
    }

    #[test]
    fn sms_attempts_are_counted_and_refused_in_order() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let stored = [7u8; 32];
        let pending = |attempts, voided, status| PendingCode {
            code_hash: &stored,
            attempts,
            expires_at: t0 + Duration::minutes(10),
            voided,
            user_status: status,
        };
        let live = pending(0, false, UserStatus::Pending);
        assert_eq!(check_sms_code(&live, &attempt(7, t0)), SmsCheck::Accept);
        assert_eq!(
            check_sms_code(&live, &attempt(8, t0)),
            SmsCheck::Wrong(VerifyOutcome::Wrong { attempts_left: 2 })
        );
        // The last allowed wrong attempt already answers "too many".
        assert_eq!(
            check_sms_code(&pending(2, false, UserStatus::Pending), &attempt(8, t0)),
            SmsCheck::Wrong(VerifyOutcome::TooManyAttempts)
        );
        // Too many attempts: even the right code is refused, and nothing is counted.
        assert_eq!(
            check_sms_code(&pending(3, false, UserStatus::Pending), &attempt(7, t0)),
            SmsCheck::Refuse(VerifyOutcome::TooManyAttempts)
        );
        // Expiry is exclusive of the instant itself.
        let at_expiry = attempt(7, t0 + Duration::minutes(10));
        assert_eq!(
            check_sms_code(&live, &at_expiry),
            SmsCheck::Refuse(VerifyOutcome::Expired)
        );
        let just_before = attempt(7, t0 + Duration::minutes(10) - Duration::milliseconds(1));
        assert_eq!(check_sms_code(&live, &just_before), SmsCheck::Accept);
        // A voided registration or a user no longer pending wins over everything.
        for voided in [
            pending(5, true, UserStatus::Pending),
            pending(0, false, UserStatus::Active),
            pending(0, false, UserStatus::Revoked),
        ] {
            assert_eq!(
                check_sms_code(&voided, &at_expiry),
                SmsCheck::Refuse(VerifyOutcome::InvitationVoided)
            );
        }
    }

    #[test]
    fn idempotency_keys_replay_hold_and_reclaim() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let fp = [1u8; 32];
        let key = |status, body: Option<&[u8]>| StoredKey {
            fingerprint: fp.to_vec(),
            status,
            body: body.map(<[u8]>::to_vec),
            created_at: t0,
        };
        assert_eq!(
            idempotency_check(key(201, Some(b"{}")), &fp, t0),
            KeyCheck::Answer(IdempotencyBegin::Done {
                status: 201,
                body: b"{}".to_vec()
            })
        );
        assert_eq!(
            idempotency_check(key(204, None), &fp, t0),
            KeyCheck::Answer(IdempotencyBegin::Done {
                status: 204,
                body: vec![]
            })
        );
        assert_eq!(
            idempotency_check(key(201, None), &[2; 32], t0),
            KeyCheck::Answer(IdempotencyBegin::Mismatch)
        );
        let almost = t0 + IDEMPOTENCY_HOLD - Duration::milliseconds(1);
        assert_eq!(
            idempotency_check(key(0, None), &fp, almost),
            KeyCheck::Answer(IdempotencyBegin::InProgress)
        );
        assert_eq!(
            idempotency_check(key(0, None), &fp, t0 + IDEMPOTENCY_HOLD),
            KeyCheck::Reclaim
        );
    }

    #[test]
    fn uploads_keep_who_uploaded_and_refuse_huge_sequence_numbers() {
        let by = Uuid::from_u128(9);
        assert_eq!(uploaded_detail(None, by), format!("uploaded by {by}"));
        assert_eq!(
            uploaded_detail(Some("door held"), by),
            format!("door held (uploaded by {by})")
        );
        let event = |lock_seq| NewLockEvent {
            lock_seq,
            at: OffsetDateTime::UNIX_EPOCH,
            action: "unlock".into(),
            method: access_domain::api::LogMethod::Keypad,
            user_id: None,
            code_id: None,
            detail: None,
        };
        assert_eq!(lock_seq(&event(42)).unwrap(), 42);
        assert!(matches!(
            lock_seq(&event(u64::MAX)),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn refusals_say_why() {
        let conflict = |r: StoreResult<()>| match r {
            Err(StoreError::Conflict(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(ensure_resendable(UserStatus::Pending).is_ok());
        assert!(conflict(ensure_resendable(UserStatus::Active)).contains("this user is active"));
        assert!(ensure_email_free(false).is_ok());
        assert!(conflict(ensure_email_free(true)).contains("already exists"));
        assert!(ensure_not_revoked(None).is_ok());
        assert_eq!(
            conflict(ensure_not_revoked(Some(OffsetDateTime::UNIX_EPOCH))),
            "already revoked"
        );
        assert!(matches!(already_paired(), StoreError::Conflict(m) if m.contains("paired")));
    }
}
