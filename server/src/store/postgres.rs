//! The PostgreSQL store: several stateless `access-server` instances over one database.
//!
//! Chosen by `ACCESS_DATABASE_URL=postgres://user[:password]@host:port/database`. An extra
//! query parameter `schema=NAME` (lowercase letters, digits and `_`) keeps the tables in
//! their own schema, created on first use; the tests give every server its own this way.
//!
//! ```no_run
//! use access_server::store::{Store, postgres::PostgresStore};
//! // Blocking: call it from a plain thread or tokio's blocking pool, never on an async task.
//! let store = PostgresStore::open("postgres://app@127.0.0.1:5432/access?schema=tenant_a")?;
//! assert_eq!(store.backend(), "postgres");
//! # Ok::<(), access_server::store::StoreError>(())
//! ```
//!
//! How it keeps the promises of the [`Store`] trait with writers on several instances:
//! - Migrations: the versioned files of `migrations/postgres/`, each applied in its own
//!   transaction while holding a session advisory lock (one per schema), so instances that
//!   start at the same moment apply each migration once and all come up.
//! - Sync cursors: a write buffers its change-log rows and inserts them last, right after
//!   `pg_advisory_xact_lock` on its organization's key. The lock is held from there through
//!   the commit, so within an organization `seq` order is commit order; [`Store::sync`] reads
//!   the organization's `MAX(seq)` and the data in one `REPEATABLE READ` snapshot. A client
//!   therefore never misses nor repeats a change, whichever instance made it.
//! - Check-then-write races: the row a decision depends on is locked first (`FOR UPDATE`:
//!   SMS code attempts, resend against verify, codes on one lock), idempotency keys are
//!   claimed with `INSERT .. ON CONFLICT DO NOTHING`, and a deadlock or serialization failure
//!   runs the whole call again.
//! - Connections: an r2d2 pool of synchronous `postgres` clients, each with its own cache of
//!   prepared statements (one round trip per query after the first use). Calls run on
//!   tokio's blocking pool through `Db::run`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use std::time::Duration;

use ::postgres as pg;
use access_domain::{
    Access, AccessCodeKind, Action, Actor, CodeSyncState, LockMode, Permission, UserStatus,
    UserType, api::Channel, api::LogMethod, authorize,
};
use pg::error::SqlState;
use pg::types::ToSql;
use pg::{Client, GenericClient, IsolationLevel, NoTls, Row, Statement};
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::secrets;

/// Versioned migrations, applied in order; `schema_migrations` records the applied ones.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_ble_credentials.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_offline_codes.sql"),
    ),
];

/// Most connections one instance opens (PostgreSQL allows 100 by default).
const POOL_SIZE: u32 = 16;

/// How many times a call that lost a deadlock or a serialization check is run.
const ATTEMPTS: usize = 4;

/// Mixed into the 64-bit advisory lock key of a schema's migrations.
const MIGRATION_LOCK: i64 = 0x6163_6365_7373_0001;
/// First half of the two-key advisory lock of an organization's change log (PostgreSQL
/// keeps one-key and two-key advisory locks apart).
const CHANGE_LOCK: i32 = 0x6163_0002;

/// The PostgreSQL implementation of [`Store`].
pub struct PostgresStore {
    /// `None` only while dropping (see the `Drop` impl).
    pool: Option<r2d2::Pool<Manager>>,
    schema: Option<String>,
}

/// Opens pooled connections.
#[derive(Debug)]
struct Manager {
    config: pg::Config,
}

/// A pooled connection and its prepared statements.
struct Conn {
    client: Client,
    stmts: HashMap<String, Statement>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = pg::Error;

    fn connect(&self) -> Result<Conn, pg::Error> {
        Ok(Conn {
            client: self.config.connect(NoTls)?,
            stmts: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), pg::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Each `postgres::Client` owns a small tokio runtime, and tokio refuses to drop a
        // runtime on an async worker thread, where the last `Arc<dyn Store>` may well go.
        if let Some(pool) = self.pool.take() {
            let dropper = std::thread::Builder::new()
                .name("postgres-pool-drop".into())
                .spawn(move || drop(pool));
            if let Err(e) = dropper {
                tracing::warn!(error = %e, "cannot close the PostgreSQL pool on its own thread");
            }
        }
    }
}

/// A failure inside a call: a store answer, or a database error that may be retried.
#[derive(Debug)]
enum Fail {
    Store(StoreError),
    Pg(pg::Error),
}

impl From<pg::Error> for Fail {
    fn from(e: pg::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    /// Lost a deadlock or a serialization check: running the call again may succeed.
    fn retryable(&self) -> bool {
        matches!(self, Fail::Pg(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
            || e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE))
            || self.stale_plan()
    }

    /// A cached statement no longer fits the table (another instance migrated it): the
    /// cache is dropped and the call run again.
    fn stale_plan(&self) -> bool {
        matches!(self, Fail::Pg(e) if e.code() == Some(&SqlState::FEATURE_NOT_SUPPORTED)
            && e.as_db_error().is_some_and(|d| d.message().contains("cached plan")))
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Store(e) => e,
            Fail::Pg(e) => pg_error(e),
        }
    }
}

/// Constraint violations are conflicts (as on SQLite); everything else is the backend's.
fn pg_error(e: pg::Error) -> StoreError {
    let constraint = [
        SqlState::UNIQUE_VIOLATION,
        SqlState::FOREIGN_KEY_VIOLATION,
        SqlState::CHECK_VIOLATION,
        SqlState::NOT_NULL_VIOLATION,
        SqlState::EXCLUSION_VIOLATION,
    ];
    match (e.code(), e.as_db_error()) {
        (Some(code), Some(db)) if constraint.contains(code) => {
            StoreError::Conflict(db.message().to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

type PResult<T> = Result<T, Fail>;

fn bad(what: &str) -> Fail {
    Fail::Store(StoreError::Backend(format!(
        "invalid {what} in the database"
    )))
}

/// One change-log row, written at the end of its transaction.
#[derive(Debug, Clone, Copy)]
struct Change {
    org: Uuid,
    lock: Option<Uuid>,
    user: Option<Uuid>,
    at: OffsetDateTime,
}

/// A connection or transaction with the connection's statement cache.
struct Cx<'a, C: GenericClient> {
    c: &'a mut C,
    stmts: &'a mut HashMap<String, Statement>,
    changes: Vec<Change>,
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

impl<C: GenericClient> Cx<'_, C> {
    fn stmt(&mut self, sql: &str) -> Result<Statement, pg::Error> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &str, params: &Params<'_>) -> PResult<Vec<Row>> {
        let s = self.stmt(sql)?;
        Ok(self.c.query(&s, params)?)
    }

    fn opt(&mut self, sql: &str, params: &Params<'_>) -> PResult<Option<Row>> {
        let s = self.stmt(sql)?;
        Ok(self.c.query_opt(&s, params)?)
    }

    /// The one row, or `NotFound`.
    fn one(&mut self, sql: &str, params: &Params<'_>) -> PResult<Row> {
        self.opt(sql, params)?
            .ok_or(Fail::Store(StoreError::NotFound))
    }

    fn exec(&mut self, sql: &str, params: &Params<'_>) -> PResult<u64> {
        let s = self.stmt(sql)?;
        Ok(self.c.execute(&s, params)?)
    }

    /// Records a change for the sync cursor (see the module docs).
    fn change(&mut self, org: Uuid, lock: Option<Uuid>, user: Option<Uuid>, at: OffsetDateTime) {
        self.changes.push(Change {
            org,
            lock,
            user,
            at,
        });
    }

    /// Writes the buffered changes under their organizations' locks, held until commit.
    fn flush_changes(&mut self) -> PResult<()> {
        let changes = std::mem::take(&mut self.changes);
        let mut orgs: Vec<Uuid> = changes.iter().map(|c| c.org).collect();
        orgs.sort();
        orgs.dedup();
        for org in orgs {
            self.exec(
                "SELECT pg_advisory_xact_lock($1, $2)",
                &[&CHANGE_LOCK, &org_lock_key(org)],
            )?;
        }
        for c in changes {
            self.exec(
                "INSERT INTO changes (org_id, lock_id, user_id, at) VALUES ($1, $2, $3, $4)",
                &[&c.org, &c.lock, &c.user, &c.at],
            )?;
        }
        Ok(())
    }
}

/// The 32-bit advisory lock key of an organization's change log. Two organizations that
/// share a key only wait for each other; their cursors stay correct.
fn org_lock_key(org: Uuid) -> i32 {
    let b = org.as_bytes();
    let mut k = [0u8; 4];
    for (i, byte) in b.iter().enumerate() {
        k[i % 4] ^= byte;
    }
    i32::from_be_bytes(k)
}

/// A stable 64-bit key for a name (FNV-1a), for the migration lock of a schema.
fn name_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h as i64) ^ MIGRATION_LOCK
}

fn perms_to_vec(perms: &[Permission]) -> Vec<&'static str> {
    perms.iter().map(|p| p.as_str()).collect()
}

