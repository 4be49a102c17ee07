//! What the lock reports of itself, authenticated with its report key: the pages of its log
//! ([`LogPage`]), and how an entry reads in the platform's log ([`describe`]).
//!
//! The report key is 32 bytes the platform derives per lock and seals into whole door
//! updates ([`crate::door::PlainUpdate::report_key`]); the lock keeps it across code resets
//! and forgets it at a factory reset. Every page of its log carries
//!
//! ```text
//! mac = HMAC-SHA256(report key, "lock-protocol log page v1\0" || lock_id (16) || entries)
//! ```
//!
//! over the exact encoded entries (postcard of the entries, as the lock sent them), so a
//! phone forwards pages it cannot alter, extend or move to another lock, and the platform
//! stores only what the lock wrote. A lock without a report key yet sends an all-zero MAC,
//! which matches no key in practice and which the platform refuses.
//!
//! ```
//! use lock_protocol::command::{Actor, Event, LogEntry, Via};
//! use lock_protocol::report::LogPage;
//! let (key, lock) = ([5u8; 32], uuid::Uuid::new_v4());
//! let entries = vec![LogEntry { seq: 1, at: 1_800_000_000, actor: Actor::MasterCode,
//!                               via: Via::MasterCode, event: Event::Unlocked }];
//! let page = LogPage::seal(Some(&key), lock, &entries);
//! assert_eq!(page.verify(&key, lock).unwrap(), entries);
//! assert!(page.verify(&key, uuid::Uuid::new_v4()).is_err());
//! assert!(LogPage::seal(None, lock, &entries).is_unsigned());
//! ```

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use access_domain::api::LogMethod;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::command::{Actor, Event, LogEntry, MAX_LOG_BATCH, Via};
use crate::crypto;
use crate::wire;

/// Length of a report key and of a page's MAC.
pub const REPORT_KEY_LEN: usize = 32;
/// The most encoded entries one page holds: [`MAX_LOG_BATCH`] entries of the largest kind
/// take less (asserted by the tests).
pub const MAX_PAGE_LEN: usize = 12 * 1024;
/// Domain separation of the page MAC (the report key also keys the lock's receipts).
pub const PAGE_LABEL: &[u8] = b"lock-protocol log page v1\0";

/// One answer's worth of the lock's log, as the lock sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    /// postcard of `Vec<LogEntry>`, oldest first: the bytes the MAC covers.
    pub entries: Vec<u8>,
    /// HMAC-SHA256 under the report key ([`page_mac`]); all zero while the lock has none.
    pub mac: [u8; 32],
}

/// Why a page was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PageError {
    #[error("the page carries no MAC: the lock held no report key")]
    Unsigned,
    #[error("the page's MAC does not match: not what this lock wrote")]
    BadMac,
    #[error("the page's entries are malformed or over their bounds")]
    Malformed,
}

/// The MAC of a page of `lock_id`'s log holding the encoded `entries`.
pub fn page_mac(report_key: &[u8; 32], lock_id: Uuid, entries: &[u8]) -> [u8; 32] {
    crypto::hmac(report_key, &[PAGE_LABEL, lock_id.as_bytes(), entries])
}

impl LogPage {
    /// The lock's side: encodes `entries` and MACs them under `report_key` (zeros without).
    pub fn seal(report_key: Option<&[u8; 32]>, lock_id: Uuid, entries: &[LogEntry]) -> LogPage {
        let entries = wire::encode_body(&entries);
        let mac = report_key.map_or([0; 32], |k| page_mac(k, lock_id, &entries));
        LogPage { entries, mac }
    }

    /// Whether the lock had no report key when it sent this page.
    pub fn is_unsigned(&self) -> bool {
        self.mac == [0; 32]
    }

    /// The entries as the page claims them, unverified: for showing on the phone, never for
    /// what the platform records. At most [`MAX_LOG_BATCH`] entries in rising sequence
    /// numbers, within [`MAX_PAGE_LEN`].
    pub fn entries(&self) -> Result<Vec<LogEntry>, PageError> {
        decode_entries(&self.entries)
    }

