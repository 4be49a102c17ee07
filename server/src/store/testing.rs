//! Test support: writes that no request can make, for tests that need a state only time
//! would reach (an expired invitation or SMS code). Built for this crate's own tests and,
//! with the `test-support` feature, for `server/tests` (the crate's dev-dependency on
//! itself turns it on); never in the server binary.
//!
//! ```
//! # #[cfg(feature = "test-support")] {
//! use access_server::store::{Store, StoreTestExt, sqlite::SqliteStore};
//! let dir = tempfile::tempdir().unwrap();
//! let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(SqliteStore::open(dir.path()).unwrap());
//! // No such user: nothing to age, and no error.
//! store.age_pending(uuid::Uuid::nil(), 60).unwrap();
//! # }
//! ```

use std::any::Any;

use uuid::Uuid;

use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::{Store, StoreError, StoreResult};

/// What tests may do to a store besides its [`Store`] methods.
pub trait StoreTestExt {
    /// Moves the user's current invitation, pending SMS codes and password resets `seconds`
    /// into the past,
    /// so tests can see expiry without waiting.
    fn age_pending(&self, user_id: Uuid, seconds: i64) -> StoreResult<()>;
}

/// The store a server runs on, as tests get it (`RunningServer::store`).
impl StoreTestExt for dyn Store {
    fn age_pending(&self, user_id: Uuid, seconds: i64) -> StoreResult<()> {
        backend(self)?.age_pending(user_id, seconds)
    }
}

/// The backend behind `store`, with its test support.
fn backend(store: &dyn Store) -> StoreResult<&dyn StoreTestExt> {
    let any: &dyn Any = store;
    if let Some(sqlite) = any.downcast_ref::<SqliteStore>() {
        return Ok(sqlite);
    }
    if let Some(postgres) = any.downcast_ref::<PostgresStore>() {
        return Ok(postgres);
    }
    Err(StoreError::Backend(format!(
        "no test support for the {} store",
        store.backend()
    )))
}