fn access_to_cols(a: &Access) -> (&'static str, Vec<Uuid>) {
    match a {
        Access::AllLocks => ("all_locks", Vec::new()),
        Access::Units { unit_ids } => ("units", unit_ids.clone()),
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

/// The smallest id: "after nothing" for keyset pagination (v4 ids are never nil).
const BEFORE_ALL: Uuid = Uuid::nil();

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
    "(SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND NOT i.voided)"
);

/// `USER_COLS` for the session check of every request: the invitation expiry only matters
/// while the user is pending (`UserRecord::invitation_expires_at`), so other users skip the
/// correlated subquery (a fifth of the lookup's time).
const SESSION_USER_COLS: &str = user_cols!(
    "CASE WHEN u.status = 'pending' THEN \
     (SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND NOT i.voided) END"
);

fn user_row(row: &Row) -> PResult<UserRecord> {
    let user_type: String = row.try_get(2)?;
    let status: String = row.try_get(3)?;
    let perms: Vec<String> = row.try_get(10)?;
    let access_type: String = row.try_get(11)?;
    let access = if access_type == "all_locks" {
        Access::AllLocks
    } else {
        Access::Units {
            unit_ids: row.try_get(12)?,
        }
    };
    Ok(UserRecord {
        id: row.try_get(0)?,
        org_id: row.try_get(1)?,
        user_type: UserType::parse(&user_type).ok_or_else(|| bad("user type"))?,
        status: UserStatus::parse(&status).ok_or_else(|| bad("status"))?,
        is_admin: row.try_get(4)?,
        name: row.try_get(5)?,
        username: row.try_get(6)?,
        invited_email: row.try_get(7)?,
        registered_email: row.try_get(8)?,
        phone: row.try_get(9)?,
        permissions: perms.iter().filter_map(|p| Permission::parse(p)).collect(),
        access,
        invited_by: row.try_get(13)?,
        invited_at: row.try_get(14)?,
        invitation_expires_at: row.try_get(15)?,
    })
}

const LOCK_COLS: &str = "l.id, l.org_id, l.name, l.unit_id, u.name, p.id, p.name, l.mode, \
    l.battery, l.firmware, l.identity_public_key \
    FROM locks l JOIN units u ON u.id = l.unit_id JOIN properties p ON p.id = u.property_id";

fn lock_row(row: &Row) -> PResult<LockRecord> {
    let mode: String = row.try_get(7)?;
    let battery: Option<i16> = row.try_get(8)?;
    Ok(LockRecord {
        id: row.try_get(0)?,
        org_id: row.try_get(1)?,
        name: row.try_get(2)?,
        unit_id: row.try_get(3)?,
        unit_name: row.try_get(4)?,
        property_id: row.try_get(5)?,
        property_name: row.try_get(6)?,
        mode: LockMode::parse(&mode).ok_or_else(|| bad("mode"))?,
        battery: battery
            .map(|b| u8::try_from(b).map_err(|_| bad("battery")))
            .transpose()?,
        firmware: row.try_get(9)?,
        identity_public_key: row.try_get(10)?,
    })
}

const CODE_COLS: &str = "c.id, c.lock_id, c.kind, c.label, c.code, c.starts_at, c.ends_at, \
    c.sync_state, c.failure_reason, c.created_by, c.created_at FROM access_codes c";

fn code_row(row: &Row) -> PResult<AccessCodeRecord> {
    let kind: String = row.try_get(2)?;
    let state: String = row.try_get(7)?;
    Ok(AccessCodeRecord {
        id: row.try_get(0)?,
        lock_id: row.try_get(1)?,
        kind: AccessCodeKind::parse(&kind).ok_or_else(|| bad("kind"))?,
        label: row.try_get(3)?,
        code: row.try_get(4)?,
        starts_at: row.try_get(5)?,
        ends_at: row.try_get(6)?,
        sync_state: CodeSyncState::parse(&state).ok_or_else(|| bad("state"))?,
        failure_reason: row.try_get(8)?,
        created_by: row.try_get(9)?,
        created_at: row.try_get(10)?,
    })
}

const PASSCODE_COLS: &str = "pc.id, pc.user_id, pc.lock_id, l.name, pc.code, pc.sync_state \
    FROM passcodes pc JOIN locks l ON l.id = pc.lock_id";

fn passcode_row(row: &Row) -> PResult<PasscodeRecord> {
    let state: String = row.try_get(5)?;
    Ok(PasscodeRecord {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        lock_id: row.try_get(2)?,
        lock_name: row.try_get(3)?,
        code: row.try_get(4)?,
        sync_state: CodeSyncState::parse(&state).ok_or_else(|| bad("state"))?,
    })
}

fn rows<T>(rows: Vec<Row>, f: impl Fn(&Row) -> PResult<T>) -> PResult<Vec<T>> {
    rows.iter().map(f).collect()
}

fn count(row: &Row, idx: usize) -> PResult<u64> {
    Ok(row.try_get::<_, i64>(idx)?.max(0) as u64)
}

fn write_audit<C: GenericClient>(cx: &mut Cx<'_, C>, lock: Uuid, audit: &Audit) -> PResult<()> {
    cx.exec(
        "INSERT INTO logs (id, lock_id, at, action, method, source, user_id, detail) \
         VALUES ($1, $2, $3, $4, 'admin', 'server', $5, $6)",
        &[
            &Uuid::new_v4(),
            &lock,
            &audit.at,
            &audit.action,
            &audit.user_id,
            &audit.detail,
        ],
    )?;
    Ok(())
}

fn insert_message<C: GenericClient>(cx: &mut Cx<'_, C>, m: &NewMessage) -> PResult<()> {
    cx.exec(
        "INSERT INTO outbox (id, org_id, channel, recipient, subject, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &m.id,
            &m.org_id,
            &channel_str(m.channel),
            &m.to,
            &m.subject,
            &m.body,
            &m.created_at,
        ],
    )?;
    Ok(())
}

fn user_q<C: GenericClient>(cx: &mut Cx<'_, C>, org: Uuid, id: Uuid) -> PResult<UserRecord> {
    let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.id = $2");
    user_row(&cx.one(&sql, &[&org, &id])?)
}

fn lock_q<C: GenericClient>(cx: &mut Cx<'_, C>, org: Uuid, id: Uuid) -> PResult<LockRecord> {
    let sql = format!("SELECT {LOCK_COLS} WHERE l.org_id = $1 AND l.id = $2");
    lock_row(&cx.one(&sql, &[&org, &id])?)
}

/// Locks the lock's row so codes on it are handed out one writer at a time, on any instance.
fn hold_lock_row<C: GenericClient>(cx: &mut Cx<'_, C>, org: Uuid, lock: Uuid) -> PResult<()> {
    cx.one(
        "SELECT 1 FROM locks WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE",
        &[&org, &lock],
    )?;
    Ok(())
}

