//! Keypad entry: master code, personal passcodes, installed access codes and offline codes
//! (checked by computation with the code secret, see `lock_protocol::offline_code`) against
//! the mode table, with a lockout against guessing.

use access_domain::AccessCodeKind;
use lock_protocol::command::{Actor, Bolt, Event, RefusalReason, Via};
use lock_protocol::offline_code::{self, OfflineCodeError};

use crate::state::{DRAIN_MOTOR, LockState, MAX_USED_CODES};

/// Wrong entries in a row before the keypad starts refusing input.
pub const KEYPAD_FREE_ATTEMPTS: u32 = 5;
/// The first keypad lockout, doubled for every further wrong entry.
pub const KEYPAD_LOCKOUT_BASE_SECS: u64 = 60;
/// The longest keypad lockout.
pub const KEYPAD_LOCKOUT_MAX_SECS: u64 = 60 * 60;

/// How long the keypad refuses input after `failures` wrong entries in a row.
///
/// ```
/// use virtual_lock::keypad_lockout_secs;
/// assert_eq!(keypad_lockout_secs(4), 0);
/// assert_eq!(keypad_lockout_secs(5), 60);
/// assert_eq!(keypad_lockout_secs(6), 120);
/// assert_eq!(keypad_lockout_secs(60), 3_600);
/// ```
pub fn keypad_lockout_secs(failures: u32) -> u64 {
    if failures < KEYPAD_FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - KEYPAD_FREE_ATTEMPTS).min(32);
    KEYPAD_LOCKOUT_BASE_SECS
        .saturating_mul(1u64 << doublings)
        .min(KEYPAD_LOCKOUT_MAX_SECS)
}

/// What a keypad entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeypadOutcome {
    /// The door opened for this code.
    Opened { actor: Actor, via: Via },
    /// A known code that does not open now, or wrong digits.
    Refused { reason: RefusalReason },
    /// Input refused: too many wrong entries; try again after this long.
    LockedOut { retry_after_secs: u64 },
}

impl LockState {
    pub(crate) fn keypad(&mut self, digits: &str, now: u64) -> KeypadOutcome {
        if now < self.keypad_guard.locked_until {
            let until = self.keypad_guard.locked_until;
            self.log.push(
                now,
                Actor::UnknownCode,
                Via::Keypad,
                Event::KeypadLockedOut { until },
            );
            return KeypadOutcome::LockedOut {
                retry_after_secs: until - now,
            };
        }
        if self.pairing.is_some() && self.master_code.as_deref() == Some(digits) {
            return self.open_by_keypad(Actor::MasterCode, Via::MasterCode, now);
        }
        let Some(code) = self.codes.values().find(|c| c.digits == digits).cloned() else {
            if digits.len() == offline_code::CODE_LEN {
                return self.offline_keypad(digits, now);
            }
            return self.wrong_entry(now);
        };
        let actor = Actor::Code {
            code_id: code.code_id,
            kind: code.kind,
            class: code.class,
            owner: code.owner,
        };
        let in_window = code.window.is_none_or(|w| w.contains(now));
        let reason = if code.kind != AccessCodeKind::Permanent && !in_window {
            Some(RefusalReason::CodeNotValidNow)
        } else if !self.mode.admits(code.class) {
            Some(RefusalReason::ModeForbids)
        } else if self.battery < DRAIN_MOTOR {
            Some(RefusalReason::LowBattery)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.log
                .push(now, actor, Via::Keypad, Event::KeypadRefused { reason });
            return KeypadOutcome::Refused { reason };
        }
        if code.kind == AccessCodeKind::OneTime {
            self.codes.remove(&code.code_id);
            if self.used_codes.len() >= MAX_USED_CODES {
                self.used_codes.pop_first();
            }
            self.used_codes.insert(code.code_id, now);
        }
        self.open_by_keypad(actor, Via::Keypad, now)
    }

