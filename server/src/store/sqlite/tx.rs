//! Statements the SQLite store's aggregates share inside their transactions: the change log,
//! the audit entry, outbox rows, one user or lock, and handing out passcodes by the rules
//! of [`rules`](crate::store::rules).

use std::sync::LazyLock;

use rusqlite::{Connection, Transaction, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ids_to_json, ts};
use crate::store::rows::{self, Columns, lock_cols, user_cols};
use crate::store::rules::{self, CodesInUse};
use crate::store::{Audit, LockFilter, LockRecord, NewMessage, UserRecord};

pub(super) const USER_COLS: &str = user_cols!(
    "(SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND i.voided = 0)"
);

/// A lock with its unit and property, the names read from covering indexes
/// (`0014_page_indexes.sql`): one index search per join instead of two.
pub(super) const LOCK_COLS: &str =
    lock_cols!("INDEXED BY units_names", "INDEXED BY properties_names");

/// `USER_COLS` for the session check of every request: the invitation expiry only matters
/// while the user is pending (`UserRecord::invitation_expires_at`), so other users skip the
/// correlated subquery (a fifth of the lookup's time).
pub(super) const SESSION_USER_COLS: &str = user_cols!(
    "CASE WHEN u.status = 'pending' THEN \
     (SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND i.voided = 0) END"
);

/// Appends to the change log (see the sync cursor rule in the store's module docs).
pub(super) fn change(
    tx: &Transaction<'_>,
    org: Uuid,
    lock: Option<Uuid>,
    user: Option<Uuid>,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO changes (org_id, lock_id, user_id, at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        org.to_string(),
        lock.map(|l| l.to_string()),
        user.map(|u| u.to_string()),
        ts(now)
    ])?;
    Ok(())
}

/// Writes the server's audit entry in the lock's log.
pub(super) fn write_audit(tx: &Transaction<'_>, lock: Uuid, audit: &Audit) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO logs (id, lock_id, at, action, method, source, user_id, detail) \
         VALUES (?1, ?2, ?3, ?4, 'admin', 'server', ?5, ?6)",
    )?
    .execute(params![
        Uuid::new_v4().to_string(),
        lock.to_string(),
        ts(audit.at),
        audit.action,
        audit.user_id.to_string(),
        audit.detail
    ])?;
    Ok(())
}

/// What every change to a lock or its codes ends with: the audit entry and the change
/// clients sync.
pub(super) fn lock_changed(
    tx: &Transaction<'_>,
    org: Uuid,
    lock: Uuid,
    audit: &Audit,
) -> rusqlite::Result<()> {
    write_audit(tx, lock, audit)?;
    change(tx, org, Some(lock), None, audit.at)
}

pub(super) fn insert_message(tx: &Transaction<'_>, m: &NewMessage) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox (id, org_id, channel, recipient, subject, body, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        m.id.to_string(),
        m.org_id.to_string(),
        m.channel.as_str(),
        m.to,
        m.subject,
        m.body,
        ts(m.created_at)
    ])?;
    Ok(())
}

pub(super) fn user_tx(tx: &Connection, org: Uuid, id: Uuid) -> rusqlite::Result<UserRecord> {
    tx.prepare_cached(&format!(
        "SELECT {USER_COLS} FROM users u WHERE u.org_id = ?1 AND u.id = ?2"
    ))?
    .query_row(params![org.to_string(), id.to_string()], |r| rows::user(r))
}

pub(super) fn lock_tx(tx: &Connection, org: Uuid, id: Uuid) -> rusqlite::Result<LockRecord> {
    // Built once: every lock route reads its lock here.
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {LOCK_COLS} WHERE l.org_id = ?1 AND l.id = ?2"));
    tx.prepare_cached(&SQL)?
        .query_row(params![org.to_string(), id.to_string()], |r| rows::lock(r))
}

/// The unit of lock `id` of organization `org` (`QueryReturnedNoRows` for another's):
/// [`lock_tx`]'s check, reading only what a gate needs.
pub(super) fn lock_unit(tx: &Connection, org: Uuid, id: Uuid) -> rusqlite::Result<Uuid> {
    tx.prepare_cached("SELECT unit_id FROM locks WHERE id = ?2 AND org_id = ?1")?
        .query_row(params![org.to_string(), id.to_string()], |r| r.uuid(0))
}

