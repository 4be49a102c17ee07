//! What a lock reports through a phone: pages of its log, each MACed by the lock under its
//! report key ([`crate::service::keys::report_key`]). The phone only carries them; the
//! server checks every page, decodes the entries itself and keeps only what the lock wrote.
//! The codes the lock says it added become installed; the codes of an update it says it
//! refused become failed, with its reason.

use std::collections::BTreeMap;

use access_domain::api::{LockLogUpload, MAX_LOG_PAGES_PER_UPLOAD};
use access_domain::{Action, CodeSyncState};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::command::{Event, LogEntry, RefusalReason, code_id_of};
use lock_protocol::report::{self, LogPage, MAX_PAGE_LEN, PageError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::audit::audit;
use crate::service::codes::{self, grant_of};
use crate::service::keys::report_key;
use crate::service::locks::{gated, lock_missing};
use crate::store::{DoorUpdateRecord, NewLockEvent, StoreError, UserRecord};

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
    for e in &entries {
        if let Event::UpdateRefused {
            version,
            reason,
            code_id,
        } = e.event
        {
            fail_refused(state, user, lock_id, &known, version, reason, code_id).await?;
        }
    }
    Ok(Uploaded {
        accepted,
        duplicates: total - accepted,
    })
}

/// The lock refused the door update `version` (its log says so): the codes still waiting
/// that it would have put fail with the lock's reason, and leave the desired state, so that
/// the next update brings the rest. `code_id` names the one code to blame, when the lock
/// named one; otherwise every waiting code the update added.
async fn fail_refused(
    state: &AppState,
    user: &UserRecord,
    lock_id: Uuid,
    known: &[crate::store::AccessCodeRecord],
    version: u64,
    reason: RefusalReason,
    code_id: Option<u64>,
) -> ApiResult<()> {
    let passcodes = state.db.run(move |s| s.lock_passcodes(lock_id)).await?;
    // Every code of the lock with its state: given codes and personal passcodes.
    let codes: Vec<(Uuid, CodeSyncState)> = known
        .iter()
        .map(|c| (c.id, c.sync_state))
        .chain(passcodes.iter().map(|p| (p.id, p.sync_state)))
        .collect();
    let blamed: Vec<Uuid> = match code_id {
        Some(id) => codes
            .iter()
            .filter(|(c, _)| code_id_of(*c) == id)
            .map(|(c, _)| *c)
            .collect(),
        None => {
            let updates = state
                .db
                .run(move |s| s.door_updates_from(lock_id, 0))
                .await?;
            added_by(&updates, version)
        }
    };
    let org = user.org_id;
    for code in blamed {
        let pending = codes
            .iter()
            .any(|(c, state)| *c == code && *state == CodeSyncState::Pending);
        if !pending {
            continue;
        }
        let why = reason.explain();
        let a = audit(
            user,
            "code_state",
            Some(format!("{code}: failed, {why} (the lock's log)")),
        );
        match state
            .db
            .run(move |s| {
                s.set_code_state(org, lock_id, code, CodeSyncState::Failed, Some(why), &a)
            })
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The codes the update `version` among `updates` puts that the version it builds on did not
/// hold as they are (all of them for a whole state).
fn added_by(updates: &[DoorUpdateRecord], version: u64) -> Vec<Uuid> {
    let Some(refused) = updates.iter().find(|u| u.version == version) else {
        return Vec::new();
    };
    let base = updates
        .iter()
        .find(|u| refused.base_version != 0 && u.version == refused.base_version);
    match (&refused.held, base.and_then(|b| b.held.as_ref())) {
        (Some(held), Some(before)) => held
            .codes
            .iter()
            .filter(|(id, fp)| before.codes.get(*id) != Some(*fp))
            .map(|(id, _)| *id)
            .collect(),
        _ => refused
            .code_ids
            .iter()
            .filter(|id| base.is_none_or(|b| !b.code_ids.contains(id)))
            .copied()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HeldState;

    fn update(version: u64, base_version: u64, codes: &[(u128, &str)]) -> DoorUpdateRecord {
        let held = HeldState {
            codes: codes
                .iter()
                .map(|(id, fp)| (Uuid::from_u128(*id), fp.to_string()))
                .collect(),
            ..HeldState::default()
        };
        DoorUpdateRecord {
            lock_id: Uuid::nil(),
            version,
            base_version,
            digest: [0; 32],
            code_ids: held.codes.keys().copied().collect(),
            body: vec![],
            created_at: OffsetDateTime::UNIX_EPOCH,
            held: Some(held),
        }
    }

    #[test]
    fn a_refused_update_blames_the_codes_it_added_or_changed() {
        let updates = [
            update(10, 0, &[(1, "a"), (2, "b")]),
            update(11, 10, &[(1, "a"), (2, "b2"), (3, "c")]),
        ];
        let ids = |ns: &[u128]| ns.iter().map(|n| Uuid::from_u128(*n)).collect::<Vec<_>>();
        assert_eq!(added_by(&updates, 11), ids(&[2, 3]));
        // A whole state adds all it holds; an unknown version, nothing.
        assert_eq!(added_by(&updates, 10), ids(&[1, 2]));
        assert!(added_by(&updates, 12).is_empty());
    }
}
