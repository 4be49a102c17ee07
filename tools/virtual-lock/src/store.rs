//! The state file: written whole and atomically (temporary file, fsync, rename, fsync of
//! the directory), so a kill at any moment leaves either the old state or the new one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::LockError;
use crate::state::LockState;

/// Leads every state file; the last byte is the layout version.
const MAGIC: &[u8; 4] = b"VLK\x01";

/// Reads the state at `path`; `Ok(None)` when there is no file yet.
pub(crate) fn load(path: &Path) -> Result<Option<LockState>, LockError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LockError::Io(e.to_string())),
    };
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| LockError::Corrupt("not a virtual lock state file".into()))?;
    postcard::from_bytes(body)
        .map(Some)
        .map_err(|e| LockError::Corrupt(e.to_string()))
}

/// Replaces the state at `path` atomically.
pub(crate) fn save(path: &Path, state: &LockState) -> Result<(), LockError> {
    let io = |e: std::io::Error| LockError::Io(e.to_string());
    let mut bytes = MAGIC.to_vec();
    bytes.extend(postcard::to_allocvec(state).map_err(|e| LockError::Io(e.to_string()))?);
    let tmp = path.with_extension("tmp");
    {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            // The file holds the lock's secrets.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}
