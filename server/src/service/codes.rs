//! Access codes: giving one installed over BLE, and what offline codes add to the lock's
//! logs and revocation list. An offline code's id starts with its grant reference.

use access_domain::api::{AccessCode, AccessCodeRequest, RevokedCredential};
use access_domain::{AccessCodeKind, Action, CodeSyncState, ONE_TIME_CODE_FIRST_USE_WINDOW};
use lock_protocol::offline_code::{self, Grant, TOLERANCE_SECS};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::service::audit::audit;
use crate::service::locks::{gated, lock_missing};
use crate::store::{AccessCodeRecord, NewLockEvent, StoreError, UserRecord};
use crate::validate::clean_name;

/// The API view of an access code row.
pub fn code_json(c: AccessCodeRecord) -> AccessCode {
    AccessCode {
        id: c.id,
        lock_id: c.lock_id,
        kind: c.kind,
        label: c.label,
        code: c.code,
        starts_at: c.starts_at,
        ends_at: c.ends_at,
        sync_state: c.sync_state,
        failure_reason: c.failure_reason,
        created_by: c.created_by,
        created_at: c.created_at,
        revoked_at: c.revoked_at,
    }
}

/// The grant an access code id stands for, when it is an offline code.
pub fn grant_of(code_id: Uuid) -> Option<Grant> {
    Grant::from_reference(code_id.as_u64_pair().0)
}

/// Seconds since the epoch, 0 before it.
pub fn unix(t: OffsetDateTime) -> u64 {
    t.unix_timestamp().max(0) as u64
}

/// The label of a code request, checked.
pub fn clean_label(label: Option<&str>) -> ApiResult<Option<String>> {
    label.map(|l| clean_name(l, "Label", 100)).transpose()
}

/// Gives access (`give_access`) with a permanent, time-window or one-time code that a phone
/// installs over BLE; the code starts `pending` until the lock confirms it.
pub async fn give_ble_code(
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
    req: AccessCodeRequest,
) -> ApiResult<AccessCodeRecord> {
    gated(state, user, id, Action::GiveAccess).await?;
    let now = OffsetDateTime::now_utc();
    let label = clean_label(req.label.as_deref())?;
    let (starts_at, ends_at) = match req.kind {
        // Permanent until removed, or from a start and/or until an end (a contract).
        AccessCodeKind::Permanent => {
            if let (Some(s), Some(e)) = (req.starts_at, req.ends_at)
                && s >= e
            {
                return Err(ApiError::validation(
                    "A permanent code's ends_at must be after its starts_at.",
                ));
            }
            if req.ends_at.is_some_and(|e| e <= now) {
                return Err(ApiError::validation(
                    "This code's ends_at has already passed.",
                ));
            }
            (req.starts_at, req.ends_at)
        }
        AccessCodeKind::Window => match (req.starts_at, req.ends_at) {
            (Some(s), Some(e)) if s < e => (Some(s), Some(e)),
            _ => {
                return Err(ApiError::validation(
                    "A time-window code needs starts_at before ends_at.",
                ));
            }
        },
        AccessCodeKind::OneTime => {
            let s = req.starts_at.unwrap_or(now);
            (Some(s), Some(s + ONE_TIME_CODE_FIRST_USE_WINDOW))
        }
    };
    for _ in 0..5 {
        let record = AccessCodeRecord {
            id: Uuid::new_v4(),
            lock_id: id,
            kind: req.kind,
            label: label.clone(),
            code: secrets::random_digits(secrets::ACCESS_CODE_DIGITS),
            starts_at,
            ends_at,
            sync_state: CodeSyncState::Pending,
            failure_reason: None,
            created_by: user.id,
            created_at: now,
            revoked_at: None,
        };
        if insert_code(state, user, &record, format!("{} code", req.kind.as_str())).await? {
            return Ok(record);
        }
    }
    Err(ApiError::conflict("No free code on this lock; try again."))
}

/// Stores a new access code, audited as `give_access` with `detail`; `false` when its id or
/// digits are taken on this lock, so the caller tries another.
pub async fn insert_code(
    state: &AppState,
    user: &UserRecord,
    record: &AccessCodeRecord,
    detail: String,
) -> ApiResult<bool> {
    let a = audit(user, "give_access", Some(detail));
    let (org, r) = (user.org_id, record.clone());
    match state
        .db
        .run(move |s| s.create_access_code(org, &r, &a))
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(lock_missing(e)),
    }
}

/// The access codes of a lock (404 for an unknown lock).
pub async fn lock_codes(
    state: &AppState,
    org: Uuid,
    lock_id: Uuid,
) -> ApiResult<Vec<AccessCodeRecord>> {
    state
        .db
        .run(move |s| s.list_access_codes(org, lock_id))
        .await
        .map_err(lock_missing)
}

/// Fills in the code of uploaded lock events that name an offline code only by its grant
/// reference (`detail: "code #<reference>"`, what a phone writes when the code is not in its
/// cache, e.g. for staff without `give_access`), so the log shows its label and issuer.
pub async fn attribute(
    state: &AppState,
    org: Uuid,
    lock_id: Uuid,
    events: &mut [NewLockEvent],
) -> ApiResult<()> {
    let named = |e: &NewLockEvent| {
        e.code_id
            .is_none()
            .then(|| {
                e.detail
                    .as_deref()?
                    .strip_prefix("code #")?
                    .parse::<u64>()
                    .ok()
            })
            .flatten()
            .filter(|r| offline_code::is_reference(*r))
    };
    if !events.iter().any(|e| named(e).is_some()) {
        return Ok(());
    }
    let codes = lock_codes(state, org, lock_id).await?;
    for e in events.iter_mut() {
        if let Some(reference) = named(e)
            && let Some(c) = codes.iter().find(|c| c.id.as_u64_pair().0 == reference)
        {
            e.code_id = Some(c.id);
            e.detail = None;
        }
    }
    Ok(())
}

/// Revoked offline codes of a lock whose window is not over: entries of the revocation
/// list that staff phones push (serial = grant reference, expiry = end of the window plus
/// the tolerance, after which the lock refuses the code anyway).
pub async fn revocation_entries(
    state: &AppState,
    org: Uuid,
    lock_id: Uuid,
) -> ApiResult<Vec<RevokedCredential>> {
    let revoked = state
        .db
        .run(move |s| s.access_code_revocations(org, lock_id))
        .await?;
    let now = unix(OffsetDateTime::now_utc());
    Ok(revoked
        .into_iter()
        .filter_map(|r| grant_of(r.code_id))
        .filter(|g| g.ends_at() + TOLERANCE_SECS > now)
        .map(|g| RevokedCredential {
            serial: g.reference(),
            expires_at: g.ends_at() + TOLERANCE_SECS,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_domain::CodeClass;
    use lock_protocol::offline_code::HOUR;

    #[test]
    fn only_offline_ids_name_a_grant() {
        assert!(grant_of(Uuid::new_v4()).is_none());
        let g = Grant::for_window(
            offline_code::EPOCH,
            offline_code::EPOCH + HOUR,
            AccessCodeKind::Window,
            CodeClass::Tour,
            1,
        )
        .unwrap();
        assert_eq!(grant_of(Uuid::from_u64_pair(g.reference(), 99)), Some(g));
    }
}
