//! Pages of a lock's log as the phone shows them. The phone forwards the pages unchanged:
//! the server checks the lock's MAC and turns the entries into its log itself, with the
//! same mapping (`lock_protocol::report::describe`).

use access_domain::api::AccessCode;
use lock_protocol::command::LogEntry;
use lock_protocol::report::describe;

pub use lock_protocol::command::code_id_of as lock_code_id;

/// One entry as a line: sequence number, the lock's time, what, how, and who or which code
/// (`codes` are the lock's access codes as cached, to name a code by its label).
pub fn readable(entry: &LogEntry, codes: &[AccessCode]) -> String {
    let find = |id: u64| {
        codes
            .iter()
            .find(|c| lock_code_id(c.id) == id)
            .map(|c| c.id)
    };
    let d = describe(entry, find);
    let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(d.at).unwrap_or(i64::MAX))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| d.at.to_string());
    let mut line = format!("#{} {at} {} ({})", d.lock_seq, d.action, d.method.as_str());
    if let Some(user) = d.user_id {
        line.push_str(&format!(" user {user}"));
    }
    if let Some(code) = d.code_id {
        let label = codes
            .iter()
            .find(|c| c.id == code)
            .and_then(|c| c.label.clone());
        match label {
            Some(l) => line.push_str(&format!(" code {l:?}")),
            None => line.push_str(&format!(" code {code}")),
        }
    }
    if let Some(detail) = d.detail {
        line.push_str(&format!(": {detail}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_domain::{AccessCodeKind, CodeClass, CodeSyncState};
    use lock_protocol::command::{Actor, Event, Via};
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
            revoked_at: None,
        }
    }

    #[test]
    fn lines_name_the_user_or_the_code() {
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
        assert_eq!(
            readable(&by_ble, &[]),
            format!("#3 2027-01-15T08:00:00Z unlock (ble) user {user}")
        );
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
        assert!(readable(&keypad, &[code(id)]).ends_with("unlock (keypad) code \"Tour\""));
        assert!(readable(&keypad, &[]).contains(": code #"));
    }
}
