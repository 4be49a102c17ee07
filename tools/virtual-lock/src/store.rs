//! The state file: written whole and atomically (temporary file, fsync, rename, fsync of
//! the directory), so a kill at any moment leaves either the old state or the new one.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use access_domain::LockMode;
use lock_protocol::command::{AccessCode, Bolt};
use serde::Deserialize;

use crate::LockError;
use crate::state::{Guard, Identity, LockState, LogRing, Pairing, ReplayMark};

/// Leads every state file, followed by the layout version.
const MAGIC: &[u8; 3] = b"VLK";
/// The layout written: 2 added `door_version`, 3 made the pairing's code secret optional
/// (it comes with the first door update) and added `report_key`. Files of layouts 1 and 2
/// still load.
const LAYOUT: u8 = 3;

/// [`Pairing`] in layouts 1 and 2, when pairing installed the code secret.
#[derive(Deserialize)]
struct PairingV2 {
    org_public_key: Vec<u8>,
    lock_id: uuid::Uuid,
    code_secret: [u8; 32],
    paired_at: u64,
}

/// Layout 2 (postcard is positional, so an old file decodes only as the old struct).
#[derive(Deserialize)]
struct LayoutV2 {
    identity: Identity,
    pairing: Option<PairingV2>,
    name: String,
    mode: LockMode,
    bolt: Bolt,
    master_code: Option<String>,
    codes: BTreeMap<u64, AccessCode>,
    used_codes: BTreeMap<u64, u64>,
    log: LogRing,
    clock_offset: i64,
    revoked: BTreeMap<u64, u64>,
    replay: BTreeMap<u64, ReplayMark>,
    battery: u32,
    keypad_guard: Guard,
    pairing_guard: Guard,
    door_version: u64,
}

/// Layout 1: layout 2 before `door_version`.
#[derive(Deserialize)]
struct LayoutV1 {
    identity: Identity,
    pairing: Option<PairingV2>,
    name: String,
    mode: LockMode,
    bolt: Bolt,
    master_code: Option<String>,
    codes: BTreeMap<u64, AccessCode>,
    used_codes: BTreeMap<u64, u64>,
    log: LogRing,
    clock_offset: i64,
    revoked: BTreeMap<u64, u64>,
    replay: BTreeMap<u64, ReplayMark>,
    battery: u32,
    keypad_guard: Guard,
    pairing_guard: Guard,
}

impl From<LayoutV1> for LayoutV2 {
    fn from(v1: LayoutV1) -> LayoutV2 {
        LayoutV2 {
            identity: v1.identity,
            pairing: v1.pairing,
            name: v1.name,
            mode: v1.mode,
            bolt: v1.bolt,
            master_code: v1.master_code,
            codes: v1.codes,
            used_codes: v1.used_codes,
            log: v1.log,
            clock_offset: v1.clock_offset,
            revoked: v1.revoked,
            replay: v1.replay,
            battery: v1.battery,
            keypad_guard: v1.keypad_guard,
            pairing_guard: v1.pairing_guard,
            door_version: 0,
        }
    }
}

impl From<LayoutV2> for LockState {
    fn from(v2: LayoutV2) -> LockState {
        LockState {
            pairing: v2.pairing.map(|p| Pairing {
                org_public_key: p.org_public_key,
                lock_id: p.lock_id,
                code_secret: Some(p.code_secret),
                paired_at: p.paired_at,
            }),
            identity: v2.identity,
            name: v2.name,
            mode: v2.mode,
            bolt: v2.bolt,
            master_code: v2.master_code,
            codes: v2.codes,
            used_codes: v2.used_codes,
            log: v2.log,
            clock_offset: v2.clock_offset,
            revoked: v2.revoked,
            replay: v2.replay,
            battery: v2.battery,
            keypad_guard: v2.keypad_guard,
            pairing_guard: v2.pairing_guard,
            door_version: v2.door_version,
            report_key: None,
        }
    }
}

/// Reads the state at `path`; `Ok(None)` when there is no file yet.
pub(crate) fn load(path: &Path) -> Result<Option<LockState>, LockError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LockError::Io(e.to_string())),
    };
    let corrupt = |e: postcard::Error| LockError::Corrupt(e.to_string());
    let state = match bytes
        .strip_prefix(MAGIC.as_slice())
        .map(<[u8]>::split_first)
    {
        Some(Some((&LAYOUT, body))) => postcard::from_bytes(body).map_err(corrupt)?,
        Some(Some((2, body))) => postcard::from_bytes::<LayoutV2>(body)
            .map_err(corrupt)?
            .into(),
        Some(Some((1, body))) => {
            LayoutV2::from(postcard::from_bytes::<LayoutV1>(body).map_err(corrupt)?).into()
        }
        _ => return Err(LockError::Corrupt("not a virtual lock state file".into())),
    };
    Ok(Some(state))
}

/// Replaces the state at `path` atomically.
pub(crate) fn save(path: &Path, state: &LockState) -> Result<(), LockError> {
    let io = |e: std::io::Error| LockError::Io(e.to_string());
    let mut bytes = MAGIC.to_vec();
    bytes.push(LAYOUT);
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
