//! Locks: loading one behind the gate, registering one, and its API shape.

use access_domain::Action;
use access_domain::api::{Lock, LockCreate, LockIdentity};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::service::audit::audit;
use crate::service::gate::gate;
use crate::store::{LockRecord, NewLock, StoreError, UserRecord};
use crate::validate::clean_name;

/// The API view of a lock row.
pub fn lock_json(l: LockRecord) -> Lock {
    Lock {
        id: l.id,
        name: l.name,
        unit_id: l.unit_id,
        unit_name: l.unit_name,
        property_id: l.property_id,
        property_name: l.property_name,
        mode: l.mode,
        battery: l.battery,
        firmware: l.firmware,
        paired: l.identity_public_key.is_some(),
        identity_public_key: l.identity_public_key,
    }
}

/// A store error on a lock: not found is an unknown lock (404).
pub fn lock_missing(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("Lock"),
        other => other.into(),
    }
}

/// A lock of the caller's organization (404 for any other), before any gate.
pub async fn org_lock(state: &AppState, user: &UserRecord, id: Uuid) -> ApiResult<LockRecord> {
    let org = user.org_id;
    state
        .db
        .read(move |s| s.lock(org, id))
        .await
        .map_err(lock_missing)
}

/// Loads a lock of the caller's organization and passes the gate for `action`.
pub async fn gated(
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
    action: Action,
) -> ApiResult<LockRecord> {
    let lock = org_lock(state, user, id).await?;
    gate(user, action, lock.unit_id)?;
    Ok(lock)
}

/// Registers a lock under a unit: for team members allowed to pair there (the
/// `reset_codes` permission in their scope).
pub async fn create_lock(
    state: &AppState,
    user: &UserRecord,
    req: LockCreate,
) -> ApiResult<LockRecord> {
    let name = clean_name(&req.name, "Lock name", 100)?;
    let org = user.org_id;
    let unit_id = req.unit_id;
    state
        .db
        .run(move |s| s.unit(org, unit_id))
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("Unit"),
            other => other.into(),
        })?;
    gate(user, Action::Pair, unit_id)?;
    if let Some(k) = &req.identity_public_key {
        check_identity_key(k)?;
    }
    check_firmware(req.firmware.as_deref())?;
    let lock = NewLock {
        id: Uuid::new_v4(),
        org_id: org,
        unit_id,
        name,
        master_code: secrets::random_digits(secrets::MASTER_CODE_DIGITS),
        firmware: req.firmware,
        identity_public_key: req.identity_public_key,
    };
    let a = audit(user, "lock_registered", None);
    Ok(state.db.run(move |s| s.create_lock(&lock, &a)).await?)
}

/// Stores the lock's identity key, learned at the end of pairing. Once only: a lock that
/// has one is paired (409). A `name` renames the lock in the same step: a pairing retried
/// after a wrong code reuses the first attempt's registration, and the lock is named by the
/// attempt that succeeded (needing the right to pair, as naming at registration does).
pub async fn pair(
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
    req: LockIdentity,
) -> ApiResult<LockRecord> {
    let lock = org_lock(state, user, id).await?;
    gate(user, Action::Pair, lock.unit_id)?;
    check_identity_key(&req.identity_public_key)?;
    check_firmware(req.firmware.as_deref())?;
    let rename_to = match &req.name {
        Some(raw) => Some(clean_name(raw, "Lock name", 100)?).filter(|n| *n != lock.name),
        None => None,
    };
    let a = audit(user, "lock_paired", req.firmware.clone());
    let org = user.org_id;
    let l = state
        .db
        .run(move |s| {
            s.set_lock_identity(
                org,
                id,
                &req.identity_public_key,
                req.firmware.as_deref(),
                &a,
            )
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::conflict("This lock is already paired."),
            other => lock_missing(other),
        })?;
    // After the identity: a lock paired already (409 above) is never renamed by this.
    match rename_to {
        Some(name) => rename(state, user, &l, name, " (at pairing)").await,
        None => Ok(l),
    }
}

/// Renames a lock; the audit entry reads `"old" -> "new"` followed by `how`.
pub async fn rename(
    state: &AppState,
    user: &UserRecord,
    lock: &LockRecord,
    name: String,
    how: &str,
) -> ApiResult<LockRecord> {
    let a = audit(
        user,
        "rename",
        Some(format!("{:?} -> {name:?}{how}", lock.name)),
    );
    let (org, id) = (user.org_id, lock.id);
    state
        .db
        .run(move |s| s.rename_lock(org, id, &name, &a))
        .await
        .map_err(lock_missing)
}

/// A lock's identity key: 32 bytes in base64.
pub fn check_identity_key(key: &str) -> ApiResult<()> {
    if STANDARD.decode(key).map(|b| b.len()) != Ok(32) {
        return Err(ApiError::validation(
            "identity_public_key must be 32 bytes in base64.",
        ));
    }
    Ok(())
}

/// A lock's firmware version: at most 64 characters.
pub fn check_firmware(firmware: Option<&str>) -> ApiResult<()> {
    if firmware.is_some_and(|f| f.len() > 64) {
        return Err(ApiError::validation(
            "firmware must be at most 64 characters.",
        ));
    }
    Ok(())
}
