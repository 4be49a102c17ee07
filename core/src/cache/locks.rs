//! Locks, their access codes and the user's passcodes as the cache holds them.

use access_domain::LockMode;
use access_domain::api::{AccessCode, Lock, Passcode};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::{CacheError, Db, from_json, parse_uuid, to_json};

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
pub fn list_locks(conn: &Connection) -> Result<Vec<Lock>, CacheError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {LOCK_COLUMNS} FROM locks l ORDER BY l.name COLLATE NOCASE, l.id"
    ))?;
    let rows = st.query_map([], lock_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One cached lock.
pub fn lock(conn: &Connection, id: Uuid) -> Result<Lock, CacheError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {LOCK_COLUMNS} FROM locks l WHERE l.id = ?1"
    ))?;
    st.query_row([id.to_string()], lock_row)
        .optional()?
        .ok_or(CacheError::NotFound)
}

/// Rowids per statement when a search reads its page.
const PAGE_CHUNK: usize = 32;

/// Locks whose name, unit or property contains every word of `query` (case-insensitive,
/// Unicode), by name, at most `limit`; every lock for a query of no words.
///
/// The in-memory index finds the page's rowids in list order (see [`crate::search`]); only
/// those rows are read from SQLite, [`PAGE_CHUNK`] to a statement.
pub fn search_locks(db: &mut Db, query: &str, limit: u32) -> Result<Vec<Lock>, CacheError> {
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
pub fn lock_count(conn: &Connection) -> Result<u64, CacheError> {
    let n: i64 = conn.query_row("SELECT count(*) FROM locks", [], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

pub fn set_lock_name(conn: &Connection, id: Uuid, name: &str) -> Result<(), CacheError> {
    conn.execute(
        "UPDATE locks SET name = ?2 WHERE id = ?1",
        params![id.to_string(), name],
    )?;
    Ok(())
}

pub fn set_lock_mode(conn: &Connection, id: Uuid, mode: LockMode) -> Result<(), CacheError> {
    conn.execute(
        "UPDATE locks SET mode = ?2 WHERE id = ?1",
        params![id.to_string(), mode.as_str()],
    )?;
    Ok(())
}

/// Stores one lock as the server returned it (inside the caller's transaction, if any).
pub fn upsert_lock(conn: &Connection, l: &Lock) -> Result<(), CacheError> {
    put_lock(conn, l)
}

pub(super) const UPSERT_LOCK: &str =
    "INSERT INTO locks (id, name, unit_id, unit_name, property_id, \
     property_name, mode, battery, firmware, paired, identity_public_key)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, unit_id = excluded.unit_id,
        unit_name = excluded.unit_name, property_id = excluded.property_id,
        property_name = excluded.property_name, mode = excluded.mode,
        battery = excluded.battery, firmware = excluded.firmware,
        paired = excluded.paired, identity_public_key = excluded.identity_public_key";

pub(super) fn put_lock(conn: &Connection, l: &Lock) -> Result<(), CacheError> {
    put_lock_with(&mut conn.prepare_cached(UPSERT_LOCK)?, l)
}

pub(super) fn put_lock_with(
    up: &mut rusqlite::CachedStatement<'_>,
    l: &Lock,
) -> Result<(), CacheError> {
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

pub fn upsert_access_code(conn: &Connection, c: &AccessCode) -> Result<(), CacheError> {
    conn.execute(
        "INSERT INTO access_codes (id, lock_id, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET lock_id = excluded.lock_id, body = excluded.body",
        params![c.id.to_string(), c.lock_id.to_string(), to_json(c)?],
    )?;
    Ok(())
}

/// Marks a cached code revoked at `at` (unix seconds), as a revoke queued offline shows it
/// until the server's answer replaces the row. A code not cached is left alone.
pub fn set_code_revoked(conn: &Connection, id: Uuid, at: i64) -> Result<(), CacheError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM access_codes WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(body) = body else {
        return Ok(());
    };
    let mut code = from_json::<AccessCode>(&body)?;
    if code.revoked_at.is_none() {
        code.revoked_at = Some(
            time::OffsetDateTime::from_unix_timestamp(at)
                .map_err(|e| CacheError::Corrupt(e.to_string()))?,
        );
        upsert_access_code(conn, &code)?;
    }
    Ok(())
}

/// The access codes of one lock, oldest first.
pub fn access_codes(conn: &Connection, lock_id: Uuid) -> Result<Vec<AccessCode>, CacheError> {
    let mut st = conn.prepare_cached("SELECT body FROM access_codes WHERE lock_id = ?1")?;
    let mut codes = st
        .query_map([lock_id.to_string()], |r| r.get::<_, String>(0))?
        .map(|r| from_json::<AccessCode>(&r?))
        .collect::<Result<Vec<_>, _>>()?;
    codes.sort_by_key(|c| (c.created_at, c.id));
    Ok(codes)
}

/// The signed-in user's personal passcodes.
pub fn passcodes(conn: &Connection) -> Result<Vec<Passcode>, CacheError> {
    let mut st = conn.prepare_cached("SELECT body FROM passcodes")?;
    let mut out = st
        .query_map([], |r| r.get::<_, String>(0))?
        .map(|r| from_json::<Passcode>(&r?))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| a.lock_name.cmp(&b.lock_name));
    Ok(out)
}
