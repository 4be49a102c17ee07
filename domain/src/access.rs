//! Access scope and the gate: may this user do this to that lock?
//!
//! The server calls [`authorize`] on every request and the core calls it before sending
//! anything, so both refuse the same things for the same reasons.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::period::{AccessPeriod, OutsidePeriod, WeeklyHours, format_date};
use crate::{Permission, UserStatus, UserType};

/// The level of lock access, as the invitation form sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Access {
    /// Selected units only (vendors, maintenance, leasing agents of some buildings).
    Units { unit_ids: Vec<Uuid> },
    /// Every lock of the organization (administrators, operations leads).
    AllLocks,
}

impl Access {
    /// The `type` tag, as serialized and as the server stores it: `units` or `all_locks`.
    pub fn kind(&self) -> &'static str {
        match self {
            Access::Units { .. } => "units",
            Access::AllLocks => "all_locks",
        }
    }

    /// Whether a lock in `unit_id` is within this scope.
    pub fn covers(&self, unit_id: Uuid) -> bool {
        match self {
            Access::Units { unit_ids } => unit_ids.contains(&unit_id),
            Access::AllLocks => true,
        }
    }
}

/// What a user wants to do to a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See the lock in lists and its details.
    View,
    /// Open or close it over BLE (and get the signed credential to do so).
    Unlock,
    ResetCodes,
    Rename,
    ChangeMode,
    ViewLogs,
    ViewMasterCode,
    GiveAccess,
    /// Pair a factory-fresh lock on site and register it under a unit.
    Pair,
    /// Share a guest's time-window offline code: a resident for the doors of their own
    /// unit (within [`GUEST_SHARE_MAX_HOURS`]), a team member with `give_access`.
    ShareGuestCode,
}

/// The longest window, in hours, of a guest code a resident shares (a week).
pub const GUEST_SHARE_MAX_HOURS: u64 = 7 * 24;

/// What a resident may share for a guest: a time-window code of the guest class, of at most
/// [`GUEST_SHARE_MAX_HOURS`]. The server checks it, and the core before sending anything.
///
/// ```
/// use access_domain::{AccessCodeKind, access::resident_guest_share};
/// assert!(resident_guest_share(AccessCodeKind::Window, true, 48).is_ok());
/// assert!(resident_guest_share(AccessCodeKind::Window, true, 169).is_err());
/// assert!(resident_guest_share(AccessCodeKind::OneTime, true, 24).is_err());
/// assert!(resident_guest_share(AccessCodeKind::Window, false, 2).is_err());
/// ```
pub fn resident_guest_share(
    kind: crate::AccessCodeKind,
    guest_class: bool,
    hours: u64,
) -> Result<(), &'static str> {
    if kind != crate::AccessCodeKind::Window {
        return Err("Residents share time-window guest codes: choose when your guest may come.");
    }
    if !guest_class {
        return Err("Residents share guest codes only (not tour codes).");
    }
    if hours > GUEST_SHARE_MAX_HOURS {
        return Err("A guest code you share lasts at most 7 days.");
    }
    Ok(())
}

impl Action {
    /// Every action, in the order a lock screen shows them.
    pub const ALL: [Action; 10] = [
        Action::View,
        Action::Unlock,
        Action::ResetCodes,
        Action::Rename,
        Action::ChangeMode,
        Action::ViewLogs,
        Action::ViewMasterCode,
        Action::GiveAccess,
        Action::Pair,
        Action::ShareGuestCode,
    ];

    /// The permission a team member needs for this action, if any.
    pub fn required_permission(self) -> Option<Permission> {
        match self {
            Action::View | Action::Unlock => None,
            Action::ResetCodes | Action::Pair => Some(Permission::ResetCodes),
            Action::Rename => Some(Permission::RenameLocks),
            Action::ChangeMode => Some(Permission::ChangeModes),
            Action::ViewLogs => Some(Permission::ViewLogs),
            Action::ViewMasterCode => Some(Permission::ViewMasterCode),
            Action::GiveAccess | Action::ShareGuestCode => Some(Permission::GiveAccess),
        }
    }
}

/// The facts about a user that the gate needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor<'a> {
    pub user_type: UserType,
    pub status: UserStatus,
    pub permissions: &'a [Permission],
    pub access: &'a Access,
    /// When the access holds ([`AccessPeriod::ALWAYS`] for no dates).
    pub period: &'a AccessPeriod,
}

