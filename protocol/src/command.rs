//! What an open session carries: commands from the phone, typed responses from the lock,
//! and the rights each command needs.
//!
//! ```
//! use lock_protocol::command::{Command, RefusalReason, Response};
//! use lock_protocol::credential::Rights;
//! assert_eq!(Command::Unlock.required_right(), Rights::UNLOCK);
//! assert!(Response::Refused { reason: RefusalReason::NotPermitted }.is_refusal());
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use access_domain::{AccessCodeKind, CodeClass, LockMode};
use serde::{Deserialize, Serialize};

use crate::credential::{Rights, UserClass};

/// Longest lock name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Shortest and longest keypad code, in digits.
pub const CODE_DIGITS: core::ops::RangeInclusive<usize> = 4..=12;
/// Most log entries in one [`Response::Log`] page (keeps a response well under the frame limit).
pub const MAX_LOG_BATCH: u16 = 100;

/// A time window in unix seconds, `starts_at` inclusive, `ends_at` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub starts_at: u64,
    pub ends_at: u64,
}

impl Window {
    /// Whether `now` falls in the window.
    pub fn contains(&self, now: u64) -> bool {
        // A code opens only inside its window, whatever its kind (`AccessCode::window`).
        self.starts_at <= now && now < self.ends_at
    }
}

/// An access code as the phone installs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessCode {
    /// The server's id of the code; the lock confirms installation by this id.
    pub code_id: u64,
    /// 4 to 12 ASCII digits.
    pub digits: String,
    pub kind: AccessCodeKind,
    /// Required for `window` and `one_time` codes (a one-time code's window is its
    /// first-use period); optional for `permanent` ones (a person's access dates, a
    /// contract: `starts_at` 0 for no start, `ends_at` `u64::MAX` for no end). When present
    /// the lock opens for the code only inside it, whatever the kind.
    pub window: Option<Window>,
    /// Which row of the mode table the code uses (guest, tour, or a person's passcode).
    pub class: CodeClass,
    /// Whose code it is, for personal passcodes of staff and residents.
    pub owner: Option<uuid::Uuid>,
}

impl AccessCode {
    /// Whether the lock can hold this code: valid digits, a window where the kind needs
    /// one (and any window it has ends after it starts), and not the master code's class.
    pub fn is_valid(&self) -> bool {
        let window_ok = match self.kind {
            AccessCodeKind::Permanent => self.window.is_none_or(|w| w.starts_at < w.ends_at),
            AccessCodeKind::Window | AccessCodeKind::OneTime => {
                self.window.is_some_and(|w| w.starts_at < w.ends_at)
            }
        };
        valid_code_digits(&self.digits) && window_ok && self.class != CodeClass::Master
    }
}

/// The id a lock knows a code by: the first 64 bits of the server's UUID (the server and
/// the phones map codes the same way).
///
/// ```
/// let id = uuid::Uuid::from_u64_pair(7, 9);
/// assert_eq!(lock_protocol::command::code_id_of(id), 7);
/// ```
pub fn code_id_of(code: uuid::Uuid) -> u64 {
    code.as_u64_pair().0
}

/// A credential serial that must no longer open, kept until its credential would expire
/// anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub serial: u64,
    /// The revoked credential's `not_after`: after it the entry can be forgotten.
    pub expires_at: u64,
}

/// A type with no value: what fills a [`Command`] or [`Response`] slot that is kept only
/// for the wire indexes of the variants after it. Bytes naming such a slot do not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reserved {}

/// A command from the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Unlock,
    Lock,
    SetMode(LockMode),
    Rename(String),
    AddAccessCode(AccessCode),
    RemoveAccessCode {
        code_id: u64,
    },
    ReadStatus,
    /// Entries with a sequence number above `since`, oldest first, at most `max`.
    ReadLog {
        since: u64,
        max: u16,
    },
    ReadMasterCode,
    /// No command: the lock's clock and revocation list come only in door updates. The two
    /// slots keep the wire indexes of the commands after them (postcard numbers variants by
    /// position); nothing decodes into them.
    Reserved9(Reserved),
    Reserved10(Reserved),
    /// Back to factory-fresh: unpaired, new identity key, everything cleared.
    FactoryReset,
    /// A signed, sealed door update ([`crate::door`]), carried for the platform by any
    /// credential holder: the update's own signature is its authority.
    ApplyUpdate(Vec<u8>),
}

