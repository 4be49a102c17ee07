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
//!
//! This file holds the pool, transactions and their retries, migrations and the column
//! reading; `tx` the statements several aggregates share; one file per trait of
//! [`super::traits`] the rest, named as on SQLite.

mod codes;
mod door;
mod invitations;
mod locks;
mod logs;
mod orgs;
mod sessions;
mod sync;
#[cfg(any(test, feature = "test-support"))]
mod testing;
mod tx;
mod users;

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use ::postgres as pg;
use access_domain::{Access, CodeSyncState, LockMode, Permission, UserStatus};
use pg::error::SqlState;
use pg::types::ToSql;
use pg::{Client, GenericClient, IsolationLevel, NoTls, Row, Statement};
use time::OffsetDateTime;
use uuid::Uuid;

use super::rows::{self, CODE_COLS, Columns, PASSCODE_COLS, lock_cols, user_cols};
use super::rules::{self, CodesInUse};
use super::*;
use crate::secrets;
use tx::*;

/// Versioned migrations, applied in order; `schema_migrations` records the applied ones.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_ble_credentials.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_offline_codes.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_limits.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/postgres/0005_door.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/postgres/0006_user_pages.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/postgres/0008_access_dates.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/postgres/0009_manage_access.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/postgres/0010_accounts.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/postgres/0011_user_counts.sql"),
    ),
    (
        12,
        include_str!("../../../migrations/postgres/0012_door_chains.sql"),
    ),
    (
        13,
        include_str!("../../../migrations/postgres/0013_user_search.sql"),
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
pub(in crate::store) enum Fail {
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

pub(in crate::store) type PResult<T> = Result<T, Fail>;

fn bad(what: &str) -> Fail {
    Fail::Store(StoreError::Backend(format!(
        "invalid {what} in the database"
    )))
}

impl Columns for Row {
    type Error = Fail;

    fn uuid(&self, i: usize) -> PResult<Uuid> {
        Ok(self.try_get(i)?)
    }

    fn opt_uuid(&self, i: usize) -> PResult<Option<Uuid>> {
        Ok(self.try_get(i)?)
    }

    fn text(&self, i: usize) -> PResult<String> {
        Ok(self.try_get(i)?)
    }

    fn opt_text(&self, i: usize) -> PResult<Option<String>> {
        Ok(self.try_get(i)?)
    }

    fn bytes(&self, i: usize) -> PResult<Vec<u8>> {
        Ok(self.try_get(i)?)
    }

    fn opt_bytes(&self, i: usize) -> PResult<Option<Vec<u8>>> {
        Ok(self.try_get(i)?)
    }

    fn flag(&self, i: usize) -> PResult<bool> {
        Ok(self.try_get(i)?)
    }

    fn int(&self, i: usize) -> PResult<i64> {
        self.opt_int(i)?.ok_or_else(|| bad("null number"))
    }

    fn opt_int(&self, i: usize) -> PResult<Option<i64>> {
        // Integer columns come in three widths; each is read as its own type.
        let ty = self.columns()[i].type_();
        Ok(if *ty == pg::types::Type::INT2 {
            self.try_get::<_, Option<i16>>(i)?.map(i64::from)
        } else if *ty == pg::types::Type::INT4 {
            self.try_get::<_, Option<i32>>(i)?.map(i64::from)
        } else {
            self.try_get(i)?
        })
    }

    fn time(&self, i: usize) -> PResult<OffsetDateTime> {
        Ok(self.try_get(i)?)
    }

    fn opt_time(&self, i: usize) -> PResult<Option<OffsetDateTime>> {
        Ok(self.try_get(i)?)
    }

    fn permissions(&self, i: usize) -> PResult<Vec<Permission>> {
        let perms: Vec<&str> = self.try_get(i)?;
        Ok(perms.into_iter().filter_map(Permission::parse).collect())
    }

    fn unit_ids(&self, i: usize) -> PResult<Vec<Uuid>> {
        Ok(self.try_get(i)?)
    }

    fn parsed<T>(&self, i: usize, what: &str, parse: impl FnOnce(&str) -> Option<T>) -> PResult<T> {
        parse(self.try_get::<_, &str>(i)?).ok_or_else(|| bad(what))
    }

    fn invalid(&self, _i: usize, what: &str) -> Fail {
        bad(what)
    }
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

fn access_to_cols(a: &Access) -> (&'static str, Vec<Uuid>) {
    match a {
        Access::AllLocks => (a.kind(), Vec::new()),
        Access::Units { unit_ids } => (a.kind(), unit_ids.clone()),
    }
}

fn perms_to_vec(perms: &[Permission]) -> Vec<&'static str> {
    perms.iter().map(|p| p.as_str()).collect()
}

/// The smallest id: "after nothing" for keyset pagination (v4 ids are never nil).
const BEFORE_ALL: Uuid = Uuid::nil();

const USER_COLS: &str = user_cols!(
    "(SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND NOT i.voided)"
);

const LOCK_COLS: &str = lock_cols!("", "");

/// `USER_COLS` for the session check of every request: the invitation expiry only matters
/// while the user is pending (`UserRecord::invitation_expires_at`), so other users skip the
/// correlated subquery (a fifth of the lookup's time).
const SESSION_USER_COLS: &str = user_cols!(
    "CASE WHEN u.status = 'pending' THEN \
     (SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND NOT i.voided) END"
);

fn all<T>(rows: Vec<Row>, f: impl Fn(&Row) -> PResult<T>) -> PResult<Vec<T>> {
    rows.iter().map(f).collect()
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

/// Applies missing migrations under the schema's migration lock; the inner result refuses a
/// schema newer than this server knows.
fn migrate(client: &mut Client, schema: Option<&str>) -> Result<StoreResult<()>, pg::Error> {
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
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if let Err(e) = rules::ensure_schema_known(current, known) {
            return Ok(Err(e));
        }
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
        Ok(Ok(()))
    })();
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&key]);
    let out = result?;
    unlocked?;
    Ok(out)
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
        migrate(&mut client, schema.as_deref()).map_err(pg_error)??;
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

    fn gauges(&self, now: OffsetDateTime) -> StoreResult<Gauges> {
        self.read(|c| rows::gauges(&c.one(&rows::gauges_sql("$1", "false"), &[&now])?))
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