    /// The platform's side: the entries, once the MAC shows `lock_id`'s lock wrote them
    /// under `report_key` (constant-time check).
    pub fn verify(&self, report_key: &[u8; 32], lock_id: Uuid) -> Result<Vec<LogEntry>, PageError> {
        if self.entries.len() > MAX_PAGE_LEN {
            return Err(PageError::Malformed);
        }
        if self.is_unsigned() {
            return Err(PageError::Unsigned);
        }
        if !crypto::hmac_verify(
            report_key,
            &[PAGE_LABEL, lock_id.as_bytes(), &self.entries],
            &self.mac,
        ) {
            return Err(PageError::BadMac);
        }
        decode_entries(&self.entries)
    }
}

/// Decodes a page's entries within their bounds: any bytes give an answer, never a panic.
pub fn decode_entries(bytes: &[u8]) -> Result<Vec<LogEntry>, PageError> {
    if bytes.len() > MAX_PAGE_LEN {
        return Err(PageError::Malformed);
    }
    let entries: Vec<LogEntry> = wire::decode_body(bytes).map_err(|_| PageError::Malformed)?;
    let rising = entries.windows(2).all(|w| w[0].seq < w[1].seq);
    if entries.len() > usize::from(MAX_LOG_BATCH) || !rising {
        return Err(PageError::Malformed);
    }
    Ok(entries)
}

/// One log entry as the platform's log shows it: what happened, how, by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub lock_seq: u64,
    /// The lock's clock, unix seconds.
    pub at: u64,
    /// e.g. `unlock`, `mode_change`, `keypad_refused`.
    pub action: &'static str,
    pub method: LogMethod,
    /// The user over BLE, or the owner of a personal passcode.
    pub user_id: Option<Uuid>,
    /// The platform's id of the code used (or added, removed), when `known` names it.
    pub code_id: Option<Uuid>,
    /// `code #<lock code id>` for a code `known` does not name.
    pub detail: Option<String>,
}

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
        Event::UpdateRefused {
            version, reason, ..
        } => (
            "update_refused",
            Some(format!("version {version}: {}", reason.explain())),
        ),
    }
}

