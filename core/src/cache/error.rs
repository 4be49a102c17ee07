//! What can fail in the cache; mapped to the core's `AccessError` once, in `crate::error`.

/// Failures of the local database.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("not in the cache")]
    NotFound,
    #[error("cannot create the data directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("the database was written by a newer version (schema {0})")]
    TooNew(i64),
}
