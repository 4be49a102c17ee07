//! Keypad entry: master code, personal passcodes, installed access codes and offline codes
//! (checked by computation with the code secret, see `lock_protocol::offline_code`) against
//! the mode table, with one lockout against guessing for all of them.
//!
//! Every refused entry counts, except a refusal for low battery: wrong digits, and a genuine
//! code typed outside its window, in a mode that does not admit it, used up or revoked (a
//! guesser who hits a code that does not open now gets no free try for it). A count is
//! forgiven one entry per [`KEYPAD_FORGIVE_SECS`] without a counted entry; opening the door
//! does not touch it (only the master code clears it), so the residents' comings and goings
//! give a guesser no fresh attempts. [`keypad_max_guesses`] is the most entries this lets
//! anyone try in a given time; docs/keypad-codes.md has the arithmetic.

use access_domain::AccessCodeKind;
use lock_protocol::command::{Actor, Bolt, Event, RefusalReason, Via};
use lock_protocol::offline_code::{self, OfflineCodeError};

use crate::state::{DRAIN_MOTOR, Guard, LockState, MAX_USED_CODES};

/// Counted entries before the keypad starts refusing input.
pub const KEYPAD_FREE_ATTEMPTS: u32 = 5;
/// The first keypad lockout, doubled for every further counted entry.
pub const KEYPAD_LOCKOUT_BASE_SECS: u64 = 60;
/// The longest keypad lockout.
pub const KEYPAD_LOCKOUT_MAX_SECS: u64 = 60 * 60;
/// One counted entry is forgiven for every this long since the last counted entry.
pub const KEYPAD_FORGIVE_SECS: u64 = 60 * 60;

/// How long the keypad refuses input after an entry that brought the count to `failures`.
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

impl Guard {
    /// When the last counted keypad entry was. The state file keeps only the count and the
    /// deadline; the entry that set them started the lockout the count gives.
    pub fn last_keypad_failure(&self) -> u64 {
        self.locked_until
            .saturating_sub(keypad_lockout_secs(self.failures))
    }

    /// The keypad count as an entry at `now` finds it: one forgiven for every full
    /// [`KEYPAD_FORGIVE_SECS`] since the last counted entry.
    ///
    /// ```
    /// use virtual_lock::{KEYPAD_FORGIVE_SECS, state::Guard};
    /// let mut guard = Guard::default();
    /// for _ in 0..7 {
    ///     guard.count_keypad_failure(1_000);
    /// }
    /// assert_eq!(guard.keypad_failures_at(1_000 + KEYPAD_FORGIVE_SECS - 1), 7);
    /// assert_eq!(guard.keypad_failures_at(1_000 + 3 * KEYPAD_FORGIVE_SECS), 4);
    /// ```
    pub fn keypad_failures_at(&self, now: u64) -> u32 {
        let quiet = now.saturating_sub(self.last_keypad_failure());
        let forgiven = u32::try_from(quiet / KEYPAD_FORGIVE_SECS).unwrap_or(u32::MAX);
        self.failures.saturating_sub(forgiven)
    }

    /// How long the keypad still refuses input at `now`: never longer than the count's
    /// lockout, even when the lock's clock was set back after the last counted entry.
    pub fn keypad_lockout_left(&self, now: u64) -> u64 {
        self.locked_until
            .saturating_sub(now)
            .min(keypad_lockout_secs(self.failures))
    }

    /// Counts a keypad entry at `now` after forgiving what the quiet time forgives; the
    /// keypad then refuses input until `locked_until`.
    pub fn count_keypad_failure(&mut self, now: u64) {
        self.failures = self.keypad_failures_at(now).saturating_add(1);
        self.locked_until = now.saturating_add(keypad_lockout_secs(self.failures));
    }
}

/// Counts above this are treated as this one by [`keypad_max_guesses`] (a lower count never
/// gives fewer tries, so the answer stays an upper bound).
const MAX_GUESS_COUNT: u32 = 64;

