//! The connection and the lock search index kept beside it.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::Action;
use uuid::Uuid;

use super::{CacheError, schema};
use crate::search::{self, Index};

/// The most rows of `locks` that one search patches into the index after this connection
/// changed them; more and the index is read again whole (a few milliseconds).
pub(super) const PATCH_ROWS: usize = 64;

/// The database file behind a mutex: each call holds it briefly, on a blocking thread.
pub struct Store {
    db: Mutex<Db>,
}

/// The cache's connection and the search index kept beside it. Derefs to the connection.
pub struct Db {
    pub(super) conn: Connection,
    pub(super) search: Search,
}

/// The in-memory index and what tells whether it still matches the `locks` table.
pub(super) struct Search {
    /// `None` until the first search after opening (or after changes it cannot follow).
    pub(super) index: Option<Index>,
    /// `PRAGMA data_version` when the index was made: a commit by another connection (a
    /// second process on the same file) changes it.
    pub(super) version: i64,
    /// Rows of `locks` this connection wrote since, from SQLite's update hook: every write,
    /// whichever code made it, and also one rolled back (reading the row again is right then).
    pub(super) changed: Arc<Mutex<Changed>>,
}

#[derive(Debug, Default)]
pub(super) struct Changed {
    rowids: Vec<i64>,
    /// More than [`PATCH_ROWS`]: read the whole index again.
    many: bool,
}

pub(super) fn lock_changed(c: &Mutex<Changed>) -> MutexGuard<'_, Changed> {
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
    pub fn open(path: &Path) -> Result<Store, CacheError> {
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
        schema::migrate(&mut conn)?;
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
    pub fn search_index(&mut self) -> Result<&Index, CacheError> {
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
pub(super) fn data_version(conn: &Connection) -> Result<i64, CacheError> {
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

/// The searchable parts of the locks with `rowids` (all locks when `None`) from SQLite.
fn read_index_rows(
    conn: &Connection,
    rowids: Option<&[i64]>,
) -> Result<search::Builder, CacheError> {
    let mut b = Index::builder();
    let mut add = |r: &rusqlite::Row<'_>| -> Result<(), CacheError> {
        let part = |i| r.get_ref(i).and_then(|v| Ok(v.as_str()?));
        let id = Uuid::parse_str(part(1)?).map_err(|e| CacheError::Corrupt(e.to_string()))?;
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
