//! A sync answer written into the cache in one transaction.

use access_domain::api::SyncResponse;
use rusqlite::{Transaction, params};
use uuid::Uuid;

use super::db::{Changed, data_version, lock_changed};
use super::locks::{UPSERT_LOCK, put_lock_with};
use super::meta::{CURSOR, set_me, set_meta};
use super::{CacheError, Db, to_json};
use crate::search::{self, Index};

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
) -> Result<Applied, CacheError> {
    let Db { conn, search } = db;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Room for all pages a large sync dirties (10,000 locks with their passcodes: ~6 MB):
    // with the default 2 MB SQLite spills pages to the WAL mid-transaction and reads them
    // back. Given back after the sync.
    conn.pragma_update(None, "cache_size", SYNC_CACHE_KIB)?;
    let result = (|| -> Result<_, CacheError> {
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
) -> Result<(Applied, Option<Index>), CacheError> {
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