impl Command {
    /// The right a credential must hold for this command.
    pub fn required_right(&self) -> Rights {
        match self {
            Command::Unlock => Rights::UNLOCK,
            Command::Lock => Rights::LOCK,
            Command::SetMode(_) => Rights::SET_MODE,
            Command::Rename(_) => Rights::RENAME,
            Command::AddAccessCode(_) | Command::RemoveAccessCode { .. } => Rights::MANAGE_CODES,
            Command::ReadStatus => Rights::READ_STATUS,
            Command::ReadLog { .. } => Rights::READ_LOG,
            Command::ReadMasterCode => Rights::VIEW_MASTER,
            Command::FactoryReset => Rights::FACTORY_RESET,
            Command::ApplyUpdate(_) => Rights::READ_STATUS,
            Command::Reserved9(never) | Command::Reserved10(never) => match *never {},
        }
    }

    /// Whether the credential must be inside its validity window at the lock's clock. A door
    /// update does not need it: it is signed by the organization and only ever moves the
    /// lock forward, and a lock whose clock is behind must still be able to take the update
    /// that corrects it. The credential's signature, lock and revocation are still checked.
    pub fn needs_current_credential(&self) -> bool {
        !matches!(self, Command::ApplyUpdate(_))
    }
}

/// Whether `name` can be a lock's name: not blank, at most [`MAX_NAME_LEN`] bytes.
pub fn valid_name(name: &str) -> bool {
    !name.trim().is_empty() && name.len() <= MAX_NAME_LEN
}

/// Whether `digits` is an acceptable keypad code.
pub fn valid_code_digits(digits: &str) -> bool {
    CODE_DIGITS.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// What the lock reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Percent, 0 to 100.
    pub battery: u8,
    pub firmware: String,
    /// The lock's clock, unix seconds.
    pub clock: u64,
    pub mode: LockMode,
    pub name: String,
    /// Sequence number of the newest log entry (0 when empty).
    pub log_head: u64,
    pub access_codes: u32,
    pub bolt: Bolt,
    /// The door update version the lock holds (0: none applied since pairing).
    pub door_version: u64,
    /// [`crate::door::receipt`] over the lock id, `door_version`, `battery`, `clock` and
    /// `firmware` (zeros while unpaired): the platform's proof of the contact.
    pub receipt: [u8; 32],
}

/// The bolt's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bolt {
    Locked,
    Unlocked,
}

/// Who did something, as the lock knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// A credential holder over BLE.
    User {
        user_id: uuid::Uuid,
        class: UserClass,
        serial: u64,
    },
    /// An access code entered on the keypad, with whose it is when it is a passcode.
    Code {
        code_id: u64,
        kind: AccessCodeKind,
        class: CodeClass,
        owner: Option<uuid::Uuid>,
    },
    /// The master code on the keypad.
    MasterCode,
    /// A keypad entry that matched nothing.
    UnknownCode,
    /// The pairing phone (before any credential exists).
    Installer,
    /// The lock itself (e.g. auto-relock).
    Lock,
}

/// How it was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    Ble,
    Keypad,
    MasterCode,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Paired,
    Unlocked,
    Locked,
    ModeChanged {
        from: LockMode,
        to: LockMode,
    },
    Renamed {
        to: String,
    },
    /// A door update brought a new master code and offline-code secret (the platform reset
    /// the lock's codes); `removed` access codes went with it.
    CodesReset {
        removed: u32,
    },
    CodeAdded {
        code_id: u64,
    },
    CodeRemoved {
        code_id: u64,
    },
    MasterCodeViewed,
    /// What older firmware logged when a phone set the clock. Nothing logs it now; the
    /// variant stays so that entries already in a lock's log decode (postcard numbers
    /// variants by position).
    TimeSet {
        from: u64,
        to: u64,
    },
    /// What older firmware logged when a phone pushed revocations; kept like
    /// [`Event::TimeSet`].
    RevocationsPushed {
        added: u32,
    },
    /// A keypad code that opens nothing right now, with why.
    KeypadRefused {
        reason: RefusalReason,
    },
    /// Keypad input while locked out; `until` is the lock's clock.
    KeypadLockedOut {
        until: u64,
    },
    /// A door update was applied as a whole (logged once, at the lock's clock after it).
    UpdateApplied {
        version: u64,
    },
    /// A genuine, fresh door update the lock could not take as a whole, logged once per
    /// version so that the platform hears it in the lock's own (MACed) log: `DuplicateCode`
    /// names the code it puts whose digits the lock already holds, `CapacityFull` names none.
    UpdateRefused {
        version: u64,
        reason: RefusalReason,
        code_id: Option<u64>,
    },
}

