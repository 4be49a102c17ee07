//! The offline cache: one SQLite file (WAL, versioned migrations) holding what the signed-in
//! user may see. Each sync is applied in one transaction. Lock search runs on an in-memory
//! index ([`crate::search`]) kept beside the connection: any part of a lock, unit or
//! property name matches, and SQLite only holds the rows (no FTS5 index to build in a sync).

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use access_domain::LockMode;
use access_domain::api::{AccessCode, Lock, Me, Passcode, SyncResponse};
use rusqlite::hooks::Action;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use crate::search::{self, Index};

/// Failures of the local database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("not in the cache")]
    NotFound,
    #[error("cannot create the data directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("the database was written by a newer version (schema {0})")]
    TooNew(i64),
}

/// One step of the schema.
enum Migration {
    /// SQL run as is.
    Sql(&'static str),
    /// SQL kept for the record but not run any more: a later step undoes all it did. (It
    /// needs SQLite's FTS5, which the shipped library may leave out.)
    Superseded(#[cfg_attr(not(test), allow(dead_code))] &'static str),
    /// A step that SQL alone cannot take on every build.
    Code(fn(&Transaction<'_>) -> Result<(), StoreError>),
}

/// The schema, one entry per version; never edit a released entry, add one. A new
/// database gets [`BASELINE`] instead, the same schema in one step.
const MIGRATIONS: &[Migration] = &[
    // 1: cache and queue.
    Migration::Sql(
        r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE locks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        unit_name TEXT NOT NULL,
        property_id TEXT NOT NULL,
        property_name TEXT NOT NULL,
        mode TEXT NOT NULL,
        battery INTEGER,
        firmware TEXT,
        paired INTEGER NOT NULL,
        identity_public_key TEXT
    );
    CREATE INDEX locks_by_name ON locks (name COLLATE NOCASE, id);
    CREATE VIRTUAL TABLE locks_fts USING fts5(
        name, unit_name, property_name,
        content='locks', content_rowid='rowid', tokenize='trigram'
    );
    CREATE TRIGGER locks_ai AFTER INSERT ON locks BEGIN
        INSERT INTO locks_fts (rowid, name, unit_name, property_name)
        VALUES (new.rowid, new.name, new.unit_name, new.property_name);
    END;
    CREATE TRIGGER locks_ad AFTER DELETE ON locks BEGIN
        INSERT INTO locks_fts (locks_fts, rowid, name, unit_name, property_name)
        VALUES ('delete', old.rowid, old.name, old.unit_name, old.property_name);
    END;
    CREATE TRIGGER locks_au AFTER UPDATE OF name, unit_name, property_name ON locks BEGIN
        INSERT INTO locks_fts (locks_fts, rowid, name, unit_name, property_name)
        VALUES ('delete', old.rowid, old.name, old.unit_name, old.property_name);
        INSERT INTO locks_fts (rowid, name, unit_name, property_name)
        VALUES (new.rowid, new.name, new.unit_name, new.property_name);
    END;
    CREATE TABLE access_codes (
        id TEXT PRIMARY KEY,
        lock_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX access_codes_by_lock ON access_codes (lock_id);
    CREATE TABLE passcodes (
        lock_id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE queue (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        lock_id TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        result TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX queue_by_state ON queue (state, seq);
    "#,
    ),
    // 2: BLE credentials, devices, counters, revocations, lock logs (see `crate::ble`).
    Migration::Sql(include_str!("ble/schema.sql")),
    // 3: the search index without positions or column sizes: a third of the cost to build;
    // search checks each candidate row itself (see `search_locks`). Superseded by 4.
    Migration::Superseded(
        r#"
    DROP TABLE locks_fts;
    CREATE VIRTUAL TABLE locks_fts USING fts5(
        name, unit_name, property_name,
        content='locks', content_rowid='rowid', tokenize='trigram', detail=none, columnsize=0
    );
    INSERT INTO locks_fts (locks_fts) VALUES ('rebuild');
    "#,
    ),
    // 4: no search index in SQLite any more (see `crate::search`).
    Migration::Code(drop_fts),
    // 5: passcodes in one B-tree keyed by lock (a full sync writes 10,000 of them: a rowid
    // table with a text key wrote two).
    Migration::Sql(
        r#"
    CREATE TABLE passcodes_5 (lock_id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
    INSERT INTO passcodes_5 (lock_id, body) SELECT lock_id, body FROM passcodes;
    DROP TABLE passcodes;
    ALTER TABLE passcodes_5 RENAME TO passcodes;
    "#,
    ),
];

/// The schema of a new database: what [`MIGRATIONS`] make of an empty file (a test checks
/// that), without the steps that create and drop the FTS5 index on the way.
const BASELINE: &str = concat!(
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE locks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        unit_name TEXT NOT NULL,
        property_id TEXT NOT NULL,
        property_name TEXT NOT NULL,
        mode TEXT NOT NULL,
        battery INTEGER,
        firmware TEXT,
        paired INTEGER NOT NULL,
        identity_public_key TEXT
    );
    CREATE INDEX locks_by_name ON locks (name COLLATE NOCASE, id);
    CREATE TABLE access_codes (
        id TEXT PRIMARY KEY,
        lock_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX access_codes_by_lock ON access_codes (lock_id);
    CREATE TABLE "passcodes" (lock_id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE queue (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        lock_id TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        result TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX queue_by_state ON queue (state, seq);
    "#,
    include_str!("ble/schema.sql")
);

/// Step 4: the FTS5 index and the triggers that fed it go. On a build without FTS5,
/// `DROP TABLE` cannot reach the virtual table's module; then its schema entry (a virtual
/// table has no pages of its own) and its shadow tables are removed directly.
fn drop_fts(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "DROP TRIGGER IF EXISTS locks_ai; DROP TRIGGER IF EXISTS locks_ad;
         DROP TRIGGER IF EXISTS locks_au;",
    )?;
    match tx.execute_batch("DROP TABLE IF EXISTS locks_fts") {
        Ok(()) => Ok(()),
        Err(e) if e.to_string().contains("no such module") => drop_fts_without_module(tx),
        Err(e) => Err(e.into()),
    }
}

fn drop_fts_without_module(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.pragma_update(None, "writable_schema", true)?;
    let removed = tx.execute(
        "DELETE FROM sqlite_schema WHERE type = 'table' AND name = 'locks_fts' AND rootpage = 0",
        [],
    );
    tx.pragma_update(None, "writable_schema", false)?;
    removed?;
    // Dropping the shadow tables also makes every connection read the schema again.
    for shadow in ["data", "idx", "docsize", "config", "content"] {
        tx.execute_batch(&format!("DROP TABLE IF EXISTS locks_fts_{shadow}"))?;
    }
    Ok(())
}

/// The most rows of `locks` that one search patches into the index after this connection
/// changed them; more and the index is read again whole (a few milliseconds).
const PATCH_ROWS: usize = 64;

/// The database file behind a mutex: each call holds it briefly, on a blocking thread.
pub struct Store {
    db: Mutex<Db>,
}

/// The cache's connection and the search index kept beside it. Derefs to the connection.
pub struct Db {
    conn: Connection,
    search: Search,
}

/// The in-memory index and what tells whether it still matches the `locks` table.
struct Search {
    /// `None` until the first search after opening (or after changes it cannot follow).
    index: Option<Index>,
    /// `PRAGMA data_version` when the index was made: a commit by another connection (a
    /// second process on the same file) changes it.
    version: i64,
    /// Rows of `locks` this connection wrote since, from SQLite's update hook: every write,
    /// whichever code made it, and also one rolled back (reading the row again is right then).
    changed: Arc<Mutex<Changed>>,
}

#[derive(Debug, Default)]
struct Changed {
    rowids: Vec<i64>,
    /// More than [`PATCH_ROWS`]: read the whole index again.
    many: bool,
}

fn lock_changed(c: &Mutex<Changed>) -> MutexGuard<'_, Changed> {
    // A panic while holding it cannot leave it half-written: plain pushes and flags.
    c.lock().unwrap_or_else(|p| p.into_inner())
}

impl Deref for Db {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for Db {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Store {
    /// Opens (creating if needed) the cache in `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed queued action survives power loss, not only a killed process.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn)?;
        let changed = Arc::new(Mutex::new(Changed::default()));
        let seen = changed.clone();
        // Wholesale `DELETE FROM locks` (no WHERE) skips this hook: only a full sync does
        // that, and it replaces the index itself.
        conn.update_hook(Some(move |_: Action, db: &str, table: &str, rowid: i64| {
            if table == "locks" && db == "main" {
                let mut c = lock_changed(&seen);
                if c.rowids.len() < PATCH_ROWS {
                    c.rowids.push(rowid);
                } else {
                    c.many = true;
                }
            }
        }))?;
        Ok(Store {
            db: Mutex::new(Db {
                conn,
                search: Search {
                    index: None,
                    version: 0,
                    changed,
                },
            }),
        })
    }

    /// The connection (with the search index), for one short piece of work.
    pub fn conn(&self) -> MutexGuard<'_, Db> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is safe to reuse.
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Db {
    /// The search index, brought up to date with the `locks` table first: read whole after
    /// opening or another connection's commit, patched after a few writes of this one.
    pub fn search_index(&mut self) -> Result<&Index, StoreError> {
        let version = data_version(&self.conn)?;
        let changed = std::mem::take(&mut *lock_changed(&self.search.changed));
        let old = self.search.index.take();
        let index = match old {
            Some(old) if version == self.search.version && !changed.many => {
                if changed.rowids.is_empty() {
                    old
                } else {
                    let mut rowids = changed.rowids;
                    rowids.sort_unstable();
                    rowids.dedup();
                    old.patched(&rowids, read_index_rows(&self.conn, Some(&rowids))?)
                }
            }
            _ => read_index_rows(&self.conn, None)?.finish(),
        };
        self.search.version = version;
        Ok(self.search.index.insert(index))
    }
}

/// `PRAGMA data_version` of this connection.
fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

/// The searchable parts of the locks with `rowids` (all locks when `None`) from SQLite.
fn read_index_rows(
    conn: &Connection,
    rowids: Option<&[i64]>,
) -> Result<search::Builder, StoreError> {
    let mut b = Index::builder();
    let mut add = |r: &rusqlite::Row<'_>| -> Result<(), StoreError> {
        let part = |i| r.get_ref(i).and_then(|v| Ok(v.as_str()?));
        let id = Uuid::parse_str(part(1)?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        b.push(r.get(0)?, id, part(2)?, part(3)?, part(4)?);
        Ok(())
    };
    let cols = "SELECT rowid, id, name, unit_name, property_name FROM locks";
    match rowids {
        None => {
            let mut st = conn.prepare_cached(cols)?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                add(r)?;
            }
        }
        Some(rowids) => {
            let mut st = conn.prepare_cached(&format!("{cols} WHERE rowid = ?1"))?;
            for rowid in rowids {
                let mut rows = st.query([rowid])?;
                if let Some(r) = rows.next()? {
                    add(r)?;
                }
            }
        }
    }
    Ok(b)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = MIGRATIONS.len() as i64;
    if version > latest {
        return Err(StoreError::TooNew(version));
    }
    if version == 0 {
        let tx = conn.transaction()?;
        tx.execute_batch(BASELINE)?;
        tx.pragma_update(None, "user_version", latest)?;
        tx.commit()?;
        return Ok(());
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        match step {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Superseded(_) => {}
            Migration::Code(f) => f(&tx)?,
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// The current schema version of an open database.
pub fn schema_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

const ME: &str = "me";
const CURSOR: &str = "cursor";

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The signed-in user as last seen by the server.
pub fn me(conn: &Connection) -> Result<Option<Me>, StoreError> {
    get_meta(conn, ME)?
        .map(|s| {
            serde_json::from_slice(s.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
}

pub fn set_me(conn: &Connection, me: &Me) -> Result<(), StoreError> {
    let json = serde_json::to_string(me).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    set_meta(conn, ME, &json)
}

/// The sync cursor, `None` before the first sync or after a reset.
pub fn cursor(conn: &Connection) -> Result<Option<String>, StoreError> {
    get_meta(conn, CURSOR)
}

/// Forgets the cursor, so the next sync replaces the whole cache.
pub fn clear_cursor(conn: &Connection) -> Result<(), StoreError> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [CURSOR])?;
    Ok(())
}

/// What one applied sync changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub full: bool,
    pub locks_upserted: u64,
    pub locks_removed: u64,
    pub access_codes: u64,
    pub passcodes: u64,
}

/// Page cache of the connection while a sync writes (negative: KiB), and otherwise
/// (SQLite's default).
const SYNC_CACHE_KIB: i64 = -32_768;
const DEFAULT_CACHE_KIB: i64 = -2_000;

/// Applies one sync answer in one transaction: all of it or none of it.
/// `on_row` is told how many rows are done, for progress bars.
///
/// A full sync also makes the new search index from the rows it wrote (their rowids come
/// back from each insert), and puts it in place once the transaction committed; a delta
/// reaches the index through the update hook like any other write.
///
/// The commit is not flushed to disk (`synchronous=NORMAL` for this transaction): losing it
/// to a power cut only loses the new cursor with the rows, so the next sync fetches them
/// again; the queue's own commits stay `FULL`.
pub fn apply_sync(
    db: &mut Db,
    sync: &SyncResponse,
    on_row: &mut dyn FnMut(u64),
) -> Result<Applied, StoreError> {
    let Db { conn, search } = db;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Room for all pages a large sync dirties (10,000 locks with their passcodes: ~6 MB):
    // with the default 2 MB SQLite spills pages to the WAL mid-transaction and reads them
    // back. Given back after the sync.
    conn.pragma_update(None, "cache_size", SYNC_CACHE_KIB)?;
    let result = (|| -> Result<_, StoreError> {
        let tx = conn.transaction()?;
        let (applied, index) = apply_sync_in(&tx, sync, on_row)?;
        // Read inside the write transaction: no other connection can commit until ours has,
        // so a later commit of theirs is seen as a change of this number.
        let version = data_version(&tx)?;
        tx.commit()?;
        Ok((applied, index, version))
    })();
    let restored = conn
        .pragma_update(None, "synchronous", "FULL")
        .and(conn.pragma_update(None, "cache_size", DEFAULT_CACHE_KIB));
    let (applied, index, version) = result?;
    if sync.full {
        // The old index described rows that are gone; `None` (an answer it could not
        // follow) reads the new one from SQLite at the next search.
        search.index = index;
        search.version = version;
        *lock_changed(&search.changed) = Changed::default();
    }
    restored?;
    Ok(applied)
}

fn apply_sync_in(
    tx: &Transaction<'_>,
    sync: &SyncResponse,
    on_row: &mut dyn FnMut(u64),
) -> Result<(Applied, Option<Index>), StoreError> {
    let mut applied = Applied {
        full: sync.full,
        ..Applied::default()
    };
    if sync.full {
        tx.execute_batch("DELETE FROM locks; DELETE FROM access_codes; DELETE FROM passcodes;")?;
    }
    let mut index = sync.full.then(Index::builder);
    let mut last_rowid = 0;
    let mut done = 0u64;
    {
        let mut up = tx.prepare_cached(UPSERT_LOCK)?;
        for l in &sync.locks {
            put_lock_with(&mut up, l)?;
            if let Some(b) = &mut index {
                // Into an emptied table every row is new, so each gets a higher rowid than
                // the last; when not, the answer held an id twice and that was an update.
                let rowid = tx.last_insert_rowid();
                if rowid > last_rowid {
                    b.push(rowid, l.id, &l.name, &l.unit_name, &l.property_name);
                    last_rowid = rowid;
                } else {
                    index = None;
                }
            }
            applied.locks_upserted += 1;
            done += 1;
            if done.is_multiple_of(500) {
                on_row(done);
            }
        }
    }
    {
        let mut del = tx.prepare_cached("DELETE FROM locks WHERE id = ?1")?;
        let mut del_codes = tx.prepare_cached("DELETE FROM access_codes WHERE lock_id = ?1")?;
        let mut del_pass = tx.prepare_cached("DELETE FROM passcodes WHERE lock_id = ?1")?;
        let mut buf = Uuid::encode_buffer();
        for id in &sync.removed_lock_ids {
            let id = &*id.hyphenated().encode_lower(&mut buf);
            let n = del.execute([id])?;
            if n > 0 {
                // A full answer that also removes one of its own locks: too odd to follow.
                index = None;
            }
            applied.locks_removed += n as u64;
            del_codes.execute([id])?;
            del_pass.execute([id])?;
        }
    }
    {
        let mut up = tx.prepare_cached(
            "INSERT INTO access_codes (id, lock_id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET lock_id = excluded.lock_id, body = excluded.body",
        )?;
        for c in &sync.access_codes {
            up.execute(params![
                c.id.to_string(),
                c.lock_id.to_string(),
                to_json(c)?
            ])?;
            applied.access_codes += 1;
        }
    }
    {
        let mut up = tx.prepare_cached(
            "INSERT INTO passcodes (lock_id, body) VALUES (?1, ?2)
             ON CONFLICT (lock_id) DO UPDATE SET body = excluded.body",
        )?;
        for p in &sync.passcodes {
            let mut buf = Uuid::encode_buffer();
            let lock_id = &*p.lock_id.hyphenated().encode_lower(&mut buf);
            up.execute(params![lock_id, to_json(p)?])?;
            applied.passcodes += 1;
        }
    }
    set_me(tx, &sync.me)?;
    set_meta(tx, CURSOR, &sync.cursor)?;
    on_row(done);
    Ok((applied, index.map(search::Builder::finish)))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_slice(s.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse_uuid(s: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const LOCK_COLUMNS: &str = "l.id, l.name, l.unit_id, l.unit_name, l.property_id, \
     l.property_name, l.mode, l.battery, l.firmware, l.paired, l.identity_public_key";

fn lock_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lock> {
    let mode: String = r.get(6)?;
    Ok(Lock {
        id: parse_uuid(&r.get::<_, String>(0)?)?,
        name: r.get(1)?,
        unit_id: parse_uuid(&r.get::<_, String>(2)?)?,
        unit_name: r.get(3)?,
        property_id: parse_uuid(&r.get::<_, String>(4)?)?,
        property_name: r.get(5)?,
        mode: LockMode::parse(&mode).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                6,
                rusqlite::types::Type::Text,
                format!("unknown mode {mode}").into(),
            )
        })?,
        battery: r.get(7)?,
        firmware: r.get(8)?,
        paired: r.get(9)?,
        identity_public_key: r.get(10)?,
    })
}

/// Every cached lock, by name.
pub fn list_locks(conn: &Connection) -> Result<Vec<Lock>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {LOCK_COLUMNS} FROM locks l ORDER BY l.name COLLATE NOCASE, l.id"
    ))?;
    let rows = st.query_map([], lock_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One cached lock.
pub fn lock(conn: &Connection, id: Uuid) -> Result<Lock, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {LOCK_COLUMNS} FROM locks l WHERE l.id = ?1"
    ))?;
    st.query_row([id.to_string()], lock_row)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// Rowids per statement when a search reads its page.
const PAGE_CHUNK: usize = 32;

/// Locks whose name, unit or property contains every word of `query` (case-insensitive,
/// Unicode), by name, at most `limit`; every lock for a query of no words.
///
/// The in-memory index finds the page's rowids in list order (see [`crate::search`]); only
/// those rows are read from SQLite, [`PAGE_CHUNK`] to a statement.
pub fn search_locks(db: &mut Db, query: &str, limit: u32) -> Result<Vec<Lock>, StoreError> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return list_locks(db);
    }
    let rowids = db.search_index()?.find(&words, limit as usize);
    let mut st = db.prepare_cached(&format!(
        "SELECT {LOCK_COLUMNS}, l.rowid FROM locks l WHERE l.rowid IN ({})",
        ["?"; PAGE_CHUNK].join(", ")
    ))?;
    let mut page: Vec<Option<Lock>> = Vec::new();
    page.resize_with(rowids.len(), || None);
    for (n, chunk) in rowids.chunks(PAGE_CHUNK).enumerate() {
        // The places a short last chunk leaves repeat a rowid: IN ignores repeats.
        let args = (0..PAGE_CHUNK).map(|i| chunk.get(i).unwrap_or(&chunk[0]));
        let mut rows = st.query(rusqlite::params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            let rowid: i64 = r.get(11)?;
            if let Some(i) = chunk.iter().position(|&x| x == rowid) {
                page[n * PAGE_CHUNK + i] = Some(lock_row(r)?);
            }
        }
    }
    Ok(page.into_iter().flatten().collect())
}

/// Number of cached locks.
pub fn lock_count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row("SELECT count(*) FROM locks", [], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

pub fn set_lock_name(conn: &Connection, id: Uuid, name: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE locks SET name = ?2 WHERE id = ?1",
        params![id.to_string(), name],
    )?;
    Ok(())
}

pub fn set_lock_mode(conn: &Connection, id: Uuid, mode: LockMode) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE locks SET mode = ?2 WHERE id = ?1",
        params![id.to_string(), mode.as_str()],
    )?;
    Ok(())
}

/// Stores one lock as the server returned it (inside the caller's transaction, if any).
pub fn upsert_lock(conn: &Connection, l: &Lock) -> Result<(), StoreError> {
    put_lock(conn, l)
}

const UPSERT_LOCK: &str = "INSERT INTO locks (id, name, unit_id, unit_name, property_id, \
     property_name, mode, battery, firmware, paired, identity_public_key)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, unit_id = excluded.unit_id,
        unit_name = excluded.unit_name, property_id = excluded.property_id,
        property_name = excluded.property_name, mode = excluded.mode,
        battery = excluded.battery, firmware = excluded.firmware,
        paired = excluded.paired, identity_public_key = excluded.identity_public_key";

fn put_lock(conn: &Connection, l: &Lock) -> Result<(), StoreError> {
    put_lock_with(&mut conn.prepare_cached(UPSERT_LOCK)?, l)
}

fn put_lock_with(up: &mut rusqlite::CachedStatement<'_>, l: &Lock) -> Result<(), StoreError> {
    // The ids as text without a heap allocation each (10,000 rows x 3 on a full sync).
    let (mut a, mut b, mut c) = (
        Uuid::encode_buffer(),
        Uuid::encode_buffer(),
        Uuid::encode_buffer(),
    );
    up.execute(params![
        &*l.id.hyphenated().encode_lower(&mut a),
        l.name,
        &*l.unit_id.hyphenated().encode_lower(&mut b),
        l.unit_name,
        &*l.property_id.hyphenated().encode_lower(&mut c),
        l.property_name,
        l.mode.as_str(),
        l.battery,
        l.firmware,
        l.paired,
        l.identity_public_key,
    ])?;
    Ok(())
}

pub fn upsert_access_code(conn: &Connection, c: &AccessCode) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO access_codes (id, lock_id, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET lock_id = excluded.lock_id, body = excluded.body",
        params![c.id.to_string(), c.lock_id.to_string(), to_json(c)?],
    )?;
    Ok(())
}

/// The access codes of one lock, oldest first.
pub fn access_codes(conn: &Connection, lock_id: Uuid) -> Result<Vec<AccessCode>, StoreError> {
    let mut st = conn.prepare_cached("SELECT body FROM access_codes WHERE lock_id = ?1")?;
    let mut codes = st
        .query_map([lock_id.to_string()], |r| r.get::<_, String>(0))?
        .map(|r| from_json::<AccessCode>(&r?))
        .collect::<Result<Vec<_>, _>>()?;
    codes.sort_by_key(|c| (c.created_at, c.id));
    Ok(codes)
}

/// The signed-in user's personal passcodes.
pub fn passcodes(conn: &Connection) -> Result<Vec<Passcode>, StoreError> {
    let mut st = conn.prepare_cached("SELECT body FROM passcodes")?;
    let mut out = st
        .query_map([], |r| r.get::<_, String>(0))?
        .map(|r| from_json::<Passcode>(&r?))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| a.lock_name.cmp(&b.lock_name));
    Ok(out)
}

/// Removes everything: cache, cursor, user and queue. Used at logout and on revocation.
pub fn wipe(conn: &Connection) -> Result<(), StoreError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        // `WHERE true`: row by row, so the search index hears of it (see `Store::open`).
        "DELETE FROM locks WHERE true; DELETE FROM access_codes; DELETE FROM passcodes;
         DELETE FROM meta; DELETE FROM queue;",
    )?;
    crate::ble::store::wipe(&tx)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use access_domain::{Access, App, UserStatus, UserType};

