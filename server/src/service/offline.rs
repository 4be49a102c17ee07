//! Offline-verifiable codes: 14-digit codes that the lock checks by itself with the
//! per-lock code secret it got at pairing (`lock_protocol::offline_code`); nothing has to
//! reach the lock first.
//!
//! The server does not keep the code secret: it derives it, like the pairing phone got it,
//! from the organization key, the lock and the lock's current master code
//! ([`code_secret`](crate::service::keys::code_secret)), so "reset codes" (new master code)
//! rotates it. Offline codes are rows of `access_codes` whose id starts with the grant
//! reference (the 64-bit value the lock logs for each use), so a log entry maps back to the
//! label and the issuer, and they travel in sync like other codes. Revoking one marks the
//! row; the lock learns it from the revocation list that the next staff phone pushes.

use access_domain::access::resident_guest_share;
use access_domain::api::AccessCode;
use access_domain::{AccessCodeKind, Action, CodeClass, CodeSyncState, LockMode, UserType};
use lock_protocol::offline_code::{self, Grant, HOUR, NONCES, TOLERANCE_SECS};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::audit::audit;
use crate::service::codes::{clean_label, code_json, grant_of, insert_code, lock_codes, unix};
use crate::service::keys::lock_secret;
use crate::service::locks::{gated, lock_missing};
use crate::store::{AccessCodeRecord, StoreError, UserRecord};

/// How a code reaches the lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// A phone installs the code over BLE; the lock confirms it (sync state).
    #[default]
    Ble,
    /// The lock checks the code by computation: nothing to install.
    Offline,
}

/// Which row of the mode table an offline code uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfflineClass {
    /// Vendors and guests: opens in `vacant` and `maintenance` mode.
    Guest,
    /// Self-guided tours: opens in `tour` mode only.
    Tour,
}

impl OfflineClass {
    fn code_class(self) -> CodeClass {
        match self {
            OfflineClass::Guest => CodeClass::Guest,
            OfflineClass::Tour => CodeClass::Tour,
        }
    }

    fn of(class: CodeClass) -> OfflineClass {
        if class == CodeClass::Tour {
            OfflineClass::Tour
        } else {
            OfflineClass::Guest
        }
    }
}

/// `POST /api/v1/locks/{id}/access-codes`: give access.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GiveAccessRequest {
    /// `permanent` (BLE only), `window` or `one_time`.
    pub kind: AccessCodeKind,
    #[serde(default)]
    pub label: Option<String>,
    /// Offline: on the hour. A one-time code without it starts at the current hour.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub starts_at: Option<OffsetDateTime>,
    /// Offline: on the hour, at most 30 days after `starts_at`. A one-time code without it
    /// ends 24 hours after its start.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ends_at: Option<OffsetDateTime>,
    /// `ble` (default) or `offline`.
    #[serde(default)]
    pub delivery: Delivery,
    /// Offline only: `guest` or `tour`; default `tour` when the lock is in tour mode,
    /// `guest` otherwise.
    #[serde(default)]
    pub class: Option<OfflineClass>,
}

/// An offline code with its window, uses and revocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfflineAccessCode {
    #[serde(flatten)]
    pub code: AccessCode,
    /// Always `offline`.
    pub delivery: Delivery,
    pub class: OfflineClass,
    /// The 64-bit grant reference the lock logs for each use (decimal).
    pub grant_reference: String,
    /// `starts_at` minus the lock's clock tolerance (5 minutes).
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    /// `ends_at` plus the lock's clock tolerance (5 minutes).
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
    /// Unlocks with this code in the logs uploaded from the lock so far.
    pub uses: u64,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_used_at: Option<OffsetDateTime>,
    /// Who revoked it (`revoked_at` is the code's).
    pub revoked_by: Option<Uuid>,
}

