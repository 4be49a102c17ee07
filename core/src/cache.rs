//! The offline cache: one SQLite file (WAL, versioned migrations) holding what the signed-in
//! user may see. Each sync is applied in one transaction; lock search uses an FTS5 index
//! with the trigram tokenizer, so any part of a lock, unit or property name matches.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use access_domain::LockMode;
use access_domain::api::{AccessCode, Lock, Me, Passcode, SyncResponse};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

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

/// The schema, one entry per version; never edit a released entry, add one.
const MIGRATIONS: &[&str] = &[
    // 1: cache and queue.
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
    // 2: BLE credentials, devices, counters, revocations, lock logs (see `crate::ble`).
    include_str!("ble/schema.sql"),
    // 3: the search index without positions or column sizes: a third of the cost to build;
    // search checks each candidate row itself (see `search_locks`).
    r#"
    DROP TABLE locks_fts;
    CREATE VIRTUAL TABLE locks_fts USING fts5(
        name, unit_name, property_name,
        content='locks', content_rowid='rowid', tokenize='trigram', detail=none, columnsize=0
    );
    INSERT INTO locks_fts (locks_fts) VALUES ('rebuild');
    "#,
];

/// The triggers that keep `locks_fts` in step with `locks` one row at a time (as created by
/// migration 1). A large sync drops them, writes the rows and rebuilds the index once:
/// per-row trigram maintenance costs tens of microseconds a row, a rebuild of 10,000 rows
/// a few tens of milliseconds.
const FTS_TRIGGERS: &str = "
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
";

const DROP_FTS_TRIGGERS: &str =
    "DROP TRIGGER locks_ai; DROP TRIGGER locks_ad; DROP TRIGGER locks_au;";

/// From this many changed rows on, a delta sync also rebuilds the index instead of
/// maintaining it row by row (about where the two cost the same on 10,000 cached locks).
const BULK_ROWS: usize = 500;

