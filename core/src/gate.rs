//! The local permission gate: the same `access_domain::authorize` the server runs, on the
//! cached user, before anything is sent. Plain functions of the cached records.

use access_domain::api::Me;
use access_domain::{Action, Member, authorize};
use uuid::Uuid;

use crate::AccessError;

/// The phone's clock: the gate reads the cached access period against it, offline too.
fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// An id the cache cannot hold is a lock (or unit) nobody can see.
pub fn parse_id(id: &str) -> Result<Uuid, AccessError> {
    Uuid::parse_str(id.trim()).map_err(|_| AccessError::NotFound)
}

/// Whether `me` may take `action` on a lock of `unit`; a refusal is logged and typed.
pub fn check(me: &Me, action: Action, unit: Uuid) -> Result<(), AccessError> {
    authorize(&me.actor(), action, unit, now()).map_err(|denied| {
        tracing::info!(%unit, ?action, "refused locally: {denied}");
        denied.into()
    })
}

/// The actions `me` may take on a lock of `unit`, for showing only those buttons.
pub fn allowed_actions(me: &Me, unit: Uuid) -> Vec<Action> {
    let actor = me.actor();
    let now = now();
    Action::ALL
        .into_iter()
        .filter(|a| authorize(&actor, *a, unit, now).is_ok())
        .collect()
}

/// Every action on a lock of `unit`, allowed or not, with the gate's reason when not: a
/// screen shows a disabled action with why rather than hiding it without a word.
pub fn action_gates(me: &Me, unit: Uuid) -> Vec<crate::model::ActionGate> {
    let actor = me.actor();
    let now = now();
    Action::ALL
        .into_iter()
        .map(|action| {
            let verdict = authorize(&actor, action, unit, now).map_err(AccessError::from);
            crate::model::ActionGate {
                action,
                allowed: verdict.is_ok(),
                reason: verdict.err().map(|e| e.to_string()),
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use access_domain::{Access, App, Permission, UserStatus, UserType};

    pub(crate) fn member(permissions: &[Permission], units: &[Uuid]) -> Me {
        Me {
            id: Uuid::new_v4(),
            name: "Pat".into(),
            email: "pat@example.test".into(),
            user_type: UserType::TeamMember,
            status: UserStatus::Active,
            app: App::AccessManager,
            permissions: permissions.to_vec(),
            access: Access::Units {
                unit_ids: units.to_vec(),
            },
            organization_id: Uuid::new_v4(),
            period: Default::default(),
        }
    }

    #[test]
    fn refusals_are_typed_and_scope_is_checked() {
        let unit = Uuid::new_v4();
        let me = member(&[Permission::RenameLocks], &[unit]);
        assert!(check(&me, Action::Rename, unit).is_ok());
        assert!(matches!(
            check(&me, Action::ResetCodes, unit),
            Err(AccessError::NotAllowed { .. })
        ));
        assert!(matches!(
            check(&me, Action::Rename, Uuid::new_v4()),
            Err(AccessError::NotAllowed { .. })
        ));
        let revoked = Me {
            status: UserStatus::Revoked,
            ..me
        };
        assert_eq!(
            check(&revoked, Action::Unlock, unit),
            Err(AccessError::Revoked)
        );
    }

    #[test]
    fn allowed_actions_follow_the_permissions() {
        let unit = Uuid::new_v4();
        let me = member(&[Permission::ChangeModes, Permission::ViewLogs], &[unit]);
        assert_eq!(
            allowed_actions(&me, unit),
            vec![
                Action::View,
                Action::Unlock,
                Action::ChangeMode,
                Action::ViewLogs
            ]
        );
        assert!(allowed_actions(&me, Uuid::new_v4()).is_empty());
    }

    #[test]
    fn pairing_needs_the_right_in_scope_even_for_managers() {
        let unit = Uuid::new_v4();
        assert!(check(&member(&[], &[unit]), Action::Pair, unit).is_err());
        let pairer = member(&[Permission::ResetCodes], &[unit]);
        assert!(check(&pairer, Action::Pair, unit).is_ok());
        assert!(check(&pairer, Action::Pair, Uuid::new_v4()).is_err());
        let manager = member(&[Permission::ManageAccess], &[unit]);
        assert!(check(&manager, Action::Pair, unit).is_err());
    }

    #[test]
    fn outside_the_cached_period_the_gate_refuses_with_the_reason() {
        use access_domain::{AccessPeriod, WeeklyHours};
        let unit = Uuid::new_v4();
        let now = time::OffsetDateTime::now_utc();
        let mut me = member(&[Permission::ViewLogs], &[unit]);
        me.period = AccessPeriod {
            starts_at: Some(now + time::Duration::days(1)),
            ..AccessPeriod::ALWAYS
        };
        let reason = |me: &Me| {
            action_gates(me, unit)
                .into_iter()
                .find(|g| g.action == Action::Unlock)
                .and_then(|g| g.reason)
                .unwrap_or_default()
        };
        assert!(reason(&me).starts_with("Your access starts on "));
        assert_eq!(allowed_actions(&me, unit), vec![Action::View]);
        // Hours that never hold now: a one-minute slot twelve hours away.
        let minute = (now.hour() as u16 * 60 + now.minute() as u16 + 720) % 1440;
        me.period = AccessPeriod {
            weekly_hours: Some(WeeklyHours {
                days: WeeklyHours::EVERY_DAY,
                from_minute: minute.min(1438),
                to_minute: minute.min(1438) + 1,
                utc_offset_minutes: 0,
            }),
            ..AccessPeriod::ALWAYS
        };
        assert!(reason(&me).starts_with("Outside your access hours ("));
        assert!(matches!(
            check(&me, Action::ViewLogs, unit),
            Err(AccessError::NotAllowed { .. })
        ));
        me.period = AccessPeriod::ALWAYS;
        assert!(check(&me, Action::ViewLogs, unit).is_ok());
    }

    #[test]
    fn ids_that_are_not_uuids_are_not_found() {
        assert_eq!(parse_id("lock-1"), Err(AccessError::NotFound));
        let id = Uuid::new_v4();
        assert_eq!(parse_id(&format!(" {id} ")), Ok(id));
    }
}
