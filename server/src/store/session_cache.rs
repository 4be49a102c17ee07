//! The SQLite store's memory of signed-in users, and the database generation that keeps it
//! exact.
//!
//! Every authenticated request needs the user behind its session. Reading it from SQLite
//! costs a read transaction (two `fcntl` calls on the WAL index) and a row decode: more than
//! half of what `GET /api/v1/me` costs the server. [`SessionCache`] answers instead, but only
//! with what was read while the database has not changed since: an answer is kept with the
//! [`Generation`] it was read at, and any committed write, from this process or from another
//! instance on the same file, moves the generation. So a revoke, a permission change or a
//! new scope applies to the very next request, exactly as when every request read the table.
//!
//! The generation is a counter in a small memory-mapped file beside the database (SQLite
//! shares its WAL index between processes the same way). Each write moves it twice: to an
//! odd value before the transaction and to the next even one after it, under a file lock
//! that writers of every process take. While it is odd nothing is served from the cache or
//! put into it, so a process killed in the middle of a write leaves caching off, never a
//! stale answer, until the next write ends.
//!
//! ```
//! # use access_server::store::session_cache::Generation;
//! let dir = tempfile::tempdir().unwrap();
//! let generation = Generation::open(&dir.path().join("access.db-generation")).unwrap();
//! let before = generation.current();
//! generation.write(|| Ok::<_, std::io::Error>(())).unwrap();
//! assert_ne!(generation.current(), before);
//! ```

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::Hash;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::UserRecord;

/// Users remembered at most; a full cache starts over (one sign-in per session refills it).
const MAX_ENTRIES: usize = 10_000;

/// How long a writer waits for another process's write, like the connections' busy timeout.
const WRITER_WAIT: Duration = Duration::from_secs(10);

/// The database's write counter, shared by every process that opens the same file.
pub struct Generation {
    /// The counter's file: mapped for the counter, locked by writers.
    file: File,
    map: memmap2::MmapMut,
    /// A file lock is held per open file, not per thread: this process's writers queue here.
    local: Mutex<()>,
}

impl Generation {
    /// Opens (creating if needed) the counter file at `path`.
    pub fn open(path: &Path) -> std::io::Result<Generation> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        // Two processes may create it at once; growing to 8 bytes twice is harmless, and a
        // new file's zero is an even, settled generation.
        if file.metadata()?.len() < 8 {
            file.set_len(8)?;
        }
        // SAFETY: the mapping lives as long as `self`; the file is never shrunk (only this
        // module opens it, and only ever grows it to 8 bytes), and every process touches
        // those bytes only as one atomic u64.
        let map = unsafe { memmap2::MmapOptions::new().len(8).map_mut(&file)? };
        Ok(Generation {
            file,
            map,
            local: Mutex::new(()),
        })
    }

    fn counter(&self) -> &AtomicU64 {
        // SAFETY: the mapping is at least 8 bytes and page-aligned, so suitably aligned for
        // an AtomicU64, and lives as long as `&self`.
        unsafe { &*(self.map.as_ptr() as *const AtomicU64) }
    }

    /// The current generation: odd while some process is writing.
    pub fn current(&self) -> u64 {
        self.counter().load(Ordering::SeqCst)
    }

    /// Takes the writers' file lock, waiting as long as SQLite's busy timeout would: a
    /// stopped process that holds it must not hang this one's writers for ever.
    fn lock_file(&self) -> std::io::Result<()> {
        let deadline = Instant::now() + WRITER_WAIT;
        loop {
            match self.file.try_lock() {
                Ok(()) => return Ok(()),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "another process has held the database's write lock for 10 s",
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }

    /// Runs the write `f` (one committed transaction), moving the generation around it.
    ///
    /// Writers of all processes take the file lock here, so the odd/even steps of two
    /// writes never interleave.
    pub fn write<T, E: From<std::io::Error>>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        // The guard protects no data, so a poisoned lock is as good as a free one.
        let _local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        self.lock_file()?;
        let counter = self.counter();
        let at = counter.load(Ordering::SeqCst);
        // Odd already means a writer died mid-write: step to a new odd value.
        counter.store(if writing(at) { at + 2 } else { at + 1 }, Ordering::SeqCst);
        // Even when `f` fails or panics: a rolled-back write changed nothing, and moving on
        // to even turns caching back on.
        struct Settle<'a>(&'a Generation);
        impl Drop for Settle<'_> {
            fn drop(&mut self) {
                self.0.counter().fetch_add(1, Ordering::SeqCst);
                let _ = self.0.file.unlock();
            }
        }
        let _settle = Settle(self);
        f()
    }
}

/// Whether `generation` says a write is in progress (or its writer died in it).
fn writing(generation: u64) -> bool {
    !generation.is_multiple_of(2)
}

