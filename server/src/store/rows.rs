//! Reading a row into a record, once for both backends: each backend says how it reads a
//! column of each kind ([`Columns`]: SQLite keeps times as Unix seconds, ids as text and
//! permissions as a comma list; PostgreSQL has native types), and the functions here say
//! which column holds which field. The column lists they read are here too, so the list and
//! its reader cannot drift apart.

use access_domain::{
    Access, AccessCodeKind, AccessPeriod, CodeSyncState, LockMode, Permission, UserStatus,
    UserType, WeeklyHours,
    api::{Channel, LogMethod},
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;

/// How one backend reads a column of each kind from its row type.
pub(super) trait Columns {
    type Error;
    fn uuid(&self, i: usize) -> Result<Uuid, Self::Error>;
    fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>, Self::Error>;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>, Self::Error>;
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, Self::Error>;
    fn flag(&self, i: usize) -> Result<bool, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    fn time(&self, i: usize) -> Result<OffsetDateTime, Self::Error>;
    fn opt_time(&self, i: usize) -> Result<Option<OffsetDateTime>, Self::Error>;
    fn permissions(&self, i: usize) -> Result<Vec<Permission>, Self::Error>;
    fn unit_ids(&self, i: usize) -> Result<Vec<Uuid>, Self::Error>;
    /// A text column through `parse` (an enum's stored name), without copying the text.
    fn parsed<T>(
        &self,
        i: usize,
        what: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, Self::Error>;
    /// The error for a column whose value is not one the store writes.
    fn invalid(&self, i: usize, what: &str) -> Self::Error;
}

/// The columns [`user`] reads, ending with `expiry`: the current invitation's expiry, which
/// each backend writes in its own SQL.
macro_rules! user_cols {
    ($expiry:literal) => {
        concat!(
            "u.id, u.org_id, u.user_type, u.status, u.name, u.username, \
             u.invited_email, u.registered_email, u.phone, u.permissions, u.access_type, \
             u.unit_ids, u.invited_by, u.invited_at, u.access_starts_at, u.access_ends_at, \
             u.access_hours, ",
            $expiry
        )
    };
}
pub(super) use user_cols;

/// How many columns [`user`] reads: what a query selects after them starts here.
pub(super) const USER_COL_COUNT: usize = 18;

pub(super) fn user<R: Columns>(r: &R) -> Result<UserRecord, R::Error> {
    let all_locks = r.parsed(10, "access type", |t| Some(t == Access::AllLocks.kind()))?;
    let access = if all_locks {
        Access::AllLocks
    } else {
        Access::Units {
            unit_ids: r.unit_ids(11)?,
        }
    };
    Ok(UserRecord {
        id: r.uuid(0)?,
        org_id: r.uuid(1)?,
        user_type: r.parsed(2, "user type", UserType::parse)?,
        status: r.parsed(3, "status", UserStatus::parse)?,
        name: r.opt_text(4)?,
        username: r.opt_text(5)?,
        invited_email: r.opt_text(6)?,
        registered_email: r.opt_text(7)?,
        phone: r.opt_text(8)?,
        permissions: r.permissions(9)?,
        access,
        invited_by: r.opt_uuid(12)?,
        invited_at: r.time(13)?,
        period: AccessPeriod {
            starts_at: r.opt_time(14)?,
            ends_at: r.opt_time(15)?,
            weekly_hours: match r.opt_text(16)? {
                Some(h) => Some(parse_hours(&h).ok_or_else(|| r.invalid(16, "weekly hours"))?),
                None => None,
            },
        },
        invitation_expires_at: r.opt_time(17)?,
    })
}

/// Weekly hours as both stores keep them: `days,from_minute,to_minute,utc_offset_minutes`.
pub(super) fn stored_hours(h: &WeeklyHours) -> String {
    format!(
        "{},{},{},{}",
        h.days, h.from_minute, h.to_minute, h.utc_offset_minutes
    )
}

fn parse_hours(s: &str) -> Option<WeeklyHours> {
    let mut parts = s.split(',');
    let hours = WeeklyHours {
        days: parts.next()?.parse().ok()?,
        from_minute: parts.next()?.parse().ok()?,
        to_minute: parts.next()?.parse().ok()?,
        utc_offset_minutes: parts.next()?.parse().ok()?,
    };
    parts.next().is_none().then_some(hours)
}

/// The columns [`lock`] reads and the joins behind them; `$units` and `$properties` follow
/// those table names, where a backend names the index to read (SQLite's planner prefers a
/// primary key's index to a covering one).
macro_rules! lock_cols {
    ($units:literal, $properties:literal) => {
        concat!(
            "l.id, l.org_id, l.name, l.unit_id, u.name, p.id, p.name, \
             l.mode, l.battery, l.firmware, l.identity_public_key \
             FROM locks l JOIN units u ",
            $units,
            " ON u.id = l.unit_id JOIN properties p ",
            $properties,
            " ON p.id = u.property_id"
        )
    };
}
pub(super) use lock_cols;

pub(super) fn lock<R: Columns>(r: &R) -> Result<LockRecord, R::Error> {
    Ok(LockRecord {
        id: r.uuid(0)?,
        org_id: r.uuid(1)?,
        name: r.text(2)?,
        unit_id: r.uuid(3)?,
        unit_name: r.text(4)?,
        property_id: r.uuid(5)?,
        property_name: r.text(6)?,
        mode: r.parsed(7, "mode", LockMode::parse)?,
        battery: r
            .opt_int(8)?
            .map(|b| u8::try_from(b).map_err(|_| r.invalid(8, "battery")))
            .transpose()?,
        firmware: r.opt_text(9)?,
        identity_public_key: r.opt_text(10)?,
    })
}

pub(super) const CODE_COLS: &str = "c.id, c.lock_id, c.kind, c.label, c.code, c.starts_at, \
    c.ends_at, c.sync_state, c.failure_reason, c.created_by, c.created_at, c.revoked_at \
    FROM access_codes c";

pub(super) fn access_code<R: Columns>(r: &R) -> Result<AccessCodeRecord, R::Error> {
    Ok(AccessCodeRecord {
        id: r.uuid(0)?,
        lock_id: r.uuid(1)?,
        kind: r.parsed(2, "kind", AccessCodeKind::parse)?,
        label: r.opt_text(3)?,
        code: r.text(4)?,
        starts_at: r.opt_time(5)?,
        ends_at: r.opt_time(6)?,
        sync_state: r.parsed(7, "state", CodeSyncState::parse)?,
        failure_reason: r.opt_text(8)?,
        created_by: r.uuid(9)?,
        created_at: r.time(10)?,
        revoked_at: r.opt_time(11)?,
    })
}

pub(super) const PASSCODE_COLS: &str = "pc.id, pc.user_id, pc.lock_id, l.name, pc.code, \
    pc.sync_state, pc.failure_reason FROM passcodes pc JOIN locks l ON l.id = pc.lock_id";

pub(super) fn passcode<R: Columns>(r: &R) -> Result<PasscodeRecord, R::Error> {
    Ok(PasscodeRecord {
        id: r.uuid(0)?,
        user_id: r.uuid(1)?,
        lock_id: r.uuid(2)?,
        lock_name: r.text(3)?,
        code: r.text(4)?,
        sync_state: r.parsed(5, "state", CodeSyncState::parse)?,
        failure_reason: r.opt_text(6)?,
    })
}

/// `SELECT id, revoked_at, revoked_by FROM access_codes`
pub(super) fn revocation<R: Columns>(r: &R) -> Result<CodeRevocationRecord, R::Error> {
    Ok(CodeRevocationRecord {
        code_id: r.uuid(0)?,
        revoked_at: r.time(1)?,
        revoked_by: r.uuid(2)?,
    })
}

/// `SELECT seq, id, channel, recipient, subject, body, created_at, delivery, delivery_error`
pub(super) fn message<R: Columns>(r: &R) -> Result<MessageRecord, R::Error> {
    Ok(MessageRecord {
        seq: r.int(0)?,
        id: r.uuid(1)?,
        channel: r.parsed(2, "channel", Channel::parse)?,
        to: r.text(3)?,
        subject: r.opt_text(4)?,
        body: r.text(5)?,
        created_at: r.time(6)?,
        delivery: r.text(7)?,
        delivery_error: r.opt_text(8)?,
    })
}

/// The columns of a log entry as [`log`] reads it: who by name, the code by its label
/// (an access code's, or "passcode of" its holder).
pub(super) const LOG_COLS: &str = "g.seq, g.id, g.lock_id, g.at, g.action, g.method, g.source, \
    g.user_id, u.name, g.code_id, COALESCE(ac.label, CASE WHEN pc.id IS NOT NULL \
    THEN 'passcode of ' || COALESCE(pu.name, pu.invited_email) END), g.detail, g.lock_seq \
    FROM logs g LEFT JOIN users u ON u.id = g.user_id \
    LEFT JOIN access_codes ac ON ac.id = g.code_id \
    LEFT JOIN passcodes pc ON pc.id = g.code_id \
    LEFT JOIN users pu ON pu.id = pc.user_id";

pub(super) fn log<R: Columns>(r: &R) -> Result<LogRecord, R::Error> {
    Ok(LogRecord {
        seq: r.int(0)?,
        id: r.uuid(1)?,
        lock_id: r.uuid(2)?,
        at: r.time(3)?,
        action: r.text(4)?,
        method: r.parsed(5, "method", LogMethod::parse)?,
        source: r.text(6)?,
        user_id: r.opt_uuid(7)?,
        user_name: r.opt_text(8)?,
        code_id: r.opt_uuid(9)?,
        code_label: r.opt_text(10)?,
        detail: r.opt_text(11)?,
        lock_seq: r.opt_int(12)?.map(|s| s as u64),
    })
}

/// The columns of an issued door update as [`door_update`] reads them.
pub(super) const DOOR_UPDATE_COLS: &str =
    "lock_id, version, digest, code_ids, body, created_at, base_version, held";

pub(super) fn door_update<R: Columns>(r: &R) -> Result<DoorUpdateRecord, R::Error> {
    let held = r.opt_text(7)?;
    Ok(DoorUpdateRecord {
        lock_id: r.uuid(0)?,
        version: u64::try_from(r.int(1)?).map_err(|_| r.invalid(1, "version"))?,
        digest: r.bytes(2)?.try_into().map_err(|_| r.invalid(2, "digest"))?,
        // A list of ids, stored as the units of an access are.
        code_ids: r.unit_ids(3)?,
        body: r.bytes(4)?,
        created_at: r.time(5)?,
        base_version: u64::try_from(r.int(6)?).map_err(|_| r.invalid(6, "base version"))?,
        held: held
            .map(|h| serde_json::from_str(&h))
            .transpose()
            .map_err(|_| r.invalid(7, "held state"))?,
    })
}

/// A door version as both stores keep it (a signed 64-bit integer).
pub(super) fn stored_version(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// What a lock holds at a version, as both stores keep it (JSON text).
pub(super) fn stored_held(held: Option<&HeldState>) -> StoreResult<Option<String>> {
    held.map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Backend(format!("held state: {e}")))
}

/// `SELECT serial, user_id, lock_id, rights, not_before, not_after FROM ble_credentials`
pub(super) fn credential<R: Columns>(r: &R) -> Result<CredentialRecord, R::Error> {
    Ok(CredentialRecord {
        serial: r.int(0)? as u64,
        user_id: r.uuid(1)?,
        lock_id: r.uuid(2)?,
        rights: u32::try_from(r.int(3)?).map_err(|_| r.invalid(3, "rights"))?,
        not_before: r.time(4)?,
        not_after: r.time(5)?,
    })
}

/// `SELECT i.id, i.user_id, u.org_id, u.user_type, u.status, i.expires_at, i.voided,
/// u.invited_phone`
pub(super) fn invitation<R: Columns>(r: &R) -> Result<InvitationRecord, R::Error> {
    Ok(InvitationRecord {
        id: r.uuid(0)?,
        user_id: r.uuid(1)?,
        org_id: r.uuid(2)?,
        user_type: r.parsed(3, "user type", UserType::parse)?,
        user_status: r.parsed(4, "status", UserStatus::parse)?,
        expires_at: r.time(5)?,
        voided: r.flag(6)?,
        invited_phone: r.opt_text(7)?,
    })
}

/// `SELECT id, property_id, name FROM units`
pub(super) fn unit<R: Columns>(r: &R) -> Result<UnitRecord, R::Error> {
    Ok(UnitRecord {
        id: r.uuid(0)?,
        property_id: r.uuid(1)?,
        name: r.text(2)?,
    })
}

/// `SELECT id, name FROM properties`, its units to be added.
pub(super) fn property<R: Columns>(r: &R) -> Result<PropertyRecord, R::Error> {
    Ok(PropertyRecord {
        id: r.uuid(0)?,
        name: r.text(1)?,
        units: Vec::new(),
    })
}

/// Puts each unit under its property (units of no listed property are dropped).
pub(super) fn with_units(
    mut props: Vec<PropertyRecord>,
    units: Vec<UnitRecord>,
) -> Vec<PropertyRecord> {
    for unit in units {
        if let Some(p) = props.iter_mut().find(|p| p.id == unit.property_id) {
            p.units.push(unit);
        }
    }
    props
}

/// `SELECT signing_key, public_key FROM organizations`
pub(super) fn organization_key<R: Columns>(r: &R) -> Result<OrganizationKey, R::Error> {
    Ok(OrganizationKey {
        signing_key_pkcs8: r.bytes(0)?,
        public_key: r.bytes(1)?,
    })
}

/// A count as the records keep it (never negative).
/// The query [`gauges`] reads, with the backend's placeholder for `now` and its `false`.
pub(super) fn gauges_sql(now: &str, no: &str) -> String {
    let low = rules::LOW_BATTERY_PERCENT;
    format!(
        "SELECT (SELECT COUNT(*) FROM sessions WHERE revoked = {no} AND expires_at > {now}), \
         (SELECT COUNT(*) FROM locks WHERE battery IS NULL), \
         (SELECT COUNT(*) FROM locks WHERE battery < {low}), \
         (SELECT COUNT(*) FROM locks WHERE battery >= {low})"
    )
}

pub(super) fn gauges<R: Columns>(r: &R) -> Result<Gauges, R::Error> {
    Ok(Gauges {
        live_sessions: count(r, 0)?,
        locks_battery_unknown: count(r, 1)?,
        locks_battery_low: count(r, 2)?,
        locks_battery_ok: count(r, 3)?,
    })
}

/// The columns [`organization`] reads.
pub(super) const ORGANIZATION_COLS: &str = "o.id, o.name, o.created_at, \
    (SELECT COUNT(*) FROM users u WHERE u.org_id = o.id AND u.status = 'active') \
    FROM organizations o ORDER BY o.created_at, o.id";

pub(super) fn organization<R: Columns>(r: &R) -> Result<OrganizationRecord, R::Error> {
    Ok(OrganizationRecord {
        id: r.uuid(0)?,
        name: r.text(1)?,
        created_at: r.time(2)?,
        active_users: count(r, 3)?,
    })
}

pub(super) fn count<R: Columns>(r: &R, i: usize) -> Result<u64, R::Error> {
    Ok(r.int(i)?.max(0) as u64)
}

/// `SELECT COUNT(*), team members, residents, pending` of the organization's users.
pub(super) fn summary<R: Columns>(r: &R) -> Result<SummaryCounts, R::Error> {
    Ok(SummaryCounts {
        total_users: count(r, 0)?,
        team_members: count(r, 1)?,
        residents: count(r, 2)?,
        pending_invites: count(r, 3)?,
        expired_invites: count(r, 4)?,
    })
}

/// `SELECT fingerprint, status, body, created_at FROM idempotency_keys`
pub(super) fn stored_key<R: Columns>(r: &R) -> Result<rules::StoredKey, R::Error> {
    Ok(rules::StoredKey {
        fingerprint: r.bytes(0)?,
        status: u16::try_from(r.int(1)?).map_err(|_| r.invalid(1, "status"))?,
        body: r.opt_bytes(2)?,
        created_at: r.time(3)?,
    })
}
