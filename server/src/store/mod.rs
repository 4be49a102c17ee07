//! The one storage interface of the server, and its implementations.
//!
//! Every piece of shared state lives behind [`Store`]: users, sessions, login throttling,
//! idempotency keys, invitation tokens, SMS codes, the change log behind sync cursors, the
//! outbox and the audit log. Nothing is kept in one process's memory, so any number of
//! instances can answer any request once a shared backend (PostgreSQL) implements this trait.
//!
//! Where things are:
//! - [`traits`]: the interface, one trait per aggregate ([`OrgStore`], [`SessionStore`],
//!   [`UserStore`], [`InvitationStore`], [`LockStore`], [`CodeStore`], [`LogStore`],
//!   [`SyncStore`]); [`Store`] is their union, what the HTTP layer holds.
//! - [`records`]: the rows as plain structs.
//! - [`rules`]: the business rules the stores apply inside their transactions (passcodes,
//!   SMS code attempts, code generation, idempotency keys), once for every backend;
//!   [`user_list`] the Manage Access table's query.
//! - [`sqlite`] and [`postgres`]: SQL, transactions and locking, one file per trait with the
//!   same names on both. `rows` reads a row into a record the same way on both (each backend
//!   says only how it reads a column of each kind).
//! - `testing`: what tests may do besides the interface (`StoreTestExt::age_pending`), built
//!   only for tests (feature `test-support`).
//!
//! One suite of backend tests, `server/tests/store_suite`, runs each case on SQLite and, when
//! `ACCESS_TEST_DATABASE_URL` is set (`scripts/test server_postgres`), on PostgreSQL.
//!
//! Methods are synchronous and each runs as ONE transaction; the HTTP layer calls them on
//! tokio's blocking pool through [`Db::run`]. Handlers do validation, hashing, randomness and
//! authorization (`access_domain::authorize`); the store only reads and writes rows.
//!
//! # Sync cursor rule (every backend must keep it)
//! Each write that changes what a client caches appends rows to a change log with a
//! monotonic sequence number `seq`, in the same transaction as the change. A backend must
//! make `seq` order equal commit order: SQLite does so by construction (one writer at a time,
//! `BEGIN IMMEDIATE`); PostgreSQL must take a transaction-scoped lock
//! (`pg_advisory_xact_lock`) before inserting change rows, held until commit. Then a reader
//! that reads `MAX(seq)` and the data in one snapshot has seen every change up to that
//! `seq` and none after it, so the cursor it returns never skips a change committed later
//! with a smaller number and never repeats one: concurrent writers on several instances
//! cannot make a client miss or see twice a change.

pub mod postgres;
pub mod records;
mod rows;
pub mod rules;
pub mod session_cache;
pub mod sqlite;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod traits;
pub mod user_list;

use std::any::Any;
use std::sync::Arc;

use time::OffsetDateTime;

use thiserror::Error;

pub use records::*;
#[cfg(any(test, feature = "test-support"))]
pub use testing::StoreTestExt;
pub use traits::*;

/// What can go wrong in a store call.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another organization).
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule refused the write; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("database error: {0}")]
    Backend(String),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Backend(format!("i/o: {e}"))
    }
}

/// The conflict a change gets when it would leave the organization with nobody who can
/// manage lock access.
pub const LAST_MANAGER: &str =
    "This is the last user who can manage lock access: give the permission to someone else first.";

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The whole storage interface: every aggregate's trait. One implementation per database;
/// see the module docs. (`Any` lets test support reach the backend behind an
/// `Arc<dyn Store>`; see [`testing`].)
pub trait Store:
    OrgStore
    + SessionStore
    + UserStore
    + InvitationStore
    + LockStore
    + CodeStore
    + DoorStore
    + LogStore
    + SyncStore
    + Any
    + Send
    + Sync
{
    /// Which backend, e.g. `sqlite`.
    fn backend(&self) -> &'static str;

    /// Whether short indexed reads (the session lookup of every request) may run right on
    /// the async worker: true for an embedded database whose readers never wait (SQLite in
    /// WAL mode), false for a networked one.
    fn inline_reads(&self) -> bool {
        false
    }

    /// The figures `/metrics` reports, read in one snapshot.
    fn gauges(&self, now: OffsetDateTime) -> StoreResult<Gauges>;
}

/// The store as the async HTTP layer uses it.
///
/// Calls run on tokio's blocking pool; a semaphore bounds how many run at once, so a burst
/// of requests queues here instead of opening connections or threads beyond what the
/// database can use.
#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Store>,
    permits: Arc<tokio::sync::Semaphore>,
}

/// Store calls in flight at once.
const MAX_CONCURRENT_CALLS: usize = 16;

impl Db {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Db {
        Db {
            store,
            permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CALLS)),
        }
    }

    /// The wrapped store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs a short indexed read: inline when the store allows it (see
    /// [`Store::inline_reads`]), which saves two thread hand-offs on every request;
    /// otherwise like [`Db::run`].
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        if self.store.inline_reads() {
            f(self.store.as_ref())
        } else {
            self.run(f).await
        }
    }

    /// Runs `f` inline when the store reads inline and the caller found the call `quick`
    /// right now; otherwise on the blocking pool, like [`Db::run`].
    pub async fn read_when<T, F>(&self, quick: bool, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        if quick && self.store.inline_reads() {
            f(self.store.as_ref())
        } else {
            self.run(f).await
        }
    }

    /// Runs one store call on tokio's blocking pool.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Backend("store closed".into()))?;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }
}
