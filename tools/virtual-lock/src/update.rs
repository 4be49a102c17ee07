//! Door updates on the lock: checked by `lock_protocol::door::open`, then applied as a
//! whole or not at all.
//!
//! A whole state (base version 0) replaces the codes, revocations, name, mode, master code
//! and code secret; a delta removes codes, then puts codes, then adds revocations. Either
//! way the result must be a state the lock can hold, or the update is refused as a whole
//! and the lock keeps its version:
//!
//! * digits used twice (two codes, or a code and the master code) refuse it with
//!   `DuplicateCode`, rather than the lock holding a version it only half applied;
//! * more codes or revocations than the lock holds refuse it with `CapacityFull`.
//!
//! Either refusal is logged once per version (`Event::UpdateRefused`, naming the clashing
//! code): the platform reads it from the lock's MACed log, marks the code failed with the
//! reason and leaves it out of the next update.
//!
//! A code put under the id of a one-time code already used is left out (the rest applies):
//! a used code never comes back, and the platform may not have heard of the use yet.

use std::collections::{BTreeMap, BTreeSet};

use lock_protocol::command::{AccessCode, Actor, Event, RefusalReason, Response, Via};
use lock_protocol::door::{self, DoorError};
use lock_protocol::offline_code;

use crate::commands::refused;
use crate::state::{LockState, MAX_CODES, MAX_REVOCATIONS, unexpired};

/// Whether every code's digits, and the master code, appear once.
fn digits_unique(codes: &BTreeMap<u64, AccessCode>, master_code: Option<&str>) -> bool {
    let mut seen = BTreeSet::new();
    master_code.into_iter().all(|m| seen.insert(m))
        && codes.values().all(|c| seen.insert(c.digits.as_str()))
}

/// The first of the codes `put` whose digits another code of `codes`, or the master code,
/// also has: the one to name when the update is refused.
fn clashing(
    codes: &BTreeMap<u64, AccessCode>,
    put: &[u64],
    master_code: Option<&str>,
) -> Option<u64> {
    put.iter().copied().find(|id| {
        codes.get(id).is_some_and(|code| {
            master_code == Some(code.digits.as_str())
                || codes
                    .iter()
                    .any(|(other, c)| other != id && c.digits == code.digits)
        })
    })
}

impl LockState {
    /// Verifies and applies the door update `bytes` at lock time `now` (`source_now` is the
    /// clock source), for the courier `actor`; logged when applied (a new master code also
    /// as a codes reset).
    pub(crate) fn apply_update(
        &mut self,
        bytes: &[u8],
        now: u64,
        source_now: u64,
        actor: Actor,
    ) -> Response {
        let Some(pairing) = &self.pairing else {
            return refused(RefusalReason::BadUpdate);
        };
        let plain = match door::open(
            bytes,
            &pairing.org_public_key,
            pairing.lock_id,
            &self.identity.static_secret,
            self.door_version,
        ) {
            Ok(plain) => plain,
            Err(DoorError::Stale { .. }) => return refused(RefusalReason::StaleUpdate),
            Err(DoorError::BaseMismatch { .. }) => {
                return refused(RefusalReason::UpdateBaseMismatch);
            }
            Err(_) => return refused(RefusalReason::BadUpdate),
        };
        let secret_changes = plain
            .code_secret
            .is_some_and(|s| Some(s) != pairing.code_secret);
        let clock = door::clock_after(now, plain.issued_at);
        let now = clock.unwrap_or(now);

        // Everything is worked out aside; the state changes only once it all fits.
        let whole = plain.is_whole();
        let mut codes = if whole {
            BTreeMap::new()
        } else {
            self.codes.clone()
        };
        for id in &plain.remove_codes {
            codes.remove(id);
        }
        let put: Vec<u64> = plain.put_codes.iter().map(|c| c.code_id).collect();
        for code in plain.put_codes {
            if !self.used_codes.contains_key(&code.code_id) {
                codes.insert(code.code_id, code);
            }
        }
        let master_code = plain.master_code.or_else(|| self.master_code.clone());
        if !digits_unique(&codes, master_code.as_deref()) {
            let clash = clashing(&codes, &put, master_code.as_deref());
            return self.refuse_update(
                plain.version,
                RefusalReason::DuplicateCode,
                clash,
                now,
                actor,
            );
        }
        let mut revoked = if whole {
            BTreeMap::new()
        } else {
            self.revoked.clone()
        };
        if secret_changes {
            // Offline codes of the old secret no longer verify: their entries go.
            revoked.retain(|id, _| !offline_code::is_reference(*id));
        }
        for r in plain.add_revocations {
            let expires = revoked.entry(r.serial).or_insert(r.expires_at);
            *expires = (*expires).max(r.expires_at);
        }
        revoked.retain(|_, expires| unexpired(*expires, now));
        if codes.len() > MAX_CODES || revoked.len() > MAX_REVOCATIONS {
            return self.refuse_update(
                plain.version,
                RefusalReason::CapacityFull,
                None,
                now,
                actor,
            );
        }
        if let Some(to) = clock
            && !self.set_clock(to, source_now)
        {
            return refused(RefusalReason::BadUpdate);
        }

        // Nothing refuses from here on.
        // A new master code is the platform's reset of the lock's codes: logged as such.
        let reset = self.master_code.is_some() && master_code != self.master_code;
        let removed = self
            .codes
            .keys()
            .filter(|id| !codes.contains_key(id))
            .count();
        self.codes = codes;
        self.revoked = revoked;
        self.master_code = master_code;
        if let Some(name) = plain.name {
            self.name = name;
        }
        if let Some(mode) = plain.mode {
            self.mode = mode;
        }
        if let (Some(secret), Some(p)) = (plain.code_secret, self.pairing.as_mut()) {
            p.code_secret = Some(secret);
        }
        if let Some(key) = plain.report_key {
            self.report_key = Some(key);
        }
        if secret_changes {
            self.used_codes
                .retain(|id, _| !offline_code::is_reference(*id));
        }
        self.door_version = plain.version;
        let version = plain.version;
        if reset {
            let removed = u32::try_from(removed).unwrap_or(u32::MAX);
            self.log
                .push(now, actor, Via::Ble, Event::CodesReset { removed });
        }
        self.log
            .push(now, actor, Via::Ble, Event::UpdateApplied { version });
        Response::UpdateApplied { version }
    }

    /// Refuses a genuine update that does not fit, and logs why once per version: every
    /// phone carries the update again until the platform hears of it, which it does only
    /// from the log (a phone's word is not the lock's).
    fn refuse_update(
        &mut self,
        version: u64,
        reason: RefusalReason,
        code_id: Option<u64>,
        now: u64,
        actor: Actor,
    ) -> Response {
        let logged = self
            .log
            .entries
            .iter()
            .rev()
            .take(LOGGED_REFUSALS_LOOKBACK)
            .any(|e| matches!(e.event, Event::UpdateRefused { version: v, .. } if v == version));
        if !logged {
            let event = Event::UpdateRefused {
                version,
                reason,
                code_id,
            };
            self.log.push(now, actor, Via::Ble, event);
        }
        refused(reason)
    }
}

/// How far back the log is searched for a refusal of the same version already logged.
const LOGGED_REFUSALS_LOOKBACK: usize = 64;