/// The most counted keypad entries (guesses: each one is checked against every code) that
/// fit in `span_secs`, over every way of spacing them: an exact search over the lockout and
/// the forgiving. Anything else typed only adds to the count or leaves it alone (the master
/// code aside, which staff hold), so no one else's entries raise it.
///
/// ```
/// use virtual_lock::keypad_max_guesses;
/// // 5 free, then lockouts of 1, 2, 4, 8, 16 and 32 minutes.
/// assert_eq!(keypad_max_guesses(1), 5);
/// assert_eq!(keypad_max_guesses(60 + 120 + 240 + 480 + 960 + 1_920 + 1), 11);
/// ```
pub fn keypad_max_guesses(span_secs: u64) -> u64 {
    let slots = MAX_GUESS_COUNT as usize + 1;
    // earliest[c]: the earliest time the guess counted so far can have been made, leaving
    // the count at c. A later time with the same count is never better: the rules only
    // look at time differences.
    let mut earliest: Vec<Option<u64>> = vec![None; slots];
    let mut first = Guard::default();
    first.count_keypad_failure(0);
    earliest[first.failures as usize] = Some(0);
    let mut guesses = 0;
    while earliest.iter().flatten().any(|&t| t < span_secs) {
        guesses += 1;
        let mut next: Vec<Option<u64>> = vec![None; slots];
        for (count, at) in earliest.iter().enumerate() {
            let Some(at) = *at else { continue };
            if at >= span_secs {
                continue;
            }
            let count = u32::try_from(count).unwrap_or(MAX_GUESS_COUNT);
            let guard = Guard {
                failures: count,
                locked_until: at + keypad_lockout_secs(count),
            };
            // The next guess: as soon as the lockout ends, or after `forgiven` quiet periods.
            for forgiven in 0..=u64::from(count) {
                let when = guard
                    .locked_until
                    .max(at.saturating_add(forgiven * KEYPAD_FORGIVE_SECS));
                let mut after = guard;
                after.count_keypad_failure(when);
                let c = after.failures.min(MAX_GUESS_COUNT) as usize;
                if next[c].is_none_or(|t| when < t) {
                    next[c] = Some(when);
                }
            }
        }
        earliest = next;
    }
    guesses
}

/// What a keypad entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeypadOutcome {
    /// The door opened for this code.
    Opened { actor: Actor, via: Via },
    /// A known code that does not open now, or wrong digits; either counts toward the
    /// lockout (a refusal for low battery does not).
    Refused { reason: RefusalReason },
    /// Input refused unchecked: too many counted entries; try again after this long.
    LockedOut { retry_after_secs: u64 },
}

