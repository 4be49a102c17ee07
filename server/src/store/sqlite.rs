//! The SQLite store: the embedded default, one file under the data directory.
//!
//! WAL journal (readers never wait for the writer), foreign keys on, a busy timeout, and
//! every write in a `BEGIN IMMEDIATE` transaction so writers queue instead of failing on
//! lock upgrades. Connections are pooled; calls run on tokio's blocking pool (see `Db`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use access_domain::{
    Access, AccessCodeKind, Action, Actor, CodeSyncState, LockMode, Permission, UserStatus,
    UserType, api::Channel, api::LogMethod, authorize,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::session_cache::{Generation, SessionCache};
use super::*;
use crate::secrets;

/// Versioned migrations, applied in order; `schema_migrations` records the applied ones.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_ble_credentials.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_offline_codes.sql"),
    ),
];

/// Connections kept open for reuse (`Db` runs at most 16 calls at once).
const POOL_SIZE: usize = 32;

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
    /// Held by this process's writer. SQLite admits one writer at a time; a second one that
    /// finds the file locked sleeps in the busy handler (1, 2, 5, ... up to 100 ms steps),
    /// which made a burst of audited reads take ~100 ms at p99. Queuing on a mutex instead
    /// wakes the next writer as soon as the first commits; other processes (a second
    /// instance on the same file) still meet the busy handler.
    writer: Mutex<()>,
    /// Moved by every write; what keeps `sessions` exact (see `session_cache`).
    generation: Generation,
    /// The session lookup's recent answers.
    sessions: SessionCache,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            rusqlite::Error::SqliteFailure(f, msg)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Conflict(msg.unwrap_or_else(|| "constraint violated".into()))
            }
            other => StoreError::Backend(other.to_string()),
        }
    }
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn bad(idx: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        rusqlite::types::Type::Text,
        format!("invalid {what}").into(),
    )
}

fn get_uuid(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    // Parsed from SQLite's own text: no String per id (a sync decodes tens of thousands).
    Uuid::parse_str(row.get_ref(idx)?.as_str()?).map_err(|_| bad(idx, "uuid"))
}

fn get_opt_uuid(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Uuid>> {
    row.get_ref(idx)?
        .as_str_or_null()?
        .map(|s| Uuid::parse_str(s).map_err(|_| bad(idx, "uuid")))
        .transpose()
}

fn perms_to_text(perms: &[Permission]) -> String {
    perms
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn perms_from_text(s: &str) -> Vec<Permission> {
    s.split(',').filter_map(Permission::parse).collect()
}

fn access_to_cols(a: &Access) -> (&'static str, String) {
    match a {
        Access::AllLocks => ("all_locks", "[]".into()),
        Access::Units { unit_ids } => (
            "units",
            serde_json::to_string(unit_ids).unwrap_or_else(|_| "[]".into()),
        ),
    }
}

fn channel_str(c: Channel) -> &'static str {
    match c {
        Channel::Email => "email",
        Channel::Sms => "sms",
    }
}

fn method_str(m: LogMethod) -> &'static str {
    match m {
        LogMethod::Ble => "ble",
        LogMethod::Keypad => "keypad",
        LogMethod::MasterCode => "master_code",
        LogMethod::Admin => "admin",
    }
}

fn method_parse(s: &str) -> Option<LogMethod> {
    Some(match s {
        "ble" => LogMethod::Ble,
        "keypad" => LogMethod::Keypad,
        "master_code" => LogMethod::MasterCode,
        "admin" => LogMethod::Admin,
        _ => return None,
    })
}

/// The columns `user_row` reads, ending with `expiry`: the current invitation's expiry.
macro_rules! user_cols {
    ($expiry:literal) => {
        concat!(
            "u.id, u.org_id, u.user_type, u.status, u.is_admin, u.name, u.username, \
             u.invited_email, u.registered_email, u.phone, u.permissions, u.access_type, \
             u.unit_ids, u.invited_by, u.invited_at, ",
            $expiry
        )
    };
}

const USER_COLS: &str = user_cols!(
    "(SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND i.voided = 0)"
);

/// `USER_COLS` for the session check of every request: the invitation expiry only matters
/// while the user is pending (`UserRecord::invitation_expires_at`), so other users skip the
/// correlated subquery (a fifth of the lookup's time).
const SESSION_USER_COLS: &str = user_cols!(
    "CASE WHEN u.status = 'pending' THEN \
     (SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND i.voided = 0) END"
);

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let user_type: String = row.get(2)?;
    let status: String = row.get(3)?;
    let perms: String = row.get(10)?;
    let access_type: String = row.get(11)?;
    let unit_ids: String = row.get(12)?;
    let access = if access_type == "all_locks" {
        Access::AllLocks
    } else {
        Access::Units {
            unit_ids: serde_json::from_str(&unit_ids).map_err(|_| bad(12, "unit ids"))?,
        }
    };
    Ok(UserRecord {
        id: get_uuid(row, 0)?,
        org_id: get_uuid(row, 1)?,
        user_type: UserType::parse(&user_type).ok_or_else(|| bad(2, "user type"))?,
        status: UserStatus::parse(&status).ok_or_else(|| bad(3, "status"))?,
        is_admin: row.get(4)?,
        name: row.get(5)?,
        username: row.get(6)?,
        invited_email: row.get(7)?,
        registered_email: row.get(8)?,
        phone: row.get(9)?,
        permissions: perms_from_text(&perms),
        access,
        invited_by: get_opt_uuid(row, 13)?,
        invited_at: from_ts(row.get(14)?),
        invitation_expires_at: row.get::<_, Option<i64>>(15)?.map(from_ts),
    })
}

const LOCK_COLS: &str = "l.id, l.org_id, l.name, l.unit_id, u.name, p.id, p.name, l.mode, \
    l.battery, l.firmware, l.identity_public_key \
    FROM locks l JOIN units u ON u.id = l.unit_id JOIN properties p ON p.id = u.property_id";

fn lock_row(row: &Row<'_>) -> rusqlite::Result<LockRecord> {
    let mode: String = row.get(7)?;
    Ok(LockRecord {
        id: get_uuid(row, 0)?,
        org_id: get_uuid(row, 1)?,
        name: row.get(2)?,
        unit_id: get_uuid(row, 3)?,
        unit_name: row.get(4)?,
        property_id: get_uuid(row, 5)?,
        property_name: row.get(6)?,
        mode: LockMode::parse(&mode).ok_or_else(|| bad(7, "mode"))?,
        battery: row.get(8)?,
        firmware: row.get(9)?,
        identity_public_key: row.get(10)?,
    })
}

const CODE_COLS: &str = "c.id, c.lock_id, c.kind, c.label, c.code, c.starts_at, c.ends_at, \
    c.sync_state, c.failure_reason, c.created_by, c.created_at FROM access_codes c";

fn code_row(row: &Row<'_>) -> rusqlite::Result<AccessCodeRecord> {
    let kind: String = row.get(2)?;
    let state: String = row.get(7)?;
    Ok(AccessCodeRecord {
        id: get_uuid(row, 0)?,
        lock_id: get_uuid(row, 1)?,
        kind: AccessCodeKind::parse(&kind).ok_or_else(|| bad(2, "kind"))?,
        label: row.get(3)?,
        code: row.get(4)?,
        starts_at: row.get::<_, Option<i64>>(5)?.map(from_ts),
        ends_at: row.get::<_, Option<i64>>(6)?.map(from_ts),
        sync_state: CodeSyncState::parse(&state).ok_or_else(|| bad(7, "state"))?,
        failure_reason: row.get(8)?,
        created_by: get_uuid(row, 9)?,
        created_at: from_ts(row.get(10)?),
    })
}