    /// Counts a wrong entry (the lockout grows) and logs it.
    fn wrong_entry(&mut self, now: u64) -> KeypadOutcome {
        let guard = &mut self.keypad_guard;
        guard.failures = guard.failures.saturating_add(1);
        guard.locked_until = now + keypad_lockout_secs(guard.failures);
        let reason = RefusalReason::WrongCode;
        self.log.push(
            now,
            Actor::UnknownCode,
            Via::Keypad,
            Event::KeypadRefused { reason },
        );
        KeypadOutcome::Refused { reason }
    }

    /// An offline code (`lock_protocol::offline_code`): checked by computation with the code
    /// secret, then the revocation list, the used one-time codes and the mode table. Only a
    /// wrong MAC counts as a wrong entry: a genuine code outside its window is not a guess.
    fn offline_keypad(&mut self, digits: &str, now: u64) -> KeypadOutcome {
        let Some(pairing) = self.pairing.as_ref() else {
            return self.wrong_entry(now);
        };
        let grant = match offline_code::verify(&pairing.code_secret, pairing.lock_id, digits, now) {
            Ok(grant) => grant,
            Err(OfflineCodeError::NotYetValid | OfflineCodeError::Expired) => {
                let reason = RefusalReason::CodeNotValidNow;
                self.log.push(
                    now,
                    Actor::UnknownCode,
                    Via::Keypad,
                    Event::KeypadRefused { reason },
                );
                return KeypadOutcome::Refused { reason };
            }
            Err(_) => return self.wrong_entry(now),
        };
        let reference = grant.reference();
        let actor = Actor::Code {
            code_id: reference,
            kind: grant.kind,
            class: grant.class,
            owner: None,
        };
        // Used one-time codes whose window is over can go: they no longer verify anyway.
        self.used_codes.retain(|id, _| {
            offline_code::Grant::from_reference(*id).is_none_or(|g| g.admits_time(now))
        });
        let reason = if self.revoked.contains_key(&reference) {
            Some(RefusalReason::Revoked)
        } else if grant.kind == AccessCodeKind::OneTime && self.used_codes.contains_key(&reference)
        {
            Some(RefusalReason::CodeNotValidNow)
        } else if !self.mode.admits(grant.class) {
            Some(RefusalReason::ModeForbids)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.log
                .push(now, actor, Via::Keypad, Event::KeypadRefused { reason });
            return KeypadOutcome::Refused { reason };
        }
        let outcome = self.open_by_keypad(actor, Via::Keypad, now);
        if grant.kind == AccessCodeKind::OneTime && matches!(outcome, KeypadOutcome::Opened { .. })
        {
            if self.used_codes.len() >= MAX_USED_CODES {
                // Evict an installed code's mark first: offline marks are pruned by time.
                if let Some(id) = self
                    .used_codes
                    .keys()
                    .copied()
                    .find(|id| !offline_code::is_reference(*id))
                {
                    self.used_codes.remove(&id);
                }
            }
            self.used_codes.insert(reference, now);
        }
        outcome
    }

    fn open_by_keypad(&mut self, actor: Actor, via: Via, now: u64) -> KeypadOutcome {
        if self.battery < DRAIN_MOTOR {
            let reason = RefusalReason::LowBattery;
            self.log
                .push(now, actor, via, Event::KeypadRefused { reason });
            return KeypadOutcome::Refused { reason };
        }
        // The master code clears the count. Any other code clears it only an hour after the
        // last wrong entry: otherwise a visitor holding a valid code could type it after
        // every few guesses and never meet the lockout.
        let guard = self.keypad_guard;
        let last_failure = guard
            .locked_until
            .saturating_sub(keypad_lockout_secs(guard.failures));
        if actor == Actor::MasterCode || now >= last_failure.saturating_add(KEYPAD_LOCKOUT_MAX_SECS)
        {
            self.keypad_guard = Default::default();
        }
        self.drain(DRAIN_MOTOR);
        self.bolt = Bolt::Unlocked;
        self.log.push(now, actor, via, Event::Unlocked);
        KeypadOutcome::Opened { actor, via }
    }
}