/// A user record the gate can read: the API's [`Me`](crate::api::Me), the server's stored user,
/// the phone's cached profile. [`Member::actor`] is the one place an [`Actor`] is built.
pub trait Member {
    fn user_type(&self) -> UserType;
    fn status(&self) -> UserStatus;
    fn permissions(&self) -> &[Permission];
    fn access(&self) -> &Access;
    fn period(&self) -> &AccessPeriod;

    /// The facts [`authorize`] reads, borrowed from this record.
    fn actor(&self) -> Actor<'_> {
        Actor {
            user_type: self.user_type(),
            status: self.status(),
            permissions: self.permissions(),
            access: self.access(),
            period: self.period(),
        }
    }
}

impl Member for crate::api::Me {
    fn user_type(&self) -> UserType {
        self.user_type
    }
    fn status(&self) -> UserStatus {
        self.status
    }
    fn permissions(&self) -> &[Permission] {
        &self.permissions
    }
    fn access(&self) -> &Access {
        &self.access
    }
    fn period(&self) -> &AccessPeriod {
        &self.period
    }
}

/// Why the gate said no. Each case has a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Denied {
    #[error("Your access has been revoked.")]
    Revoked,
    #[error("Your account is not active yet: finish registration first.")]
    NotActive,
    #[error("Residents can only open the locks of their own unit and share guest codes for them.")]
    ResidentAction,
    #[error("You need the \"{}\" permission for this.", .0.label())]
    MissingPermission(Permission),
    #[error("This lock is outside the units you have access to.")]
    OutOfScope,
    #[error("Your access starts on {}.", format_date(*.0))]
    NotStarted(time::OffsetDateTime),
    #[error("Your access ended on {}.", format_date(*.0))]
    Ended(time::OffsetDateTime),
    #[error("Outside your access hours ({0}).")]
    OutsideHours(WeeklyHours),
}

impl From<OutsidePeriod> for Denied {
    fn from(o: OutsidePeriod) -> Self {
        match o {
            OutsidePeriod::NotStarted(t) => Denied::NotStarted(t),
            OutsidePeriod::Ended(t) => Denied::Ended(t),
            OutsidePeriod::OutsideHours(h) => Denied::OutsideHours(h),
        }
    }
}