/// How `entry` reads in the platform's log; `known` gives the platform's id of a lock code
/// id ([`crate::command::code_id_of`]) when it knows the code.
pub fn describe(entry: &LogEntry, known: impl Fn(u64) -> Option<Uuid>) -> Described {
    let (action, mut detail) = action_and_detail(&entry.event);
    let event_code = match entry.event {
        Event::CodeAdded { code_id } | Event::CodeRemoved { code_id } => Some(code_id),
        Event::UpdateRefused { code_id, .. } => code_id,
        _ => None,
    };
    let (user_id, mut code_id) = match entry.actor {
        Actor::User { user_id, .. } => (Some(user_id), None),
        Actor::Code { code_id, owner, .. } => {
            let found = known(code_id);
            if found.is_none() {
                detail = Some(format!("code #{code_id}"));
            }
            (owner, found)
        }
        Actor::MasterCode | Actor::UnknownCode | Actor::Installer | Actor::Lock => (None, None),
    };
    if code_id.is_none()
        && let Some(id) = event_code
    {
        code_id = known(id);
    }
    let method = match entry.via {
        Via::Ble => LogMethod::Ble,
        Via::Keypad => LogMethod::Keypad,
        Via::MasterCode => LogMethod::MasterCode,
    };
    Described {
        lock_seq: entry.seq,
        at: entry.at,
        action,
        method,
        user_id,
        code_id,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{RefusalReason, code_id_of};
    use crate::credential::UserClass;
    use access_domain::{AccessCodeKind, CodeClass, LockMode};
    use proptest::prelude::*;

    const KEY: [u8; 32] = [0x42; 32];

    fn entry(seq: u64, actor: Actor, via: Via, event: Event) -> LogEntry {
        LogEntry {
            seq,
            at: 1_800_000_000u64.saturating_add(seq),
            actor,
            via,
            event,
        }
    }

    fn page_entries() -> Vec<LogEntry> {
        alloc::vec![
            entry(
                7,
                Actor::User {
                    user_id: Uuid::from_u128(9),
                    class: UserClass::Resident,
                    serial: 3,
                },
                Via::Ble,
                Event::Unlocked,
            ),
            entry(
                8,
                Actor::UnknownCode,
                Via::Keypad,
                Event::KeypadRefused {
                    reason: RefusalReason::WrongCode,
                }
            ),
            entry(
                9,
                Actor::Lock,
                Via::Ble,
                Event::Renamed { to: "Gate".into() }
            ),
        ]
    }

    #[test]
    fn a_page_verifies_under_its_key_and_lock_only() {
        let lock = Uuid::new_v4();
        let page = LogPage::seal(Some(&KEY), lock, &page_entries());
        assert_eq!(page.verify(&KEY, lock), Ok(page_entries()));
        assert_eq!(page.entries(), Ok(page_entries()));
        assert_eq!(page.verify(&[0x43; 32], lock), Err(PageError::BadMac));
        assert_eq!(page.verify(&KEY, Uuid::new_v4()), Err(PageError::BadMac));
        // The MAC is over the label too: the same HMAC without it is no page's.
        let bare = crypto::hmac(&KEY, &[lock.as_bytes(), &page.entries]);
        let relabelled = LogPage {
            mac: bare,
            ..page.clone()
        };
        assert_eq!(relabelled.verify(&KEY, lock), Err(PageError::BadMac));
        // A lock without a report key sends zeros, refused whatever the key.
        let unsigned = LogPage::seal(None, lock, &page_entries());
        assert!(unsigned.is_unsigned());
        assert_eq!(unsigned.verify(&KEY, lock), Err(PageError::Unsigned));
        assert_eq!(unsigned.verify(&[0; 32], lock), Err(PageError::Unsigned));
    }

    #[test]
    fn any_flipped_byte_of_a_page_fails() {
        let lock = Uuid::new_v4();
        let page = LogPage::seal(Some(&KEY), lock, &page_entries());
        for i in 0..page.entries.len() {
            for bit in [0x01, 0x80] {
                let mut t = page.clone();
                t.entries[i] ^= bit;
                assert_eq!(t.verify(&KEY, lock), Err(PageError::BadMac), "byte {i}");
            }
        }
        for i in 0..page.mac.len() {
            let mut t = page.clone();
            t.mac[i] ^= 0x01;
            assert_eq!(t.verify(&KEY, lock), Err(PageError::BadMac), "mac byte {i}");
        }
        // Entries dropped, added or re-encoded change the bytes, so the MAC.
        let mut shorter = page.clone();
        shorter.entries = wire::encode_body(&page_entries()[..2].to_vec());
        assert_eq!(shorter.verify(&KEY, lock), Err(PageError::BadMac));
        let mut longer = page.clone();
        longer.entries.push(0);
        assert_eq!(longer.verify(&KEY, lock), Err(PageError::BadMac));
    }

    #[test]
    fn the_fullest_page_fits_its_bound() {
        let biggest = entry(
            u64::MAX,
            Actor::User {
                user_id: Uuid::from_u128(u128::MAX),
                class: UserClass::Staff,
                serial: u64::MAX,
            },
            Via::MasterCode,
            Event::Renamed {
                to: "N".repeat(crate::command::MAX_NAME_LEN),
            },
        );
        let code = entry(
            u64::MAX,
            Actor::Code {
                code_id: u64::MAX,
                kind: AccessCodeKind::OneTime,
                class: CodeClass::Resident,
                owner: Some(Uuid::from_u128(u128::MAX)),
            },
            Via::Keypad,
            Event::TimeSet {
                from: u64::MAX,
                to: u64::MAX,
            },
        );
        let largest = wire::encode_body(&biggest)
            .len()
            .max(wire::encode_body(&code).len());
        let full = largest * usize::from(MAX_LOG_BATCH) + 10;
        assert!(full <= MAX_PAGE_LEN, "{full}");
        // And the lock's answer carrying it stays under the frame limit.
        const { assert!(MAX_PAGE_LEN + 200 < crate::frame::MAX_MESSAGE) };
        let mut over = page_entries();
        over.extend(
            (10..=u64::from(MAX_LOG_BATCH) + 8)
                .map(|s| entry(s, Actor::Lock, Via::Ble, Event::Locked)),
        );
        assert_eq!(
            LogPage::seal(Some(&KEY), Uuid::nil(), &over).verify(&KEY, Uuid::nil()),
            Err(PageError::Malformed)
        );
        let mut backwards = page_entries();
        backwards.swap(0, 1);
        assert_eq!(
            LogPage::seal(Some(&KEY), Uuid::nil(), &backwards).entries(),
            Err(PageError::Malformed)
        );
    }

    #[test]
    fn entries_name_the_user_or_the_code() {
        let user = Uuid::new_v4();
        let e = describe(&page_entries()[0], |_| None);
        assert_eq!((e.lock_seq, e.action), (7, "unlock"));
        assert_eq!(
            (e.user_id, e.method),
            (Some(Uuid::from_u128(9)), LogMethod::Ble)
        );
        assert_eq!(e.at, 1_800_000_007);

        let id = Uuid::from_u64_pair(77, 1);
        let known = |c: u64| (c == code_id_of(id)).then_some(id);
        let keypad = entry(
            4,
            Actor::Code {
                code_id: code_id_of(id),
                kind: AccessCodeKind::Permanent,
                class: CodeClass::Resident,
                owner: Some(user),
            },
            Via::Keypad,
            Event::Unlocked,
        );
        let e = describe(&keypad, known);
        assert_eq!((e.code_id, e.user_id), (Some(id), Some(user)));
        assert_eq!(e.method, LogMethod::Keypad);
        let unknown = describe(&keypad, |_| None);
        assert_eq!(unknown.code_id, None);
        assert_eq!(unknown.detail.as_deref(), Some("code #77"));
        let added = entry(5, Actor::Lock, Via::Ble, Event::CodeAdded { code_id: 77 });
        assert_eq!(describe(&added, known).code_id, Some(id));
        assert_eq!(describe(&added, known).action, "code_installed");
        let mode = entry(
            6,
            Actor::MasterCode,
            Via::MasterCode,
            Event::ModeChanged {
                from: LockMode::Vacant,
                to: LockMode::Tour,
            },
        );
        let e = describe(&mode, known);
        assert_eq!(e.method, LogMethod::MasterCode);
        assert_eq!(e.detail.as_deref(), Some("vacant -> tour"));
    }

    /// The bytes of a page are pinned: other implementations (the web tests' page builder in
    /// tests/web/lib/lock-log.mjs) encode and MAC pages by hand.
    #[test]
    fn the_page_encoding_and_mac_are_pinned() {
        let entries = alloc::vec![
            LogEntry {
                seq: 1,
                at: 1_800_000_000,
                actor: Actor::UnknownCode,
                via: Via::Keypad,
                event: Event::KeypadRefused {
                    reason: RefusalReason::WrongCode,
                },
            },
            LogEntry {
                seq: 300,
                at: 1_800_000_060,
                actor: Actor::UnknownCode,
                via: Via::Keypad,
                event: Event::KeypadLockedOut {
                    until: 1_800_000_120,
                },
            },
        ];
        let lock = Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
        let page = LogPage::seal(Some(&[7; 32]), lock, &entries);
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(&page.entries),
            "020180a4a7da0603010b0eac02bca4a7da0603010cf8a4a7da06"
        );
        assert_eq!(
            hex(&page.mac),
            "3230a76a69994ae5143a1aa5f9901dbe8a92fe0bb461b969a9e44fa77e4bfaaa"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn page_decoders_survive_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..4_000),
            mac in any::<[u8; 32]>(),
        ) {
            let _ = decode_entries(&bytes);
            let page = LogPage { entries: bytes, mac };
            let _ = page.entries();
            prop_assert!(page.verify(&KEY, Uuid::nil()).is_err());
        }

        #[test]
        fn a_changed_genuine_page_never_verifies(
            edits in proptest::collection::vec((any::<usize>(), 1..=255u8), 1..6)
        ) {
            let lock = Uuid::from_u128(1);
            let page = LogPage::seal(Some(&KEY), lock, &page_entries());
            let mut t = page.clone();
            for (at, x) in edits {
                let n = t.entries.len();
                t.entries[at % n] ^= x;
            }
            if t.entries != page.entries {
                prop_assert_eq!(t.verify(&KEY, lock), Err(PageError::BadMac));
            }
        }
    }
}