/// Every code in use on a lock, so a new one never collides on the keypad.
fn codes_in_use<C: GenericClient>(cx: &mut Cx<'_, C>, lock: Uuid) -> PResult<HashSet<String>> {
    let found = cx.query(
        "SELECT master_code FROM locks WHERE id = $1 \
         UNION ALL SELECT code FROM passcodes WHERE lock_id = $1 \
         UNION ALL SELECT code FROM access_codes WHERE lock_id = $1",
        &[&lock],
    )?;
    found
        .iter()
        .map(|r| Ok(r.try_get::<_, String>(0)?))
        .collect()
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

fn insert_passcode<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    user: Uuid,
    lock: Uuid,
    used: &mut HashSet<String>,
) -> PResult<()> {
    cx.exec(
        "INSERT INTO passcodes (id, user_id, lock_id, code) VALUES ($1, $2, $3, $4)",
        &[
            &Uuid::new_v4(),
            &user,
            &lock,
            &fresh_code(used, secrets::PASSCODE_DIGITS),
        ],
    )?;
    Ok(())
}

/// Brings a user's passcodes in line with their status and scope.
fn refresh_user_passcodes<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    user: &UserRecord,
    now: OffsetDateTime,
) -> PResult<()> {
    let mut wanted: Vec<Uuid> = Vec::new();
    for row in cx.query(
        "SELECT id, unit_id FROM locks WHERE org_id = $1 ORDER BY id",
        &[&user.org_id],
    )? {
        let (lock, unit): (Uuid, Uuid) = (row.try_get(0)?, row.try_get(1)?);
        if may_open(user, unit) {
            wanted.push(lock);
        }
    }
    let have: Vec<Uuid> = cx
        .query(
            "SELECT lock_id FROM passcodes WHERE user_id = $1 ORDER BY lock_id",
            &[&user.id],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let wanted_set: HashSet<Uuid> = wanted.iter().copied().collect();
    for lock in &have {
        if !wanted_set.contains(lock) {
            cx.exec(
                "DELETE FROM passcodes WHERE user_id = $1 AND lock_id = $2",
                &[&user.id, lock],
            )?;
            cx.change(user.org_id, Some(*lock), Some(user.id), now);
        }
    }
    let have: HashSet<Uuid> = have.into_iter().collect();
    // In id order, so two writers that both hold several lock rows cannot deadlock.
    for lock in wanted {
        if !have.contains(&lock) {
            hold_lock_row(cx, user.org_id, lock)?;
            let mut used = codes_in_use(cx, lock)?;
            insert_passcode(cx, user.id, lock, &mut used)?;
            cx.change(user.org_id, Some(lock), Some(user.id), now);
        }
    }
    Ok(())
}

/// Gives every active user who may open a lock (new or reset) their passcode on it. The
/// caller holds the lock's row.
fn passcodes_for_lock<C: GenericClient>(cx: &mut Cx<'_, C>, lock: &LockRecord) -> PResult<()> {
    let sql =
        format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.status = 'active'");
    let users = rows(cx.query(&sql, &[&lock.org_id])?, user_row)?;
    let mut used = codes_in_use(cx, lock.id)?;
    for user in users.iter().filter(|u| may_open(u, lock.unit_id)) {
        insert_passcode(cx, user.id, lock.id, &mut used)?;
    }
    Ok(())
}

fn locks_q<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    org: Uuid,
    filter: &LockFilter,
    after: Option<Uuid>,
    limit: Option<u32>,
) -> PResult<Vec<LockRecord>> {
    let units: Option<&Vec<Uuid>> = match filter {
        LockFilter::All => None,
        LockFilter::Units(u) => Some(u),
    };
    let sql = format!(
        "SELECT {LOCK_COLS} WHERE l.org_id = $1 AND l.id > $2 \
         AND ($3::uuid[] IS NULL OR l.unit_id = ANY($3)) \
         ORDER BY l.id LIMIT $4"
    );
    let found = cx.query(
        &sql,
        &[
            &org,
            &after.unwrap_or(BEFORE_ALL),
            &units,
            &limit.map(i64::from),
        ],
    )?;
    rows(found, lock_row)
}

fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// Splits our own `schema=` parameter off a connection URL and parses the rest.
fn parse_url(url: &str) -> StoreResult<(pg::Config, Option<String>)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some(name) if valid_schema(name) => schema = Some(name.to_string()),
            Some(name) => {
                return Err(StoreError::Backend(format!(
                    "schema {name:?} in the database URL: use lowercase letters, digits and _"
                )));
            }
            None => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let config: pg::Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    Ok((config, schema))
}

/// Applies missing migrations under the schema's migration lock.
fn migrate(client: &mut Client, schema: Option<&str>) -> Result<(), pg::Error> {
    let key = name_key(schema.unwrap_or("public"));
    client.execute("SELECT pg_advisory_lock($1)", &[&key])?;
    let result = (|| {
        if let Some(s) = schema {
            // `s` is checked by `valid_schema`: plain lowercase identifier characters.
            client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))?;
        }
        client.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )?;
        let current: i64 = client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )?
            .get(0);
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            let mut tx = client.transaction()?;
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[version],
            )?;
            tx.commit()?;
            tracing::info!(version, "applied PostgreSQL migration");
        }
        Ok(())
    })();
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&key]);
    result.and(unlocked.map(|_| ()))
}

/// For tests: `ACCESS_TEST_DATABASE_URL` (when set) with a schema of its own for
/// `data_dir`, so every test server gets fresh tables while a server restarted on the
/// same directory finds its data again.
///
/// ```
/// let url = access_server::store::postgres::test_database_url(std::path::Path::new("/tmp/t1"));
/// if let Some(url) = url {
///     assert!(url.contains("schema=t_"));
/// }
/// ```
pub fn test_database_url(data_dir: &std::path::Path) -> Option<String> {
    let base = std::env::var("ACCESS_TEST_DATABASE_URL").ok()?;
    if !(base.starts_with("postgres://") || base.starts_with("postgresql://")) {
        return Some(base);
    }
    let key = name_key(&data_dir.to_string_lossy()) as u64;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}schema=t_{key:016x}"))
}

impl PostgresStore {
    /// Connects to `url` (see the module docs), creates the schema if asked and needed, and
    /// applies migrations. Blocking: call it off the async threads.
    pub fn open(url: &str) -> StoreResult<PostgresStore> {
        let (mut config, schema) = parse_url(url)?;
        if let Some(s) = &schema {
            // Every pooled connection starts in the schema, with no extra round trip.
            config.options(&format!("-c search_path={s}"));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let mut client = config.connect(NoTls).map_err(pg_error)?;
        migrate(&mut client, schema.as_deref()).map_err(pg_error)?;
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(2))
            // A broken connection shows as `is_closed`; checking each checkout would cost
            // a round trip per call.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .build(Manager { config })
            .map_err(|e| StoreError::Backend(format!("PostgreSQL pool: {e}")))?;
        Ok(PostgresStore {
            pool: Some(pool),
            schema,
        })
    }