/// Decides whether `actor` may perform `action` on a lock of `unit_id` at `now`.
///
/// Outside the actor's [`AccessPeriod`] (before its start, after its end, outside its
/// weekly hours) every action on the lock but [`Action::View`] is refused.
///
/// ```
/// use access_domain::{authorize, Access, Action, Actor, Permission, UserStatus, UserType};
/// use access_domain::period::AccessPeriod;
/// let unit = uuid::Uuid::new_v4();
/// let now = time::OffsetDateTime::now_utc();
/// let access = Access::Units { unit_ids: vec![unit] };
/// let agent = Actor { user_type: UserType::TeamMember, status: UserStatus::Active,
///                     permissions: &[Permission::RenameLocks], access: &access,
///                     period: &AccessPeriod::ALWAYS };
/// assert!(authorize(&agent, Action::Rename, unit, now).is_ok());
/// assert!(authorize(&agent, Action::ChangeMode, unit, now).is_err());
/// assert!(authorize(&agent, Action::Rename, uuid::Uuid::new_v4(), now).is_err());
/// let moved_out = AccessPeriod { ends_at: Some(now), ..AccessPeriod::ALWAYS };
/// let former = Actor { period: &moved_out, ..agent };
/// assert!(authorize(&former, Action::Rename, unit, now).is_err());
/// assert!(authorize(&former, Action::View, unit, now).is_ok());
/// ```
pub fn authorize(
    actor: &Actor<'_>,
    action: Action,
    unit_id: Uuid,
    now: time::OffsetDateTime,
) -> Result<(), Denied> {
    match actor.status {
        UserStatus::Active => {}
        UserStatus::Revoked => return Err(Denied::Revoked),
        UserStatus::Pending => return Err(Denied::NotActive),
    }
    if !actor.access.covers(unit_id) {
        return Err(Denied::OutOfScope);
    }
    if action != Action::View {
        actor.period.admits(now)?;
    }
    match actor.user_type {
        UserType::Resident => match action {
            Action::View | Action::Unlock | Action::ShareGuestCode => Ok(()),
            _ => Err(Denied::ResidentAction),
        },
        UserType::TeamMember => match action.required_permission() {
            Some(p) if !actor.permissions.contains(&p) => Err(Denied::MissingPermission(p)),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    #[test]
    fn each_permission_gates_its_actions_and_nothing_else() {
        let unit = Uuid::new_v4();
        let access = Access::AllLocks;
        for missing in Permission::ALL {
            let others: Vec<_> = Permission::ALL
                .into_iter()
                .filter(|p| *p != missing)
                .collect();
            let actor = Actor {
                user_type: UserType::TeamMember,
                status: UserStatus::Active,
                permissions: &others,
                access: &access,
                period: &AccessPeriod::ALWAYS,
            };
            for action in Action::ALL {
                let allowed = authorize(&actor, action, unit, now()).is_ok();
                assert_eq!(
                    allowed,
                    action.required_permission() != Some(missing),
                    "{action:?}"
                );
            }
        }
    }

    #[test]
    fn the_kind_is_the_serialized_type_tag() {
        for access in [
            Access::AllLocks,
            Access::Units {
                unit_ids: vec![Uuid::nil()],
            },
        ] {
            let json = serde_json::to_value(&access).unwrap();
            assert_eq!(json["type"], access.kind());
        }
    }

    #[test]
    fn residents_pending_revoked_and_out_of_scope_are_refused() {
        let unit = Uuid::new_v4();
        let access = Access::Units {
            unit_ids: vec![unit],
        };
        let all = Permission::ALL;
        let resident = Actor {
            user_type: UserType::Resident,
            status: UserStatus::Active,
            permissions: &[],
            access: &access,
            period: &AccessPeriod::ALWAYS,
        };
        assert!(authorize(&resident, Action::Unlock, unit, now()).is_ok());
        assert_eq!(
            authorize(&resident, Action::Rename, unit, now()),
            Err(Denied::ResidentAction)
        );
        assert_eq!(
            authorize(&resident, Action::Unlock, Uuid::new_v4(), now()),
            Err(Denied::OutOfScope)
        );
        for (status, err) in [
            (UserStatus::Pending, Denied::NotActive),
            (UserStatus::Revoked, Denied::Revoked),
        ] {
            let staff = Actor {
                user_type: UserType::TeamMember,
                status,
                permissions: &all,
                access: &access,
                period: &AccessPeriod::ALWAYS,
            };
            assert_eq!(authorize(&staff, Action::View, unit, now()), Err(err));
        }
    }

    #[test]
    fn outside_the_period_only_viewing_is_left_with_the_reason() {
        use crate::period::WeeklyHours;
        use time::macros::datetime;
        let unit = Uuid::new_v4();
        let access = Access::AllLocks;
        let hours = WeeklyHours {
            days: WeeklyHours::WEEKDAYS,
            from_minute: 8 * 60,
            to_minute: 17 * 60,
            utc_offset_minutes: 0,
        };
        let period = AccessPeriod {
            starts_at: Some(datetime!(2026-12-01 00:00 UTC)),
            ends_at: Some(datetime!(2026-12-31 00:00 UTC)),
            weekly_hours: Some(hours),
        };
        let vendor = Actor {
            user_type: UserType::TeamMember,
            status: UserStatus::Active,
            permissions: &Permission::ALL,
            access: &access,
            period: &period,
        };
        let at = |t| authorize(&vendor, Action::Unlock, unit, t);
        assert!(at(datetime!(2026-12-07 09:00 UTC)).is_ok());
        let before = at(datetime!(2026-11-30 09:00 UTC)).unwrap_err();
        assert_eq!(
            before.to_string(),
            "Your access starts on 2026-12-01 00:00 UTC."
        );
        let after = at(datetime!(2026-12-31 09:00 UTC)).unwrap_err();
        assert_eq!(
            after.to_string(),
            "Your access ended on 2026-12-31 00:00 UTC."
        );
        let night = at(datetime!(2026-12-07 20:00 UTC)).unwrap_err();
        assert_eq!(
            night.to_string(),
            "Outside your access hours (Mon-Fri 08:00-17:00 UTC)."
        );
        for action in Action::ALL {
            let verdict = authorize(&vendor, action, unit, datetime!(2027-01-01 09:00 UTC));
            assert_eq!(verdict.is_ok(), action == Action::View, "{action:?}");
        }
    }
}
