//! The locks as the app shows them: cache reads (offline), and the gated actions on a lock:
//! rename, mode and give-access go through the queue; reset, logs and the master code need
//! the network. The inputs are checked here before the gate ([`lock_name`],
//! [`access_window`]).

use std::time::SystemTime;

use access_domain::api::{AccessCode, AccessCodeRequest, LogEntry, MasterCode, Page};
use access_domain::{AccessCodeKind, Action, LockMode};
use reqwest::Method;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AccessError;
use crate::cache;
use crate::engine::Engine;
use crate::gate::{self, parse_id};
use crate::model::*;
use crate::queue::{self, Queued, State};

/// A lock name as the server takes it: trimmed, 1 to 100 characters.
pub fn lock_name(name: &str) -> Result<String, AccessError> {
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AccessError::InvalidInput {
            message: "A lock name needs 1 to 100 characters.".into(),
        });
    }
    Ok(name)
}

/// The start and end of a code of `kind`: a window for time-window codes (and only them).
pub fn access_window(
    kind: AccessCodeKind,
    window: Option<TimeWindow>,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), AccessError> {
    Ok(match (kind, window) {
        (AccessCodeKind::Window, Some(w)) => {
            if w.ends_at <= w.starts_at {
                return Err(AccessError::InvalidInput {
                    message: "The end of the window must come after its start.".into(),
                });
            }
            (Some(to_odt(w.starts_at)?), Some(to_odt(w.ends_at)?))
        }
        (AccessCodeKind::Window, None) => {
            return Err(AccessError::InvalidInput {
                message: "A time-window code needs a start and an end.".into(),
            });
        }
        (_, Some(_)) => {
            return Err(AccessError::InvalidInput {
                message: "Only time-window codes take a start and an end.".into(),
            });
        }
        (_, None) => (None, None),
    })
}

impl Engine {
    /// Every cached lock, by name. Works offline.
    pub(crate) async fn list_locks(&self) -> Result<Vec<LockInfo>, AccessError> {
        let locks = self.db(|c| cache::list_locks(c)).await?;
        Ok(locks.into_iter().map(LockInfo::from).collect())
    }

    /// Cached locks whose name, unit or property contains each word of `query`, the first
    /// `limit` by name (100 unless the app asks otherwise: a screenful or two, since every
    /// hit crosses the FFI as a `LockInfo`). Offline.
    pub(crate) async fn search_locks(
        &self,
        query: String,
        limit: u32,
    ) -> Result<Vec<LockInfo>, AccessError> {
        let locks = self
            .db(move |c| cache::search_locks(c, &query, limit))
            .await?;
        Ok(locks.into_iter().map(LockInfo::from).collect())
    }

    /// One cached lock. Offline.
    pub(crate) async fn lock(&self, lock_id: String) -> Result<LockInfo, AccessError> {
        let id = parse_id(&lock_id)?;
        Ok(self.db(move |c| cache::lock(c, id)).await?.into())
    }

    /// The actions the signed-in user may take on a lock, for showing only those buttons.
    pub(crate) async fn allowed_actions(
        &self,
        lock_id: String,
    ) -> Result<Vec<Action>, AccessError> {
        let id = parse_id(&lock_id)?;
        let (me, lock) = self
            .db(move |c| Ok((cache::me(c)?, cache::lock(c, id)?)))
            .await?;
        let me = me.ok_or(AccessError::NotSignedIn)?;
        Ok(gate::allowed_actions(&me, lock.unit_id))
    }

    /// Every action on a lock with whether the user may take it and, when not, why.
    pub(crate) async fn action_gates(
        &self,
        lock_id: String,
    ) -> Result<Vec<crate::model::ActionGate>, AccessError> {
        let id = parse_id(&lock_id)?;
        let (me, lock) = self
            .db(move |c| Ok((cache::me(c)?, cache::lock(c, id)?)))
            .await?;
        let me = me.ok_or(AccessError::NotSignedIn)?;
        Ok(gate::action_gates(&me, lock.unit_id))
    }

    /// Access codes of a lock from the cache, with their sync state. Offline.
    pub(crate) async fn access_codes(
        &self,
        lock_id: String,
    ) -> Result<Vec<AccessCodeInfo>, AccessError> {
        let id = parse_id(&lock_id)?;
        let codes = self.db(move |c| cache::access_codes(c, id)).await?;
        Ok(codes.into_iter().map(AccessCodeInfo::from).collect())
    }

    /// The signed-in user's own passcodes. Offline.
    pub(crate) async fn my_passcodes(&self) -> Result<Vec<PasscodeInfo>, AccessError> {
        let p = self.db(|c| cache::passcodes(c)).await?;
        Ok(p.into_iter().map(PasscodeInfo::from).collect())
    }

    /// Renames a lock. Without network the new name shows at once and the rename is queued.
    pub(crate) async fn rename_lock(
        &self,
        lock_id: String,
        name: String,
    ) -> Result<ActionOutcome, AccessError> {
        let name = lock_name(&name)?;
        let (_, lock) = self.gate(&lock_id, Action::Rename).await?;
        outcome(
            self.perform(lock.id, queue::Action::Rename { name })
                .await?,
        )
    }

