//! Delegated management: who may invite, edit and revoke whom.
//!
//! Holding [`Permission::ManageAccess`] lets a team member manage the users who sit within
//! their own reach: every unit of the user's scope is in the manager's scope, and every
//! permission the user holds the manager holds too. Whatever a manager sets (an invitation,
//! a new scope, new permissions) must stay within that reach, so nobody can hand out more
//! than they have, and nobody edits themselves. The server also keeps at least one active
//! holder per organization (checked where the change is written, see the stores).

use thiserror::Error;
use time::OffsetDateTime;

use crate::{Access, Actor, Permission, UserStatus, UserType};

/// Why a management request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ManageDenied {
    #[error("You need the \"Can manage lock access\" permission for this.")]
    NotManager,
    #[error("This needs a manager with access to all locks.")]
    NotOrganizationWide,
    #[error("You can only give access to units you have access to yourself.")]
    ScopeBeyondYours,
    #[error("You can only grant permissions you hold yourself: \"{}\".", .0.label())]
    PermissionBeyondYours(Permission),
    #[error("You cannot change your own access or permissions; ask another manager.")]
    Yourself,
    #[error("This user has access or permissions beyond yours; ask a manager who holds them.")]
    UserBeyondYours,
    /// The manager's own access dates or hours do not hold now.
    #[error("{0}")]
    OutsidePeriod(crate::Denied),
}

/// Whether `manager` may manage users at all at `now`: an active team member holding
/// [`Permission::ManageAccess`], within their own access dates and hours.
pub fn check_manager(manager: &Actor<'_>, now: OffsetDateTime) -> Result<(), ManageDenied> {
    let holds = manager.status == UserStatus::Active
        && manager.user_type == UserType::TeamMember
        && manager.permissions.contains(&Permission::ManageAccess);
    if !holds {
        return Err(ManageDenied::NotManager);
    }
    manager
        .period
        .admits(now)
        .map_err(|o| ManageDenied::OutsidePeriod(o.into()))
}

/// Whether `manager` may act on the whole organization (its properties and units, the
/// outbox that carries every invitation): a manager with access to all locks.
pub fn check_organization_manager(
    manager: &Actor<'_>,
    now: OffsetDateTime,
) -> Result<(), ManageDenied> {
    check_manager(manager, now)?;
    match manager.access {
        Access::AllLocks => Ok(()),
        Access::Units { .. } => Err(ManageDenied::NotOrganizationWide),
    }
}

/// Whether a user with `access` and `permissions` is within `manager`'s reach.
///
/// ```
/// use access_domain::{Access, AccessPeriod, Actor, Permission, UserStatus, UserType};
/// use access_domain::delegation::within_reach;
/// let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
/// let scope = Access::Units { unit_ids: vec![a] };
/// let manager = Actor { user_type: UserType::TeamMember, status: UserStatus::Active,
///     permissions: &[Permission::ManageAccess, Permission::GiveAccess], access: &scope,
///     period: &AccessPeriod::ALWAYS };
/// let mine = Access::Units { unit_ids: vec![a] };
/// assert!(within_reach(&manager, &mine, &[Permission::GiveAccess]).is_ok());
/// assert!(within_reach(&manager, &mine, &[Permission::ViewLogs]).is_err());
/// let wider = Access::Units { unit_ids: vec![a, b] };
/// assert!(within_reach(&manager, &wider, &[]).is_err());
/// assert!(within_reach(&manager, &Access::AllLocks, &[]).is_err());
/// ```
pub fn within_reach(
    manager: &Actor<'_>,
    access: &Access,
    permissions: &[Permission],
) -> Result<(), ManageDenied> {
    let scope_ok = match (manager.access, access) {
        (Access::AllLocks, _) => true,
        (Access::Units { .. }, Access::AllLocks) => false,
        (Access::Units { .. }, Access::Units { unit_ids }) => {
            unit_ids.iter().all(|u| manager.access.covers(*u))
        }
    };
    if !scope_ok {
        return Err(ManageDenied::ScopeBeyondYours);
    }
    match permissions
        .iter()
        .find(|p| !manager.permissions.contains(p))
    {
        Some(p) => Err(ManageDenied::PermissionBeyondYours(*p)),
        None => Ok(()),
    }
}