fn at(secs: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Gives an offline code (`give_access`, `delivery: offline`): window or one-time, guest or
/// tour, on the hour, up to 30 days; only on a paired lock.
pub async fn issue(
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
    req: GiveAccessRequest,
) -> ApiResult<OfflineAccessCode> {
    // A resident shares a guest code for their own unit's doors; staff give any code.
    let resident = user.user_type == UserType::Resident;
    let action = if resident {
        Action::ShareGuestCode
    } else {
        Action::GiveAccess
    };
    let lock = gated(state, user, id, action).await?;
    if lock.identity_public_key.is_none() {
        return Err(ApiError::conflict(
            "This lock is not paired yet: offline codes need the code secret pairing installs.",
        ));
    }
    let label = clean_label(req.label.as_deref())?;
    let now = OffsetDateTime::now_utc();
    let (starts_at, ends_at) = offline_window(&req, now)?;
    let class = req
        .class
        .unwrap_or(if lock.mode == LockMode::Tour && !resident {
            OfflineClass::Tour
        } else {
            OfflineClass::Guest
        });
    if resident {
        let hours = (unix(ends_at).saturating_sub(unix(starts_at))) / HOUR;
        resident_guest_share(req.kind, class == OfflineClass::Guest, hours)
            .map_err(ApiError::validation)?;
        // A guest code never outlasts the resident's own access.
        if let Some(end) = user.period.ends_at
            && ends_at > end
        {
            return Err(ApiError::validation(format!(
                "A guest code you share ends by the end of your own access ({}).",
                access_domain::period::format_date(end)
            )));
        }
    }
    let secret = lock_secret(
        state,
        user,
        id,
        "code_secret_used",
        Some("offline code".into()),
    )
    .await?
    .code_secret;
    let org = user.org_id;
    let existing = lock_codes(state, org, id).await?;
    for nonce in 0..NONCES {
        let grant = Grant::for_window(
            unix(starts_at),
            unix(ends_at),
            req.kind,
            class.code_class(),
            nonce,
        )
        .map_err(|e| ApiError::validation(e.to_string()))?;
        let taken = existing
            .iter()
            .any(|c| grant_of(c.id).is_some_and(|g| g.reference() == grant.reference()));
        let digits = offline_code::issue(&secret, id, &grant);
        if taken || existing.iter().any(|c| c.code == digits) {
            continue;
        }
        let code_id = Uuid::from_u64_pair(grant.reference(), rand_u64()?);
        let record = AccessCodeRecord {
            id: code_id,
            lock_id: id,
            kind: req.kind,
            label: label.clone(),
            code: digits,
            starts_at: Some(starts_at),
            ends_at: Some(ends_at),
            sync_state: CodeSyncState::Installed,
            failure_reason: None,
            created_by: user.id,
            created_at: now,
            revoked_at: None,
        };
        let detail = format!("offline {} code ({})", req.kind.as_str(), class_str(class));
        if !insert_code(state, user, &record, detail).await? {
            continue;
        }
        // Nothing to install: the lock holds the secret since pairing.
        let a = audit(
            user,
            "code_state",
            Some(format!("{code_id}: installed (offline code)")),
        );
        state
            .db
            .run(move |s| s.set_code_state(org, id, code_id, CodeSyncState::Installed, None, &a))
            .await
            .map_err(lock_missing)?;
        let view = offline_view(record, grant, None, Usage::default());
        return Ok(view);
    }
    Err(ApiError::conflict(format!(
        "This lock already has {NONCES} offline codes of this class for this exact window; \
         revoke one or pick another window."
    )))
}

fn class_str(c: OfflineClass) -> &'static str {
    match c {
        OfflineClass::Guest => "guest",
        OfflineClass::Tour => "tour",
    }
}

fn rand_u64() -> ApiResult<u64> {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| ApiError::internal())?;
    Ok(u64::from_be_bytes(b))
}

/// The window of an offline code request, checked: on the hour, 1 hour to 30 days, not over.
fn offline_window(
    req: &GiveAccessRequest,
    now: OffsetDateTime,
) -> ApiResult<(OffsetDateTime, OffsetDateTime)> {
    let on_the_hour = |t: OffsetDateTime| unix(t).is_multiple_of(HOUR) && t.nanosecond() == 0;
    let (start, end) = match req.kind {
        AccessCodeKind::Permanent => {
            return Err(ApiError::validation(
                "Offline codes are window or one-time codes; permanent codes go over BLE.",
            ));
        }
        AccessCodeKind::Window => match (req.starts_at, req.ends_at) {
            (Some(s), Some(e)) => (s, e),
            _ => {
                return Err(ApiError::validation(
                    "A time-window code needs starts_at and ends_at.",
                ));
            }
        },
        AccessCodeKind::OneTime => {
            let s = req
                .starts_at
                .unwrap_or_else(|| at(unix(now) - unix(now) % HOUR));
            (s, req.ends_at.unwrap_or(s + time::Duration::hours(24)))
        }
    };
    if !on_the_hour(start) || !on_the_hour(end) {
        return Err(ApiError::validation(
            "Offline codes start and end on the hour (e.g. 2026-12-01T14:00:00Z).",
        ));
    }
    if end <= start || end - start > time::Duration::days(30) {
        return Err(ApiError::validation(
            "An offline code's window lasts 1 hour to 30 days (ends_at after starts_at).",
        ));
    }
    if unix(end) + TOLERANCE_SECS <= unix(now) {
        return Err(ApiError::validation("This window is already over."));
    }
    Ok((start, end))
}

/// Uses of one code found in the lock's uploaded log.
#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    uses: u64,
    last: Option<OffsetDateTime>,
}

fn offline_view(
    c: AccessCodeRecord,
    grant: Grant,
    revocation: Option<(OffsetDateTime, Uuid)>,
    usage: Usage,
) -> OfflineAccessCode {
    OfflineAccessCode {
        delivery: Delivery::Offline,
        class: OfflineClass::of(grant.class),
        grant_reference: grant.reference().to_string(),
        valid_from: at(grant.starts_at() - TOLERANCE_SECS),
        valid_until: at(grant.ends_at() + TOLERANCE_SECS),
        uses: usage.uses,
        last_used_at: usage.last,
        revoked_by: revocation.map(|r| r.1),
        code: AccessCode {
            revoked_at: revocation.map(|r| r.0),
            ..code_json(c)
        },
    }
}