const PASSCODE_COLS: &str = "pc.id, pc.user_id, pc.lock_id, l.name, pc.code, pc.sync_state \
    FROM passcodes pc JOIN locks l ON l.id = pc.lock_id";

fn passcode_row(row: &Row<'_>) -> rusqlite::Result<PasscodeRecord> {
    let state: String = row.get(5)?;
    Ok(PasscodeRecord {
        id: get_uuid(row, 0)?,
        user_id: get_uuid(row, 1)?,
        lock_id: get_uuid(row, 2)?,
        lock_name: row.get(3)?,
        code: row.get(4)?,
        sync_state: CodeSyncState::parse(&state).ok_or_else(|| bad(5, "state"))?,
    })
}

/// Appends to the change log (see the sync cursor rule in the module docs).
fn change(
    tx: &Transaction<'_>,
    org: Uuid,
    lock: Option<Uuid>,
    user: Option<Uuid>,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO changes (org_id, lock_id, user_id, at) VALUES (?1, ?2, ?3, ?4)",
        params![
            org.to_string(),
            lock.map(|l| l.to_string()),
            user.map(|u| u.to_string()),
            ts(now)
        ],
    )?;
    Ok(())
}

fn write_audit(tx: &Transaction<'_>, lock: Uuid, audit: &Audit) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO logs (id, lock_id, at, action, method, source, user_id, detail) \
         VALUES (?1, ?2, ?3, ?4, 'admin', 'server', ?5, ?6)",
        params![
            Uuid::new_v4().to_string(),
            lock.to_string(),
            ts(audit.at),
            audit.action,
            audit.user_id.to_string(),
            audit.detail
        ],
    )?;
    Ok(())
}

fn insert_message(tx: &Transaction<'_>, m: &NewMessage) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO outbox (id, org_id, channel, recipient, subject, body, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            m.id.to_string(),
            m.org_id.to_string(),
            channel_str(m.channel),
            m.to,
            m.subject,
            m.body,
            ts(m.created_at)
        ],
    )?;
    Ok(())
}

fn user_tx(tx: &Connection, org: Uuid, id: Uuid) -> rusqlite::Result<UserRecord> {
    tx.query_row(
        &format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = ?1 AND u.id = ?2"),
        params![org.to_string(), id.to_string()],
        user_row,
    )
}

fn lock_tx(tx: &Connection, org: Uuid, id: Uuid) -> rusqlite::Result<LockRecord> {
    tx.query_row(
        &format!("SELECT {LOCK_COLS} WHERE l.org_id = ?1 AND l.id = ?2"),
        params![org.to_string(), id.to_string()],
        lock_row,
    )
}

/// Every code in use on a lock, so a new one never collides on the keypad.
fn codes_in_use(tx: &Connection, lock: Uuid) -> rusqlite::Result<HashSet<String>> {
    let mut stmt = tx.prepare_cached(
        "SELECT master_code FROM locks WHERE id = ?1 \
         UNION ALL SELECT code FROM passcodes WHERE lock_id = ?1 \
         UNION ALL SELECT code FROM access_codes WHERE lock_id = ?1",
    )?;
    let rows = stmt.query_map([lock.to_string()], |r| r.get::<_, String>(0))?;
    rows.collect()
}

fn fresh_code(used: &mut HashSet<String>, len: usize) -> String {
    loop {
        let c = secrets::random_digits(len);
        if used.insert(c.clone()) {
            return c;
        }
    }
}

fn may_open(user: &UserRecord, unit: Uuid) -> bool {
    let actor = Actor {
        user_type: user.user_type,
        status: user.status,
        permissions: &user.permissions,
        access: &user.access,
    };
    authorize(&actor, Action::Unlock, unit).is_ok()
}

/// Brings a user's passcodes in line with their status and scope.
fn refresh_user_passcodes(
    tx: &Transaction<'_>,
    user: &UserRecord,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    let mut wanted = HashSet::new();
    {
        let mut stmt = tx.prepare_cached("SELECT id, unit_id FROM locks WHERE org_id = ?1")?;
        let rows = stmt.query_map([user.org_id.to_string()], |r| {
            Ok((get_uuid(r, 0)?, get_uuid(r, 1)?))
        })?;
        for row in rows {
            let (lock, unit) = row?;
            if may_open(user, unit) {
                wanted.insert(lock);
            }
        }
    }
    let have: Vec<Uuid> = {
        let mut stmt = tx.prepare_cached("SELECT lock_id FROM passcodes WHERE user_id = ?1")?;
        let rows = stmt.query_map([user.id.to_string()], |r| get_uuid(r, 0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for lock in &have {
        if !wanted.contains(lock) {
            tx.execute(
                "DELETE FROM passcodes WHERE user_id = ?1 AND lock_id = ?2",
                params![user.id.to_string(), lock.to_string()],
            )?;
            change(tx, user.org_id, Some(*lock), Some(user.id), now)?;
        }
    }
    let have: HashSet<Uuid> = have.into_iter().collect();
    for lock in wanted {
        if !have.contains(&lock) {
            let mut used = codes_in_use(tx, lock)?;
            tx.execute(
                "INSERT INTO passcodes (id, user_id, lock_id, code) VALUES (?1, ?2, ?3, ?4)",
                params![
                    Uuid::new_v4().to_string(),
                    user.id.to_string(),
                    lock.to_string(),
                    fresh_code(&mut used, secrets::PASSCODE_DIGITS)
                ],
            )?;
            change(tx, user.org_id, Some(lock), Some(user.id), now)?;
        }
    }
    Ok(())
}

/// Gives every active user who may open a new lock their passcode on it.
fn passcodes_for_new_lock(tx: &Transaction<'_>, lock: &LockRecord) -> rusqlite::Result<()> {
    let users: Vec<UserRecord> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.org_id = ?1 AND u.status = 'active'"
        ))?;
        let rows = stmt.query_map([lock.org_id.to_string()], user_row)?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut used = codes_in_use(tx, lock.id)?;
    for user in users.iter().filter(|u| may_open(u, lock.unit_id)) {
        tx.execute(
            "INSERT INTO passcodes (id, user_id, lock_id, code) VALUES (?1, ?2, ?3, ?4)",
            params![
                Uuid::new_v4().to_string(),
                user.id.to_string(),
                lock.id.to_string(),
                fresh_code(&mut used, secrets::PASSCODE_DIGITS)
            ],
        )?;
    }
    Ok(())
}

fn locks_tx(
    conn: &Connection,
    org: Uuid,
    filter: &LockFilter,
    after: Option<Uuid>,
    limit: Option<u32>,
) -> rusqlite::Result<Vec<LockRecord>> {
    let units = match filter {
        LockFilter::All => None,
        LockFilter::Units(u) => Some(serde_json::to_string(u).unwrap_or_else(|_| "[]".into())),
    };
    let sql = format!(
        "SELECT {LOCK_COLS} WHERE l.org_id = ?1 AND l.id > ?2 \
         AND (?3 IS NULL OR l.unit_id IN (SELECT value FROM json_each(?3))) \
         ORDER BY l.id LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            org.to_string(),
            after.map(|a| a.to_string()).unwrap_or_default(),
            units,
            limit.map(i64::from).unwrap_or(-1)
        ],
        lock_row,
    )?;
    rows.collect()
}