impl LockState {
    pub(crate) fn keypad(&mut self, digits: &str, now: u64) -> KeypadOutcome {
        let left = self.keypad_guard.keypad_lockout_left(now);
        if left > 0 {
            self.log.push(
                now,
                Actor::UnknownCode,
                Via::Keypad,
                Event::KeypadLockedOut { until: now + left },
            );
            return KeypadOutcome::LockedOut {
                retry_after_secs: left,
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
        // Any code with a window opens only inside it: a permanent passcode carries its
        // holder's access dates as one (move-in to move-out).
        let in_window = code.window.is_none_or(|w| w.contains(now));
        let reason = if !in_window {
            Some(RefusalReason::CodeNotValidNow)
        } else if !self.mode.admits(code.class) {
            Some(RefusalReason::ModeForbids)
        } else if self.battery < DRAIN_MOTOR {
            Some(RefusalReason::LowBattery)
        } else {
            None
        };
        if let Some(reason) = reason {
            return self.refuse(actor, reason, now);
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

    /// Wrong digits: counted (the lockout grows) and logged.
    fn wrong_entry(&mut self, now: u64) -> KeypadOutcome {
        self.refuse(Actor::UnknownCode, RefusalReason::WrongCode, now)
    }

    /// Refuses an entry and logs why. Every refusal counts toward the lockout except low
    /// battery: a genuine code that does not open now is, to the keypad, a guess that hit a
    /// code, and must cost what a guess costs.
    fn refuse(&mut self, actor: Actor, reason: RefusalReason, now: u64) -> KeypadOutcome {
        if reason != RefusalReason::LowBattery {
            self.keypad_guard.count_keypad_failure(now);
        }
        self.log
            .push(now, actor, Via::Keypad, Event::KeypadRefused { reason });
        KeypadOutcome::Refused { reason }
    }

    /// An offline code (`lock_protocol::offline_code`): checked by computation with the code
    /// secret, then the revocation list, the used one-time codes and the mode table. Every
    /// refusal counts toward the lockout, a genuine code outside its window too.
    fn offline_keypad(&mut self, digits: &str, now: u64) -> KeypadOutcome {
        let Some((lock_id, secret)) = self
            .pairing
            .as_ref()
            .and_then(|p| Some((p.lock_id, p.code_secret?)))
        else {
            return self.wrong_entry(now);
        };
        let grant = match offline_code::verify(&secret, lock_id, digits, now) {
            Ok(grant) => grant,
            Err(OfflineCodeError::NotYetValid | OfflineCodeError::Expired) => {
                return self.refuse(Actor::UnknownCode, RefusalReason::CodeNotValidNow, now);
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
            return self.refuse(actor, reason, now);
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
        // Only the master code (staff on site) clears the count. Any other code leaves it:
        // otherwise every resident opening the door would hand a guesser fresh free tries.
        if actor == Actor::MasterCode {
            self.keypad_guard = Default::default();
        }
        self.drain(DRAIN_MOTOR);
        self.bolt = Bolt::Unlocked;
        self.log.push(now, actor, via, Event::Unlocked);
        KeypadOutcome::Opened { actor, via }
    }
}

#[cfg(test)]
mod tests {
    use access_domain::{CodeClass, LockMode};
    use lock_protocol::command::{AccessCode, Window};
    use lock_protocol::offline_code::{Grant, HOUR};
    use uuid::Uuid;

    use super::*;
    use crate::state::{BATTERY_FULL, Identity, Pairing};

    const T0: u64 = 1_800_000_000;
    const DAY: u64 = 24 * HOUR;
    /// A leap year, to be generous to the guesser.
    const YEAR: u64 = 366 * DAY;
    const SECRET: [u8; 32] = [7; 32];
    const MASTER: &str = "24681357";
    /// A resident's passcode (opens in resident mode).
    const RESIDENT: &str = "31415926";
    /// A guest's window code for tomorrow.
    const TOMORROW: &str = "27182818";
    /// A tour code (not admitted in resident mode).
    const TOUR: &str = "16180339";
    const WRONG: &str = "00000000";
    /// Digits of the codes the server gives (`access_server::secrets::PASSCODE_DIGITS` and
    /// `ACCESS_CODE_DIGITS`; the master code has as many).
    const SERVER_CODE_DIGITS: i32 = 8;

    /// A paired lock in resident mode holding the codes above.
    fn lock() -> LockState {
        let mut s = LockState::factory(Identity {
            static_secret: [1; 32],
            factory_serial: "VL-K".into(),
            pairing_code: "1234567890".into(),
            firmware: "test".into(),
        });
        s.pairing = Some(Pairing {
            org_public_key: vec![0; 32],
            lock_id: Uuid::from_u128(42),
            code_secret: Some(SECRET),
            paired_at: T0,
        });
        s.master_code = Some(MASTER.into());
        s.mode = LockMode::Resident;
        let codes = [
            (
                1,
                RESIDENT,
                AccessCodeKind::Permanent,
                None,
                CodeClass::Resident,
            ),
            (
                2,
                TOMORROW,
                AccessCodeKind::Window,
                Some(Window {
                    starts_at: T0 + DAY,
                    ends_at: T0 + 2 * DAY,
                }),
                CodeClass::Guest,
            ),
            (3, TOUR, AccessCodeKind::Permanent, None, CodeClass::Tour),
        ];
        for (code_id, digits, kind, window, class) in codes {
            s.codes.insert(
                code_id,
                AccessCode {
                    code_id,
                    digits: digits.into(),
                    kind,
                    window,
                    class,
                    owner: None,
                },
            );
        }
        s
    }

    fn offline(s: &LockState, starts_at: u64, class: CodeClass) -> String {
        let start = starts_at - starts_at % HOUR;
        let grant =
            Grant::for_window(start, start + 2 * HOUR, AccessCodeKind::Window, class, 0).unwrap();
        offline_code::issue(&SECRET, s.pairing.as_ref().unwrap().lock_id, &grant)
    }

    fn opened(o: KeypadOutcome) -> bool {
        matches!(o, KeypadOutcome::Opened { .. })
    }

    fn refused(reason: RefusalReason) -> KeypadOutcome {
        KeypadOutcome::Refused { reason }
    }

    #[test]
    fn a_genuine_code_that_does_not_open_now_counts_as_a_wrong_entry() {
        let mut s = lock();
        let offline_next_hour = offline(&s, T0 + HOUR, CodeClass::Tour);
        let offline_guest_now = offline(&s, T0, CodeClass::Guest);
        let entries = [
            (TOMORROW, RefusalReason::CodeNotValidNow),
            (TOUR, RefusalReason::ModeForbids),
            (offline_next_hour.as_str(), RefusalReason::CodeNotValidNow),
            (offline_guest_now.as_str(), RefusalReason::ModeForbids),
        ];
        for (n, (digits, reason)) in entries.into_iter().enumerate() {
            assert_eq!(s.keypad(digits, T0), refused(reason));
            assert_eq!(s.keypad_guard.failures as usize, n + 1, "{digits}");
        }
        // The fifth one starts the lockout, for everyone.
        assert_eq!(
            s.keypad(TOMORROW, T0),
            refused(RefusalReason::CodeNotValidNow)
        );
        assert_eq!(
            s.keypad(RESIDENT, T0 + 1),
            KeypadOutcome::LockedOut {
                retry_after_secs: 59
            }
        );
        // The log still says which code it was and why, for staff.
        let refused_codes = s
            .log
            .entries
            .iter()
            .filter(|e| matches!(e.actor, Actor::Code { code_id: 2, .. }))
            .count();
        assert_eq!(refused_codes, 2);
        // In its window and a mode for guests the code opens; the count stays (a success
        // does not clear it).
        s.mode = LockMode::Vacant;
        assert!(opened(s.keypad(TOMORROW, T0 + DAY)));
        assert_eq!(s.keypad_guard.failures, 5);
        // A refusal for low battery is no guess.
        s.battery = DRAIN_MOTOR - 1;
        assert_eq!(
            s.keypad(TOMORROW, T0 + DAY),
            refused(RefusalReason::LowBattery)
        );
        assert_eq!(s.keypad_guard.failures, 5);
    }

    #[test]
    fn a_passcode_with_access_dates_opens_only_between_them() {
        let mut s = lock();
        // The resident moves out at T0 + DAY: their permanent passcode carries the dates.
        s.codes.get_mut(&1).unwrap().window = Some(Window {
            starts_at: 0,
            ends_at: T0 + DAY,
        });
        assert!(opened(s.keypad(RESIDENT, T0)));
        assert!(opened(s.keypad(RESIDENT, T0 + DAY - 1)));
        assert_eq!(
            s.keypad(RESIDENT, T0 + DAY),
            refused(RefusalReason::CodeNotValidNow)
        );
        // And not before a move-in either.
        s.codes.get_mut(&1).unwrap().window = Some(Window {
            starts_at: T0 + 3 * DAY,
            ends_at: u64::MAX,
        });
        assert_eq!(
            s.keypad(RESIDENT, T0 + 2 * DAY),
            refused(RefusalReason::CodeNotValidNow)
        );
        assert!(opened(s.keypad(RESIDENT, T0 + 3 * DAY)));
    }

    #[test]
    fn a_resident_opening_the_door_gives_a_guesser_no_fresh_attempts() {
        let mut s = lock();
        // The guesser works up to the hour-long lockout, the resident coming and going.
        let mut t = T0;
        for _ in 0..11 {
            t = t.max(s.keypad_guard.locked_until);
            assert!(opened(s.keypad(RESIDENT, t)));
            assert_eq!(s.keypad(WRONG, t), refused(RefusalReason::WrongCode));
        }
        assert_eq!(
            keypad_lockout_secs(s.keypad_guard.failures),
            KEYPAD_LOCKOUT_MAX_SECS
        );
        // Each time the lockout ends the resident opens first, and the guesser's next try
        // costs a full hour again.
        for _ in 0..48 {
            t = s.keypad_guard.locked_until;
            assert!(opened(s.keypad(RESIDENT, t)));
            assert_eq!(s.keypad(WRONG, t), refused(RefusalReason::WrongCode));
            assert_eq!(
                s.keypad(WRONG, t),
                KeypadOutcome::LockedOut {
                    retry_after_secs: KEYPAD_LOCKOUT_MAX_SECS
                }
            );
        }
        // Quiet time forgives one entry an hour: ten quiet hours later the lockout is
        // back to its first minute; a day later the free entries are back.
        let t = s.keypad_guard.locked_until;
        assert_eq!(s.keypad_guard.keypad_failures_at(t + 6 * HOUR), 4);
        assert_eq!(
            s.keypad(WRONG, t + 6 * HOUR),
            refused(RefusalReason::WrongCode)
        );
        assert_eq!(
            s.keypad(WRONG, t + 6 * HOUR),
            KeypadOutcome::LockedOut {
                retry_after_secs: 60
            }
        );
        assert_eq!(s.keypad_guard.keypad_failures_at(t + 2 * DAY), 0);
    }

    #[test]
    fn a_clock_set_back_does_not_lengthen_the_lockout() {
        let mut s = lock();
        assert_eq!(s.keypad(WRONG, T0), refused(RefusalReason::WrongCode));
        // One entry: no lockout, even after the clock went back an hour.
        assert_eq!(
            s.keypad(WRONG, T0 - HOUR),
            refused(RefusalReason::WrongCode)
        );
        for _ in 0..3 {
            s.keypad(WRONG, T0 - HOUR);
        }
        assert_eq!(s.keypad_guard.failures, 5);
        // Five: a minute's lockout, and no more when the clock goes back a day.
        assert_eq!(
            s.keypad(RESIDENT, T0 - DAY),
            KeypadOutcome::LockedOut {
                retry_after_secs: 60
            }
        );
    }

    /// How many wrong entries a guesser gets into a year on this lock while a resident opens
    /// the door every 10 minutes: guessing as soon as the keypad takes input, or only just
    /// after the resident has opened.
    fn guesses_in_a_year(only_after_the_resident: bool) -> u64 {
        let mut s = lock();
        let (mut t, end) = (T0, T0 + YEAR);
        let mut resident_at = T0;
        let mut guesses = 0;
        while t < end {
            let resident_now = t == resident_at;
            if resident_now {
                // During a lockout the resident's entry is refused too (and uses the phone).
                s.battery = BATTERY_FULL;
                let outcome = s.keypad(RESIDENT, t);
                assert!(
                    opened(outcome) == (t >= s.keypad_guard.locked_until),
                    "{outcome:?}"
                );
                resident_at += 600;
            }
            while t >= s.keypad_guard.locked_until && (resident_now || !only_after_the_resident) {
                assert_eq!(s.keypad(WRONG, t), refused(RefusalReason::WrongCode));
                guesses += 1;
            }
            t = if only_after_the_resident {
                resident_at
            } else {
                resident_at.min(s.keypad_guard.locked_until.max(t + 1))
            };
        }
        guesses
    }

    #[test]
    fn a_year_of_guessing_leaves_a_lock_with_100_codes_under_1_percent() {
        let most = keypad_max_guesses(YEAR);
        // One an hour after the first 11: the lockout allows nothing faster.
        let hourly = 11 + (YEAR - (60 + 120 + 240 + 480 + 960 + 1_920)) / HOUR;
        assert!((hourly..=hourly + 2).contains(&most), "{most} vs {hourly}");
        let asap = guesses_in_a_year(false);
        let after_resident = guesses_in_a_year(true);
        println!(
            "guesses in a year: at most {most}; simulated {asap} (as soon as possible), \
             {after_resident} (just after the resident opens)"
        );
        assert!(asap <= most && after_resident <= most);
        assert!(asap + 2 >= most, "the bound is reached: {asap} vs {most}");
        // Each guess hits one of 100 codes of 8 digits with a chance of 100 / 10^8 (any
        // code the lock holds counts, valid now or not).
        let odds = 100.0 * most as f64 / 10f64.powi(SERVER_CODE_DIGITS);
        println!("yearly odds for 100 codes: {:.3} %", odds * 100.0);
        assert!(odds < 0.01, "{odds}");
    }
}