/// Answers remembered by key, each valid at one [`Generation`]: an answer is kept only if no
/// write began or ended while it was read, and served only while the generation is still
/// the one it was read at. What the session lookup and the users table's totals share.
///
/// ```
/// # use access_server::store::session_cache::{Generation, Memo};
/// let dir = tempfile::tempdir().unwrap();
/// let db = Generation::open(&dir.path().join("gen")).unwrap();
/// let memo = Memo::new(100);
/// let count = || Ok::<_, std::io::Error>(7);
/// assert_eq!(memo.get_or_read(&db, "all users", count).unwrap(), 7);
/// assert_eq!(memo.get(&"all users", db.current()), Some(7));
/// db.write(|| Ok::<_, std::io::Error>(())).unwrap();
/// assert_eq!(memo.get(&"all users", db.current()), None);
/// ```
pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, (V, u64)>>,
    /// Entries at most; a full memo starts over.
    max: usize,
    /// Held while [`Memo::get_or_read`] reads: callers that miss together wait for the
    /// first one's answer instead of each reading it again (a page's first visitors).
    reading: Mutex<()>,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// An empty memo of at most `max` answers.
    pub fn new(max: usize) -> Memo<K, V> {
        Memo {
            entries: Mutex::new(HashMap::new()),
            max,
            reading: Mutex::new(()),
        }
    }

    /// The answer for `key` if it was read at `generation` (never while a write is on).
    pub fn get(&self, key: &K, generation: u64) -> Option<V> {
        if writing(generation) {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| *at == generation)
            .map(|(v, _)| v.clone())
    }

    /// Remembers `value`, read when the generation was `read_at`; kept only if the
    /// generation is still `read_at` now (no write began or ended during the read).
    pub fn put(&self, key: K, value: V, read_at: u64, now_generation: u64) {
        if writing(read_at) || now_generation != read_at {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max {
            entries.clear();
        }
        entries.insert(key, (value, read_at));
    }

    /// The answer for `key`: remembered at the current generation of `db`, or what `read`
    /// finds (then remembered).
    pub fn get_or_read<E>(
        &self,
        db: &Generation,
        key: K,
        read: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        // Taken before reading: a write that begins after it moves the generation.
        let read_at = db.current();
        if let Some(v) = self.get(&key, read_at) {
            return Ok(v);
        }
        let _one = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        let read_at = db.current();
        if let Some(v) = self.get(&key, read_at) {
            return Ok(v);
        }
        let v = read()?;
        self.put(key, v.clone(), read_at, db.current());
        Ok(v)
    }
}

/// The session lookup's answers by token hash: the user and the session's `expires_at`
/// (unix seconds), each valid at one [`Generation`]. Requests share the remembered record:
/// one read serves every request of the session until the next write.
pub struct SessionCache {
    entries: Memo<[u8; 32], (Arc<UserRecord>, i64)>,
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache {
            entries: Memo::new(MAX_ENTRIES),
        }
    }
}

impl SessionCache {
    /// The user of the session `token_hash` at `now` (unix seconds): remembered, if read at
    /// the current generation of `db` and the session is still live; otherwise what `read`
    /// finds (the user and the session's `expires_at`), remembered if no write began or
    /// ended while it read.
    pub fn user<E>(
        &self,
        db: &Generation,
        token_hash: &[u8; 32],
        now: i64,
        read: impl FnOnce() -> Result<Option<(Arc<UserRecord>, i64)>, E>,
    ) -> Result<Option<Arc<UserRecord>>, E> {
        // Taken before reading: a write that begins after it moves the generation.
        let read_at = db.current();
        if let Some(user) = self.get(token_hash, now, read_at) {
            return Ok(Some(user));
        }
        let found = read()?;
        Ok(found.map(|(user, expires_at)| {
            self.put(*token_hash, &user, expires_at, read_at, db.current());
            user
        }))
    }

    /// The user of the session `token_hash` at generation `generation`, if remembered from
    /// that same generation and the session is live at `now` (unix seconds).
    fn get(&self, token_hash: &[u8; 32], now: i64, generation: u64) -> Option<Arc<UserRecord>> {
        self.entries
            .get(token_hash, generation)
            .filter(|(_, expires_at)| now < *expires_at)
            .map(|(user, _)| user)
    }