    /// Changes a lock's mode (e.g. Tour to Resident). Queued when offline.
    pub(crate) async fn change_mode(
        &self,
        lock_id: String,
        mode: LockMode,
    ) -> Result<ActionOutcome, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ChangeMode).await?;
        outcome(
            self.perform(lock.id, queue::Action::ChangeMode { mode })
                .await?,
        )
    }

    /// Revokes one given code (`give_access`): it leaves the lock at the next contact.
    /// Offline the code shows revoked at once and the revoke is queued.
    pub(crate) async fn revoke_code(
        &self,
        lock_id: String,
        code_id: String,
    ) -> Result<ActionOutcome, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::GiveAccess).await?;
        let code_id = parse_id(&code_id)?;
        outcome(
            self.perform(lock.id, queue::Action::RevokeCode { code_id })
                .await?,
        )
    }

    /// Gives access: a permanent, time-window or one-time code on the lock. Queued when
    /// offline (the code appears after the next sync).
    pub(crate) async fn give_access(
        &self,
        lock_id: String,
        kind: AccessCodeKind,
        label: Option<String>,
        window: Option<TimeWindow>,
    ) -> Result<GiveAccessOutcome, AccessError> {
        let (starts_at, ends_at) = access_window(kind, window)?;
        let label = label
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        let (_, lock) = self.gate(&lock_id, Action::GiveAccess).await?;
        let request = AccessCodeRequest {
            kind,
            label,
            starts_at,
            ends_at,
        };
        let q = self
            .perform(lock.id, queue::Action::GiveAccess { request })
            .await?;
        match q.state {
            State::Done => {
                let body = q.result.unwrap_or_default();
                let code: AccessCode = serde_json::from_slice(body.as_bytes()).map_err(|e| {
                    AccessError::BadResponse {
                        message: e.to_string(),
                    }
                })?;
                Ok(GiveAccessOutcome::Created { code: code.into() })
            }
            _ => Ok(GiveAccessOutcome::Queued { action_id: q.key }),
        }
    }

    /// Resets the access codes of a lock. Needs the network.
    pub(crate) async fn reset_codes(&self, lock_id: String) -> Result<(), AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ResetCodes).await?;
        let key = Uuid::new_v4().to_string();
        let _: serde_json::Value = self
            .request(
                Method::POST,
                &format!("/api/v1/locks/{}/reset-codes", lock.id),
                Some(&serde_json::json!({})),
                Some(&key),
            )
            .await?;
        Ok(())
    }

    /// The access log of a lock, newest first. Needs the network.
    pub(crate) async fn view_logs(
        &self,
        lock_id: String,
    ) -> Result<Vec<LogEntryInfo>, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ViewLogs).await?;
        let page: Page<LogEntry> = self.get(&format!("/api/v1/locks/{}/logs", lock.id)).await?;
        Ok(page.items.into_iter().map(LogEntryInfo::from).collect())
    }

    /// The lock's master code. Needs the network.
    /// How far the lock is in step, from the server. Needs the network.
    pub(crate) async fn door(&self, lock_id: String) -> Result<DoorInfo, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::View).await?;
        let d: access_domain::api::DoorState =
            self.get(&format!("/api/v1/locks/{}/door", lock.id)).await?;
        Ok(d.into())
    }

    pub(crate) async fn view_master_code(&self, lock_id: String) -> Result<String, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ViewMasterCode).await?;
        let m: MasterCode = self
            .get(&format!("/api/v1/locks/{}/master-code", lock.id))
            .await?;
        Ok(m.code)
    }
}

fn outcome(q: Queued) -> Result<ActionOutcome, AccessError> {
    Ok(match q.state {
        State::Done => ActionOutcome::Done,
        _ => ActionOutcome::Queued { action_id: q.key },
    })
}

pub(crate) fn to_odt(t: SystemTime) -> Result<OffsetDateTime, AccessError> {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| AccessError::InvalidInput {
            message: "Dates before 1970 are not accepted.".into(),
        })?;
    time::OffsetDateTime::from_unix_timestamp(d.as_secs() as i64).map_err(|e| {
        AccessError::InvalidInput {
            message: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lock_names_are_trimmed_and_bounded() {
        assert_eq!(lock_name("  Front door ").unwrap(), "Front door");
        assert!(lock_name("   ").is_err());
        assert!(lock_name(&"é".repeat(100)).is_ok());
        assert!(lock_name(&"é".repeat(101)).is_err());
    }

    #[test]
    fn only_window_codes_take_a_window() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let w = |s: u64, e: u64| TimeWindow {
            starts_at: t0 + Duration::from_secs(s),
            ends_at: t0 + Duration::from_secs(e),
        };
        let (s, e) = access_window(AccessCodeKind::Window, Some(w(0, 60))).unwrap();
        assert_eq!(e.unwrap() - s.unwrap(), time::Duration::seconds(60));
        assert!(access_window(AccessCodeKind::Window, Some(w(60, 60))).is_err());
        assert!(access_window(AccessCodeKind::Window, None).is_err());
        assert!(access_window(AccessCodeKind::OneTime, Some(w(0, 60))).is_err());
        assert_eq!(
            access_window(AccessCodeKind::Permanent, None).unwrap(),
            (None, None)
        );
    }
}
