//! What several routes share, below the handlers: the permission gate, lock lookups, access
//! codes, the per-lock code secret and report key, the lock's authenticated log pages and
//! audit entries. Each function takes the state (or a
//! record) and the caller and answers an [`ApiResult`](crate::error::ApiResult); the
//! handlers in [`crate::api`] extract, call these and shape the answer.

pub mod audit;
pub mod codes;
pub mod credentials;
pub mod door;
pub mod door_chain;
pub mod gate;
pub mod keys;
pub mod locks;
pub mod offline;
pub mod reports;