impl SqliteStore {
    /// Opens (creating if needed) `access.db` in `data_dir` and applies migrations.
    pub fn open(data_dir: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Backend(format!("cannot create {data_dir:?}: {e}")))?;
        let generation = Generation::open(&data_dir.join("access.db-generation"))
            .map_err(|e| StoreError::Backend(format!("cannot open {data_dir:?}: {e}")))?;
        let store = SqliteStore {
            path: data_dir.join("access.db"),
            pool: Mutex::new(Vec::new()),
            writer: Mutex::new(()),
            generation,
            sessions: SessionCache::default(),
        };
        store.write(|tx| {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )?;
            let current: i64 = tx.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )?;
            for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    params![version, ts(OffsetDateTime::now_utc())],
                )?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Without the query planner stability guarantee, the planner marks bound parameters
        // of a join (e.g. the session lookup's) as plan-affecting, so every rebinding expires
        // the cached statement and each call parses and plans the SQL again: ~30 us instead
        // of ~3 us per session check. Our plans never depend on a bound value (no ANALYZE
        // data, no LIKE prefix index), so a stable plan costs nothing.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        // Room for every statement the store caches (about two dozen), so a mixed load
        // never evicts the session lookup and parses it again.
        conn.set_prepared_statement_cache_capacity(64);
        // Switching a new file to WAL answers SQLITE_BUSY at once, without the busy handler,
        // while another process (a second instance starting at the same moment) does the same.
        let mut attempts = 0;
        loop {
            match conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            ) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && attempts < 200 =>
                {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(25));
                }
                other => break other?,
            }
        }
        Ok(conn)
    }

    /// Runs `f` on a pooled connection.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        // Pushing or popping cannot leave the Vec half-changed, so a poisoned pool is still
        // good (dropping it would open a connection, and parse the schema, on every call).
        let pooled = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = f(&mut conn);
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL_SIZE {
            pool.push(conn);
        }
        out
    }

    /// Runs `f` in a write transaction and commits it. Every write of the store comes
    /// through here, so the generation moves around each one (see `session_cache`).
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        // The guard protects no data, so a poisoned lock is as good as a free one.
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.write(|| {
            self.with(|conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&tx)?;
                tx.commit()?;
                Ok(out)
            })
        })
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn inline_reads(&self) -> bool {
        true
    }

    fn organization_count(&self) -> StoreResult<u64> {
        self.with(|c| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM organizations", [], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
    }

    fn create_organization(&self, org: &NewOrganization) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO organizations (id, name, signing_key, public_key, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    org.id.to_string(),
                    org.name,
                    org.signing_key_pkcs8,
                    org.public_key,
                    ts(org.now)
                ],
            )?;
            tx.execute(
                "INSERT INTO users (id, org_id, user_type, status, is_admin, name, username, \
                 invited_email, registered_email, password_hash, permissions, access_type, \
                 invited_at) VALUES (?1, ?2, 'team_member', 'active', 1, ?3, 'admin', ?4, ?4, \
                 ?5, ?6, 'all_locks', ?7)",
                params![
                    org.admin_id.to_string(),
                    org.id.to_string(),
                    org.admin_name,
                    org.admin_email,
                    org.admin_password_hash,
                    perms_to_text(&Permission::ALL),
                    ts(org.now)
                ],
            )?;
            Ok(())
        })
    }

    fn organization_key(&self, org_id: Uuid) -> StoreResult<OrganizationKey> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT signing_key, public_key FROM organizations WHERE id = ?1",
                [org_id.to_string()],
                |r| {
                    Ok(OrganizationKey {
                        signing_key_pkcs8: r.get(0)?,
                        public_key: r.get(1)?,
                    })
                },
            )?)
        })
    }

    fn organization_name(&self, org_id: Uuid) -> StoreResult<String> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT name FROM organizations WHERE id = ?1",
                [org_id.to_string()],
                |r| r.get(0),
            )?)
        })
    }

    fn login_lookup(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {USER_COLS}, u.password_hash FROM users u \
                     WHERE lower(u.registered_email) = lower(?1) AND u.password_hash IS NOT NULL"
                ),
                [email],
                |r| Ok((user_row(r)?, r.get::<_, String>(16)?)),
            )
            .optional()?)
        })
    }

    fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    &s.token_hash[..],
                    s.user_id.to_string(),
                    ts(s.created_at),
                    ts(s.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn session_user(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        let now = ts(now);
        // Built once: this runs on every authenticated request the cache cannot answer.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {SESSION_USER_COLS}, s.token_hash, s.revoked, s.expires_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2"
            )
        });
        self.sessions.user(&self.generation, token_hash, now, || {
            self.with(|c| {
                let mut stmt = c.prepare_cached(&SQL)?;
                let found = stmt
                    .query_row(params![&token_hash[..], now], |r| {
                        Ok((
                            user_row(r)?,
                            r.get::<_, Vec<u8>>(16)?,
                            r.get::<_, bool>(17)?,
                            r.get::<_, i64>(18)?,
                        ))
                    })
                    .optional()?;
                Ok(found.and_then(|(mut user, stored, revoked, expires_at)| {
                    // A revoked session reports its user as revoked, so the client learns why.
                    if revoked {
                        user.status = UserStatus::Revoked;
                    }
                    secrets::ct_eq(&stored, token_hash).then_some((user, expires_at))
                }))
            })
        })
    }

    fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [&token_hash[..]],
            )?;
            Ok(())
        })
    }

    fn login_failures(&self, keys: &[String], since: OffsetDateTime) -> StoreResult<Vec<u64>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT COUNT(*) FROM login_failures WHERE key = ?1 AND at >= ?2",
            )?;
            keys.iter()
                .map(|k| {
                    let n: i64 = stmt.query_row(params![k, ts(since)], |r| r.get(0))?;
                    Ok(n.max(0) as u64)
                })
                .collect()
        })
    }

    fn record_login_failure(&self, keys: &[String], at: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            for k in keys {
                tx.execute(
                    "INSERT INTO login_failures (key, at) VALUES (?1, ?2)",
                    params![k, ts(at)],
                )?;
            }
            // Old failures no longer count; drop them so the table stays small.
            tx.execute(
                "DELETE FROM login_failures WHERE at < ?1",
                [ts(at) - 86_400],
            )?;
            Ok(())
        })
    }

    fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM login_failures WHERE key = ?1", [key])?;
            Ok(())
        })
    }

    fn idempotency_begin(
        &self,
        user_id: Uuid,
        key: &str,
        fingerprint: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<IdempotencyBegin> {
        self.write(|tx| {
            let found = tx
                .query_row(
                    "SELECT fingerprint, status, body, created_at FROM idempotency_keys \
                     WHERE user_id = ?1 AND key = ?2",
                    params![user_id.to_string(), key],
                    |r| {
                        Ok((
                            r.get::<_, Vec<u8>>(0)?,
                            r.get::<_, u16>(1)?,
                            r.get::<_, Option<Vec<u8>>>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()?;
            match found {
                None => {
                    tx.execute(
                        "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![user_id.to_string(), key, &fingerprint[..], ts(now)],
                    )?;
                    Ok(IdempotencyBegin::New)
                }
                Some((fp, _, _, _)) if fp != fingerprint => Ok(IdempotencyBegin::Mismatch),
                // A request that died half-way (process killed) holds the key for a minute.
                Some((_, 0, _, created)) if ts(now) - created < 60 => {
                    Ok(IdempotencyBegin::InProgress)
                }
                Some((_, 0, _, _)) => {
                    tx.execute(
                        "UPDATE idempotency_keys SET created_at = ?3 WHERE user_id = ?1 AND key = ?2",
                        params![user_id.to_string(), key, ts(now)],
                    )?;
                    Ok(IdempotencyBegin::New)
                }
                Some((_, status, body, _)) => Ok(IdempotencyBegin::Done {
                    status,
                    body: body.unwrap_or_default(),
                }),
            }
        })
    }

    fn idempotency_finish(
        &self,
        user_id: Uuid,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE user_id = ?1 AND key = ?2",
                params![user_id.to_string(), key, status, body],
            )?;
            Ok(())
        })
    }

    fn idempotency_abort(&self, user_id: Uuid, key: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND status = 0",
                params![user_id.to_string(), key],
            )?;
            Ok(())
        })
    }

    fn user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<UserRecord> {
        self.with(|c| Ok(user_tx(c, org_id, user_id)?))
    }

    fn user_by_username(&self, org_id: Uuid, username: &str) -> StoreResult<Option<UserRecord>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = ?1 AND u.username = ?2"),
                params![org_id.to_string(), username],
                user_row,
            )
            .optional()?)
        })
    }

    fn list_users(
        &self,
        org_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<UserRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users u WHERE u.org_id = ?1 AND u.id > ?2 \
                 ORDER BY u.id LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![
                    org_id.to_string(),
                    after.map(|a| a.to_string()).unwrap_or_default(),
                    limit
                ],
                user_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn user_page(
        &self,
        org_id: Uuid,
        query: &user_list::UserQuery,
    ) -> StoreResult<user_list::UserPage> {
        use user_list::UserSort;
        // Sort keys as text, so the cursor can carry any of them; the `email` prefixes
        // put rows without a registered email last in both orders.
        let key = match query.sort {
            UserSort::Name => "LOWER(COALESCE(u.name, u.username, u.invited_email, ''))",
            UserSort::Type => "u.user_type",
            UserSort::Status => "u.status",
            UserSort::AccessType => "u.access_type",
            UserSort::Email if query.descending => {
                "CASE WHEN u.registered_email IS NULL THEN '0' \
                 ELSE '1' || LOWER(u.registered_email) END"
            }
            UserSort::Email => {
                "CASE WHEN u.registered_email IS NULL THEN '1' \
                 ELSE '0' || LOWER(u.registered_email) END"
            }
            UserSort::InvitedAt => "printf('%020d', u.invited_at)",
        };
        let (cmp, dir) = if query.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        // SQLite's LOWER folds ASCII only; LIKE is ASCII case-insensitive too.
        let filter = "u.org_id = ?1 AND (?2 IS NULL OR u.user_type = ?2) \
             AND (?3 IS NULL OR u.status = ?3) \
             AND (?4 IS NULL OR LOWER(COALESCE(u.name, '')) LIKE ?4 ESCAPE '\\' \
                  OR LOWER(COALESCE(u.username, '')) LIKE ?4 ESCAPE '\\' \
                  OR LOWER(COALESCE(u.invited_email, '')) LIKE ?4 ESCAPE '\\' \
                  OR LOWER(COALESCE(u.registered_email, '')) LIKE ?4 ESCAPE '\\')";
        let pattern = query.like_pattern();
        let org = org_id.to_string();
        let user_type = query.user_type.map(|t| t.as_str());
        let status = query.status.map(|s| s.as_str());
        let (after_key, after_id) = match &query.after {
            Some(c) => (Some(c.key.clone()), Some(c.id.to_string())),
            None => (None, None),
        };
        let limit = query.limit.max(1);
        self.with(|c| {
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM users u WHERE {filter}"),
                params![org, user_type, status, pattern],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {USER_COLS}, {key} FROM users u WHERE {filter} \
                 AND (?5 IS NULL OR {key} {cmp} ?5 OR ({key} = ?5 AND u.id {cmp} ?6)) \
                 ORDER BY {key} {dir}, u.id {dir} LIMIT ?7"
            ))?;
            let cols = USER_COLS.matches(", ").count() + 1;
            let rows = stmt
                .query_map(
                    params![
                        org,
                        user_type,
                        status,
                        pattern,
                        after_key,
                        after_id,
                        limit + 1
                    ],
                    |r| Ok((user_row(r)?, r.get::<_, String>(cols)?)),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(user_list::UserPage::from_rows(
                rows,
                limit,
                total.max(0) as u64,
            ))
        })
    }

    fn summary(&self, org_id: Uuid) -> StoreResult<SummaryCounts> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*), \
                 COALESCE(SUM(user_type = 'team_member'), 0), \
                 COALESCE(SUM(user_type = 'resident'), 0), \
                 COALESCE(SUM(status = 'pending'), 0) \
                 FROM users WHERE org_id = ?1 AND status != 'revoked'",
                [org_id.to_string()],
                |r| {
                    Ok(SummaryCounts {
                        total_users: r.get::<_, i64>(0)?.max(0) as u64,
                        team_members: r.get::<_, i64>(1)?.max(0) as u64,
                        residents: r.get::<_, i64>(2)?.max(0) as u64,
                        pending_invites: r.get::<_, i64>(3)?.max(0) as u64,
                    })
                },
            )?)
        })
    }

    fn create_invitation(&self, inv: &NewInvitation, mail: &NewMessage) -> StoreResult<()> {
        self.write(|tx| {
            let (access_type, unit_ids) = access_to_cols(&inv.access);
            tx.execute(
                "INSERT INTO users (id, org_id, user_type, status, invited_email, permissions, \
                 access_type, unit_ids, invited_by, invited_at) \
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    inv.user_id.to_string(),
                    inv.org_id.to_string(),
                    inv.user_type.as_str(),
                    inv.invited_email,
                    perms_to_text(&inv.permissions),
                    access_type,
                    unit_ids,
                    inv.invited_by.to_string(),
                    ts(inv.token.sent_at)
                ],
            )?;
            tx.execute(
                "INSERT INTO invitations (id, user_id, token_hash, sent_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    inv.token.id.to_string(),
                    inv.user_id.to_string(),
                    &inv.token.token_hash[..],
                    ts(inv.token.sent_at),
                    ts(inv.token.expires_at)
                ],
            )?;
            insert_message(tx, mail)?;
            change(tx, inv.org_id, None, Some(inv.user_id), inv.token.sent_at)?;
            Ok(())
        })
    }

    fn resend_invitation(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        token: &NewInvitationToken,
        mail: &NewMessage,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let user = user_tx(tx, org_id, user_id)?;
            if user.status != UserStatus::Pending {
                return Err(StoreError::Conflict(format!(
                    "Only pending invitations can be resent; this user is {}.",
                    user.status.as_str()
                )));
            }
            tx.execute(
                "UPDATE invitations SET voided = 1 WHERE user_id = ?1",
                [user_id.to_string()],
            )?;
            tx.execute(
                "INSERT INTO invitations (id, user_id, token_hash, sent_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token.id.to_string(),
                    user_id.to_string(),
                    &token.token_hash[..],
                    ts(token.sent_at),
                    ts(token.expires_at)
                ],
            )?;
            insert_message(tx, mail)?;
            Ok(())
        })
    }

    fn invitation_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<InvitationRecord>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT i.id, i.user_id, u.org_id, u.user_type, u.status, i.expires_at, i.voided \
                 FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.token_hash = ?1",
                [&token_hash[..]],
                |r| {
                    let t: String = r.get(3)?;
                    let s: String = r.get(4)?;
                    Ok(InvitationRecord {
                        id: get_uuid(r, 0)?,
                        user_id: get_uuid(r, 1)?,
                        org_id: get_uuid(r, 2)?,
                        user_type: UserType::parse(&t).ok_or_else(|| bad(3, "user type"))?,
                        user_status: UserStatus::parse(&s).ok_or_else(|| bad(4, "status"))?,
                        expires_at: from_ts(r.get(5)?),
                        voided: r.get(6)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn create_registration(&self, reg: &NewRegistration, sms: &NewMessage) -> StoreResult<()> {
        self.write(|tx| {
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE lower(registered_email) = lower(?1))",
                [&reg.email],
                |r| r.get(0),
            )?;
            if taken {
                return Err(StoreError::Conflict(
                    "An account with this email already exists; sign in instead or use another email."
                        .into(),
                ));
            }
            tx.execute(
                "INSERT INTO registrations (id, invitation_id, user_id, email, phone, name, \
                 password_hash, code_hash, created_at, code_expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    reg.id.to_string(),
                    reg.invitation_id.to_string(),
                    reg.user_id.to_string(),
                    reg.email,
                    reg.phone,
                    reg.name,
                    reg.password_hash,
                    &reg.code_hash[..],
                    ts(reg.created_at),
                    ts(reg.code_expires_at)
                ],
            )?;
            insert_message(tx, sms)?;
            Ok(())
        })
    }

    fn verify_registration(&self, a: &VerifyAttempt) -> StoreResult<VerifyOutcome> {
        self.write(|tx| {
            let row = tx.query_row(
                "SELECT r.user_id, r.code_hash, r.attempts, r.code_expires_at, r.completed, \
                 i.voided, u.status, u.org_id, r.email, r.phone, r.name, r.password_hash \
                 FROM registrations r JOIN invitations i ON i.id = r.invitation_id \
                 JOIN users u ON u.id = r.user_id WHERE r.id = ?1",
                [a.registration_id.to_string()],
                |r| {
                    Ok((
                        get_uuid(r, 0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, bool>(4)? || r.get::<_, bool>(5)?,
                        r.get::<_, String>(6)?,
                        get_uuid(r, 7)?,
                        [
                            r.get::<_, String>(8)?,
                            r.get::<_, String>(9)?,
                            r.get::<_, String>(10)?,
                            r.get::<_, String>(11)?,
                        ],
                    ))
                },
            )?;
            let (user_id, stored, attempts, expires, voided, status, org, [email, phone, name, pw]) =
                row;
            if voided || status != "pending" {
                return Ok(VerifyOutcome::InvitationVoided);
            }
            if attempts >= a.max_attempts {
                return Ok(VerifyOutcome::TooManyAttempts);
            }
            if ts(a.now) >= expires {
                return Ok(VerifyOutcome::Expired);
            }
            if !secrets::ct_eq(&stored, &a.code_hash) {
                tx.execute(
                    "UPDATE registrations SET attempts = attempts + 1 WHERE id = ?1",
                    [a.registration_id.to_string()],
                )?;
                let left = a.max_attempts.saturating_sub(attempts + 1);
                return Ok(if left == 0 {
                    VerifyOutcome::TooManyAttempts
                } else {
                    VerifyOutcome::Wrong {
                        attempts_left: left,
                    }
                });
            }
            tx.execute(
                "UPDATE users SET status = 'active', registered_email = ?2, phone = ?3, \
                 name = ?4, password_hash = ?5 WHERE id = ?1",
                params![user_id.to_string(), email, phone, name, pw],
            )?;
            tx.execute(
                "UPDATE registrations SET completed = 1 WHERE id = ?1",
                [a.registration_id.to_string()],
            )?;
            tx.execute(
                "UPDATE invitations SET voided = 1 WHERE user_id = ?1",
                [user_id.to_string()],
            )?;
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    &a.session.token_hash[..],
                    user_id.to_string(),
                    ts(a.session.created_at),
                    ts(a.session.expires_at)
                ],
            )?;
            let user = user_tx(tx, org, user_id)?;
            refresh_user_passcodes(tx, &user, a.now)?;
            change(tx, org, None, Some(user_id), a.now)?;
            Ok(VerifyOutcome::Verified(Box::new(user)))
        })
    }

    fn set_permissions(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        permissions: &[Permission],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET permissions = ?3 WHERE org_id = ?1 AND id = ?2",
                params![
                    org_id.to_string(),
                    user_id.to_string(),
                    perms_to_text(permissions)
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            change(tx, org_id, None, Some(user_id), now)?;
            Ok(())
        })
    }

    fn set_access(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        access: &Access,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let (access_type, unit_ids) = access_to_cols(access);
            let n = tx.execute(
                "UPDATE users SET access_type = ?3, unit_ids = ?4 WHERE org_id = ?1 AND id = ?2",
                params![
                    org_id.to_string(),
                    user_id.to_string(),
                    access_type,
                    unit_ids
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let user = user_tx(tx, org_id, user_id)?;
            refresh_user_passcodes(tx, &user, now)?;
            change(tx, org_id, None, Some(user_id), now)?;
            Ok(())
        })
    }

    fn revoke_user(&self, org_id: Uuid, user_id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET status = 'revoked' WHERE org_id = ?1 AND id = ?2",
                params![org_id.to_string(), user_id.to_string()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let uid = user_id.to_string();
            tx.execute("UPDATE sessions SET revoked = 1 WHERE user_id = ?1", [&uid])?;
            tx.execute(
                "UPDATE invitations SET voided = 1 WHERE user_id = ?1",
                [&uid],
            )?;
            let user = user_tx(tx, org_id, user_id)?;
            refresh_user_passcodes(tx, &user, now)?;
            change(tx, org_id, None, Some(user_id), now)?;
            Ok(())
        })
    }

    fn user_passcodes(&self, user_id: Uuid) -> StoreResult<Vec<PasscodeRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PASSCODE_COLS} WHERE pc.user_id = ?1 ORDER BY l.name"
            ))?;
            let rows = stmt.query_map([user_id.to_string()], passcode_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn list_outbox(
        &self,
        org_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, id, channel, recipient, subject, body, created_at, delivery, \
                 delivery_error FROM outbox WHERE org_id = ?1 AND seq < ?2 \
                 ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![org_id.to_string(), before.unwrap_or(i64::MAX), limit],
                |r| {
                    let ch: String = r.get(2)?;
                    Ok(MessageRecord {
                        seq: r.get(0)?,
                        id: get_uuid(r, 1)?,
                        channel: if ch == "sms" {
                            Channel::Sms
                        } else {
                            Channel::Email
                        },
                        to: r.get(3)?,
                        subject: r.get(4)?,
                        body: r.get(5)?,
                        created_at: from_ts(r.get(6)?),
                        delivery: r.get(7)?,
                        delivery_error: r.get(8)?,
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn mark_delivery(
        &self,
        message_id: Uuid,
        delivery: &str,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET delivery = ?2, delivery_error = ?3 WHERE id = ?1",
                params![message_id.to_string(), delivery, error],
            )?;
            Ok(())
        })
    }

    fn create_property(&self, org_id: Uuid, id: Uuid, name: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO properties (id, org_id, name) VALUES (?1, ?2, ?3)",
                params![id.to_string(), org_id.to_string(), name],
            )?;
            Ok(())
        })
    }

    fn list_properties(&self, org_id: Uuid) -> StoreResult<Vec<PropertyRecord>> {
        self.with(|c| {
            let mut props: Vec<PropertyRecord> = {
                let mut stmt = c.prepare_cached(
                    "SELECT id, name FROM properties WHERE org_id = ?1 ORDER BY name, id",
                )?;
                let rows = stmt.query_map([org_id.to_string()], |r| {
                    Ok(PropertyRecord {
                        id: get_uuid(r, 0)?,
                        name: r.get(1)?,
                        units: Vec::new(),
                    })
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut stmt = c.prepare_cached(
                "SELECT id, property_id, name FROM units WHERE org_id = ?1 ORDER BY name, id",
            )?;
            let rows = stmt.query_map([org_id.to_string()], |r| {
                Ok(UnitRecord {
                    id: get_uuid(r, 0)?,
                    property_id: get_uuid(r, 1)?,
                    name: r.get(2)?,
                })
            })?;
            for unit in rows {
                let unit = unit?;
                if let Some(p) = props.iter_mut().find(|p| p.id == unit.property_id) {
                    p.units.push(unit);
                }
            }
            Ok(props)
        })
    }

    fn create_unit(
        &self,
        org_id: Uuid,
        property_id: Uuid,
        id: Uuid,
        name: &str,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM properties WHERE id = ?1 AND org_id = ?2)",
                params![property_id.to_string(), org_id.to_string()],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT INTO units (id, property_id, org_id, name) VALUES (?1, ?2, ?3, ?4)",
                params![
                    id.to_string(),
                    property_id.to_string(),
                    org_id.to_string(),
                    name
                ],
            )?;
            Ok(())
        })
    }

    fn unit(&self, org_id: Uuid, unit_id: Uuid) -> StoreResult<UnitRecord> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT id, property_id, name FROM units WHERE org_id = ?1 AND id = ?2",
                params![org_id.to_string(), unit_id.to_string()],
                |r| {
                    Ok(UnitRecord {
                        id: get_uuid(r, 0)?,
                        property_id: get_uuid(r, 1)?,
                        name: r.get(2)?,
                    })
                },
            )?)
        })
    }

    fn existing_units(&self, org_id: Uuid, unit_ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        self.with(|c| {
            let ids = serde_json::to_string(unit_ids).unwrap_or_else(|_| "[]".into());
            let mut stmt = c.prepare_cached(
                "SELECT id FROM units WHERE org_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
            )?;
            let rows = stmt.query_map(params![org_id.to_string(), ids], |r| get_uuid(r, 0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn create_lock(&self, lock: &NewLock, audit: &Audit) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let unit_ok: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM units WHERE id = ?1 AND org_id = ?2)",
                params![lock.unit_id.to_string(), lock.org_id.to_string()],
                |r| r.get(0),
            )?;
            if !unit_ok {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "INSERT INTO locks (id, org_id, unit_id, name, mode, firmware, master_code, \
                 identity_public_key, created_at) VALUES (?1, ?2, ?3, ?4, 'vacant', ?5, ?6, ?7, ?8)",
                params![
                    lock.id.to_string(),
                    lock.org_id.to_string(),
                    lock.unit_id.to_string(),
                    lock.name,
                    lock.firmware,
                    lock.master_code,
                    lock.identity_public_key,
                    ts(audit.at)
                ],
            )?;
            let record = lock_tx(tx, lock.org_id, lock.id)?;
            passcodes_for_new_lock(tx, &record)?;
            write_audit(tx, lock.id, audit)?;
            change(tx, lock.org_id, Some(lock.id), None, audit.at)?;
            Ok(record)
        })
    }

    fn lock(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<LockRecord> {
        self.with(|c| Ok(lock_tx(c, org_id, lock_id)?))
    }

    fn list_locks(
        &self,
        org_id: Uuid,
        filter: &LockFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<LockRecord>> {
        self.with(|c| Ok(locks_tx(c, org_id, filter, after, Some(limit))?))
    }

    fn rename_lock(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        name: &str,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE locks SET name = ?3 WHERE org_id = ?1 AND id = ?2",
                params![org_id.to_string(), lock_id.to_string(), name],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            write_audit(tx, lock_id, audit)?;
            change(tx, org_id, Some(lock_id), None, audit.at)?;
            Ok(lock_tx(tx, org_id, lock_id)?)
        })
    }

    fn set_lock_mode(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        mode: LockMode,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE locks SET mode = ?3 WHERE org_id = ?1 AND id = ?2",
                params![org_id.to_string(), lock_id.to_string(), mode.as_str()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            write_audit(tx, lock_id, audit)?;
            change(tx, org_id, Some(lock_id), None, audit.at)?;
            Ok(lock_tx(tx, org_id, lock_id)?)
        })
    }

    fn reset_lock_codes(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        master_code: &str,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE locks SET master_code = ?3 WHERE org_id = ?1 AND id = ?2",
                params![org_id.to_string(), lock_id.to_string(), master_code],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let lid = lock_id.to_string();
            tx.execute("DELETE FROM access_codes WHERE lock_id = ?1", [&lid])?;
            tx.execute("DELETE FROM passcodes WHERE lock_id = ?1", [&lid])?;
            let record = lock_tx(tx, org_id, lock_id)?;
            passcodes_for_new_lock(tx, &record)?;
            write_audit(tx, lock_id, audit)?;
            change(tx, org_id, Some(lock_id), None, audit.at)?;
            Ok(record)
        })
    }

    fn master_code(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<String> {
        self.write(|tx| {
            let code: String = tx.query_row(
                "SELECT master_code FROM locks WHERE org_id = ?1 AND id = ?2",
                params![org_id.to_string(), lock_id.to_string()],
                |r| r.get(0),
            )?;
            write_audit(tx, lock_id, audit)?;
            Ok(code)
        })
    }

    fn create_access_code(
        &self,
        org_id: Uuid,
        code: &AccessCodeRecord,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.write(|tx| {
            lock_tx(tx, org_id, code.lock_id)?;
            if codes_in_use(tx, code.lock_id)?.contains(&code.code) {
                return Err(StoreError::Conflict(
                    "code already in use on this lock".into(),
                ));
            }
            tx.execute(
                "INSERT INTO access_codes (id, lock_id, kind, label, code, starts_at, ends_at, \
                 created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    code.id.to_string(),
                    code.lock_id.to_string(),
                    code.kind.as_str(),
                    code.label,
                    code.code,
                    code.starts_at.map(ts),
                    code.ends_at.map(ts),
                    code.created_by.to_string(),
                    ts(code.created_at)
                ],
            )?;
            write_audit(tx, code.lock_id, audit)?;
            change(tx, org_id, Some(code.lock_id), None, audit.at)?;
            Ok(())
        })
    }

    fn list_access_codes(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<Vec<AccessCodeRecord>> {
        self.with(|c| {
            lock_tx(c, org_id, lock_id)?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CODE_COLS} WHERE c.lock_id = ?1 ORDER BY c.created_at, c.id"
            ))?;
            let rows = stmt.query_map([lock_id.to_string()], code_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn set_code_state(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        code_id: Uuid,
        state: CodeSyncState,
        reason: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.write(|tx| {
            lock_tx(tx, org_id, lock_id)?;
            let args = params![
                code_id.to_string(),
                lock_id.to_string(),
                state.as_str(),
                reason
            ];
            let n = tx.execute(
                "UPDATE access_codes SET sync_state = ?3, failure_reason = ?4 \
                 WHERE id = ?1 AND lock_id = ?2",
                args,
            )? + tx.execute(
                "UPDATE passcodes SET sync_state = ?3, failure_reason = ?4 \
                 WHERE id = ?1 AND lock_id = ?2",
                args,
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            write_audit(tx, lock_id, audit)?;
            change(tx, org_id, Some(lock_id), None, audit.at)?;
            Ok(())
        })
    }

    fn revoke_access_code(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        code_id: Uuid,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.write(|tx| {
            lock_tx(tx, org_id, lock_id)?;
            let revoked: Option<Option<i64>> = tx
                .query_row(
                    "SELECT revoked_at FROM access_codes WHERE id = ?1 AND lock_id = ?2",
                    params![code_id.to_string(), lock_id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            match revoked {
                None => return Err(StoreError::NotFound),
                Some(Some(_)) => return Err(StoreError::Conflict("already revoked".into())),
                Some(None) => {}
            }
            tx.execute(
                "UPDATE access_codes SET revoked_at = ?3, revoked_by = ?4 \
                 WHERE id = ?1 AND lock_id = ?2",
                params![
                    code_id.to_string(),
                    lock_id.to_string(),
                    ts(audit.at),
                    audit.user_id.to_string()
                ],
            )?;
            write_audit(tx, lock_id, audit)?;
            change(tx, org_id, Some(lock_id), None, audit.at)?;
            Ok(())
        })
    }

    fn access_code_revocations(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
    ) -> StoreResult<Vec<CodeRevocationRecord>> {
        self.with(|c| {
            lock_tx(c, org_id, lock_id)?;
            let mut stmt = c.prepare_cached(
                "SELECT id, revoked_at, revoked_by FROM access_codes \
                 WHERE lock_id = ?1 AND revoked_at IS NOT NULL ORDER BY revoked_at, id",
            )?;
            let rows = stmt.query_map([lock_id.to_string()], |r| {
                Ok(CodeRevocationRecord {
                    code_id: get_uuid(r, 0)?,
                    revoked_at: from_ts(r.get(1)?),
                    revoked_by: get_uuid(r, 2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn lock_passcodes(&self, lock_id: Uuid) -> StoreResult<Vec<PasscodeRecord>> {
        self.with(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {PASSCODE_COLS} WHERE pc.lock_id = ?1"))?;
            let rows = stmt.query_map([lock_id.to_string()], passcode_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn audit(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<()> {
        self.write(|tx| {
            lock_tx(tx, org_id, lock_id)?;
            write_audit(tx, lock_id, audit)?;
            Ok(())
        })
    }

    fn list_logs(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<LogRecord>> {
        self.with(|c| {
            lock_tx(c, org_id, lock_id)?;
            let mut stmt = c.prepare_cached(
                "SELECT g.seq, g.id, g.lock_id, g.at, g.action, g.method, g.source, g.user_id, \
                 u.name, g.code_id, COALESCE(ac.label, CASE WHEN pc.id IS NOT NULL \
                 THEN 'passcode of ' || COALESCE(pu.name, pu.invited_email) END), g.detail, g.lock_seq \
                 FROM logs g LEFT JOIN users u ON u.id = g.user_id \
                 LEFT JOIN access_codes ac ON ac.id = g.code_id \
                 LEFT JOIN passcodes pc ON pc.id = g.code_id \
                 LEFT JOIN users pu ON pu.id = pc.user_id \
                 WHERE g.lock_id = ?1 AND g.seq < ?2 ORDER BY g.seq DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![lock_id.to_string(), before.unwrap_or(i64::MAX), limit],
                |r| {
                    let method: String = r.get(5)?;
                    Ok(LogRecord {
                        seq: r.get(0)?,
                        id: get_uuid(r, 1)?,
                        lock_id: get_uuid(r, 2)?,
                        at: from_ts(r.get(3)?),
                        action: r.get(4)?,
                        method: method_parse(&method).ok_or_else(|| bad(5, "method"))?,
                        source: r.get(6)?,
                        user_id: get_opt_uuid(r, 7)?,
                        user_name: r.get(8)?,
                        code_id: get_opt_uuid(r, 9)?,
                        code_label: r.get(10)?,
                        detail: r.get(11)?,
                        lock_seq: r.get::<_, Option<i64>>(12)?.map(|s| s as u64),
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn upload_lock_events(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        uploaded_by: Uuid,
        events: &[NewLockEvent],
    ) -> StoreResult<u64> {
        self.write(|tx| {
            lock_tx(tx, org_id, lock_id)?;
            let mut new = 0;
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO logs (id, lock_id, at, action, method, source, user_id, \
                 code_id, detail, lock_seq) VALUES (?1, ?2, ?3, ?4, ?5, 'lock', ?6, ?7, ?8, ?9)",
            )?;
            for e in events {
                let seq = i64::try_from(e.lock_seq)
                    .map_err(|_| StoreError::Conflict("lock_seq out of range".into()))?;
                let detail = match &e.detail {
                    Some(d) => Some(format!("{d} (uploaded by {uploaded_by})")),
                    None => Some(format!("uploaded by {uploaded_by}")),
                };
                new += stmt.execute(params![
                    Uuid::new_v4().to_string(),
                    lock_id.to_string(),
                    ts(e.at),
                    e.action,
                    method_str(e.method),
                    e.user_id.map(|u| u.to_string()),
                    e.code_id.map(|c| c.to_string()),
                    detail,
                    seq
                ])? as u64;
            }
            Ok(new)
        })
    }

    fn sync(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        filter: &LockFilter,
        since: Option<i64>,
    ) -> StoreResult<SyncData> {
        /// Every lock of the organization with its unit and property: units and properties
        /// read once into a map (a thousand rows) instead of joined per lock, which made two
        /// more index lookups and page reads for each of 10,000 locks.
        fn all_locks(tx: &Connection, org: &str) -> rusqlite::Result<Vec<LockRecord>> {
            let mut units: HashMap<Uuid, (String, Uuid, String)> = HashMap::new();
            let mut stmt = tx.prepare_cached(
                "SELECT u.id, u.name, p.id, p.name FROM units u \
                 JOIN properties p ON p.id = u.property_id WHERE u.org_id = ?1",
            )?;
            let mut rows = stmt.query([org])?;
            while let Some(r) = rows.next()? {
                units.insert(get_uuid(r, 0)?, (r.get(1)?, get_uuid(r, 2)?, r.get(3)?));
            }
            let org_id = Uuid::parse_str(org).map_err(|_| bad(0, "uuid"))?;
            let mut stmt = tx.prepare_cached(
                "SELECT l.id, l.unit_id, l.name, l.mode, l.battery, l.firmware, \
                 l.identity_public_key FROM locks l WHERE l.org_id = ?1 ORDER BY l.id",
            )?;
            let mut rows = stmt.query([org])?;
            let mut locks = Vec::new();
            while let Some(r) = rows.next()? {
                let unit_id = get_uuid(r, 1)?;
                let (unit_name, property_id, property_name) =
                    units.get(&unit_id).ok_or_else(|| bad(1, "unit"))?;
                let mode = r.get_ref(3)?.as_str()?;
                locks.push(LockRecord {
                    id: get_uuid(r, 0)?,
                    org_id,
                    name: r.get(2)?,
                    unit_id,
                    unit_name: unit_name.clone(),
                    property_id: *property_id,
                    property_name: property_name.clone(),
                    mode: LockMode::parse(mode).ok_or_else(|| bad(3, "mode"))?,
                    battery: r.get(4)?,
                    firmware: r.get(5)?,
                    identity_public_key: r.get(6)?,
                });
            }
            Ok(locks)
        }

        self.with(|conn| {
            // One read transaction: the cursor and the data come from the same snapshot.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let cursor: i64 =
                tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
                    r.get(0)
                })?;
            let org = org_id.to_string();
            let mut data = SyncData {
                cursor,
                ..SyncData::default()
            };
            let in_filter = |unit: Uuid| match filter {
                LockFilter::All => true,
                LockFilter::Units(u) => u.contains(&unit),
            };
            let every_lock = |tx: &Connection| match filter {
                LockFilter::All => all_locks(tx, &org),
                LockFilter::Units(_) => locks_tx(tx, org_id, filter, None, None),
            };
            match since {
                None => {
                    data.locks = every_lock(&tx)?;
                }
                Some(since) if since > cursor => {
                    // A cursor from another database: start over.
                    data.me_changed = true;
                    data.locks = every_lock(&tx)?;
                }
                Some(since) => {
                    data.me_changed = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM changes WHERE org_id = ?1 AND seq > ?2 \
                         AND seq <= ?3 AND user_id = ?4 AND lock_id IS NULL)",
                        params![org, since, cursor, user_id.to_string()],
                        |r| r.get(0),
                    )?;
                    if data.me_changed {
                        data.locks = every_lock(&tx)?;
                    } else {
                        let changed: Vec<Uuid> = {
                            let mut stmt = tx.prepare_cached(
                                "SELECT DISTINCT lock_id FROM changes WHERE org_id = ?1 \
                                 AND seq > ?2 AND seq <= ?3 AND lock_id IS NOT NULL",
                            )?;
                            let rows =
                                stmt.query_map(params![org, since, cursor], |r| get_uuid(r, 0))?;
                            rows.collect::<rusqlite::Result<_>>()?
                        };
                        for id in changed {
                            match lock_tx(&tx, org_id, id).optional()? {
                                Some(l) if in_filter(l.unit_id) => data.locks.push(l),
                                _ => data.removed_lock_ids.push(id),
                            }
                        }
                    }
                }
            }
            // The codes of the locks sent, none when none is: a sync with nothing new used to
            // read all of the user's passcodes (10,000 here) only to drop them.
            let names: HashMap<Uuid, &str> =
                data.locks.iter().map(|l| (l.id, l.name.as_str())).collect();
            let (mut codes, mut passcodes) = (Vec::new(), Vec::new());
            // The lock's name comes from the rows above (same snapshot), not from a join.
            let pass_cols = "SELECT pc.id, pc.user_id, pc.lock_id, '', pc.code, pc.sync_state \
                             FROM passcodes pc WHERE pc.user_id = ?1";
            let uid = user_id.to_string();
            // A few locks: their codes through the lock_id indexes; many: one pass over all.
            if names.len() <= 64 {
                let mut by_lock =
                    tx.prepare_cached(&format!("SELECT {CODE_COLS} WHERE c.lock_id = ?1"))?;
                let mut pass = tx.prepare_cached(&format!("{pass_cols} AND pc.lock_id = ?2"))?;
                let mut buf = Uuid::encode_buffer();
                for l in &data.locks {
                    let id = &*l.id.hyphenated().encode_lower(&mut buf);
                    for code in by_lock.query_map([id], code_row)? {
                        codes.push(code?);
                    }
                    for pc in pass.query_map([&uid, id], passcode_row)? {
                        passcodes.push(pc?);
                    }
                }
            } else {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {CODE_COLS} JOIN locks l ON l.id = c.lock_id WHERE l.org_id = ?1"
                ))?;
                for code in stmt.query_map([&org], code_row)? {
                    let code = code?;
                    if names.contains_key(&code.lock_id) {
                        codes.push(code);
                    }
                }
                let mut stmt = tx.prepare_cached(pass_cols)?;
                for pc in stmt.query_map([&uid], passcode_row)? {
                    let pc = pc?;
                    if names.contains_key(&pc.lock_id) {
                        passcodes.push(pc);
                    }
                }
            }
            for pc in &mut passcodes {
                pc.lock_name = names
                    .get(&pc.lock_id)
                    .copied()
                    .unwrap_or_default()
                    .to_owned();
            }
            drop(names);
            (data.access_codes, data.passcodes) = (codes, passcodes);
            tx.commit()?;
            Ok(data)
        })
    }

    fn record_credential(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        lock_id: Uuid,
        rights: u32,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> StoreResult<u64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO ble_credentials (org_id, user_id, lock_id, rights, not_before, \
                 not_after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    org_id.to_string(),
                    user_id.to_string(),
                    lock_id.to_string(),
                    rights,
                    ts(not_before),
                    ts(not_after)
                ],
            )?;
            Ok(tx.last_insert_rowid() as u64)
        })
    }

    fn lock_credentials(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<CredentialRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT serial, user_id, lock_id, rights, not_before, not_after \
                 FROM ble_credentials WHERE org_id = ?1 AND lock_id = ?2 AND not_after >= ?3 \
                 ORDER BY serial",
            )?;
            let rows = stmt.query_map(
                params![org_id.to_string(), lock_id.to_string(), ts(now)],
                |r| {
                    Ok(CredentialRecord {
                        serial: r.get::<_, i64>(0)? as u64,
                        user_id: get_uuid(r, 1)?,
                        lock_id: get_uuid(r, 2)?,
                        rights: r.get(3)?,
                        not_before: from_ts(r.get(4)?),
                        not_after: from_ts(r.get(5)?),
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn set_lock_identity(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        identity_public_key: &str,
        firmware: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let lock = lock_tx(tx, org_id, lock_id)?;
            if lock.identity_public_key.is_some() {
                return Err(StoreError::Conflict("the lock is already paired".into()));
            }
            tx.execute(
                "UPDATE locks SET identity_public_key = ?3, firmware = COALESCE(?4, firmware) \
                 WHERE org_id = ?1 AND id = ?2",
                params![
                    org_id.to_string(),
                    lock_id.to_string(),
                    identity_public_key,
                    firmware
                ],
            )?;
            write_audit(tx, lock_id, audit)?;
            change(tx, org_id, Some(lock_id), None, audit.at)?;
            Ok(lock_tx(tx, org_id, lock_id)?)
        })
    }

    fn age_pending(&self, user_id: Uuid, seconds: i64) -> StoreResult<()> {
        self.write(|tx| {
            let uid = user_id.to_string();
            tx.execute(
                "UPDATE invitations SET sent_at = sent_at - ?2, expires_at = expires_at - ?2 \
                 WHERE user_id = ?1",
                params![uid, seconds],
            )?;
            tx.execute(
                "UPDATE registrations SET created_at = created_at - ?2, \
                 code_expires_at = code_expires_at - ?2 WHERE user_id = ?1",
                params![uid, seconds],
            )?;
            Ok(())
        })
    }
}