/// Whether `manager` may manage the existing user `target` (see it, edit it, revoke it,
/// resend its invitation): a manager, not themselves, and the user within their reach.
pub fn check_manages(
    manager: &Actor<'_>,
    manager_id: uuid::Uuid,
    target: &Actor<'_>,
    target_id: uuid::Uuid,
    now: OffsetDateTime,
) -> Result<(), ManageDenied> {
    check_manager(manager, now)?;
    if manager_id == target_id {
        return Err(ManageDenied::Yourself);
    }
    within_reach(manager, target.access, target.permissions)
        .map_err(|_| ManageDenied::UserBeyondYours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn a_manager_manages_only_within_their_own_access_dates() {
        let all = Access::AllLocks;
        let perms = [Permission::ManageAccess];
        let ended = crate::AccessPeriod {
            ends_at: Some(now() - time::Duration::days(1)),
            ..crate::AccessPeriod::ALWAYS
        };
        let manager = Actor {
            period: &ended,
            ..actor(&perms, &all)
        };
        assert!(matches!(
            check_manager(&manager, now()),
            Err(ManageDenied::OutsidePeriod(crate::Denied::Ended(_)))
        ));
        let until_tomorrow = crate::AccessPeriod {
            ends_at: Some(now() + time::Duration::days(1)),
            ..crate::AccessPeriod::ALWAYS
        };
        let manager = Actor {
            period: &until_tomorrow,
            ..actor(&perms, &all)
        };
        assert!(check_manager(&manager, now()).is_ok());
    }

    fn actor<'a>(permissions: &'a [Permission], access: &'a Access) -> Actor<'a> {
        Actor {
            user_type: UserType::TeamMember,
            status: UserStatus::Active,
            permissions,
            access,
            period: &crate::AccessPeriod::ALWAYS,
        }
    }

    #[test]
    fn only_active_team_members_holding_the_right_manage() {
        let all = Access::AllLocks;
        assert!(check_manager(&actor(&[Permission::ManageAccess], &all), now()).is_ok());
        assert_eq!(
            check_manager(&actor(&Permission::ALL[..6], &all), now()),
            Err(ManageDenied::NotManager)
        );
        for (user_type, status) in [
            (UserType::Resident, UserStatus::Active),
            (UserType::TeamMember, UserStatus::Revoked),
            (UserType::TeamMember, UserStatus::Pending),
        ] {
            let a = Actor {
                user_type,
                status,
                permissions: &Permission::ALL,
                access: &all,
                period: &crate::AccessPeriod::ALWAYS,
            };
            assert_eq!(check_manager(&a, now()), Err(ManageDenied::NotManager));
        }
        let units = Access::Units {
            unit_ids: vec![Uuid::new_v4()],
        };
        assert_eq!(
            check_organization_manager(&actor(&[Permission::ManageAccess], &units), now()),
            Err(ManageDenied::NotOrganizationWide)
        );
    }

    #[test]
    fn a_unit_manager_reaches_only_users_within_their_units_and_permissions() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let scope = Access::Units { unit_ids: vec![a] };
        let perms = [Permission::ManageAccess, Permission::GiveAccess];
        let m = actor(&perms, &scope);
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let inside = Access::Units { unit_ids: vec![a] };
        let partly = Access::Units {
            unit_ids: vec![a, b],
        };
        let ok = actor(&[Permission::GiveAccess], &inside);
        assert!(check_manages(&m, me, &ok, other, now()).is_ok());
        assert_eq!(
            check_manages(&m, me, &ok, me, now()),
            Err(ManageDenied::Yourself)
        );
        for (p, s) in [
            (&[Permission::ViewLogs][..], &inside),
            (&[][..], &partly),
            (&[][..], &Access::AllLocks),
        ] {
            assert_eq!(
                check_manages(&m, me, &actor(p, s), other, now()),
                Err(ManageDenied::UserBeyondYours)
            );
        }
        assert_eq!(
            within_reach(&m, &inside, &[Permission::ChangeModes]),
            Err(ManageDenied::PermissionBeyondYours(Permission::ChangeModes))
        );
        // Granting the right itself is fine for a holder: it is one of theirs.
        assert!(within_reach(&m, &inside, &[Permission::ManageAccess]).is_ok());
    }
}