/// One entry of the lock's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    /// The lock's clock, unix seconds.
    pub at: u64,
    pub actor: Actor,
    pub via: Via,
    pub event: Event,
}

/// Why the lock refused an authenticated command (or a keypad entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefusalReason {
    /// The credential lacks the right for this command.
    NotPermitted,
    /// The lock's mode does not admit this class (e.g. staff in resident mode).
    ModeForbids,
    Expired,
    NotYetValid,
    WrongLock,
    Revoked,
    /// The session counter is not above the last one accepted for this credential.
    Replay,
    /// Malformed or badly signed credential.
    BadCredential,
    /// A malformed argument (name too long, bad digits, missing window).
    InvalidArgument,
    /// The code's digits are already used by another code or the master code.
    DuplicateCode,
    UnknownCode,
    /// The lock holds as many codes as it can.
    CapacityFull,
    /// A keypad code outside its window, or a used one-time code.
    CodeNotValidNow,
    /// Keypad locked out after too many wrong entries.
    LockedOut,
    /// Wrong digits.
    WrongCode,
    LowBattery,
    /// The lock could not save before acting (its storage failed); it did nothing.
    StorageFailed,
    /// A door update whose version the lock already holds (or an older one).
    StaleUpdate,
    /// A door update built on another version than the one the lock holds
    /// ([`Status::door_version`]): the platform sends the missing ones or a whole state.
    UpdateBaseMismatch,
    /// A door update that does not decode, verify, open, or fit this lock.
    BadUpdate,
}

impl RefusalReason {
    /// What the refusal means, in a sentence fragment for people (the platform shows it
    /// beside a code the lock did not take).
    pub fn explain(&self) -> &'static str {
        match self {
            RefusalReason::NotPermitted => "the credential does not allow it",
            RefusalReason::ModeForbids => "the lock's mode does not allow it",
            RefusalReason::Expired => "the credential has expired",
            RefusalReason::NotYetValid => "the credential is not valid yet",
            RefusalReason::WrongLock => "it is meant for another lock",
            RefusalReason::Revoked => "the credential was revoked",
            RefusalReason::Replay => "it was sent before (a replay)",
            RefusalReason::BadCredential => "the credential is not genuine",
            RefusalReason::InvalidArgument => "the lock cannot hold it as given",
            RefusalReason::DuplicateCode => {
                "its digits are already used by another code on the lock"
            }
            RefusalReason::UnknownCode => "the lock does not hold this code",
            RefusalReason::CapacityFull => "the lock holds as many codes as it can",
            RefusalReason::CodeNotValidNow => "the code is not valid now",
            RefusalReason::LockedOut => "the keypad is locked out",
            RefusalReason::WrongCode => "wrong digits",
            RefusalReason::LowBattery => "the lock's battery is too low",
            RefusalReason::StorageFailed => "the lock could not save it",
            RefusalReason::StaleUpdate => "the lock holds a newer update",
            RefusalReason::UpdateBaseMismatch => "the lock holds another version",
            RefusalReason::BadUpdate => "the update is not genuine or not for this lock",
        }
    }
}

/// The lock's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Unlocked,
    Locked,
    ModeSet(LockMode),
    Renamed(String),
    /// The lock holds the code: the server may mark it installed.
    CodeInstalled {
        code_id: u64,
    },
    /// The lock no longer holds the code (also when it never did).
    CodeRemoved {
        code_id: u64,
    },
    Status(Status),
    /// Entries with a sequence number above the one asked for, as one page MACed under the
    /// lock's report key ([`crate::report`]).
    Log {
        page: crate::report::LogPage,
        /// Newest sequence number on the lock: read again while the last entry is below it.
        head: u64,
    },
    MasterCode(String),
    /// No response: slots kept for the wire indexes of the responses after them, like
    /// [`Command::Reserved9`].
    Reserved9(Reserved),
    Reserved10(Reserved),
    FactoryReset,
    Refused {
        reason: RefusalReason,
    },
    /// The lock took the door update as a whole and now holds `version`.
    UpdateApplied {
        version: u64,
    },
}

