//! The offline cache: one SQLite file (WAL, one baseline schema) holding what the
//! signed-in user may see. Each sync is applied in one transaction. Lock search runs on an
//! in-memory index ([`crate::search`]) kept beside the connection: any part of a lock,
//! unit or property name matches, and SQLite only holds the rows.
//!
//! - [`db`]: the connection ([`Store`], [`Db`]) and the search index kept in step with it.
//! - [`schema`]: the tables and their version.
//! - [`meta`]: the signed-in user and the sync cursor; [`sync`]: a sync answer applied.
//! - [`locks`]: locks, access codes, passcodes; [`on_site`]: what on-site work with a lock
//!   keeps (credentials, counters, door updates, log entries waiting for upload).
//! - [`CacheError`], in [`error`]: what can fail here.

pub mod db;
pub mod error;
pub mod locks;
pub mod meta;
pub mod on_site;
pub mod schema;
pub mod sync;

use rusqlite::Connection;
use uuid::Uuid;

pub use db::{Db, Store};
pub use error::CacheError;
pub use locks::*;
pub use meta::*;
pub use schema::schema_version;
pub use sync::*;

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, CacheError> {
    serde_json::to_string(v).map_err(|e| CacheError::Corrupt(e.to_string()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, CacheError> {
    serde_json::from_slice(s.as_bytes()).map_err(|e| CacheError::Corrupt(e.to_string()))
}

pub(crate) fn parse_uuid(s: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Removes everything: cache, cursor, user and queue. Used at logout and on revocation.
pub fn wipe(conn: &Connection) -> Result<(), CacheError> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        // `WHERE true`: row by row, so the search index hears of it (see `Store::open`).
        "DELETE FROM locks WHERE true; DELETE FROM access_codes; DELETE FROM passcodes;
         DELETE FROM meta; DELETE FROM queue;",
    )?;
    on_site::wipe(&tx)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