    /// The schema named in the URL, if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    fn conn(&self) -> StoreResult<r2d2::PooledConnection<Manager>> {
        self.pool
            .as_ref()
            .ok_or_else(|| StoreError::Backend("store closed".into()))?
            .get()
            .map_err(|e| StoreError::Backend(format!("no PostgreSQL connection: {e}")))
    }

    /// Runs `f` on a pooled connection outside any transaction (single statements, each
    /// atomic on its own); runs it again like [`Self::transact`] does.
    fn read<T>(&self, mut f: impl FnMut(&mut Cx<'_, Client>) -> PResult<T>) -> StoreResult<T> {
        let mut conn = self.conn()?;
        let Conn { client, stmts } = &mut *conn;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut cx = Cx {
                c: &mut *client,
                stmts: &mut *stmts,
                changes: Vec::new(),
            };
            match f(&mut cx) {
                Err(fail) if fail.retryable() && attempt < ATTEMPTS => {
                    if fail.stale_plan() {
                        stmts.clear();
                    }
                }
                other => return other.map_err(StoreError::from),
            }
        }
    }

    /// Runs `f` in one transaction and commits it, writing its changes last; runs it again
    /// after a deadlock or serialization failure.
    fn write<T>(
        &self,
        mut f: impl FnMut(&mut Cx<'_, pg::Transaction<'_>>) -> PResult<T>,
    ) -> StoreResult<T> {
        self.transact(IsolationLevel::ReadCommitted, false, |cx| {
            let out = f(cx)?;
            cx.flush_changes()?;
            Ok(out)
        })
    }

    fn transact<T>(
        &self,
        level: IsolationLevel,
        read_only: bool,
        mut f: impl FnMut(&mut Cx<'_, pg::Transaction<'_>>) -> PResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn()?;
        let Conn { client, stmts } = &mut *conn;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = (|| -> PResult<T> {
                let mut tx = client
                    .build_transaction()
                    .isolation_level(level)
                    .read_only(read_only)
                    .start()?;
                let out = {
                    let mut cx = Cx {
                        c: &mut tx,
                        stmts: &mut *stmts,
                        changes: Vec::new(),
                    };
                    f(&mut cx)?
                };
                tx.commit()?;
                Ok(out)
            })();
            match result {
                Err(fail) if fail.retryable() && attempt < ATTEMPTS => {
                    if fail.stale_plan() {
                        stmts.clear();
                    }
                    tracing::debug!(attempt, "PostgreSQL transaction retried");
                    std::thread::sleep(Duration::from_millis(2 * attempt as u64));
                }
                other => return other.map_err(StoreError::from),
            }
        }
    }
}

impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn organization_count(&self) -> StoreResult<u64> {
        self.read(|c| count(&c.one("SELECT COUNT(*) FROM organizations", &[])?, 0))
    }

    fn create_organization(&self, org: &NewOrganization) -> StoreResult<()> {
        self.write(|tx| {
            tx.exec(
                "INSERT INTO organizations (id, name, signing_key, public_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &org.id,
                    &org.name,
                    &org.signing_key_pkcs8,
                    &org.public_key,
                    &org.now,
                ],
            )?;
            tx.exec(
                "INSERT INTO users (id, org_id, user_type, status, is_admin, name, username, \
                 invited_email, registered_email, password_hash, permissions, access_type, \
                 invited_at) VALUES ($1, $2, 'team_member', 'active', true, $3, 'admin', $4, $4, \
                 $5, $6, 'all_locks', $7)",
                &[
                    &org.admin_id,
                    &org.id,
                    &org.admin_name,
                    &org.admin_email,
                    &org.admin_password_hash,
                    &perms_to_vec(&Permission::ALL),
                    &org.now,
                ],
            )?;
            Ok(())
        })
    }

    fn organization_key(&self, org_id: Uuid) -> StoreResult<OrganizationKey> {
        self.read(|c| {
            let r = c.one(
                "SELECT signing_key, public_key FROM organizations WHERE id = $1",
                &[&org_id],
            )?;
            Ok(OrganizationKey {
                signing_key_pkcs8: r.try_get(0)?,
                public_key: r.try_get(1)?,
            })
        })
    }

    fn organization_name(&self, org_id: Uuid) -> StoreResult<String> {
        self.read(|c| {
            Ok(
                c.one("SELECT name FROM organizations WHERE id = $1", &[&org_id])?
                    .try_get(0)?,
            )
        })
    }

    fn login_lookup(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {USER_COLS}, u.password_hash FROM users u \
                 WHERE lower(u.registered_email) = lower($1) AND u.password_hash IS NOT NULL"
            );
            match c.opt(&sql, &[&email])? {
                Some(r) => Ok(Some((user_row(&r)?, r.try_get(16)?))),
                None => Ok(None),
            }
        })
    }

    fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
                &[&&s.token_hash[..], &s.user_id, &s.created_at, &s.expires_at],
            )?;
            Ok(())
        })
    }

    fn session_user(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        // Built once: this runs on every authenticated request.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {SESSION_USER_COLS}, s.token_hash, s.revoked FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"
            )
        });
        self.read(|c| {
            match c.opt(&SQL, &[&&token_hash[..], &now])? {
                Some(r) => {
                    let stored: Vec<u8> = r.try_get(16)?;
                    let mut user = user_row(&r)?;
                    // A revoked session reports its user as revoked, so the client learns why.
                    if r.try_get::<_, bool>(17)? {
                        user.status = UserStatus::Revoked;
                    }
                    Ok(secrets::ct_eq(&stored, token_hash).then_some(user))
                }
                None => Ok(None),
            }
        })
    }

    fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "DELETE FROM sessions WHERE token_hash = $1",
                &[&&token_hash[..]],
            )?;
            Ok(())
        })
    }

    fn login_failures(&self, keys: &[String], since: OffsetDateTime) -> StoreResult<Vec<u64>> {
        self.read(|c| {
            let found = c.query(
                "SELECT k.key, (SELECT COUNT(*) FROM login_failures f \
                 WHERE f.key = k.key AND f.at >= $2) FROM unnest($1::text[]) AS k(key)",
                &[&keys, &since],
            )?;
            let mut by_key = HashMap::new();
            for r in &found {
                by_key.insert(r.try_get::<_, String>(0)?, count(r, 1)?);
            }
            Ok(keys
                .iter()
                .map(|k| by_key.get(k).copied().unwrap_or(0))
                .collect())
        })
    }

    fn record_login_failure(&self, keys: &[String], at: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            tx.exec(
                "INSERT INTO login_failures (key, at) SELECT k, $2 FROM unnest($1::text[]) AS k",
                &[&keys, &at],
            )?;
            // Old failures no longer count; drop them so the table stays small.
            tx.exec(
                "DELETE FROM login_failures WHERE at < $1",
                &[&(at - time::Duration::days(1))],
            )?;
            Ok(())
        })
    }

    fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        self.read(|c| {
            c.exec("DELETE FROM login_failures WHERE key = $1", &[&key])?;
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
            // Claiming is one statement, so two instances racing on one key get one winner.
            let claimed = tx.exec(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key) DO NOTHING",
                &[&user_id, &key, &&fingerprint[..], &now],
            )?;
            if claimed == 1 {
                return Ok(IdempotencyBegin::New);
            }
            let r = tx.one(
                "SELECT fingerprint, status, body, created_at FROM idempotency_keys \
                 WHERE user_id = $1 AND key = $2 FOR UPDATE",
                &[&user_id, &key],
            )?;
            let fp: Vec<u8> = r.try_get(0)?;
            let status: i32 = r.try_get(1)?;
            let body: Option<Vec<u8>> = r.try_get(2)?;
            let created: OffsetDateTime = r.try_get(3)?;
            if fp != fingerprint {
                return Ok(IdempotencyBegin::Mismatch);
            }
            if status == 0 {
                // A request that died half-way (process killed) holds the key for a minute.
                if now - created < time::Duration::seconds(60) {
                    return Ok(IdempotencyBegin::InProgress);
                }
                tx.exec(
                    "UPDATE idempotency_keys SET created_at = $3 WHERE user_id = $1 AND key = $2",
                    &[&user_id, &key, &now],
                )?;
                return Ok(IdempotencyBegin::New);
            }
            Ok(IdempotencyBegin::Done {
                status: u16::try_from(status).map_err(|_| bad("status"))?,
                body: body.unwrap_or_default(),
            })
        })
    }

    fn idempotency_finish(
        &self,
        user_id: Uuid,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "UPDATE idempotency_keys SET status = $3, body = $4 WHERE user_id = $1 AND key = $2",
                &[&user_id, &key, &i32::from(status), &body],
            )?;
            Ok(())
        })
    }

    fn idempotency_abort(&self, user_id: Uuid, key: &str) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 0",
                &[&user_id, &key],
            )?;
            Ok(())
        })
    }

    fn user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<UserRecord> {
        self.read(|c| user_q(c, org_id, user_id))
    }

    fn user_by_username(&self, org_id: Uuid, username: &str) -> StoreResult<Option<UserRecord>> {
        self.read(|c| {
            let sql =
                format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.username = $2");
            c.opt(&sql, &[&org_id, &username])?
                .map(|r| user_row(&r))
                .transpose()
        })
    }

    fn list_users(
        &self,
        org_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.id > $2 \
                 ORDER BY u.id LIMIT $3"
            );
            let found = c.query(
                &sql,
                &[&org_id, &after.unwrap_or(BEFORE_ALL), &i64::from(limit)],
            )?;
            rows(found, user_row)
        })
    }

    fn user_page(
        &self,
        org_id: Uuid,
        query: &user_list::UserQuery,
    ) -> StoreResult<user_list::UserPage> {
        use user_list::UserSort;
        // The SQLite store's keys, to the byte (see `user_list`): `COLLATE "C"` compares bytes
        // and makes LOWER fold ASCII only, as SQLite's does.
        let key = match query.sort {
            UserSort::Name => {
                "LOWER(COALESCE(u.name, u.username, u.invited_email, '') COLLATE \"C\")"
            }
            UserSort::Type => "u.user_type",
            UserSort::Status => "u.status",
            UserSort::AccessType => "u.access_type",
            UserSort::Email if query.descending => {
                "CASE WHEN u.registered_email IS NULL THEN '0' \
                 ELSE '1' || LOWER(u.registered_email COLLATE \"C\") END"
            }
            UserSort::Email => {
                "CASE WHEN u.registered_email IS NULL THEN '1' \
                 ELSE '0' || LOWER(u.registered_email COLLATE \"C\") END"
            }
            UserSort::InvitedAt => {
                "lpad(floor(extract(epoch FROM u.invited_at))::bigint::text, 20, '0') \
                 || COALESCE('.' || NULLIF(to_char(u.invited_at, 'US'), '000000'), '')"
            }
        };
        let (cmp, dir) = if query.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let filter = "u.org_id = $1 AND ($2::text IS NULL OR u.user_type = $2) \
             AND ($3::text IS NULL OR u.status = $3) \
             AND ($4::text IS NULL OR LOWER(u.name COLLATE \"C\") LIKE $4 ESCAPE '\\' \
                  OR LOWER(u.username COLLATE \"C\") LIKE $4 ESCAPE '\\' \
                  OR LOWER(u.invited_email COLLATE \"C\") LIKE $4 ESCAPE '\\' \
                  OR LOWER(u.registered_email COLLATE \"C\") LIKE $4 ESCAPE '\\')";
        let count_sql = format!("SELECT COUNT(*) FROM users u WHERE {filter}");
        let page_sql = format!(
            "SELECT * FROM (SELECT {USER_COLS}, {key} AS sort_key FROM users u WHERE {filter}) s \
             WHERE ($5::text IS NULL OR s.sort_key COLLATE \"C\" {cmp} $5 \
                    OR (s.sort_key COLLATE \"C\" = $5 AND s.id {cmp} $6)) \
             ORDER BY s.sort_key COLLATE \"C\" {dir}, s.id {dir} LIMIT $7"
        );
        let pattern = query.like_pattern();
        let user_type = query.user_type.map(|t| t.as_str());
        let status = query.status.map(|s| s.as_str());
        let after_key = query.after.as_ref().map(|c| c.key.as_str());
        let after_id = query.after.as_ref().map(|c| c.id);
        let limit = query.limit.max(1);
        self.read(|c| {
            let total = count(
                &c.one(&count_sql, &[&org_id, &user_type, &status, &pattern])?,
                0,
            )?;
            let found = c.query(
                &page_sql,
                &[
                    &org_id,
                    &user_type,
                    &status,
                    &pattern,
                    &after_key,
                    &after_id,
                    &(i64::from(limit) + 1),
                ],
            )?;
            // The key is the last column, after the user's.
            let rows = rows(found, |r| Ok((user_row(r)?, r.try_get(r.len() - 1)?)))?;
            Ok(user_list::UserPage::from_rows(rows, limit, total))
        })
    }

    fn summary(&self, org_id: Uuid) -> StoreResult<SummaryCounts> {
        self.read(|c| {
            let r = c.one(
                "SELECT COUNT(*), \
                 COUNT(*) FILTER (WHERE user_type = 'team_member'), \
                 COUNT(*) FILTER (WHERE user_type = 'resident'), \
                 COUNT(*) FILTER (WHERE status = 'pending') \
                 FROM users WHERE org_id = $1 AND status != 'revoked'",
                &[&org_id],
            )?;
            Ok(SummaryCounts {
                total_users: count(&r, 0)?,
                team_members: count(&r, 1)?,
                residents: count(&r, 2)?,
                pending_invites: count(&r, 3)?,
            })
        })
    }

    fn create_invitation(&self, inv: &NewInvitation, mail: &NewMessage) -> StoreResult<()> {
        self.write(|tx| {
            let (access_type, unit_ids) = access_to_cols(&inv.access);
            tx.exec(
                "INSERT INTO users (id, org_id, user_type, status, invited_email, \
                 permissions, access_type, unit_ids, invited_by, invited_at) \
                 VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9)",
                &[
                    &inv.user_id,
                    &inv.org_id,
                    &inv.user_type.as_str(),
                    &inv.invited_email,
                    &perms_to_vec(&inv.permissions),
                    &access_type,
                    &unit_ids,
                    &inv.invited_by,
                    &inv.token.sent_at,
                ],
            )?;
            tx.exec(
                "INSERT INTO invitations (id, user_id, token_hash, sent_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &inv.token.id,
                    &inv.user_id,
                    &&inv.token.token_hash[..],
                    &inv.token.sent_at,
                    &inv.token.expires_at,
                ],
            )?;
            insert_message(tx, mail)?;
            tx.change(inv.org_id, None, Some(inv.user_id), inv.token.sent_at);
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
            // Hold the user so a verify or revoke on another instance cannot interleave.
            let status: String = tx
                .one(
                    "SELECT status FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE",
                    &[&org_id, &user_id],
                )?
                .try_get(0)?;
            if status != "pending" {
                return Err(StoreError::Conflict(format!(
                    "Only pending invitations can be resent; this user is {status}."
                ))
                .into());
            }
            tx.exec(
                "UPDATE invitations SET voided = true WHERE user_id = $1",
                &[&user_id],
            )?;
            tx.exec(
                "INSERT INTO invitations (id, user_id, token_hash, sent_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &token.id,
                    &user_id,
                    &&token.token_hash[..],
                    &token.sent_at,
                    &token.expires_at,
                ],
            )?;
            insert_message(tx, mail)?;
            Ok(())
        })
    }

    fn invitation_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<InvitationRecord>> {
        self.read(|c| {
            let Some(r) = c.opt(
                "SELECT i.id, i.user_id, u.org_id, u.user_type, u.status, i.expires_at, i.voided \
                 FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.token_hash = $1",
                &[&&token_hash[..]],
            )?
            else {
                return Ok(None);
            };
            let t: String = r.try_get(3)?;
            let s: String = r.try_get(4)?;
            Ok(Some(InvitationRecord {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                org_id: r.try_get(2)?,
                user_type: UserType::parse(&t).ok_or_else(|| bad("user type"))?,
                user_status: UserStatus::parse(&s).ok_or_else(|| bad("status"))?,
                expires_at: r.try_get(5)?,
                voided: r.try_get(6)?,
            }))
        })
    }

    fn create_registration(&self, reg: &NewRegistration, sms: &NewMessage) -> StoreResult<()> {
        self.write(|tx| {
            let taken: bool = tx
                .one(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE lower(registered_email) = lower($1))",
                    &[&reg.email],
                )?
                .try_get(0)?;
            if taken {
                return Err(StoreError::Conflict(
                    "An account with this email already exists; sign in instead or use another email."
                        .into(),
                )
                .into());
            }
            tx.exec(
                "INSERT INTO registrations (id, invitation_id, user_id, email, phone, name, \
                 password_hash, code_hash, created_at, code_expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &reg.id,
                    &reg.invitation_id,
                    &reg.user_id,
                    &reg.email,
                    &reg.phone,
                    &reg.name,
                    &reg.password_hash,
                    &&reg.code_hash[..],
                    &reg.created_at,
                    &reg.code_expires_at,
                ],
            )?;
            insert_message(tx, sms)?;
            Ok(())
        })
    }

    fn verify_registration(&self, a: &VerifyAttempt) -> StoreResult<VerifyOutcome> {
        self.write(|tx| {
            // Row locks on the registration and the user: attempts are counted exactly
            // and a resend or revoke elsewhere waits for this answer.
            let r = tx.one(
                "SELECT r.user_id, r.code_hash, r.attempts, r.code_expires_at, \
                 r.completed OR i.voided, u.status, u.org_id, r.email, r.phone, r.name, \
                 r.password_hash FROM registrations r \
                 JOIN invitations i ON i.id = r.invitation_id \
                 JOIN users u ON u.id = r.user_id WHERE r.id = $1 FOR UPDATE OF r, u",
                &[&a.registration_id],
            )?;
            let user_id: Uuid = r.try_get(0)?;
            let stored: Vec<u8> = r.try_get(1)?;
            let attempts = u32::try_from(r.try_get::<_, i32>(2)?).unwrap_or(0);
            let expires: OffsetDateTime = r.try_get(3)?;
            let voided: bool = r.try_get(4)?;
            let status: String = r.try_get(5)?;
            let org: Uuid = r.try_get(6)?;
            let (email, phone, name, pw): (String, String, String, String) =
                (r.try_get(7)?, r.try_get(8)?, r.try_get(9)?, r.try_get(10)?);
            if voided || status != "pending" {
                return Ok(VerifyOutcome::InvitationVoided);
            }
            if attempts >= a.max_attempts {
                return Ok(VerifyOutcome::TooManyAttempts);
            }
            if a.now >= expires {
                return Ok(VerifyOutcome::Expired);
            }
            if !secrets::ct_eq(&stored, &a.code_hash) {
                tx.exec(
                    "UPDATE registrations SET attempts = attempts + 1 WHERE id = $1",
                    &[&a.registration_id],
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
            tx.exec(
                "UPDATE users SET status = 'active', registered_email = $2, phone = $3, \
                 name = $4, password_hash = $5 WHERE id = $1",
                &[&user_id, &email, &phone, &name, &pw],
            )?;
            tx.exec(
                "UPDATE registrations SET completed = true WHERE id = $1",
                &[&a.registration_id],
            )?;
            tx.exec(
                "UPDATE invitations SET voided = true WHERE user_id = $1",
                &[&user_id],
            )?;
            tx.exec(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
                &[
                    &&a.session.token_hash[..],
                    &user_id,
                    &a.session.created_at,
                    &a.session.expires_at,
                ],
            )?;
            let user = user_q(tx, org, user_id)?;
            refresh_user_passcodes(tx, &user, a.now)?;
            tx.change(org, None, Some(user_id), a.now);
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
            let n = tx.exec(
                "UPDATE users SET permissions = $3 WHERE org_id = $1 AND id = $2",
                &[&org_id, &user_id, &perms_to_vec(permissions)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            tx.change(org_id, None, Some(user_id), now);
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
            let n = tx.exec(
                "UPDATE users SET access_type = $3, unit_ids = $4 WHERE org_id = $1 AND id = $2",
                &[&org_id, &user_id, &access_type, &unit_ids],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            let user = user_q(tx, org_id, user_id)?;
            refresh_user_passcodes(tx, &user, now)?;
            tx.change(org_id, None, Some(user_id), now);
            Ok(())
        })
    }

    fn revoke_user(&self, org_id: Uuid, user_id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            let n = tx.exec(
                "UPDATE users SET status = 'revoked' WHERE org_id = $1 AND id = $2",
                &[&org_id, &user_id],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            tx.exec(
                "UPDATE sessions SET revoked = true WHERE user_id = $1",
                &[&user_id],
            )?;
            tx.exec(
                "UPDATE invitations SET voided = true WHERE user_id = $1",
                &[&user_id],
            )?;
            let user = user_q(tx, org_id, user_id)?;
            refresh_user_passcodes(tx, &user, now)?;
            tx.change(org_id, None, Some(user_id), now);
            Ok(())
        })
    }

    fn user_passcodes(&self, user_id: Uuid) -> StoreResult<Vec<PasscodeRecord>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {PASSCODE_COLS} WHERE pc.user_id = $1 ORDER BY l.name COLLATE \"C\""
            );
            rows(c.query(&sql, &[&user_id])?, passcode_row)
        })
    }

    fn list_outbox(
        &self,
        org_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>> {
        self.read(|c| {
            let found = c.query(
                "SELECT seq, id, channel, recipient, subject, body, created_at, delivery, \
                 delivery_error FROM outbox WHERE org_id = $1 AND seq < $2 \
                 ORDER BY seq DESC LIMIT $3",
                &[&org_id, &before.unwrap_or(i64::MAX), &i64::from(limit)],
            )?;
            rows(found, |r| {
                let ch: String = r.try_get(2)?;
                Ok(MessageRecord {
                    seq: r.try_get(0)?,
                    id: r.try_get(1)?,
                    channel: if ch == "sms" {
                        Channel::Sms
                    } else {
                        Channel::Email
                    },
                    to: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    body: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                    delivery: r.try_get(7)?,
                    delivery_error: r.try_get(8)?,
                })
            })
        })
    }

    fn mark_delivery(
        &self,
        message_id: Uuid,
        delivery: &str,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "UPDATE outbox SET delivery = $2, delivery_error = $3 WHERE id = $1",
                &[&message_id, &delivery, &error],
            )?;
            Ok(())
        })
    }

    fn create_property(&self, org_id: Uuid, id: Uuid, name: &str) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "INSERT INTO properties (id, org_id, name) VALUES ($1, $2, $3)",
                &[&id, &org_id, &name],
            )?;
            Ok(())
        })
    }

    fn list_properties(&self, org_id: Uuid) -> StoreResult<Vec<PropertyRecord>> {
        self.transact(IsolationLevel::RepeatableRead, true, |c| {
            // Byte order of names, as on SQLite, whatever the database's collation.
            let mut props = rows(
                c.query(
                    "SELECT id, name FROM properties WHERE org_id = $1 \
                     ORDER BY name COLLATE \"C\", id",
                    &[&org_id],
                )?,
                |r| {
                    Ok(PropertyRecord {
                        id: r.try_get(0)?,
                        name: r.try_get(1)?,
                        units: Vec::new(),
                    })
                },
            )?;
            let units = rows(
                c.query(
                    "SELECT id, property_id, name FROM units WHERE org_id = $1 \
                     ORDER BY name COLLATE \"C\", id",
                    &[&org_id],
                )?,
                |r| {
                    Ok(UnitRecord {
                        id: r.try_get(0)?,
                        property_id: r.try_get(1)?,
                        name: r.try_get(2)?,
                    })
                },
            )?;
            for unit in units {
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
        self.read(|c| {
            // One statement: the property check and the insert cannot be split by a writer.
            let n = c.exec(
                "INSERT INTO units (id, property_id, org_id, name) \
                 SELECT $1, p.id, p.org_id, $4 FROM properties p WHERE p.id = $2 AND p.org_id = $3",
                &[&id, &property_id, &org_id, &name],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
    }

    fn unit(&self, org_id: Uuid, unit_id: Uuid) -> StoreResult<UnitRecord> {
        self.read(|c| {
            let r = c.one(
                "SELECT id, property_id, name FROM units WHERE org_id = $1 AND id = $2",
                &[&org_id, &unit_id],
            )?;
            Ok(UnitRecord {
                id: r.try_get(0)?,
                property_id: r.try_get(1)?,
                name: r.try_get(2)?,
            })
        })
    }

    fn existing_units(&self, org_id: Uuid, unit_ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        self.read(|c| {
            let found = c.query(
                "SELECT id FROM units WHERE org_id = $1 AND id = ANY($2)",
                &[&org_id, &unit_ids],
            )?;
            found.iter().map(|r| Ok(r.try_get(0)?)).collect()
        })
    }

    fn create_lock(&self, lock: &NewLock, audit: &Audit) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx.exec(
                "INSERT INTO locks (id, org_id, unit_id, name, mode, firmware, master_code, \
                 identity_public_key, created_at) \
                 SELECT $1, u.org_id, u.id, $4, 'vacant', $5, $6, $7, $8 \
                 FROM units u WHERE u.id = $3 AND u.org_id = $2",
                &[
                    &lock.id,
                    &lock.org_id,
                    &lock.unit_id,
                    &lock.name,
                    &lock.firmware,
                    &lock.master_code,
                    &lock.identity_public_key,
                    &audit.at,
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            let record = lock_q(tx, lock.org_id, lock.id)?;
            passcodes_for_lock(tx, &record)?;
            write_audit(tx, lock.id, audit)?;
            tx.change(lock.org_id, Some(lock.id), None, audit.at);
            Ok(record)
        })
    }

    fn lock(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<LockRecord> {
        self.read(|c| lock_q(c, org_id, lock_id))
    }

    fn list_locks(
        &self,
        org_id: Uuid,
        filter: &LockFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<LockRecord>> {
        self.read(|c| locks_q(c, org_id, filter, after, Some(limit)))
    }

    fn rename_lock(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        name: &str,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx.exec(
                "UPDATE locks SET name = $3 WHERE org_id = $1 AND id = $2",
                &[&org_id, &lock_id, &name],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            write_audit(tx, lock_id, audit)?;
            tx.change(org_id, Some(lock_id), None, audit.at);
            lock_q(tx, org_id, lock_id)
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
            let n = tx.exec(
                "UPDATE locks SET mode = $3 WHERE org_id = $1 AND id = $2",
                &[&org_id, &lock_id, &mode.as_str()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            write_audit(tx, lock_id, audit)?;
            tx.change(org_id, Some(lock_id), None, audit.at);
            lock_q(tx, org_id, lock_id)
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
            // The update holds the lock's row: no other code is handed out meanwhile.
            let n = tx.exec(
                "UPDATE locks SET master_code = $3 WHERE org_id = $1 AND id = $2",
                &[&org_id, &lock_id, &master_code],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            tx.exec("DELETE FROM access_codes WHERE lock_id = $1", &[&lock_id])?;
            tx.exec("DELETE FROM passcodes WHERE lock_id = $1", &[&lock_id])?;
            let record = lock_q(tx, org_id, lock_id)?;
            passcodes_for_lock(tx, &record)?;
            write_audit(tx, lock_id, audit)?;
            tx.change(org_id, Some(lock_id), None, audit.at);
            Ok(record)
        })
    }

    fn master_code(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<String> {
        self.write(|tx| {
            let code: String = tx
                .one(
                    "SELECT master_code FROM locks WHERE org_id = $1 AND id = $2",
                    &[&org_id, &lock_id],
                )?
                .try_get(0)?;
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
            hold_lock_row(tx, org_id, code.lock_id)?;
            if codes_in_use(tx, code.lock_id)?.contains(&code.code) {
                return Err(StoreError::Conflict("code already in use on this lock".into()).into());
            }
            tx.exec(
                "INSERT INTO access_codes (id, lock_id, kind, label, code, starts_at, ends_at, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &code.id,
                    &code.lock_id,
                    &code.kind.as_str(),
                    &code.label,
                    &code.code,
                    &code.starts_at,
                    &code.ends_at,
                    &code.created_by,
                    &code.created_at,
                ],
            )?;
            write_audit(tx, code.lock_id, audit)?;
            tx.change(org_id, Some(code.lock_id), None, audit.at);
            Ok(())
        })
    }

    fn list_access_codes(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<Vec<AccessCodeRecord>> {
        self.read(|c| {
            // The organization check rides in the same statement as the read.
            let sql = format!(
                "SELECT {CODE_COLS} JOIN locks l ON l.id = c.lock_id \
                 WHERE c.lock_id = $1 AND l.org_id = $2 ORDER BY c.created_at, c.id"
            );
            let found = c.query(&sql, &[&lock_id, &org_id])?;
            if found.is_empty() {
                lock_q(c, org_id, lock_id)?;
            }
            rows(found, code_row)
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
            lock_q(tx, org_id, lock_id)?;
            let args: [&(dyn ToSql + Sync); 4] = [&code_id, &lock_id, &state.as_str(), &reason];
            let n = tx.exec(
                "UPDATE access_codes SET sync_state = $3, failure_reason = $4 \
                 WHERE id = $1 AND lock_id = $2",
                &args,
            )? + tx.exec(
                "UPDATE passcodes SET sync_state = $3, failure_reason = $4 \
                 WHERE id = $1 AND lock_id = $2",
                &args,
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            write_audit(tx, lock_id, audit)?;
            tx.change(org_id, Some(lock_id), None, audit.at);
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
            lock_q(tx, org_id, lock_id)?;
            let row = tx.one(
                "SELECT revoked_at FROM access_codes WHERE id = $1 AND lock_id = $2 FOR UPDATE",
                &[&code_id, &lock_id],
            )?;
            if row.try_get::<_, Option<OffsetDateTime>>(0)?.is_some() {
                return Err(StoreError::Conflict("already revoked".into()).into());
            }
            tx.exec(
                "UPDATE access_codes SET revoked_at = $3, revoked_by = $4 \
                 WHERE id = $1 AND lock_id = $2",
                &[&code_id, &lock_id, &audit.at, &audit.user_id],
            )?;
            write_audit(tx, lock_id, audit)?;
            tx.change(org_id, Some(lock_id), None, audit.at);
            Ok(())
        })
    }

    fn access_code_revocations(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
    ) -> StoreResult<Vec<CodeRevocationRecord>> {
        self.read(|c| {
            lock_q(c, org_id, lock_id)?;
            let found = c.query(
                "SELECT id, revoked_at, revoked_by FROM access_codes \
                 WHERE lock_id = $1 AND revoked_at IS NOT NULL ORDER BY revoked_at, id",
                &[&lock_id],
            )?;
            rows(found, |r| {
                Ok(CodeRevocationRecord {
                    code_id: r.try_get(0)?,
                    revoked_at: r.try_get(1)?,
                    revoked_by: r.try_get(2)?,
                })
            })
        })
    }

    fn lock_passcodes(&self, lock_id: Uuid) -> StoreResult<Vec<PasscodeRecord>> {
        self.read(|c| {
            let sql = format!("SELECT {PASSCODE_COLS} WHERE pc.lock_id = $1");
            rows(c.query(&sql, &[&lock_id])?, passcode_row)
        })
    }

    fn audit(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<()> {
        self.read(|c| {
            // One statement: the organization check and the insert.
            let n = c.exec(
                "INSERT INTO logs (id, lock_id, at, action, method, source, user_id, detail) \
                 SELECT $1, l.id, $3, $4, 'admin', 'server', $5, $6 FROM locks l \
                 WHERE l.id = $2 AND l.org_id = $7",
                &[
                    &Uuid::new_v4(),
                    &lock_id,
                    &audit.at,
                    &audit.action,
                    &audit.user_id,
                    &audit.detail,
                    &org_id,
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
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
        self.read(|c| {
            lock_q(c, org_id, lock_id)?;
            let found = c.query(
                "SELECT g.seq, g.id, g.lock_id, g.at, g.action, g.method, g.source, g.user_id, \
                 u.name, g.code_id, COALESCE(ac.label, CASE WHEN pc.id IS NOT NULL \
                 THEN 'passcode of ' || COALESCE(pu.name, pu.invited_email) END), g.detail, \
                 g.lock_seq FROM logs g LEFT JOIN users u ON u.id = g.user_id \
                 LEFT JOIN access_codes ac ON ac.id = g.code_id \
                 LEFT JOIN passcodes pc ON pc.id = g.code_id \
                 LEFT JOIN users pu ON pu.id = pc.user_id \
                 WHERE g.lock_id = $1 AND g.seq < $2 ORDER BY g.seq DESC LIMIT $3",
                &[&lock_id, &before.unwrap_or(i64::MAX), &i64::from(limit)],
            )?;
            rows(found, |r| {
                let method: String = r.try_get(5)?;
                Ok(LogRecord {
                    seq: r.try_get(0)?,
                    id: r.try_get(1)?,
                    lock_id: r.try_get(2)?,
                    at: r.try_get(3)?,
                    action: r.try_get(4)?,
                    method: method_parse(&method).ok_or_else(|| bad("method"))?,
                    source: r.try_get(6)?,
                    user_id: r.try_get(7)?,
                    user_name: r.try_get(8)?,
                    code_id: r.try_get(9)?,
                    code_label: r.try_get(10)?,
                    detail: r.try_get(11)?,
                    lock_seq: r.try_get::<_, Option<i64>>(12)?.map(|s| s as u64),
                })
            })
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
            lock_q(tx, org_id, lock_id)?;
            let mut new = 0;
            for e in events {
                let seq = i64::try_from(e.lock_seq)
                    .map_err(|_| StoreError::Conflict("lock_seq out of range".into()))?;
                let detail = match &e.detail {
                    Some(d) => format!("{d} (uploaded by {uploaded_by})"),
                    None => format!("uploaded by {uploaded_by}"),
                };
                // Two phones uploading the same events through two instances: one row each.
                new += tx.exec(
                    "INSERT INTO logs (id, lock_id, at, action, method, source, user_id, \
                     code_id, detail, lock_seq) VALUES ($1, $2, $3, $4, $5, 'lock', $6, $7, $8, $9) \
                     ON CONFLICT (lock_id, lock_seq) WHERE lock_seq IS NOT NULL DO NOTHING",
                    &[
                        &Uuid::new_v4(),
                        &lock_id,
                        &e.at,
                        &e.action,
                        &method_str(e.method),
                        &e.user_id,
                        &e.code_id,
                        &detail,
                        &seq,
                    ],
                )?;
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
        // One snapshot: the cursor and the data agree (see the module docs).
        self.transact(IsolationLevel::RepeatableRead, true, |tx| {
            let cursor: i64 = tx
                .one(
                    "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE org_id = $1",
                    &[&org_id],
                )?
                .try_get(0)?;
            let mut data = SyncData {
                cursor,
                ..SyncData::default()
            };
            let in_filter = |unit: Uuid| match filter {
                LockFilter::All => true,
                LockFilter::Units(u) => u.contains(&unit),
            };
            match since {
                None => data.locks = locks_q(tx, org_id, filter, None, None)?,
                Some(since) if since > cursor => {
                    // A cursor from another database: start over.
                    data.me_changed = true;
                    data.locks = locks_q(tx, org_id, filter, None, None)?;
                }
                Some(since) => {
                    data.me_changed = tx
                        .one(
                            "SELECT EXISTS (SELECT 1 FROM changes WHERE org_id = $1 AND seq > $2 \
                             AND seq <= $3 AND user_id = $4 AND lock_id IS NULL)",
                            &[&org_id, &since, &cursor, &user_id],
                        )?
                        .try_get(0)?;
                    if data.me_changed {
                        data.locks = locks_q(tx, org_id, filter, None, None)?;
                    } else {
                        let changed: Vec<Uuid> = tx
                            .query(
                                "SELECT DISTINCT lock_id FROM changes WHERE org_id = $1 \
                                 AND seq > $2 AND seq <= $3 AND lock_id IS NOT NULL",
                                &[&org_id, &since, &cursor],
                            )?
                            .iter()
                            .map(|r| r.try_get(0))
                            .collect::<Result<_, _>>()?;
                        for id in changed {
                            match lock_q(tx, org_id, id) {
                                Ok(l) if in_filter(l.unit_id) => data.locks.push(l),
                                Ok(_) | Err(Fail::Store(StoreError::NotFound)) => {
                                    data.removed_lock_ids.push(id)
                                }
                                Err(e) => return Err(e),
                            }
                        }
                    }
                }
            }
            let ids: Vec<Uuid> = data.locks.iter().map(|l| l.id).collect();
            if !ids.is_empty() {
                let sql = format!("SELECT {CODE_COLS} WHERE c.lock_id = ANY($1)");
                data.access_codes = rows(tx.query(&sql, &[&ids])?, code_row)?;
                let sql = format!(
                    "SELECT {PASSCODE_COLS} WHERE pc.user_id = $1 AND pc.lock_id = ANY($2)"
                );
                data.passcodes = rows(tx.query(&sql, &[&user_id, &ids])?, passcode_row)?;
            }
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
        let rights = i64::from(rights);
        self.write(|tx| {
            let serial: i64 = tx
                .one(
                    "INSERT INTO ble_credentials (org_id, user_id, lock_id, rights, not_before, \
                     not_after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING serial",
                    &[
                        &org_id,
                        &user_id,
                        &lock_id,
                        &rights,
                        &not_before,
                        &not_after,
                    ],
                )?
                .try_get(0)?;
            Ok(serial as u64)
        })
    }

    fn lock_credentials(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<CredentialRecord>> {
        self.read(|c| {
            let rows = c.query(
                "SELECT serial, user_id, lock_id, rights, not_before, not_after \
                 FROM ble_credentials WHERE org_id = $1 AND lock_id = $2 AND not_after >= $3 \
                 ORDER BY serial",
                &[&org_id, &lock_id, &now],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(CredentialRecord {
                    serial: r.try_get::<_, i64>(0)? as u64,
                    user_id: r.try_get(1)?,
                    lock_id: r.try_get(2)?,
                    rights: u32::try_from(r.try_get::<_, i64>(3)?).unwrap_or(0),
                    not_before: r.try_get(4)?,
                    not_after: r.try_get(5)?,
                });
            }
            Ok(out)
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
            // Conditional update: of two pairings racing on two instances, the second waits
            // for the first's commit, then finds the key set and changes nothing.
            let n = tx.exec(
                "UPDATE locks SET identity_public_key = $3, firmware = COALESCE($4, firmware) \
                 WHERE org_id = $1 AND id = $2 AND identity_public_key IS NULL",
                &[&org_id, &lock_id, &identity_public_key, &firmware],
            )?;
            if n == 0 {
                lock_q(tx, org_id, lock_id)?;
                return Err(StoreError::Conflict("the lock is already paired".into()).into());
            }
            write_audit(tx, lock_id, audit)?;
            tx.change(org_id, Some(lock_id), None, audit.at);
            lock_q(tx, org_id, lock_id)
        })
    }

    fn age_pending(&self, user_id: Uuid, seconds: i64) -> StoreResult<()> {
        self.write(|tx| {
            let by = seconds as f64;
            tx.exec(
                "UPDATE invitations SET sent_at = sent_at - make_interval(secs => $2), \
                 expires_at = expires_at - make_interval(secs => $2) WHERE user_id = $1",
                &[&user_id, &by],
            )?;
            tx.exec(
                "UPDATE registrations SET created_at = created_at - make_interval(secs => $2), \
                 code_expires_at = code_expires_at - make_interval(secs => $2) \
                 WHERE user_id = $1",
                &[&user_id, &by],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parameter_is_ours_and_checked() {
        let (cfg, schema) =
            parse_url("postgres://app@127.0.0.1:5432/access?schema=t_1&application_name=x")
                .expect("valid");
        assert_eq!(schema.as_deref(), Some("t_1"));
        assert_eq!(cfg.get_dbname(), Some("access"));
        assert_eq!(cfg.get_application_name(), Some("x"));
        let (_, none) = parse_url("postgres://app@127.0.0.1/access").expect("valid");
        assert_eq!(none, None);
        for bad in ["Robert", "a;drop", "1abc", "", "a-b"] {
            let url = format!("postgres://app@127.0.0.1/access?schema={bad}");
            assert!(parse_url(&url).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn lock_keys_are_stable_and_spread() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert_eq!(org_lock_key(a), org_lock_key(a));
        assert_ne!(org_lock_key(a), org_lock_key(b));
        assert_ne!(name_key("public"), name_key("t_1"));
    }
}
