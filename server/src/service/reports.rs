//! What a lock reports through a phone: pages of its log, each MACed by the lock under its
//! report key ([`crate::service::keys::report_key`]). The phone only carries them; the
//! server checks every page, decodes the entries itself and keeps only what the lock wrote.
//! The codes the lock says it added become installed.

use std::collections::BTreeMap;

use access_domain::api::{LockLogUpload, MAX_LOG_PAGES_PER_UPLOAD};
use access_domain::{Action, CodeSyncState};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::command::{Event, LogEntry, code_id_of};
use lock_protocol::report::{self, LogPage, MAX_PAGE_LEN, PageError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::audit::audit;
use crate::service::codes::{self, grant_of};
use crate::service::keys::report_key;
use crate::service::locks::{gated, lock_missing};
use crate::store::{NewLockEvent, StoreError, UserRecord};

/// What an upload did: entries stored now, and entries the server already had.
pub struct Uploaded {
    pub accepted: u64,
    pub duplicates: u64,
}

/// The pages of `upload` checked and decoded: every page genuine, or none is taken.
fn verified_entries(
    upload: &LockLogUpload,
    key: &[u8; 32],
    lock_id: Uuid,
) -> ApiResult<Vec<LogEntry>> {
    if upload.pages.len() > MAX_LOG_PAGES_PER_UPLOAD {
        return Err(ApiError::validation(format!(
            "At most {MAX_LOG_PAGES_PER_UPLOAD} pages per upload."
        )));
    }
    let mut entries = Vec::new();
    for (i, p) in upload.pages.iter().enumerate() {
        // base64 of the largest page, checked before decoding.
        if p.entries.len() > MAX_PAGE_LEN.div_ceil(3) * 4 || p.mac.len() > 64 {
            return Err(ApiError::validation(format!(
                "Page {i} is larger than a lock's page."
            )));
        }
        let bytes = STANDARD.decode(&p.entries).ok();
        let mac = STANDARD
            .decode(&p.mac)
            .ok()
            .and_then(|m| <[u8; 32]>::try_from(m).ok());
        let (Some(bytes), Some(mac)) = (bytes, mac) else {
            return Err(ApiError::validation(format!(
                "Page {i}: entries and mac must be base64 (the mac of 32 bytes)."
            )));
        };
        let page = LogPage {
            entries: bytes,
            mac,
        };
        match page.verify(key, lock_id) {
            Ok(mut e) => entries.append(&mut e),
            Err(PageError::Unsigned) => {
                return Err(ApiError::validation(format!(
                    "Page {i} is not signed: the lock held no report key yet (a door update \
                     brings it). Read the log again after the next contact."
                )));
            }
            Err(PageError::BadMac) => {
                return Err(ApiError::validation(format!(
                    "Page {i} is not what this lock wrote: its MAC does not match."
                )));
            }
            Err(PageError::Malformed) => {
                return Err(ApiError::validation(format!(
                    "Page {i}: the entries do not decode."
                )));
            }
        }
    }
    if entries.iter().any(|e| i64::try_from(e.seq).is_err()) {
        return Err(ApiError::validation(
            "A lock sequence number is out of range.",
        ));
    }
    Ok(entries)
}

/// Stores the entries of the lock's pages that the server does not have yet (by lock
/// sequence number), for anyone who sees the lock: the pages' MACs, not the uploader, vouch
/// for the entries, so any phone that read them at a contact may carry them.
pub async fn upload_log(
    state: &AppState,
    user: &UserRecord,
    lock_id: Uuid,
    upload: LockLogUpload,
) -> ApiResult<Uploaded> {
    gated(state, user, lock_id, Action::View).await?;
    let org = user.org_id;
    let key = state
        .db
        .run(move |s| s.organization_key(org))
        .await
        .map_err(lock_missing)?;
    let entries = verified_entries(
        &upload,
        &report_key(&key.signing_key_pkcs8, lock_id),
        lock_id,
    )?;
    if entries.is_empty() {
        return Ok(Uploaded {
            accepted: 0,
            duplicates: 0,
        });
    }
    let known = codes::lock_codes(state, org, lock_id).await?;
    let find = |id: u64| known.iter().find(|c| code_id_of(c.id) == id).map(|c| c.id);
    let mut events: Vec<NewLockEvent> = entries
        .iter()
        .map(|e| {
            let d = report::describe(e, find);
            NewLockEvent {
                lock_seq: d.lock_seq,
                at: OffsetDateTime::from_unix_timestamp(i64::try_from(d.at).unwrap_or(i64::MAX))
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                action: d.action.to_string(),
                method: d.method,
                user_id: d.user_id,
                code_id: d.code_id,
                detail: d.detail,
            }
        })
        .collect();
    // Offline-code uses named only by their grant reference.
    codes::attribute(state, org, lock_id, &mut events).await?;
    let total = events.len() as u64;
    let uploader = user.id;
    let accepted = state
        .db
        .run(move |s| s.upload_lock_events(org, lock_id, uploader, &events))
        .await
        .map_err(lock_missing)?;

    // The codes the lock last said it added (not removed after) are installed.
    let mut last: BTreeMap<u64, bool> = BTreeMap::new();
    for e in &entries {
        match e.event {
            Event::CodeAdded { code_id } => last.insert(code_id, true),
            Event::CodeRemoved { code_id } => last.insert(code_id, false),
            _ => None,
        };
    }
    for c in &known {
        let added = last.get(&code_id_of(c.id)) == Some(&true);
        if !added || c.sync_state == CodeSyncState::Installed || grant_of(c.id).is_some() {
            continue;
        }
        let a = audit(
            user,
            "code_state",
            Some(format!("{}: installed (the lock's log)", c.id)),
        );
        let code = c.id;
        match state
            .db
            .run(move |s| s.set_code_state(org, lock_id, code, CodeSyncState::Installed, None, &a))
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Uploaded {
        accepted,
        duplicates: total - accepted,
    })
}