/// Every code in use on a lock, so a new one never collides on the keypad.
pub(super) fn codes_in_use(tx: &Connection, lock: Uuid) -> rusqlite::Result<CodesInUse> {
    let mut stmt = tx.prepare_cached(
        "SELECT master_code FROM locks WHERE id = ?1 \
         UNION ALL SELECT code FROM passcodes WHERE lock_id = ?1 \
         UNION ALL SELECT code FROM access_codes WHERE lock_id = ?1",
    )?;
    let codes = stmt.query_map([lock.to_string()], |r| r.get::<_, String>(0))?;
    codes.collect()
}

pub(super) fn insert_passcode(
    tx: &Transaction<'_>,
    user: Uuid,
    lock: Uuid,
    used: &mut CodesInUse,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO passcodes (id, user_id, lock_id, code) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        Uuid::new_v4().to_string(),
        user.to_string(),
        lock.to_string(),
        used.fresh_passcode()
    ])?;
    Ok(())
}

/// Brings a user's passcodes in line with their status and scope
/// ([`rules::passcode_changes`]).
pub(super) fn refresh_user_passcodes(
    tx: &Transaction<'_>,
    user: &UserRecord,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    let locks: Vec<(Uuid, Uuid)> = {
        let mut stmt = tx.prepare_cached("SELECT id, unit_id FROM locks WHERE org_id = ?1")?;
        let found = stmt.query_map([user.org_id.to_string()], |r| Ok((r.uuid(0)?, r.uuid(1)?)))?;
        found.collect::<rusqlite::Result<_>>()?
    };
    let holds: Vec<Uuid> = {
        let mut stmt = tx.prepare_cached("SELECT lock_id FROM passcodes WHERE user_id = ?1")?;
        let found = stmt.query_map([user.id.to_string()], |r| r.uuid(0))?;
        found.collect::<rusqlite::Result<_>>()?
    };
    let changes = rules::passcode_changes(user, &locks, &holds);
    for lock in changes.remove {
        tx.prepare_cached("DELETE FROM passcodes WHERE user_id = ?1 AND lock_id = ?2")?
            .execute(params![user.id.to_string(), lock.to_string()])?;
        change(tx, user.org_id, Some(lock), Some(user.id), now)?;
    }
    for lock in changes.add {
        insert_passcode(tx, user.id, lock, &mut codes_in_use(tx, lock)?)?;
        change(tx, user.org_id, Some(lock), Some(user.id), now)?;
    }
    Ok(())
}

/// What a change to a user's status or scope ends with: their passcodes brought in line,
/// and the change their clients sync. Returns the user as they now are.
pub(super) fn user_changed(
    tx: &Transaction<'_>,
    org_id: Uuid,
    user_id: Uuid,
    now: OffsetDateTime,
) -> rusqlite::Result<UserRecord> {
    let user = user_tx(tx, org_id, user_id)?;
    refresh_user_passcodes(tx, &user, now)?;
    change(tx, org_id, None, Some(user_id), now)?;
    Ok(user)
}

/// Gives every active user who may open a lock (new or reset) their passcode on it
/// ([`rules::passcode_holders`]).
pub(super) fn passcodes_for_lock(tx: &Transaction<'_>, lock: &LockRecord) -> rusqlite::Result<()> {
    let users: Vec<UserRecord> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.org_id = ?1 AND u.status = 'active'"
        ))?;
        let found = stmt.query_map([lock.org_id.to_string()], |r| rows::user(r))?;
        found.collect::<rusqlite::Result<_>>()?
    };
    let mut used = codes_in_use(tx, lock.id)?;
    for user in rules::passcode_holders(&users, lock.unit_id) {
        insert_passcode(tx, user.id, lock.id, &mut used)?;
    }
    Ok(())
}

/// Locks of the organization in `filter`, ordered by id, after `after`.
pub(super) fn locks_tx(
    conn: &Connection,
    org: Uuid,
    filter: &LockFilter,
    after: Option<Uuid>,
    limit: Option<u32>,
) -> rusqlite::Result<Vec<LockRecord>> {
    let units = match filter {
        LockFilter::All => None,
        LockFilter::Units(u) => Some(ids_to_json(u)),
    };
    let sql = format!(
        "SELECT {} WHERE l.org_id = ?1 AND l.id > ?2 \
         AND (?3 IS NULL OR l.unit_id IN (SELECT value FROM json_each(?3))) \
         ORDER BY l.id LIMIT ?4",
        LOCK_COLS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let found = stmt.query_map(
        params![
            org.to_string(),
            after.map(|a| a.to_string()).unwrap_or_default(),
            units,
            limit.map(i64::from).unwrap_or(-1)
        ],
        |r| rows::lock(r),
    )?;
    found.collect()
}
