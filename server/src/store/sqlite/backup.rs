//! Online backup and restore of the SQLite store.
//!
//! A backup is `VACUUM INTO` on a read connection: one read transaction, so the copy is the
//! database as of one commit, while the server goes on writing (WAL: readers never block the
//! writer). The copy is written beside the destination, checked and renamed into place, so
//! a crash never leaves a half-written file under the destination's name.
//!
//! A restore checks the file (SQLite's integrity check, and a schema this server knows) and
//! puts it in place as the data directory's database; it refuses a directory that already
//! holds one, so a live database is never overwritten.
//!
//! ```no_run
//! use access_server::store::sqlite::backup;
//! # fn demo() -> Result<(), access_server::store::StoreError> {
//! let copy = backup::backup(std::path::Path::new("./data"), "nightly.db".as_ref(), |_, _| {})?;
//! println!("{} bytes at schema version {}", copy.bytes, copy.schema_version);
//! backup::restore("nightly.db".as_ref(), "./restored".as_ref())?;
//! # Ok(()) }
//! ```

// Maintenance on a connection of its own, a statement or two once: nothing to cache.
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{DB_FILE, known_schema_version};
use crate::store::{StoreError, StoreResult, rules};

/// What a backup or restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
}

/// Copies the database of `data_dir` to `dest` while the server may be writing to it.
/// `progress(done, total)` is called with bytes written so far against the live database's
/// size (an estimate: the copy is compacted) about five times a second.
pub fn backup(
    data_dir: &Path,
    dest: &Path,
    progress: impl Fn(u64, u64) + Sync,
) -> StoreResult<Copied> {
    let source = data_dir.join(DB_FILE);
    if !source.is_file() {
        return Err(failed(format!("no database at {}", source.display())));
    }
    if dest.exists() {
        return Err(failed(format!(
            "{} exists; choose a new name so no backup is overwritten",
            dest.display()
        )));
    }
    let partial = partial_path(dest);
    let _ = fs::remove_file(&partial);
    let conn = Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let total: i64 = conn.query_row(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        [],
        |r| r.get(0),
    )?;
    let done = AtomicBool::new(false);
    let vacuum = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let written = fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
                progress(written, total as u64);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let out = conn.execute("VACUUM INTO ?1", [partial.to_string_lossy()]);
        done.store(true, Ordering::Relaxed);
        out
    });
    if let Err(e) = vacuum {
        let _ = fs::remove_file(&partial);
        return Err(e.into());
    }
    let schema_version = match check(&partial) {
        Ok(v) => v,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    fs::File::open(&partial)?.sync_all()?;
    fs::rename(&partial, dest)?;
    let bytes = fs::metadata(dest)?.len();
    progress(bytes, bytes);
    Ok(Copied {
        path: dest.to_path_buf(),
        bytes,
        schema_version,
    })
}

/// Puts the backup `src` in place as the database of `data_dir` (created if needed). The
/// server must not be running on `data_dir`; a directory that already holds a database is
/// refused.
pub fn restore(src: &Path, data_dir: &Path) -> StoreResult<Copied> {
    if !src.is_file() {
        return Err(failed(format!("no backup at {}", src.display())));
    }
    let schema_version = check(src)?;
    fs::create_dir_all(data_dir)?;
    let dest = data_dir.join(DB_FILE);
    if dest.exists() {
        return Err(failed(format!(
            "{} already holds a database; restore into a new directory, or stop the server \
             and move the old one away first",
            data_dir.display()
        )));
    }
    let partial = partial_path(&dest);
    fs::copy(src, &partial)?;
    fs::File::open(&partial)?.sync_all()?;
    fs::rename(&partial, &dest)?;
    // A journal left by another database would be replayed into this one.
    for stale in ["-wal", "-shm"] {
        let _ = fs::remove_file(data_dir.join(format!("{DB_FILE}{stale}")));
    }
    Ok(Copied {
        bytes: fs::metadata(&dest)?.len(),
        path: dest,
        schema_version,
    })
}

/// The schema version of a database file, after SQLite's integrity check; refuses a schema
/// newer than this server knows.
fn check(path: &Path) -> StoreResult<i64> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| failed(format!("{} is not a database: {e}", path.display())))?;
    if integrity != "ok" {
        return Err(failed(format!(
            "{} is damaged: {integrity}",
            path.display()
        )));
    }
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .map_err(|_| {
            failed(format!(
                "{} is not an access-server database",
                path.display()
            ))
        })?;
    rules::ensure_schema_known(version, known_schema_version())?;
    Ok(version)
}

fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

fn failed(message: String) -> StoreError {
    StoreError::Backend(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn a_backup_restores_and_neither_overwrites_anything() {
        let live = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(live.path()).unwrap());
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("b.db");
        let copy = backup(live.path(), &dest, |_, _| {}).unwrap();
        assert_eq!(copy.schema_version, known_schema_version());
        assert!(!partial_path(&dest).exists());
        let again = backup(live.path(), &dest, |_, _| {}).unwrap_err();
        assert!(again.to_string().contains("exists"), "{again}");

        let fresh = out.path().join("fresh");
        restore(&dest, &fresh).unwrap();
        SqliteStore::open(&fresh).unwrap();
        let twice = restore(&dest, &fresh).unwrap_err();
        assert!(twice.to_string().contains("already holds"), "{twice}");
    }

    #[test]
    fn a_newer_schema_or_a_file_of_another_kind_is_refused() {
        let live = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(live.path()).unwrap());
        let newer = live.path().join(DB_FILE);
        Connection::open(&newer)
            .unwrap()
            .execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
                [],
            )
            .unwrap();
        let err = restore(&newer, &live.path().join("r"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema version 999"), "{err}");
        let err = SqliteStore::open(live.path()).err().unwrap().to_string();
        assert!(err.contains("schema version 999"), "{err}");

        let junk = live.path().join("junk.db");
        fs::write(&junk, b"not a database at all").unwrap();
        let err = restore(&junk, &live.path().join("r2"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a database"), "{err}");
    }
}
