//! Log entries read from a lock, turned into the server's upload shape: who (user, or which
//! code and whose) and how (BLE, keypad, master code).

use access_domain::api::{AccessCode, LockLogEvent, LogMethod};
use lock_protocol::command::{Actor, Event, LogEntry, Via};

pub use lock_protocol::command::code_id_of as lock_code_id;

fn action_and_detail(event: &Event) -> (&'static str, Option<String>) {
    match event {
        Event::Paired => ("paired", None),
        Event::Unlocked => ("unlock", None),
        Event::Locked => ("lock", None),
        Event::ModeChanged { from, to } => (
            "mode_change",
            Some(format!("{} -> {}", from.as_str(), to.as_str())),
        ),
        Event::Renamed { to } => ("rename", Some(format!("-> {to:?}"))),
        Event::CodesReset { removed } => ("reset_codes", Some(format!("{removed} codes removed"))),
        Event::CodeAdded { .. } => ("code_installed", None),
        Event::CodeRemoved { .. } => ("code_removed", None),
        Event::MasterCodeViewed => ("view_master_code", None),
        Event::TimeSet { from, to } => ("set_time", Some(format!("{from} -> {to}"))),
        Event::RevocationsPushed { added } => {
            ("revocations_pushed", Some(format!("{added} added")))
        }
        Event::KeypadRefused { reason } => ("keypad_refused", Some(format!("{reason:?}"))),
        Event::KeypadLockedOut { until } => ("keypad_locked_out", Some(format!("until {until}"))),
        Event::UpdateApplied { version } => ("update_applied", Some(format!("version {version}"))),
    }
}

/// Converts one entry; `codes` are the lock's access codes as cached, to name the code.
pub fn to_upload(entry: &LogEntry, codes: &[AccessCode]) -> LockLogEvent {
    let (action, mut detail) = action_and_detail(&entry.event);
    let find = |id: u64| {
        codes
            .iter()
            .find(|c| lock_code_id(c.id) == id)
            .map(|c| c.id)
    };
    let event_code = match entry.event {
        Event::CodeAdded { code_id } | Event::CodeRemoved { code_id } => Some(code_id),
        _ => None,
    };
    let (user_id, mut code_id) = match entry.actor {
        Actor::User { user_id, .. } => (Some(user_id), None),
        Actor::Code { code_id, owner, .. } => {
            let known = find(code_id);
            if known.is_none() {
                detail = Some(format!("code #{code_id}"));
            }
            (owner, known)
        }
        Actor::MasterCode => (None, None),
        Actor::UnknownCode => (None, None),
        Actor::Installer => (None, None),
        Actor::Lock => (None, None),
    };
    if code_id.is_none()
        && let Some(id) = event_code
    {
        code_id = find(id);
    }
    let method = match entry.via {
        Via::Ble => LogMethod::Ble,
        Via::Keypad => LogMethod::Keypad,
        Via::MasterCode => LogMethod::MasterCode,
    };
    let at = time::OffsetDateTime::from_unix_timestamp(entry.at.min(i64::MAX as u64) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    LockLogEvent {
        lock_seq: entry.seq,
        at,
        action: action.into(),
        method,
        user_id,
        code_id,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_domain::{AccessCodeKind, CodeClass, CodeSyncState};
    use lock_protocol::credential::UserClass;
    use uuid::Uuid;

    fn code(id: Uuid) -> AccessCode {
        AccessCode {
            id,
            lock_id: Uuid::nil(),
            kind: AccessCodeKind::OneTime,
            label: Some("Tour".into()),
            code: "123456".into(),
            starts_at: None,
            ends_at: None,
            sync_state: CodeSyncState::Installed,
            failure_reason: None,
            created_by: Uuid::nil(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn entries_name_the_user_or_the_code() {
        let user = Uuid::new_v4();
        let by_ble = LogEntry {
            seq: 3,
            at: 1_800_000_000,
            actor: Actor::User {
                user_id: user,
                class: UserClass::Staff,
                serial: 1,
            },
            via: Via::Ble,
            event: Event::Unlocked,
        };
        let e = to_upload(&by_ble, &[]);
        assert_eq!((e.lock_seq, e.action.as_str()), (3, "unlock"));
        assert_eq!((e.user_id, e.method), (Some(user), LogMethod::Ble));
        assert_eq!(e.at.unix_timestamp(), 1_800_000_000);

        let id = Uuid::new_v4();
        let keypad = LogEntry {
            seq: 4,
            at: 1,
            actor: Actor::Code {
                code_id: lock_code_id(id),
                kind: AccessCodeKind::OneTime,
                class: CodeClass::Tour,
                owner: None,
            },
            via: Via::Keypad,
            event: Event::Unlocked,
        };
        let e = to_upload(&keypad, &[code(id)]);
        assert_eq!((e.code_id, e.method), (Some(id), LogMethod::Keypad));
        let unknown = to_upload(&keypad, &[]);
        assert_eq!(unknown.code_id, None);
        assert!(unknown.detail.unwrap().contains("code #"));

        let master = LogEntry {
            actor: Actor::MasterCode,
            via: Via::MasterCode,
            ..keypad
        };
        assert_eq!(to_upload(&master, &[]).method, LogMethod::MasterCode);
    }
}
