//! The SQLite store: the embedded default, one file under the data directory.
//!
//! WAL journal (readers never wait for the writer), foreign keys on, a busy timeout, and
//! every write in a `BEGIN IMMEDIATE` transaction so writers queue instead of failing on
//! lock upgrades. Connections are pooled; calls run on tokio's blocking pool (see `Db`).
//!
//! This file holds the connections, transactions and the column encoding; `tx` the
//! statements several aggregates share; one file per trait of [`super::traits`] the rest.

pub mod backup;
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

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use access_domain::{Access, Permission};
use rusqlite::{Connection, Row, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::rows::Columns;
use super::session_cache::{Generation, Memo, SessionCache};
use super::{Gauges, Store, StoreError, StoreResult, rules};

/// Versioned migrations, applied in order; `schema_migrations` records the applied ones.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_ble_credentials.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_offline_codes.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/sqlite/0004_limits.sql"),
    ),
    (5, include_str!("../../../migrations/sqlite/0005_door.sql")),
    (
        6,
        include_str!("../../../migrations/sqlite/0006_user_pages.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/sqlite/0008_access_dates.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/sqlite/0009_manage_access.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/sqlite/0010_accounts.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/sqlite/0011_user_counts.sql"),
    ),
    (
        12,
        include_str!("../../../migrations/sqlite/0012_door_chains.sql"),
    ),
    (
        13,
        include_str!("../../../migrations/sqlite/0013_user_search.sql"),
    ),
    (
        14,
        include_str!("../../../migrations/sqlite/0014_page_indexes.sql"),
    ),
];

/// The database file in the data directory.
const DB_FILE: &str = "access.db";

/// The newest schema version this server knows: the last migration's.
pub fn known_schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

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
    /// The users table's totals by filter, at the generation they were counted at.
    user_totals: Memo<String, u64>,
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

/// Times are whole seconds since the epoch.
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

/// Permissions as a comma list of their names.
fn perms_to_text(perms: &[Permission]) -> String {
    perms
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Unit ids as a JSON array of text, which `json_each` reads back in SQL.
fn ids_to_json(ids: &[Uuid]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

fn access_to_cols(a: &Access) -> (&'static str, String) {
    match a {
        Access::AllLocks => (a.kind(), "[]".into()),
        Access::Units { unit_ids } => (a.kind(), ids_to_json(unit_ids)),
    }
}

impl Columns for Row<'_> {
    type Error = rusqlite::Error;

    fn uuid(&self, i: usize) -> rusqlite::Result<Uuid> {
        // Parsed from SQLite's own text: no String per id (a sync decodes tens of thousands).
        Uuid::parse_str(self.get_ref(i)?.as_str()?).map_err(|_| bad(i, "uuid"))
    }

    fn opt_uuid(&self, i: usize) -> rusqlite::Result<Option<Uuid>> {
        self.get_ref(i)?
            .as_str_or_null()?
            .map(|s| Uuid::parse_str(s).map_err(|_| bad(i, "uuid")))
            .transpose()
    }

    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.get(i)
    }

    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }

    fn bytes(&self, i: usize) -> rusqlite::Result<Vec<u8>> {
        self.get(i)
    }

    fn opt_bytes(&self, i: usize) -> rusqlite::Result<Option<Vec<u8>>> {
        self.get(i)
    }

    fn flag(&self, i: usize) -> rusqlite::Result<bool> {
        self.get(i)
    }

    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.get(i)
    }

    fn opt_int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.get(i)
    }

    fn time(&self, i: usize) -> rusqlite::Result<OffsetDateTime> {
        Ok(from_ts(self.get(i)?))
    }

    fn opt_time(&self, i: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
        Ok(self.get::<_, Option<i64>>(i)?.map(from_ts))
    }

    fn permissions(&self, i: usize) -> rusqlite::Result<Vec<Permission>> {
        let text = self.get_ref(i)?.as_str()?;
        Ok(text.split(',').filter_map(Permission::parse).collect())
    }

    fn unit_ids(&self, i: usize) -> rusqlite::Result<Vec<Uuid>> {
        serde_json::from_str(self.get_ref(i)?.as_str()?).map_err(|_| bad(i, "unit ids"))
    }

    fn parsed<T>(
        &self,
        i: usize,
        what: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> rusqlite::Result<T> {
        parse(self.get_ref(i)?.as_str()?).ok_or_else(|| bad(i, what))
    }

    fn invalid(&self, i: usize, what: &str) -> rusqlite::Error {
        bad(i, what)
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `access.db` in `data_dir` and applies migrations.
    pub fn open(data_dir: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Backend(format!("cannot create {data_dir:?}: {e}")))?;
        let generation = Generation::open(&data_dir.join("access.db-generation"))
            .map_err(|e| StoreError::Backend(format!("cannot open {data_dir:?}: {e}")))?;
        let store = SqliteStore {
            path: data_dir.join(DB_FILE),
            pool: Mutex::new(Vec::new()),
            writer: Mutex::new(()),
            generation,
            sessions: SessionCache::default(),
            user_totals: Memo::new(1_000),
        };
        store.write(|tx| {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )?;
            let current: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")?
                .query_row([], |r| r.get(0))?;
            rules::ensure_schema_known(current, known_schema_version())?;
            for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
                tx.execute_batch(sql)?;
                tx.prepare_cached(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                )?
                .execute(params![version, ts(OffsetDateTime::now_utc())])?;
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
        // Every statement of the store goes through this cache (`prepare_cached`): parsing
        // and planning a query costs more than running most of ours (the lock lookup behind
        // every lock route took ~15 us to parse and ~3 to run). Room for all of them (about
        // 130), so a mixed load never evicts one and parses it again.
        conn.set_prepared_statement_cache_capacity(256);
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

    fn gauges(&self, now: OffsetDateTime) -> StoreResult<Gauges> {
        self.with(|c| {
            let sql = super::rows::gauges_sql("?1", "0");
            Ok(c.prepare_cached(&sql)?
                .query_row([ts(now)], |r| super::rows::gauges(r))?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    #[allow(clippy::disallowed_methods, reason = "one query on a scratch database")]
    fn the_administrator_flag_becomes_the_right_to_manage_access() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let (before, after): (Vec<_>, Vec<_>) = MIGRATIONS.iter().partition(|(v, _)| *v < 9);
        for (_, sql) in before {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            "INSERT INTO organizations VALUES ('o', 'Org', x'00', x'00', 0);
             INSERT INTO users (id, org_id, user_type, status, is_admin, permissions, access_type,
                 invited_at) VALUES
               ('admin', 'o', 'team_member', 'active', 1, 'give_access,view_logs', 'all_locks', 0),
               ('bare', 'o', 'team_member', 'active', 1, '', 'all_locks', 0),
               ('agent', 'o', 'team_member', 'active', 0, 'give_access', 'units', 0);",
        )
        .unwrap();
        for (_, sql) in after {
            c.execute_batch(sql).unwrap();
        }
        let perms = |id: &str| -> String {
            c.query_row("SELECT permissions FROM users WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(perms("admin"), "give_access,view_logs,manage_access");
        assert_eq!(perms("bare"), "manage_access");
        assert_eq!(perms("agent"), "give_access");
        let has_flag = c.prepare("SELECT is_admin FROM users").is_ok();
        assert!(!has_flag, "the flag is gone");
    }
}