    pub(crate) fn me_fixture() -> Me {
        Me {
            id: Uuid::new_v4(),
            name: "Ann".into(),
            email: "ann@example.com".into(),
            user_type: UserType::TeamMember,
            status: UserStatus::Active,
            app: App::AccessManager,
            permissions: vec![],
            access: Access::AllLocks,
            is_admin: false,
            organization_id: Uuid::new_v4(),
        }
    }

    pub(crate) fn lock_fixture(name: &str, unit: &str, property: &str) -> Lock {
        Lock {
            id: Uuid::new_v4(),
            name: name.into(),
            unit_id: Uuid::new_v4(),
            unit_name: unit.into(),
            property_id: Uuid::new_v4(),
            property_name: property.into(),
            mode: LockMode::Vacant,
            battery: Some(90),
            firmware: None,
            paired: false,
            identity_public_key: None,
        }
    }

    pub(crate) fn sync_fixture(full: bool, locks: Vec<Lock>, cursor: &str) -> SyncResponse {
        SyncResponse {
            cursor: cursor.into(),
            full,
            me: me_fixture(),
            locks,
            removed_lock_ids: vec![],
            access_codes: vec![],
            passcodes: vec![],
        }
    }

    pub(crate) fn open_temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("cache.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn migrations_run_once_and_reopen_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        {
            let store = Store::open(&path).unwrap();
            let mut c = store.conn();
            assert_eq!(schema_version(&c).unwrap(), MIGRATIONS.len() as i64);
            let s = sync_fixture(true, vec![lock_fixture("Front", "4B", "Oak")], "c1");
            apply_sync(&mut c, &s, &mut |_| {}).unwrap();
            let mode: String = c
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
        }
        let store = Store::open(&path).unwrap();
        let c = store.conn();
        assert_eq!(lock_count(&c).unwrap(), 1);
        assert_eq!(cursor(&c).unwrap().as_deref(), Some("c1"));
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        drop(store);
        assert!(matches!(Store::open(&path), Err(StoreError::TooNew(99))));
    }

    #[test]
    fn full_sync_replaces_and_delta_merges() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let a = lock_fixture("Alpha", "1A", "Oak");
        let b = lock_fixture("Beta", "2B", "Oak");
        apply_sync(
            &mut c,
            &sync_fixture(true, vec![a.clone(), b.clone()], "1"),
            &mut |_| {},
        )
        .unwrap();
        let mut a2 = a.clone();
        a2.name = "Alpha Renamed".into();
        let mut delta = sync_fixture(false, vec![a2.clone()], "2");
        delta.removed_lock_ids = vec![b.id];
        let applied = apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
        assert_eq!((applied.locks_upserted, applied.locks_removed), (1, 1));
        assert_eq!(list_locks(&c).unwrap(), vec![a2.clone()]);
        assert_eq!(search_locks(&mut c, "renamed", 10).unwrap(), vec![a2]);
        assert!(search_locks(&mut c, "Beta", 10).unwrap().is_empty());
        let c3 = lock_fixture("Gamma", "3C", "Elm");
        apply_sync(
            &mut c,
            &sync_fixture(true, vec![c3.clone()], "3"),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(list_locks(&c).unwrap(), vec![c3]);
        assert_eq!(cursor(&c).unwrap().as_deref(), Some("3"));
    }

    #[test]
    fn search_matches_any_part_of_name_unit_or_property() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let locks = vec![
            lock_fixture("Front Door", "Unit 4B", "Oakwood Apartments"),
            lock_fixture("Garage", "Unit 12", "Maple Court"),
            lock_fixture("Pool Gate", "Common", "Oakwood Apartments"),
        ];
        apply_sync(&mut c, &sync_fixture(true, locks, "1"), &mut |_| {}).unwrap();
        let mut names = |q: &str| -> Vec<String> {
            search_locks(&mut c, q, 50)
                .unwrap()
                .into_iter()
                .map(|l| l.name)
                .collect()
        };
        assert_eq!(names("wood"), ["Front Door", "Pool Gate"]);
        assert_eq!(names("OAKWOOD gate"), ["Pool Gate"]);
        assert_eq!(names("4B"), ["Front Door"]);
        assert_eq!(names("aple"), ["Garage"]);
        assert_eq!(names("ron"), ["Front Door"]);
        assert!(names("zzz").is_empty());
        // Query syntax and LIKE wildcards are taken literally.
        assert!(names("\"OR*").is_empty());
        assert!(names("%").is_empty());
        assert!(names("a_").is_empty());
        assert_eq!(names("  ").len(), 3);
    }

    #[test]
    fn optimistic_edits_update_the_index_and_wipe_clears_all() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let a = lock_fixture("Alpha", "1A", "Oak");
        apply_sync(
            &mut c,
            &sync_fixture(true, vec![a.clone()], "1"),
            &mut |_| {},
        )
        .unwrap();
        set_lock_name(&c, a.id, "Lobby").unwrap();
        set_lock_mode(&c, a.id, LockMode::Tour).unwrap();
        let got = lock(&c, a.id).unwrap();
        assert_eq!((got.name.as_str(), got.mode), ("Lobby", LockMode::Tour));
        assert_eq!(search_locks(&mut c, "lobby", 5).unwrap().len(), 1);
        assert!(search_locks(&mut c, "alpha", 5).unwrap().is_empty());
        wipe(&c).unwrap();
        assert_eq!(lock_count(&c).unwrap(), 0);
        assert!(me(&c).unwrap().is_none());
        assert!(cursor(&c).unwrap().is_none());
        assert!(matches!(lock(&c, a.id), Err(StoreError::NotFound)));
        assert!(search_locks(&mut c, "lobby", 5).unwrap().is_empty());
    }

    /// The schema's triggers and anything of the old FTS5 index, by name.
    fn fts_leftovers(c: &Connection) -> Vec<String> {
        let mut st = c
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'trigger' OR name LIKE 'locks_fts%' \
                 ORDER BY name",
            )
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn names(c: &mut Db, q: &str) -> Vec<String> {
        search_locks(c, q, 1000)
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect()
    }

    /// What a search must answer, by brute force over every cached lock: each word (as the
    /// user typed it, lowercased) in one of the three parts, lowercased; in list order.
    fn brute_force(c: &Connection, q: &str, limit: usize) -> Vec<Uuid> {
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        let mut hits: Vec<Lock> = list_locks(c)
            .unwrap()
            .into_iter()
            .filter(|l| {
                let fields = [&l.name, &l.unit_name, &l.property_name].map(|f| f.to_lowercase());
                words
                    .iter()
                    .all(|w| fields.iter().any(|f| f.contains(w.as_str())))
            })
            .collect();
        hits.sort_by_key(|l| (l.name.to_ascii_lowercase(), l.id.to_string()));
        hits.into_iter().take(limit).map(|l| l.id).collect()
    }

    fn searched(c: &mut Db, q: &str, limit: usize) -> Vec<Uuid> {
        search_locks(c, q, limit as u32)
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect()
    }

    const QUERIES: [&str; 21] = [
        "door",
        "apartments",
        "DOOR 1",
        "oak",
        "lobby 7",
        "7c",
        "c",
        "9",
        "roof 71",
        "garage maple unit",
        "back door 70",
        "unit 3c birch",
        "zzz",
        "door zz",
        "ck d",
        "ÖLMÜHLE",
        "öl",
        "MÜH door",
        "TOR 1",
        "cellar",
        "annex 1",
    ];

    fn check_all_queries(c: &mut Db, when: &str) {
        for q in QUERIES {
            for limit in [1, 5, 50, 1000] {
                assert_eq!(
                    searched(c, q, limit),
                    brute_force(c, q, limit),
                    "{when}: {q:?} limit {limit}"
                );
            }
        }
    }

    fn many_locks(n: usize) -> Vec<Lock> {
        let places = ["Front", "back", "Garage", "Pool", "Lobby", "Roof"];
        let streets = ["Oakwood", "Maple", "Cedar", "Birch"];
        (0..n)
            .map(|i| {
                let place = if i % 50 == 0 {
                    "Ölmühle Tor"
                } else {
                    places[i % places.len()]
                };
                lock_fixture(
                    &format!("{place} Door {i}"),
                    &format!("Unit {}{}", i % 9 + 1, ["A", "B", "C"][i % 3]),
                    &format!("{} Apartments", streets[(i / 7) % streets.len()]),
                )
            })
            .collect()
    }

    #[test]
    fn search_answers_as_brute_force_does_after_every_kind_of_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite");
        let store = Store::open(&path).unwrap();
        let mut c = store.conn();
        let locks = many_locks(720);
        apply_sync(&mut c, &sync_fixture(true, locks.clone(), "1"), &mut |_| {}).unwrap();
        check_all_queries(&mut c, "after a full sync");
        assert_eq!(brute_force(&c, "door", 1000).len(), 720);
        assert_eq!(brute_force(&c, "ÖLMÜHLE", 1000).len(), 15);
        assert!(brute_force(&c, "roof 71", 1000).len() < 20);

        // A small delta (patched in): a rename, a new lock, a removal.
        let mut renamed = locks[7].clone();
        renamed.name = "Cellar Hatch".into();
        let mut delta = sync_fixture(false, vec![renamed, lock_fixture("Annex 1", "U", "E")], "2");
        delta.removed_lock_ids = vec![locks[8].id, locks[0].id];
        apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
        check_all_queries(&mut c, "after a small delta");
        assert_eq!(names(&mut c, "cellar"), ["Cellar Hatch"]);

        // A large delta (more rows than a patch takes: read again whole).
        let mut big: Vec<Lock> = locks[10..10 + 3 * PATCH_ROWS].to_vec();
        for (i, l) in big.iter_mut().enumerate() {
            l.unit_name = format!("Annex {i}");
        }
        let mut delta = sync_fixture(false, big, "3");
        delta.removed_lock_ids = vec![locks[9].id];
        apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
        check_all_queries(&mut c, "after a large delta");

        // Optimistic edits and the server's own lock, through the cache's functions.
        set_lock_name(&c, locks[11].id, "Door Cellar Two").unwrap();
        let mut l = locks[12].clone();
        l.property_name = "Cedar Annex".into();
        upsert_lock(&c, &l).unwrap();
        check_all_queries(&mut c, "after optimistic edits");

        // A write that went around the cache's functions, then a rolled-back one.
        c.execute(
            "UPDATE locks SET unit_name = 'Roof 71' WHERE id = ?1",
            [locks[13].id.to_string()],
        )
        .unwrap();
        {
            let tx = c.transaction().unwrap();
            set_lock_name(&tx, locks[14].id, "Ghost").unwrap();
            tx.execute(
                "DELETE FROM locks WHERE id = ?1",
                [locks[15].id.to_string()],
            )
            .unwrap();
        }
        check_all_queries(&mut c, "after a raw write and a rollback");
        assert!(names(&mut c, "ghost").is_empty());

        // Another connection (a second process) renames and removes.
        {
            let other = Store::open(&path).unwrap();
            let o = other.conn();
            set_lock_name(&o, locks[16].id, "Cellar Three").unwrap();
            o.execute(
                "DELETE FROM locks WHERE id = ?1",
                [locks[17].id.to_string()],
            )
            .unwrap();
        }
        check_all_queries(&mut c, "after another connection's writes");
        assert_eq!(names(&mut c, "cellar").len(), 3);

        // A reset: a full sync into the filled cache, then a wipe.
        let fresh = many_locks(60);
        apply_sync(&mut c, &sync_fixture(true, fresh, "4"), &mut |_| {}).unwrap();
        check_all_queries(&mut c, "after a full sync into a filled cache");
        assert!(names(&mut c, "cellar").is_empty());
        wipe(&c).unwrap();
        // The wipe deleted row by row, so the index heard of it: no stale rowid is left to
        // take a place on a page once new rows reuse the numbers.
        assert!(c.search_index().unwrap().is_empty());
        check_all_queries(&mut c, "after a wipe");
        assert!(names(&mut c, "door").is_empty());
    }

    #[test]
    fn a_reopened_cache_is_searchable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite");
        {
            let store = Store::open(&path).unwrap();
            let mut c = store.conn();
            apply_sync(
                &mut c,
                &sync_fixture(true, many_locks(200), "1"),
                &mut |_| {},
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let mut c = store.conn();
        check_all_queries(&mut c, "after reopening");
    }

    #[test]
    fn a_full_answer_holding_an_id_twice_is_searched_as_stored() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let a = lock_fixture("Alpha", "1", "Oak");
        let mut a2 = a.clone();
        a2.name = "Omega".into();
        let b = lock_fixture("Beta", "2", "Elm");
        let s = sync_fixture(true, vec![a, b, a2], "1");
        apply_sync(&mut c, &s, &mut |_| {}).unwrap();
        assert_eq!(names(&mut c, "a"), ["Beta", "Omega"]);
        assert!(names(&mut c, "alpha").is_empty());
    }

    #[test]
    fn a_cache_of_every_older_schema_upgrades_and_stays_searchable() {
        for from in 1..=3 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.sqlite");
            let old = lock_fixture("Front Door", "Unit 4B", "Oakwood Apartments");
            {
                let mut conn = Connection::open(&path).unwrap();
                let tx = conn.transaction().unwrap();
                for step in &MIGRATIONS[..from] {
                    match step {
                        Migration::Sql(sql) | Migration::Superseded(sql) => {
                            tx.execute_batch(sql).unwrap()
                        }
                        Migration::Code(_) => unreachable!("steps 1-3 are SQL"),
                    }
                }
                tx.execute(
                    "INSERT INTO locks (id, name, unit_id, unit_name, property_id, property_name, \
                     mode, battery, firmware, paired, identity_public_key) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'vacant', 90, NULL, 0, NULL)",
                    params![
                        old.id.to_string(),
                        old.name,
                        old.unit_id.to_string(),
                        old.unit_name,
                        old.property_id.to_string(),
                        old.property_name
                    ],
                )
                .unwrap();
                let pass = Passcode {
                    lock_id: old.id,
                    lock_name: old.name.clone(),
                    code: "123456".into(),
                    sync_state: access_domain::CodeSyncState::Pending,
                };
                tx.execute(
                    "INSERT INTO passcodes (lock_id, body) VALUES (?1, ?2)",
                    params![old.id.to_string(), to_json(&pass).unwrap()],
                )
                .unwrap();
                tx.pragma_update(None, "user_version", from as i64).unwrap();
                tx.commit().unwrap();
                assert!(!fts_leftovers(&conn).is_empty(), "schema {from} had FTS5");
            }
            let store = Store::open(&path).unwrap();
            let mut c = store.conn();
            assert_eq!(schema_version(&c).unwrap(), MIGRATIONS.len() as i64);
            assert!(fts_leftovers(&c).is_empty(), "from {from}");
            let kept = passcodes(&c).unwrap();
            assert_eq!(kept.len(), 1, "from {from}");
            assert_eq!(kept[0].lock_id, old.id);
            for q in ["oakwood", "4B", "ron", "front oak 4"] {
                assert_eq!(
                    search_locks(&mut c, q, 10).unwrap(),
                    vec![old.clone()],
                    "{q}"
                );
            }
            set_lock_name(&c, old.id, "Side Gate").unwrap();
            assert_eq!(names(&mut c, "gate"), ["Side Gate"]);
            assert!(names(&mut c, "front").is_empty());
            let mut delta = sync_fixture(false, vec![lock_fixture("Shed", "U", "Elm")], "2");
            delta.removed_lock_ids = vec![old.id];
            apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
            assert!(names(&mut c, "gate").is_empty());
            assert_eq!(names(&mut c, "shed"), ["Shed"]);
        }
    }

    /// The schema as `sqlite_schema` holds it, whitespace folded.
    fn schema(c: &Connection) -> Vec<(String, String, String)> {
        let mut st = c
            .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
            .unwrap();
        st.query_map([], |r| {
            let sql: Option<String> = r.get(2)?;
            let sql = sql.unwrap_or_default();
            Ok((
                r.get(0)?,
                r.get(1)?,
                sql.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn a_new_database_gets_the_schema_the_migrations_make() {
        let dir = tempfile::tempdir().unwrap();
        let stepped = dir.path().join("stepped.sqlite");
        {
            let mut conn = Connection::open(&stepped).unwrap();
            for step in MIGRATIONS {
                let tx = conn.transaction().unwrap();
                match step {
                    Migration::Sql(sql) | Migration::Superseded(sql) => {
                        tx.execute_batch(sql).unwrap()
                    }
                    Migration::Code(f) => f(&tx).unwrap(),
                }
                tx.commit().unwrap();
            }
        }
        let fresh = Store::open(&dir.path().join("fresh.sqlite")).unwrap();
        let stepped = Connection::open(&stepped).unwrap();
        assert_eq!(schema(&fresh.conn()), schema(&stepped));
        assert_eq!(
            schema_version(&fresh.conn()).unwrap(),
            MIGRATIONS.len() as i64
        );
        assert!(fts_leftovers(&fresh.conn()).is_empty());
    }

    #[test]
    fn the_fts_index_goes_even_where_sqlite_has_no_fts5() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.sqlite");
        let a = lock_fixture("Front Door", "Unit 4B", "Oak");
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            for step in &MIGRATIONS[..3] {
                if let Migration::Sql(sql) | Migration::Superseded(sql) = step {
                    tx.execute_batch(sql).unwrap();
                }
            }
            tx.pragma_update(None, "user_version", 3).unwrap();
            tx.commit().unwrap();
        }
        {
            // A connection without the FTS5 module, as on a build that leaves it out.
            let mut conn = Connection::open(&path).unwrap();
            // SAFETY: the handle is this open connection's; a null list drops every module.
            let rc =
                unsafe { rusqlite::ffi::sqlite3_drop_modules(conn.handle(), std::ptr::null_mut()) };
            assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
            let err = conn.execute_batch("DROP TABLE locks_fts").unwrap_err();
            assert!(err.to_string().contains("no such module"), "{err}");
            migrate(&mut conn).unwrap();
            assert_eq!(schema_version(&conn).unwrap(), MIGRATIONS.len() as i64);
            assert!(fts_leftovers(&conn).is_empty());
            let ok: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(ok, "ok");
        }
        let store = Store::open(&path).unwrap();
        let mut c = store.conn();
        assert!(fts_leftovers(&c).is_empty());
        apply_sync(
            &mut c,
            &sync_fixture(true, vec![a.clone()], "1"),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(search_locks(&mut c, "oak 4b", 5).unwrap(), vec![a]);
    }

    #[test]
    fn search_folds_unicode_case_and_keeps_the_parts_apart() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let locks = vec![
            lock_fixture("Ölmühle Tür", "ÄRGER 1", "Straße"),
            lock_fixture("Two\nLines", "Unit 2", "Elm"),
        ];
        apply_sync(&mut c, &sync_fixture(true, locks, "1"), &mut |_| {}).unwrap();
        assert_eq!(names(&mut c, "ÖLMÜHLE"), ["Ölmühle Tür"]);
        assert_eq!(names(&mut c, "tür"), ["Ölmühle Tür"]);
        assert_eq!(names(&mut c, "äR"), ["Ölmühle Tür"]);
        assert!(
            names(&mut c, "STRASSE").is_empty(),
            "folding is case only, not spelling"
        );
        assert_eq!(names(&mut c, "straße ärger"), ["Ölmühle Tür"]);
        assert_eq!(names(&mut c, "two lines"), ["Two\nLines"]);
        // A word never spans two parts (name / unit / property).
        assert!(names(&mut c, "türärger").is_empty());
        assert!(names(&mut c, "linesunit").is_empty());
        let two = search_locks(&mut c, "two", 1).unwrap()[0].id;
        set_lock_name(&c, two, "ÜBER").unwrap();
        assert_eq!(names(&mut c, "übe"), ["ÜBER"]);
        assert!(names(&mut c, "lines").is_empty());
    }

    #[test]
    fn a_failed_sync_leaves_the_cache_as_it_was() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let a = lock_fixture("Alpha", "1A", "Oak");
        apply_sync(
            &mut c,
            &sync_fixture(true, vec![a.clone()], "1"),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(search_locks(&mut c, "alpha", 5).unwrap(), vec![a.clone()]);
        // A trigger that fails halfway through the second sync.
        c.execute_batch(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON passcodes BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .unwrap();
        let mut s = sync_fixture(true, vec![lock_fixture("Beta", "2", "Elm")], "2");
        s.passcodes = vec![Passcode {
            lock_id: a.id,
            lock_name: "Alpha".into(),
            code: "1234".into(),
            sync_state: access_domain::CodeSyncState::Installed,
        }];
        assert!(apply_sync(&mut c, &s, &mut |_| {}).is_err());
        assert_eq!(list_locks(&c).unwrap(), vec![a.clone()]);
        assert_eq!(cursor(&c).unwrap().as_deref(), Some("1"));
        // The search index still describes the rows that are there.
        assert_eq!(search_locks(&mut c, "alpha", 5).unwrap(), vec![a.clone()]);
        assert!(search_locks(&mut c, "beta", 5).unwrap().is_empty());
        set_lock_name(&c, a.id, "Lobby").unwrap();
        assert_eq!(search_locks(&mut c, "lobby", 5).unwrap().len(), 1);
    }
}