    /// Remembers `user`, read from the database when the generation was `read_at`.
    fn put(
        &self,
        token_hash: [u8; 32],
        user: &Arc<UserRecord>,
        expires_at: i64,
        read_at: u64,
        now_generation: u64,
    ) {
        self.entries.put(
            token_hash,
            (Arc::clone(user), expires_at),
            read_at,
            now_generation,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_that_miss_together_read_once() {
        let memo: Memo<&str, u64> = Memo::new(10);
        let dir = tempfile::tempdir().unwrap();
        let db = Generation::open(&dir.path().join("gen")).unwrap();
        let reads = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let v = memo.get_or_read(&db, "total", || {
                        reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        Ok::<_, ()>(42)
                    });
                    assert_eq!(v, Ok(42));
                });
            }
        });
        assert_eq!(reads.into_inner(), 1);
    }
    use access_domain::{Access, UserStatus, UserType};
    use time::OffsetDateTime;
    use uuid::Uuid;

    fn user() -> Arc<UserRecord> {
        Arc::new(UserRecord {
            id: Uuid::new_v4(),
            org_id: Uuid::new_v4(),
            user_type: UserType::TeamMember,
            status: UserStatus::Active,
            name: Some("Ana".into()),
            username: None,
            invited_email: Some("ana@example.test".into()),
            registered_email: None,
            phone: None,
            permissions: vec![],
            access: Access::AllLocks,
            invited_by: None,
            invited_at: OffsetDateTime::UNIX_EPOCH,
            invitation_expires_at: None,
            period: Default::default(),
        })
    }

    fn generation() -> (tempfile::TempDir, Generation) {
        let dir = tempfile::tempdir().unwrap();
        let g = Generation::open(&dir.path().join("gen")).unwrap();
        (dir, g)
    }

    #[test]
    fn an_answer_is_served_only_at_the_generation_it_was_read_at() {
        let (_dir, g) = generation();
        let cache = SessionCache::default();
        let at = g.current();
        cache.put([1; 32], &user(), 100, at, g.current());
        assert!(cache.get(&[1; 32], 99, g.current()).is_some());
        assert!(cache.get(&[2; 32], 99, g.current()).is_none());
        g.write(|| Ok::<_, std::io::Error>(())).unwrap();
        assert!(cache.get(&[1; 32], 99, g.current()).is_none());
    }

    #[test]
    fn the_database_is_read_only_when_memory_cannot_answer() {
        let (_dir, g) = generation();
        let cache = SessionCache::default();
        let reads = std::cell::Cell::new(0);
        let read = || {
            reads.set(reads.get() + 1);
            Ok::<_, std::io::Error>(Some((user(), 100)))
        };
        assert!(cache.user(&g, &[1; 32], 50, read).unwrap().is_some());
        assert!(cache.user(&g, &[1; 32], 50, read).unwrap().is_some());
        assert_eq!(reads.get(), 1);
        g.write(|| Ok::<_, std::io::Error>(())).unwrap();
        assert!(cache.user(&g, &[1; 32], 50, read).unwrap().is_some());
        assert_eq!(reads.get(), 2);
        // No session: nothing remembered, every lookup reads.
        let none = || Ok::<_, std::io::Error>(None);
        assert!(cache.user(&g, &[2; 32], 50, none).unwrap().is_none());
        assert!(cache.get(&[2; 32], 50, g.current()).is_none());
    }

    #[test]
    fn an_expired_session_is_not_served() {
        let (_dir, g) = generation();
        let cache = SessionCache::default();
        cache.put([1; 32], &user(), 100, g.current(), g.current());
        assert!(cache.get(&[1; 32], 100, g.current()).is_none());
    }

    #[test]
    fn an_answer_read_while_a_write_began_is_not_kept() {
        let (_dir, g) = generation();
        let cache = SessionCache::default();
        let at = g.current();
        g.write(|| Ok::<_, std::io::Error>(())).unwrap();
        cache.put([1; 32], &user(), 100, at, g.current());
        assert!(cache.get(&[1; 32], 0, at).is_none());
        assert!(cache.get(&[1; 32], 0, g.current()).is_none());
    }

    #[test]
    fn nothing_is_cached_or_served_during_a_write_nor_after_a_writer_died_in_one() {
        let (dir, g) = generation();
        let cache = SessionCache::default();
        let settled = g.current();
        cache.put([1; 32], &user(), 100, settled, settled);
        // A write in progress: the generation is odd, the answer from before is not served.
        g.write(|| {
            let during = g.current();
            assert!(writing(during));
            assert!(cache.get(&[1; 32], 0, during).is_none());
            cache.put([2; 32], &user(), 100, during, during);
            assert!(cache.get(&[2; 32], 0, during).is_none());
            Ok::<_, std::io::Error>(())
        })
        .unwrap();
        // A writer that dies mid-write (its process killed) leaves the counter odd in the
        // file: every opener sees caching off until the next write ends.
        let counter = g.counter();
        counter.fetch_add(1, Ordering::SeqCst);
        let other = Generation::open(&dir.path().join("gen")).unwrap();
        let stuck = other.current();
        assert!(writing(stuck));
        cache.put([3; 32], &user(), 100, stuck, stuck);
        assert!(cache.get(&[3; 32], 0, stuck).is_none());
        other.write(|| Ok::<_, std::io::Error>(())).unwrap();
        assert!(!writing(g.current()));
        assert!(g.current() > stuck);
    }

    #[test]
    fn a_failed_write_still_settles_the_generation() {
        let (_dir, g) = generation();
        let before = g.current();
        let r: Result<(), std::io::Error> = g.write(|| Err(std::io::Error::other("rolled back")));
        assert!(r.is_err());
        assert!(!writing(g.current()));
        assert!(g.current() > before);
    }

    #[test]
    fn two_openers_of_one_file_see_each_others_writes() {
        let (dir, a) = generation();
        let b = Generation::open(&dir.path().join("gen")).unwrap();
        let before = b.current();
        a.write(|| Ok::<_, std::io::Error>(())).unwrap();
        assert_ne!(b.current(), before);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let (_dir, g) = generation();
        let cache = SessionCache::default();
        let at = g.current();
        for i in 0..=MAX_ENTRIES {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put(key, &user(), 100, at, at);
        }
        assert!(cache.entries.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
