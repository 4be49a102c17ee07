//! Secret storage (the session token): a foreign trait that the shells implement with the
//! Android Keystore or the iOS Keychain, and [`FileSecretStore`] for tests and desktops.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Failure of a secret store, as the shells report it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SecretError {
    #[error("secret store failed: {message}")]
    Failed { message: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SecretError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SecretError::Failed { message: e.reason }
    }
}

impl From<std::io::Error> for SecretError {
    fn from(e: std::io::Error) -> Self {
        SecretError::Failed {
            message: e.to_string(),
        }
    }
}

/// Where the core keeps secrets. Implemented in Kotlin (Keystore) and Swift (Keychain).
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The secret stored under `key`, if any.
    fn get(&self, key: String) -> Result<Option<String>, SecretError>;
    /// Stores `value` under `key`, replacing any previous value.
    fn set(&self, key: String, value: String) -> Result<(), SecretError>;
    /// Removes `key`; removing a missing key is not an error.
    fn delete(&self, key: String) -> Result<(), SecretError>;
}

/// Secrets in one JSON file readable by its owner only, replaced atomically on each change.
///
/// ```
/// use access_core::{FileSecretStore, SecretStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileSecretStore::new(dir.path().join("secrets.json").display().to_string());
/// store.set("token".into(), "abc".into()).unwrap();
/// assert_eq!(store.get("token".into()).unwrap().as_deref(), Some("abc"));
/// ```
#[derive(Debug, uniffi::Object)]
pub struct FileSecretStore {
    path: PathBuf,
    lock: Mutex<()>,
    _live: crate::live_objects::LiveObject,
}

#[uniffi::export]
impl FileSecretStore {
    /// A store in the file at `path` (created on first write).
    #[uniffi::constructor]
    pub fn new(path: String) -> Arc<Self> {
        Arc::new(FileSecretStore {
            path: PathBuf::from(path),
            lock: Mutex::new(()),
            _live: crate::live_objects::LiveObject::new(),
        })
    }
}

impl FileSecretStore {
    fn read(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SecretError::Failed {
                message: format!("{}: {e}", self.path.display()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e.into()),
        }
    }

    fn write(&self, map: &BTreeMap<String, String>) -> Result<(), SecretError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        let json = serde_json::to_vec(map).map_err(|e| SecretError::Failed {
            message: e.to_string(),
        })?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SecretStore for FileSecretStore {
    fn get(&self, key: String) -> Result<Option<String>, SecretError> {
        let _g = self.guard();
        Ok(self.read()?.remove(&key))
    }

    fn set(&self, key: String, value: String) -> Result<(), SecretError> {
        let _g = self.guard();
        let mut map = self.read()?;
        map.insert(key, value);
        self.write(&map)
    }

    fn delete(&self, key: String) -> Result<(), SecretError> {
        let _g = self.guard();
        let mut map = self.read()?;
        if map.remove(&key).is_some() {
            self.write(&map)?;
        }
        Ok(())
    }
}

/// A [`FileSecretStore`] as the trait object [`crate::AccessClient`] takes, for shells that
/// want the file store (desktop, tests).
#[uniffi::export]
pub fn file_secret_store(path: String) -> Arc<dyn SecretStore> {
    FileSecretStore::new(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_persist_across_instances_and_delete_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("s.json");
        let a = FileSecretStore::new(path.display().to_string());
        assert_eq!(a.get("k".into()).unwrap(), None);
        a.set("k".into(), "v1".into()).unwrap();
        a.set("k".into(), "v2".into()).unwrap();
        a.set("other".into(), "x".into()).unwrap();
        let b = FileSecretStore::new(path.display().to_string());
        assert_eq!(b.get("k".into()).unwrap().as_deref(), Some("v2"));
        b.delete("k".into()).unwrap();
        b.delete("k".into()).unwrap();
        assert_eq!(a.get("k".into()).unwrap(), None);
        assert_eq!(a.get("other".into()).unwrap().as_deref(), Some("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, b"\x00garbage").unwrap();
        let s = FileSecretStore::new(path.display().to_string());
        assert!(matches!(s.get("k".into()), Err(SecretError::Failed { .. })));
    }
}
