//! Offline codes (see docs/offline-codes.md): a 14-digit code the lock checks by
//! itself, issued by the server for an hour-granular window of up to 30 days. Giving one is
//! gated locally like every give-access (`give_access` permission and scope) and needs the
//! network: the code is derived on the server from the lock's code secret, which the phone
//! never keeps.

use std::time::SystemTime;

use access_domain::access::resident_guest_share;
use access_domain::{AccessCodeKind, Action, UserType};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::AccessError;
use crate::engine::Engine;
use crate::locks::to_odt;
use crate::model::TimeWindow;

/// Which row of the lock's mode table an offline code uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "snake_case")]
pub enum OfflineCodeClass {
    /// Vendors and guests: opens in vacant and maintenance mode.
    Guest,
    /// Self-guided tours: opens in tour mode only.
    Tour,
}

/// An offline code as the server issued it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OfflineCodeInfo {
    pub id: String,
    pub lock_id: String,
    /// 14 digits, typed on the lock's keypad.
    pub code: String,
    pub kind: AccessCodeKind,
    pub class: OfflineCodeClass,
    pub label: Option<String>,
    pub starts_at: SystemTime,
    pub ends_at: SystemTime,
    /// The window widened by the lock's clock tolerance (5 minutes each side).
    pub valid_from: SystemTime,
    pub valid_until: SystemTime,
}

#[derive(Serialize)]
struct Request<'a> {
    kind: AccessCodeKind,
    delivery: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<OfflineCodeClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    starts_at: Option<OffsetDateTime>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    ends_at: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
struct Answer {
    id: uuid::Uuid,
    lock_id: uuid::Uuid,
    code: String,
    kind: AccessCodeKind,
    class: OfflineCodeClass,
    label: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    ends_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    valid_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    valid_until: OffsetDateTime,
}

/// Checks what can be checked before any request: the kind, and a window on the hour of
/// 1 hour to 30 days.
fn check(kind: AccessCodeKind, window: Option<&TimeWindow>) -> Result<(), AccessError> {
    let invalid = |m: &str| {
        Err(AccessError::InvalidInput {
            message: m.to_string(),
        })
    };
    match (kind, window) {
        (AccessCodeKind::Permanent, _) => {
            return invalid("Offline codes are window or one-time codes.");
        }
        (AccessCodeKind::Window, None) => {
            return invalid("A time-window code needs a start and an end.");
        }
        _ => {}
    }
    if let Some(w) = window {
        let (s, e) = (to_odt(w.starts_at)?, to_odt(w.ends_at)?);
        let on_hour = |t: OffsetDateTime| t.unix_timestamp().rem_euclid(3_600) == 0;
        if !on_hour(s) || !on_hour(e) {
            return invalid("Offline codes start and end on the hour.");
        }
        if e <= s || e - s > time::Duration::days(30) {
            return invalid("An offline code's window lasts 1 hour to 30 days.");
        }
    }
    Ok(())
}

impl Engine {
    /// Gives an offline code (`give_access`): `window` (needs `window`) or `one_time`
    /// (without `window`: this hour plus 24 hours), `class` guest or tour (default: tour
    /// when the lock is in tour mode). Needs the network; refused locally, with nothing
    /// sent, when the permission or scope does not allow it.
    pub(crate) async fn give_offline_access(
        &self,
        lock_id: String,
        kind: AccessCodeKind,
        class: Option<OfflineCodeClass>,
        label: Option<String>,
        window: Option<TimeWindow>,
    ) -> Result<OfflineCodeInfo, AccessError> {
        check(kind, window.as_ref())?;
        // A resident shares a guest code for their own unit's doors, within the domain's
        // bounds; team members give codes with `give_access`.
        let resident = self.me().await?.user_type == UserType::Resident;
        let action = if resident {
            Action::ShareGuestCode
        } else {
            Action::GiveAccess
        };
        let (_, lock) = self.gate(&lock_id, action).await?;
        let class = if resident {
            let hours = window.as_ref().map_or(0, |w| {
                w.ends_at
                    .duration_since(w.starts_at)
                    .map_or(0, |d| d.as_secs() / 3_600)
            });
            let guest = class.unwrap_or(OfflineCodeClass::Guest) == OfflineCodeClass::Guest;
            resident_guest_share(kind, guest, hours).map_err(|m| AccessError::InvalidInput {
                message: m.to_string(),
            })?;
            Some(OfflineCodeClass::Guest)
        } else {
            class
        };
        let label = label
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string);
        let body = Request {
            kind,
            delivery: "offline",
            class,
            label: label.as_deref(),
            starts_at: window.as_ref().map(|w| to_odt(w.starts_at)).transpose()?,
            ends_at: window.as_ref().map(|w| to_odt(w.ends_at)).transpose()?,
        };
        let key = uuid::Uuid::new_v4().to_string();
        let a: Answer = self
            .request(
                Method::POST,
                &format!("/api/v1/locks/{}/access-codes", lock.id),
                Some(&body),
                Some(&key),
            )
            .await?;
        Ok(OfflineCodeInfo {
            id: a.id.to_string(),
            lock_id: a.lock_id.to_string(),
            code: a.code,
            kind: a.kind,
            class: a.class,
            label: a.label,
            starts_at: a.starts_at.into(),
            ends_at: a.ends_at.into(),
            valid_from: a.valid_from.into(),
            valid_until: a.valid_until.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn windows_are_checked_before_any_request() {
        let h = 1_800_000_000u64; // on the hour
        let w = |s, e| TimeWindow {
            starts_at: at(s),
            ends_at: at(e),
        };
        assert!(check(AccessCodeKind::Window, Some(&w(h, h + 3_600))).is_ok());
        assert!(check(AccessCodeKind::OneTime, None).is_ok());
        assert!(check(AccessCodeKind::Window, None).is_err());
        assert!(check(AccessCodeKind::Permanent, None).is_err());
        assert!(check(AccessCodeKind::Window, Some(&w(h + 60, h + 3_600))).is_err());
        assert!(check(AccessCodeKind::Window, Some(&w(h, h + 721 * 3_600))).is_err());
        assert!(check(AccessCodeKind::Window, Some(&w(h, h))).is_err());
    }
}