/// Log pages read at most to count uses (1,000 entries each).
const USAGE_PAGES: usize = 20;

/// The offline codes of a lock with their windows, uses and revocations (`give_access`).
pub async fn list(
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
) -> ApiResult<Vec<OfflineAccessCode>> {
    gated(state, user, id, Action::GiveAccess).await?;
    let org = user.org_id;
    let codes = lock_codes(state, org, id).await?;
    let revoked = state
        .db
        .run(move |s| s.access_code_revocations(org, id))
        .await
        .map_err(lock_missing)?;
    let mut usage: std::collections::HashMap<Uuid, Usage> = Default::default();
    let mut before = None;
    for _ in 0..USAGE_PAGES {
        let rows = state
            .db
            .run(move |s| s.list_logs(org, id, before, 1000))
            .await
            .map_err(lock_missing)?
            .entries;
        for r in &rows {
            if let Some(code_id) = r.code_id
                && r.action == "unlock"
                && grant_of(code_id).is_some()
            {
                let u = usage.entry(code_id).or_default();
                u.uses += 1;
                u.last = u.last.max(Some(r.at));
            }
        }
        match rows.last() {
            Some(last) if rows.len() == 1000 => before = Some(last.seq),
            _ => break,
        }
    }
    let items = codes
        .into_iter()
        .filter_map(|c| {
            let grant = grant_of(c.id)?;
            let r = revoked
                .iter()
                .find(|r| r.code_id == c.id)
                .map(|r| (r.revoked_at, r.revoked_by));
            let u = usage.get(&c.id).copied().unwrap_or_default();
            Some(offline_view(c, grant, r, u))
        })
        .collect();
    Ok(items)
}

/// A code as revoked: what [`revoke`] answers.
pub enum RevokedCode {
    /// Installed over BLE: it leaves the lock with the next door update a phone carries.
    Ble(AccessCodeRecord),
    /// Computed by the lock: refused once the lock's revocation list holds it.
    Offline(OfflineAccessCode),
}

/// Revokes one given code, alone (`give_access`): an offline code before its window ends,
/// or a code installed over BLE, which the lock's next door update no longer holds.
pub async fn revoke(
    state: &AppState,
    user: &UserRecord,
    id: Uuid,
    code_id: Uuid,
) -> ApiResult<RevokedCode> {
    gated(state, user, id, Action::GiveAccess).await?;
    let org = user.org_id;
    let code = lock_codes(state, org, id)
        .await?
        .into_iter()
        .find(|c| c.id == code_id)
        .ok_or_else(|| ApiError::not_found("Code"))?;
    let grant = grant_of(code_id);
    let a = audit(
        user,
        if grant.is_some() {
            "revoke_offline_code"
        } else {
            "revoke_code"
        },
        Some(format!(
            "{code_id} ({})",
            code.label.as_deref().unwrap_or("no label")
        )),
    );
    let when = a.at;
    state
        .db
        .run(move |s| s.revoke_access_code(org, id, code_id, &a))
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("Code"),
            StoreError::Conflict(_) => ApiError::conflict("This code is already revoked."),
            other => other.into(),
        })?;
    Ok(match grant {
        Some(grant) => RevokedCode::Offline(offline_view(
            code,
            grant,
            Some((when, user.id)),
            Usage::default(),
        )),
        None => RevokedCode::Ble(AccessCodeRecord {
            revoked_at: Some(when),
            ..code
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: AccessCodeKind, s: Option<i64>, e: Option<i64>) -> GiveAccessRequest {
        let t = |x: i64| OffsetDateTime::from_unix_timestamp(x).unwrap();
        GiveAccessRequest {
            kind,
            label: None,
            starts_at: s.map(t),
            ends_at: e.map(t),
            delivery: Delivery::Offline,
            class: None,
        }
    }

    #[test]
    fn windows_are_on_the_hour_up_to_thirty_days_and_not_over() {
        let h = 3_600i64;
        let base = 1_800_000_000i64; // on the hour
        let now = OffsetDateTime::from_unix_timestamp(base + 600).unwrap();
        let w = |s, e| offline_window(&req(AccessCodeKind::Window, s, e), now);
        assert!(w(Some(base), Some(base + h)).is_ok());
        assert!(w(Some(base + 60), Some(base + h)).is_err());
        assert!(w(Some(base), Some(base)).is_err());
        assert!(w(Some(base), Some(base + 720 * h)).is_ok());
        assert!(w(Some(base), Some(base + 721 * h)).is_err());
        assert!(w(Some(base - 2 * h), Some(base - h)).is_err());
        assert!(w(None, Some(base)).is_err());
        let (s, e) = offline_window(&req(AccessCodeKind::OneTime, None, None), now).unwrap();
        assert_eq!((unix(s), unix(e)), (base as u64, (base + 24 * h) as u64));
        assert!(offline_window(&req(AccessCodeKind::Permanent, None, None), now).is_err());
    }
}