/// The database file behind a mutex: each call holds it briefly, on a blocking thread.
pub struct Store {
    conn: Mutex<Connection>,
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
        // Searches prepare one statement per shape (pass x word count): keep them all.
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// The connection, for one short piece of work.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = MIGRATIONS.len() as i64;
    if version > latest {
        return Err(StoreError::TooNew(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Name, unit and property lowercased (Unicode, so "ÖL" finds "öl"), one per line, into
/// `text`: what a search word is looked for in. A word never holds a line break, so it cannot
/// match across two parts.
fn fold_into(text: &mut String, name: &str, unit: &str, property: &str) {
    text.clear();
    for (i, part) in [name, unit, property].into_iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let start = text.len();
        if part.is_ascii() {
            text.push_str(part);
            text[start..].make_ascii_lowercase();
        } else {
            text.extend(part.chars().flat_map(char::to_lowercase));
        }
        if text[start..].contains('\n') {
            // A line break inside a name becomes a space, so the three parts stay apart.
            let folded = text[start..].replace('\n', " ");
            text.truncate(start);
            text.push_str(&folded);
        }
    }
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
        .map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
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

/// Applies one sync answer in one transaction: all of it or none of it.
/// `on_row` is told how many rows are done, for progress bars.
///
/// A full sync (or a delta of [`BULK_ROWS`] rows or more) writes the rows with the index
/// triggers dropped and rebuilds the search index once at the end, in the same transaction,
/// so a failed sync leaves both the rows and the triggers as they were.
///
/// The commit is not flushed to disk (`synchronous=NORMAL` for this transaction): losing it
/// to a power cut only loses the new cursor with the rows, so the next sync fetches them
/// again; the queue's own commits stay `FULL`.
pub fn apply_sync(
    conn: &mut Connection,
    sync: &SyncResponse,
    on_row: &mut dyn FnMut(u64),
) -> Result<Applied, StoreError> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let result = (|| -> Result<Applied, StoreError> {
        let tx = conn.transaction()?;
        let applied = apply_sync_in(&tx, sync, on_row)?;
        tx.commit()?;
        Ok(applied)
    })();
    let restored = conn.pragma_update(None, "synchronous", "FULL");
    let applied = result?;
    restored?;
    Ok(applied)
}

fn apply_sync_in(
    tx: &Transaction<'_>,
    sync: &SyncResponse,
    on_row: &mut dyn FnMut(u64),
) -> Result<Applied, StoreError> {
    let mut applied = Applied {
        full: sync.full,
        ..Applied::default()
    };
    let bulk = sync.full || sync.locks.len() + sync.removed_lock_ids.len() >= BULK_ROWS;
    if bulk {
        tx.execute_batch(DROP_FTS_TRIGGERS)?;
    }
    if sync.full {
        tx.execute_batch("DELETE FROM locks; DELETE FROM access_codes; DELETE FROM passcodes;")?;
    }
    let mut done = 0u64;
    {
        let mut up = tx.prepare_cached(UPSERT_LOCK)?;
        for l in &sync.locks {
            put_lock_with(&mut up, l)?;
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
            applied.locks_removed += del.execute([id])? as u64;
            del_codes.execute([id])?;
            del_pass.execute([id])?;
        }
    }
    if bulk {
        tx.execute("INSERT INTO locks_fts (locks_fts) VALUES ('rebuild')", [])?;
        tx.execute_batch(FTS_TRIGGERS)?;
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
            up.execute(params![p.lock_id.to_string(), to_json(p)?])?;
            applied.passcodes += 1;
        }
    }
    set_me(tx, &sync.me)?;
    set_meta(tx, CURSOR, &sync.cursor)?;
    on_row(done);
    Ok(applied)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
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

/// How many rows per wanted result the first pass of a search reads in name order: a word
/// that most locks match ("door", "unit") fills the page within these rows, where the index
/// would have to find and sort every match (several ms for 10,000).
const PROBE_ROWS_PER_RESULT: u32 = 4;

/// Rows the first pass reads before it may judge that the words are too rare for it.
const PROBE_SAMPLE: usize = 64;

/// Locks whose name, unit or property contains every word of `query` (case-insensitive,
/// Unicode), by name, at most `limit`.
///
/// Three passes, each stopping when it has the answer: the first `4 x limit` locks in name
/// order (a common word fills the page there); then the trigram index, which narrows the
/// rows to those holding every three-character piece of the words of three characters or
/// more; and all locks in name order only when every word is shorter, which the index cannot
/// answer. Each pass checks every word against the row's folded text itself, so the index
/// only has to find candidates (it keeps no positions, which makes it cheap to build).
pub fn search_locks(conn: &Connection, query: &str, limit: u32) -> Result<Vec<Lock>, StoreError> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return list_locks(conn);
    }
    let by_name = "ORDER BY l.name COLLATE NOCASE, l.id";
    let mut found = Vec::new();
    let probe = limit.saturating_mul(PROBE_ROWS_PER_RESULT);
    let read = collect_matches(
        conn,
        &format!("SELECT {LOCK_COLUMNS} FROM locks l {by_name} LIMIT ?1"),
        &[probe.into()],
        &words,
        limit,
        Some(probe),
        &mut found,
    )?;
    if found.len() >= limit as usize || read.is_some_and(|n| n < probe as usize) {
        return Ok(found);
    }
    let mut trigrams: Vec<String> = Vec::new();
    for w in &words {
        let chars: Vec<char> = w.chars().collect();
        for t in chars.windows(3) {
            // Each piece is a quoted FTS5 string, so no query syntax leaks through.
            let piece: String = t.iter().collect();
            let quoted = format!("\"{}\"", piece.replace('"', "\"\""));
            if !trigrams.contains(&quoted) {
                trigrams.push(quoted);
            }
        }
    }
    found.clear();
    if trigrams.is_empty() {
        collect_matches(
            conn,
            &format!("SELECT {LOCK_COLUMNS} FROM locks l {by_name}"),
            &[],
            &words,
            limit,
            None,
            &mut found,
        )?;
    } else {
        found = index_matches(conn, &trigrams.join(" AND "), &words, limit)?;
    }
    Ok(found)
}

/// The index's candidates checked and ordered here, not in SQL: a common word makes
/// thousands of candidates, and SQLite would sort all of them, whole rows, before the check
/// kept a few. Only the first `limit` by name are read in full.
fn index_matches(
    conn: &Connection,
    fts: &str,
    words: &[String],
    limit: u32,
) -> Result<Vec<Lock>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT l.rowid, l.name, l.unit_name, l.property_name, l.id \
         FROM locks_fts f JOIN locks l ON l.rowid = f.rowid WHERE locks_fts MATCH ?1",
    )?;
    let mut rows = st.query([fts])?;
    let mut text = String::new();
    // (name with ASCII letters folded, id, rowid): SQLite's `COLLATE NOCASE, id` order.
    let mut hits: Vec<(Vec<u8>, String, i64)> = Vec::new();
    while let Some(r) = rows.next()? {
        let part = |i| r.get_ref(i).and_then(|v| Ok(v.as_str()?));
        fold_into(&mut text, part(1)?, part(2)?, part(3)?);
        if words.iter().all(|w| text.contains(w.as_str())) {
            let key = part(1)?.bytes().map(|c| c.to_ascii_lowercase()).collect();
            hits.push((key, r.get(4)?, r.get(0)?));
        }
    }
    let by_name = |a: &(Vec<u8>, String, i64), b: &(Vec<u8>, String, i64)| {
        a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1))
    };
    let keep = (limit as usize).min(hits.len());
    if keep < hits.len() {
        hits.select_nth_unstable_by(keep, by_name);
        hits.truncate(keep);
    }
    // The page in one statement (a JSON array of rowids), put in order by SQLite.
    let ids = format!(
        "[{}]",
        hits.iter()
            .map(|h| h.2.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut page = conn.prepare_cached(&format!(
        "SELECT {LOCK_COLUMNS} FROM locks l WHERE l.rowid IN (SELECT value FROM json_each(?1)) \
         ORDER BY l.name COLLATE NOCASE, l.id"
    ))?;
    let rows = page.query_map([ids], lock_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Reads the rows of `sql` (in name order) and keeps, up to `limit`, those whose folded
/// name, unit and property hold every word. Returns how many rows it read, or `None` when it
/// gave up: with `probe` rows to read, once the matches so far show that those rows would
/// hold fewer than half a page (a rare word; the index answers it better).
fn collect_matches(
    conn: &Connection,
    sql: &str,
    args: &[Value],
    words: &[String],
    limit: u32,
    probe: Option<u32>,
    found: &mut Vec<Lock>,
) -> Result<Option<usize>, StoreError> {
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query(rusqlite::params_from_iter(args))?;
    let mut text = String::new();
    let mut read = 0;
    while found.len() < limit as usize {
        let Some(r) = rows.next()? else { break };
        read += 1;
        let part = |i| r.get_ref(i).and_then(|v| Ok(v.as_str()?));
        fold_into(&mut text, part(1)?, part(3)?, part(5)?);
        if words.iter().all(|w| text.contains(w.as_str())) {
            found.push(lock_row(r)?);
        }
        if let Some(probe) = probe
            && read >= PROBE_SAMPLE
            && 2 * found.len() as u64 * u64::from(probe) < u64::from(limit) * read as u64
        {
            return Ok(None);
        }
    }
    Ok(Some(read))
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
        "DELETE FROM locks; DELETE FROM access_codes; DELETE FROM passcodes;
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
        assert_eq!(search_locks(&c, "renamed", 10).unwrap(), vec![a2]);
        assert!(search_locks(&c, "Beta", 10).unwrap().is_empty());
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
        let names = |q: &str| -> Vec<String> {
            search_locks(&c, q, 50)
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
        assert_eq!(search_locks(&c, "lobby", 5).unwrap().len(), 1);
        assert!(search_locks(&c, "alpha", 5).unwrap().is_empty());
        wipe(&c).unwrap();
        assert_eq!(lock_count(&c).unwrap(), 0);
        assert!(me(&c).unwrap().is_none());
        assert!(cursor(&c).unwrap().is_none());
        assert!(matches!(lock(&c, a.id), Err(StoreError::NotFound)));
        assert!(search_locks(&c, "lobby", 5).unwrap().is_empty());
    }

    fn trigger_sql(c: &Connection) -> Vec<String> {
        let mut st = c
            .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'locks' ORDER BY name")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn names(c: &Connection, q: &str) -> Vec<String> {
        search_locks(c, q, 1000)
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect()
    }

    #[test]
    fn bulk_syncs_rebuild_the_index_and_leave_the_triggers_for_deltas() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let migrated = trigger_sql(&c);
        assert_eq!(migrated.len(), 3);
        let many: Vec<Lock> = (0..BULK_ROWS + 10)
            .map(|i| lock_fixture(&format!("Door {i:04}"), "Unit 1", "Birch Court"))
            .collect();
        let applied =
            apply_sync(&mut c, &sync_fixture(true, many.clone(), "1"), &mut |_| {}).unwrap();
        assert_eq!(applied.locks_upserted as usize, many.len());
        assert_eq!(trigger_sql(&c), migrated);
        assert_eq!(names(&c, "door 0007"), ["Door 0007"]);
        assert_eq!(names(&c, "birch").len(), many.len());
        let sync_mode: i64 = c
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync_mode, 2, "FULL again after the sync");

        // A small delta goes through the triggers: renamed found, removed gone.
        let mut renamed = many[7].clone();
        renamed.name = "Cellar Hatch".into();
        let mut delta = sync_fixture(false, vec![renamed.clone()], "2");
        delta.removed_lock_ids = vec![many[8].id];
        apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
        assert_eq!(names(&c, "cellar"), ["Cellar Hatch"]);
        assert!(names(&c, "door 0007").is_empty());
        assert!(names(&c, "door 0008").is_empty());
        assert_eq!(names(&c, "birch").len(), many.len() - 1);

        // A large delta rebuilds: renames and removals among many rows.
        let mut big: Vec<Lock> = many[10..].to_vec();
        for l in &mut big {
            l.unit_name = "Annex".into();
        }
        big[0].name = "Boiler Room".into();
        let mut delta = sync_fixture(false, big.clone(), "3");
        delta.removed_lock_ids = vec![many[9].id, many[7].id];
        let applied = apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
        assert_eq!(
            (applied.locks_upserted as usize, applied.locks_removed),
            (big.len(), 2)
        );
        assert_eq!(trigger_sql(&c), migrated);
        assert!(names(&c, "cellar").is_empty());
        assert!(names(&c, "door 0009").is_empty());
        assert!(names(&c, "door 0010").is_empty());
        assert_eq!(names(&c, "boiler"), ["Boiler Room"]);
        assert_eq!(names(&c, "annex").len(), big.len());
        assert_eq!(
            names(&c, "unit 1").len(),
            7,
            "doors 0000-0006 kept their unit"
        );

        // After the rebuild the triggers work again, for an optimistic rename too.
        set_lock_name(&c, big[1].id, "Wine Store").unwrap();
        assert_eq!(names(&c, "wine"), ["Wine Store"]);
        assert!(names(&c, "door 0011").is_empty());

        // A reset: a full sync into a filled cache leaves only the new rows findable.
        let fresh = lock_fixture("Solo", "Unit 9", "Elm");
        apply_sync(&mut c, &sync_fixture(true, vec![fresh], "4"), &mut |_| {}).unwrap();
        assert_eq!(names(&c, "solo"), ["Solo"]);
        assert!(names(&c, "door").is_empty());
        assert!(names(&c, "birch").is_empty());
        assert!(names(&c, "wine").is_empty());
        let fts_rows: i64 = c
            .query_row(
                "SELECT count(*) FROM locks_fts WHERE locks_fts MATCH '\"sol\"'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(fts_rows, 1);
    }

    #[test]
    fn each_search_pass_returns_the_first_matches_by_name() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let places = ["Front", "back", "Garage", "Pool", "Lobby", "Roof"];
        let streets = ["Oakwood", "Maple", "Cedar", "Birch"];
        let locks: Vec<Lock> = (0..720)
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
            .collect();
        apply_sync(&mut c, &sync_fixture(true, locks.clone(), "1"), &mut |_| {}).unwrap();
        let expected = |q: &str, limit: usize| -> Vec<Uuid> {
            let words: Vec<String> = q.split_whitespace().map(|w| w.to_lowercase()).collect();
            let mut hits: Vec<&Lock> = locks
                .iter()
                .filter(|l| {
                    let fields =
                        [&l.name, &l.unit_name, &l.property_name].map(|f| f.to_lowercase());
                    words
                        .iter()
                        .all(|w| fields.iter().any(|f| f.contains(w.as_str())))
                })
                .collect();
            hits.sort_by_key(|l| (l.name.to_ascii_lowercase(), l.id.to_string()));
            hits.into_iter().take(limit).map(|l| l.id).collect()
        };
        let queries = [
            // dense (the first pass), sparse (the index), short only (the scan), mixed
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
        ];
        for q in queries {
            for limit in [1, 5, 50, 1000] {
                let got: Vec<Uuid> = search_locks(&c, q, limit as u32)
                    .unwrap()
                    .into_iter()
                    .map(|l| l.id)
                    .collect();
                assert_eq!(got, expected(q, limit), "{q:?} limit {limit}");
            }
        }
        assert_eq!(expected("door", 1000).len(), 720);
        assert_eq!(expected("ÖLMÜHLE", 1000).len(), 15);
        assert!(expected("roof 71", 1000).len() < 20);
    }

    #[test]
    fn a_cache_from_schema_2_is_searchable_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let old = lock_fixture("Front Door", "Unit 4B", "Oakwood Apartments");
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            tx.execute_batch(MIGRATIONS[0]).unwrap();
            tx.execute_batch(MIGRATIONS[1]).unwrap();
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
            tx.pragma_update(None, "user_version", 2).unwrap();
            tx.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let mut c = store.conn();
        assert_eq!(schema_version(&c).unwrap(), 3);
        assert_eq!(trigger_sql(&c).len(), 3);
        for q in ["oakwood", "4B", "ron", "front oak 4"] {
            assert_eq!(search_locks(&c, q, 10).unwrap(), vec![old.clone()], "{q}");
        }
        // Row-by-row maintenance works on the upgraded file.
        set_lock_name(&c, old.id, "Side Gate").unwrap();
        assert_eq!(names(&c, "gate"), ["Side Gate"]);
        assert!(names(&c, "front").is_empty());
        let mut delta = sync_fixture(false, vec![lock_fixture("Shed", "U", "Elm")], "2");
        delta.removed_lock_ids = vec![old.id];
        apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
        assert!(names(&c, "gate").is_empty());
        assert_eq!(names(&c, "shed"), ["Shed"]);
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
        assert_eq!(names(&c, "ÖLMÜHLE"), ["Ölmühle Tür"]);
        assert_eq!(names(&c, "tür"), ["Ölmühle Tür"]);
        assert_eq!(names(&c, "äR"), ["Ölmühle Tür"]);
        assert!(
            names(&c, "STRASSE").is_empty(),
            "folding is case only, not spelling"
        );
        assert_eq!(names(&c, "straße ärger"), ["Ölmühle Tür"]);
        assert_eq!(names(&c, "two lines"), ["Two\nLines"]);
        // A word never spans two parts (name / unit / property).
        assert!(names(&c, "türärger").is_empty());
        assert!(names(&c, "linesunit").is_empty());
        let two = search_locks(&c, "two", 1).unwrap()[0].id;
        set_lock_name(&c, two, "ÜBER").unwrap();
        assert_eq!(names(&c, "übe"), ["ÜBER"]);
        assert!(names(&c, "lines").is_empty());
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
        let triggers = trigger_sql(&c);
        assert!(apply_sync(&mut c, &s, &mut |_| {}).is_err());
        assert_eq!(list_locks(&c).unwrap(), vec![a.clone()]);
        assert_eq!(cursor(&c).unwrap().as_deref(), Some("1"));
        // The dropped triggers and the old index came back with the rollback.
        assert_eq!(trigger_sql(&c), triggers);
        assert_eq!(search_locks(&c, "alpha", 5).unwrap(), vec![a.clone()]);
        assert!(search_locks(&c, "beta", 5).unwrap().is_empty());
        set_lock_name(&c, a.id, "Lobby").unwrap();
        assert_eq!(search_locks(&c, "lobby", 5).unwrap().len(), 1);
    }
}