impl Response {
    /// Whether this is a refusal.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Response::Refused { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;
    use proptest::prelude::*;

    #[test]
    fn a_permanent_code_may_carry_a_window_that_ends_after_it_starts() {
        let code = |kind, window| AccessCode {
            code_id: 1,
            digits: "12345678".into(),
            kind,
            window,
            class: CodeClass::Resident,
            owner: None,
        };
        let dates = Window {
            starts_at: 0,
            ends_at: u64::MAX,
        };
        let inverted = Window {
            starts_at: 5,
            ends_at: 5,
        };
        assert!(code(AccessCodeKind::Permanent, None).is_valid());
        assert!(code(AccessCodeKind::Permanent, Some(dates)).is_valid());
        assert!(!code(AccessCodeKind::Permanent, Some(inverted)).is_valid());
        assert!(!code(AccessCodeKind::Window, None).is_valid());
        let c = Command::AddAccessCode(code(AccessCodeKind::Permanent, Some(dates)));
        let b = wire::encode_body(&c);
        assert_eq!(wire::decode_body::<Command>(&b), Ok(c));
    }

    #[test]
    fn commands_and_responses_round_trip() {
        let cmds = [
            Command::Unlock,
            Command::SetMode(LockMode::Resident),
            Command::AddAccessCode(AccessCode {
                code_id: 9,
                digits: "123456".into(),
                kind: AccessCodeKind::OneTime,
                window: Some(Window {
                    starts_at: 1,
                    ends_at: 2,
                }),
                class: CodeClass::Guest,
                owner: None,
            }),
            Command::ApplyUpdate(vec![1, 2, 3]),
        ];
        for c in cmds {
            let b = wire::encode_body(&c);
            assert_eq!(wire::decode_body::<Command>(&b), Ok(c));
        }
        assert!(valid_code_digits("0000"));
        assert!(!valid_code_digits("123"));
        assert!(!valid_code_digits("12a4"));
    }

    #[test]
    fn the_reserved_slots_decode_nothing_and_keep_the_indexes_after_them() {
        // Index 9 with a clock, index 10 with one revocation: no command, no response.
        for bytes in [
            vec![9, 0x80, 0xc6, 0xd7, 0xd3, 0x06],
            vec![9],
            vec![10, 1, 7, 0x80, 0xc6, 0xd7, 0xd3, 0x06],
            vec![10, 0],
        ] {
            assert!(wire::decode_body::<Command>(&bytes).is_err(), "{bytes:?}");
            assert!(wire::decode_body::<Response>(&bytes).is_err(), "{bytes:?}");
        }
        assert_eq!(wire::encode_body(&Command::ReadMasterCode), [8]);
        assert_eq!(wire::encode_body(&Command::FactoryReset), [11]);
        assert_eq!(
            wire::encode_body(&Command::ApplyUpdate(vec![5])),
            [12, 1, 5]
        );
        assert_eq!(wire::encode_body(&Response::FactoryReset), [11]);
        assert_eq!(
            wire::encode_body(&Response::Refused {
                reason: RefusalReason::NotPermitted
            }),
            [12, 0]
        );
        assert_eq!(
            wire::encode_body(&Response::UpdateApplied { version: 3 }),
            [13, 3]
        );
        // Log entries keep their event indexes too.
        assert_eq!(
            wire::encode_body(&Event::TimeSet { from: 1, to: 2 }),
            [9, 1, 2]
        );
        assert_eq!(
            wire::encode_body(&Event::UpdateApplied { version: 1 }),
            [13, 1]
        );
        assert_eq!(
            wire::encode_body(&Event::UpdateRefused {
                version: 1,
                reason: RefusalReason::DuplicateCode,
                code_id: Some(5)
            }),
            [14, 1, 9, 1, 5]
        );
    }

    proptest! {
        #[test]
        fn command_and_response_decoders_survive_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..300)
        ) {
            let _ = wire::decode_body::<Command>(&bytes);
            let _ = wire::decode_body::<Response>(&bytes);
        }
    }
}
