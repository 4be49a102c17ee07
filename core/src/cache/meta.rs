//! The signed-in user and the sync cursor.

use access_domain::api::Me;
use rusqlite::{Connection, OptionalExtension, params};

use super::CacheError;

pub(super) const ME: &str = "me";
pub(super) const CURSOR: &str = "cursor";

pub(super) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, CacheError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(super) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), CacheError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The signed-in user as last seen by the server.
pub fn me(conn: &Connection) -> Result<Option<Me>, CacheError> {
    get_meta(conn, ME)?
        .map(|s| {
            serde_json::from_slice(s.as_bytes()).map_err(|e| CacheError::Corrupt(e.to_string()))
        })
        .transpose()
}

pub fn set_me(conn: &Connection, me: &Me) -> Result<(), CacheError> {
    let json = serde_json::to_string(me).map_err(|e| CacheError::Corrupt(e.to_string()))?;
    set_meta(conn, ME, &json)
}

/// The sync cursor, `None` before the first sync or after a reset.
pub fn cursor(conn: &Connection) -> Result<Option<String>, CacheError> {
    get_meta(conn, CURSOR)
}

/// Forgets the cursor, so the next sync replaces the whole cache.
pub fn clear_cursor(conn: &Connection) -> Result<(), CacheError> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [CURSOR])?;
    Ok(())
}
