//! Offline-verifiable keypad codes: the server derives them from the per-lock `code_secret`
//! installed at pairing (and replaced by "reset codes"); the lock checks them by computation
//! alone, with no list of codes. Design and arithmetic: docs/offline-codes.md.
//!
//! A code is 14 digits: 7 that say which grant it is (the *reference field*), 7 that prove
//! it (the *MAC field*).
//!
//! ```text
//! reference field  R = ((kind_class * NONCES + nonce) * WINDOW_SLOTS) + slot(hours, start mod (hours + 2))
//! MAC field        M = first 8 bytes of HMAC-SHA256(code_secret,
//!                        "lock-protocol offline code v1" || lock id || kind_class || nonce
//!                        || start hour (u32 BE) || hours (u16 BE))  as u64, mod 10^7
//! code             = R as 7 digits || M as 7 digits
//! ```
//!
//! Hours count from the public epoch [`EPOCH`] (2024-01-01T00:00Z). A window starts on an
//! hour and lasts 1 to [`MAX_HOURS`] (30 days). The lock only admits a code while its clock
//! is inside the window widened by [`TOLERANCE_SECS`] at both ends, so the start hour is
//! one of `hours + 2` values around the lock's current hour, and `start mod (hours + 2)`
//! is enough for the lock to recover it. Any other start would put the code outside its
//! window anyway, and the recovered start is also under the MAC, so a code cannot be moved
//! to another window. The whole reference field has 9,396,000 values, under 10^7.
//!
//! Guessing: for every reference the attacker may choose there is exactly one right MAC
//! field among 10^7, so each keypad guess succeeds with probability 10^-7, whatever codes
//! were issued. At the keypad lockout's long-run rate (one guess an hour) that is 10^7
//! hours, about 1,140 years, on average (see docs/offline-codes.md for the arithmetic).
//!
//! ```
//! use access_domain::{AccessCodeKind, CodeClass};
//! use lock_protocol::offline_code::{self, Grant, EPOCH};
//! let lock = uuid::Uuid::new_v4();
//! let secret = [7u8; 32];
//! let start = EPOCH + 1000 * 3600;
//! let grant = Grant::for_window(start, start + 2 * 3600, AccessCodeKind::Window,
//!                               CodeClass::Tour, 0).unwrap();
//! let code = offline_code::issue(&secret, lock, &grant);
//! assert_eq!(code.len(), 14);
//! assert_eq!(offline_code::verify(&secret, lock, &code, start + 60), Ok(grant));
//! assert!(offline_code::verify(&[8; 32], lock, &code, start + 60).is_err());
//! ```

use alloc::format;
use alloc::string::String;

use access_domain::{AccessCodeKind, CodeClass};
use thiserror::Error;

use crate::crypto;

/// The public epoch hours count from: 2024-01-01T00:00:00Z.
pub const EPOCH: u64 = 1_704_067_200;
/// One hour in seconds: windows start and end on hours.
pub const HOUR: u64 = 3_600;
/// Longest window: 30 days.
pub const MAX_HOURS: u16 = 720;
/// Clock drift the lock forgives at each end of a window.
pub const TOLERANCE_SECS: u64 = 300;
/// Codes issued for the same window and class are told apart by a nonce below this.
pub const NONCES: u8 = 9;
/// Digits of an offline code.
pub const CODE_LEN: usize = 14;
/// Digits of each of the two fields.
const FIELD_DIGITS: usize = 7;
const FIELD_MOD: u64 = 10_000_000;
/// Window slots: for `h` hours, `h + 2` possible start residues.
pub const WINDOW_SLOTS: u32 = slot_base(MAX_HOURS as u32 + 1);
/// Values of the reference field that name a grant (the rest are invalid).
pub const REFERENCE_VALUES: u64 = 4 * NONCES as u64 * WINDOW_SLOTS as u64;
/// Marks a [`Grant::reference`] (bit 63 and the UUID version nibble 0xF): never a
/// credential serial (small counters) nor the first half of a random (v4) UUID.
const REF_TAG: u64 = (1 << 63) | (0xF << 12);
const LABEL: &[u8] = b"lock-protocol offline code v1";

/// First slot of windows of `hours` hours: the sum of `k + 2` for `k` in `1..hours`.
const fn slot_base(hours: u32) -> u32 {
    let k = hours.saturating_sub(1);
    k * (k + 1) / 2 + 2 * k
}

const _: () = assert!(REFERENCE_VALUES < FIELD_MOD);

/// Which grant a code stands for: everything the lock needs to check it and the server
/// needs to find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grant {
    /// Hours since [`EPOCH`] at which the window starts.
    pub start_hour: u32,
    /// Length of the window, 1 to [`MAX_HOURS`].
    pub hours: u16,
    /// `Window` or `OneTime` (void after its first use).
    pub kind: AccessCodeKind,
    /// `Guest` (opens in vacant and maintenance) or `Tour` (opens in tour mode).
    pub class: CodeClass,
    /// Tells apart grants for the same window and class, below [`NONCES`].
    pub nonce: u8,
}

/// Why a grant cannot be made or a code does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum OfflineCodeError {
    #[error("a window must start and end on the hour, after 2024-01-01")]
    NotOnTheHour,
    #[error("a window lasts 1 hour to 30 days")]
    BadLength,
    #[error("offline codes are window or one-time codes")]
    BadKind,
    #[error("offline codes are guest or tour codes")]
    BadClass,
    #[error("the nonce must be below {NONCES}")]
    BadNonce,
    /// Not 14 digits, or a reference field that names no grant.
    #[error("not an offline code")]
    Malformed,
    /// The MAC field is wrong: a guess, a typo, another lock's code or an old secret's.
    #[error("wrong code")]
    WrongCode,
    /// A genuine code before its window (minus the tolerance).
    #[error("the code's window has not started")]
    NotYetValid,
    /// A genuine code after its window (plus the tolerance).
    #[error("the code's window is over")]
    Expired,
}

fn kind_class(kind: AccessCodeKind, class: CodeClass) -> Option<u8> {
    let k = match kind {
        AccessCodeKind::Window => 0,
        AccessCodeKind::OneTime => 2,
        AccessCodeKind::Permanent => return None,
    };
    let c = match class {
        CodeClass::Guest => 0,
        CodeClass::Tour => 1,
        _ => return None,
    };
    Some(k + c)
}

fn from_kind_class(kc: u8) -> (AccessCodeKind, CodeClass) {
    let kind = if kc & 2 == 0 {
        AccessCodeKind::Window
    } else {
        AccessCodeKind::OneTime
    };
    let class = if kc & 1 == 0 {
        CodeClass::Guest
    } else {
        CodeClass::Tour
    };
    (kind, class)
}

impl Grant {
    /// The grant for `[starts_at, ends_at)` (unix seconds, on the hour).
    pub fn for_window(
        starts_at: u64,
        ends_at: u64,
        kind: AccessCodeKind,
        class: CodeClass,
        nonce: u8,
    ) -> Result<Grant, OfflineCodeError> {
        if starts_at < EPOCH || !starts_at.is_multiple_of(HOUR) || !ends_at.is_multiple_of(HOUR) {
            return Err(OfflineCodeError::NotOnTheHour);
        }
        let hours = ends_at.saturating_sub(starts_at) / HOUR;
        if hours == 0 || hours > u64::from(MAX_HOURS) {
            return Err(OfflineCodeError::BadLength);
        }
        let start_hour =
            u32::try_from((starts_at - EPOCH) / HOUR).map_err(|_| OfflineCodeError::BadLength)?;
        if start_hour >= 1 << 31 {
            return Err(OfflineCodeError::BadLength);
        }
        let grant = Grant {
            start_hour,
            hours: hours as u16,
            kind,
            class,
            nonce,
        };
        grant.kind_class()?;
        if nonce >= NONCES {
            return Err(OfflineCodeError::BadNonce);
        }
        Ok(grant)
    }

    fn kind_class(&self) -> Result<u8, OfflineCodeError> {
        match (self.kind, self.class) {
            (AccessCodeKind::Permanent, _) => Err(OfflineCodeError::BadKind),
            (k, c) => kind_class(k, c).ok_or(OfflineCodeError::BadClass),
        }
    }

    /// Unix seconds at which the window starts.
    pub fn starts_at(&self) -> u64 {
        EPOCH + u64::from(self.start_hour) * HOUR
    }

    /// Unix seconds at which the window ends (exclusive).
    pub fn ends_at(&self) -> u64 {
        self.starts_at() + u64::from(self.hours) * HOUR
    }

    /// Whether a lock whose clock says `now` admits the window (tolerance included).
    pub fn admits_time(&self, now: u64) -> bool {
        self.starts_at().saturating_sub(TOLERANCE_SECS) <= now
            && now < self.ends_at() + TOLERANCE_SECS
    }

    /// A 64-bit name of the grant, unique per lock and secret: what the lock logs as the
    /// code id, remembers for used one-time codes, and takes in revocation lists. Bit 63
    /// and the UUID version nibble are set, so it never equals a credential serial or the
    /// id a lock knows an installed code by (the first half of a v4 UUID).
    ///
    /// ```
    /// use access_domain::{AccessCodeKind, CodeClass};
    /// use lock_protocol::offline_code::{Grant, EPOCH, is_reference};
    /// let g = Grant::for_window(EPOCH, EPOCH + 3600, AccessCodeKind::OneTime,
    ///                           CodeClass::Guest, 3).unwrap();
    /// assert!(is_reference(g.reference()));
    /// assert_eq!(Grant::from_reference(g.reference()), Some(g));
    /// assert!(!is_reference(42));
    /// ```
    pub fn reference(&self) -> u64 {
        let kc = u64::from(self.kind_class().unwrap_or(0));
        REF_TAG
            | (u64::from(self.start_hour) << 32)
            | (u64::from(self.hours) << 16)
            | (kc << 8)
            | u64::from(self.nonce)
    }

    /// The grant a [`Grant::reference`] names.
    pub fn from_reference(r: u64) -> Option<Grant> {
        if !is_reference(r) || (r >> 10) & 0x3 != 0 {
            return None;
        }
        let start_hour = ((r >> 32) & 0x7FFF_FFFF) as u32;
        let hours = ((r >> 16) & 0xFFFF) as u16;
        let (kind, class) = from_kind_class(((r >> 8) & 0x3) as u8);
        let nonce = (r & 0xFF) as u8;
        let g = Grant {
            start_hour,
            hours,
            kind,
            class,
            nonce,
        };
        ((1..=MAX_HOURS).contains(&hours) && nonce < NONCES && g.reference() == r).then_some(g)
    }

    fn reference_field(&self) -> Result<u64, OfflineCodeError> {
        let kc = u64::from(self.kind_class()?);
        let h = u32::from(self.hours);
        let slot = slot_base(h) + self.start_hour % (h + 2);
        Ok(
            (kc * u64::from(NONCES) + u64::from(self.nonce)) * u64::from(WINDOW_SLOTS)
                + u64::from(slot),
        )
    }

    fn mac_field(&self, secret: &[u8; 32], lock_id: uuid::Uuid) -> u64 {
        let kc = self.kind_class().unwrap_or(0);
        let tag = crypto::hmac(
            secret,
            &[
                LABEL,
                lock_id.as_bytes(),
                &[kc, self.nonce],
                &self.start_hour.to_be_bytes(),
                &self.hours.to_be_bytes(),
            ],
        );
        let mut first = [0u8; 8];
        first.copy_from_slice(&tag[..8]);
        // 2^64 mod 10^7 leaves a bias of about 10^-12: negligible.
        u64::from_be_bytes(first) % FIELD_MOD
    }
}

/// Whether `id` is a [`Grant::reference`] (as opposed to a credential serial or the id of
/// an installed code).
pub fn is_reference(id: u64) -> bool {
    id & REF_TAG == REF_TAG
}

/// The 14-digit code of `grant` on the lock `lock_id` holding `secret`.
pub fn issue(secret: &[u8; 32], lock_id: uuid::Uuid, grant: &Grant) -> String {
    let reference = grant.reference_field().unwrap_or(0);
    format!(
        "{reference:0w$}{mac:0w$}",
        mac = grant.mac_field(secret, lock_id),
        w = FIELD_DIGITS
    )
}

/// The grant named by the reference field of `code` as seen at lock time `now`, before the
/// MAC is checked: the start hour is the one that fits `now`.
fn resolve(code: &str, now: u64) -> Result<(Grant, u64), OfflineCodeError> {
    if code.len() != CODE_LEN || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OfflineCodeError::Malformed);
    }
    let reference: u64 = code[..FIELD_DIGITS]
        .parse()
        .map_err(|_| OfflineCodeError::Malformed)?;
    let mac: u64 = code[FIELD_DIGITS..]
        .parse()
        .map_err(|_| OfflineCodeError::Malformed)?;
    if reference >= REFERENCE_VALUES {
        return Err(OfflineCodeError::Malformed);
    }
    let slot = (reference % u64::from(WINDOW_SLOTS)) as u32;
    let rest = reference / u64::from(WINDOW_SLOTS);
    let nonce = (rest % u64::from(NONCES)) as u8;
    let (kind, class) = from_kind_class((rest / u64::from(NONCES)) as u8);
    // The window length is the largest h whose first slot is at or below `slot`.
    let mut hours = 1u32;
    while hours < u32::from(MAX_HOURS) && slot_base(hours + 1) <= slot {
        hours += 1;
    }
    let residue = u64::from(slot - slot_base(hours));
    let modulus = u64::from(hours) + 2;
    // Starts that can admit `now`: hour(now) - hours ..= hour(now) + 1, one per residue.
    let now_hour = now
        .checked_sub(EPOCH)
        .ok_or(OfflineCodeError::NotYetValid)?
        / HOUR;
    let top = now_hour + 1;
    let start = top
        .checked_sub((top + modulus - residue) % modulus)
        .ok_or(OfflineCodeError::WrongCode)?;
    let start_hour = u32::try_from(start).map_err(|_| OfflineCodeError::Malformed)?;
    let grant = Grant {
        start_hour,
        hours: hours as u16,
        kind,
        class,
        nonce,
    };
    Ok((grant, mac))
}

/// Checks `code` (as typed) on the lock `lock_id` holding `secret`, at lock time `now`.
/// The caller then applies the mode table to `grant.class`, the revocation list and, for
/// one-time codes, the list of used ones.
pub fn verify(
    secret: &[u8; 32],
    lock_id: uuid::Uuid,
    code: &str,
    now: u64,
) -> Result<Grant, OfflineCodeError> {
    let (grant, mac) = resolve(code, now)?;
    let expected = grant.mac_field(secret, lock_id);
    // Constant time over the 8 bytes, so timing tells a guesser nothing about the digits.
    let diff = (expected ^ mac)
        .to_be_bytes()
        .iter()
        .fold(0u8, |acc, b| acc | b);
    if diff != 0 {
        return Err(OfflineCodeError::WrongCode);
    }
    if now.saturating_add(TOLERANCE_SECS) < grant.starts_at() {
        return Err(OfflineCodeError::NotYetValid);
    }
    if now >= grant.ends_at() + TOLERANCE_SECS {
        return Err(OfflineCodeError::Expired);
    }
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    const SECRET: [u8; 32] = [5; 32];

    fn lock() -> uuid::Uuid {
        uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0)
    }

    fn grant(start_hour: u32, hours: u16, class: CodeClass, nonce: u8) -> Grant {
        Grant {
            start_hour,
            hours,
            kind: AccessCodeKind::Window,
            class,
            nonce,
        }
    }

    #[test]
    fn the_reference_field_fits_seven_digits() {
        assert_eq!(WINDOW_SLOTS, 261_000);
        assert_eq!(REFERENCE_VALUES, 9_396_000);
        let last = Grant {
            start_hour: 5_000,
            hours: MAX_HOURS,
            kind: AccessCodeKind::OneTime,
            class: CodeClass::Tour,
            nonce: NONCES - 1,
        };
        // The largest residue (721) of the longest window with the last class and nonce is
        // the last value.
        assert_eq!(
            last.reference_field(),
            Ok(REFERENCE_VALUES - 1 - (721 - 5_000 % 722))
        );
    }

    #[test]
    fn window_edges_with_the_tolerance() {
        let g = grant(10_000, 3, CodeClass::Guest, 0);
        let code = issue(&SECRET, lock(), &g);
        let (start, end) = (g.starts_at(), g.ends_at());
        assert_eq!(
            verify(&SECRET, lock(), &code, start - TOLERANCE_SECS),
            Ok(g)
        );
        assert_eq!(
            verify(&SECRET, lock(), &code, end + TOLERANCE_SECS - 1),
            Ok(g)
        );
        assert_eq!(
            verify(&SECRET, lock(), &code, start - TOLERANCE_SECS - 60),
            Err(OfflineCodeError::NotYetValid)
        );
        assert_eq!(
            verify(&SECRET, lock(), &code, end + TOLERANCE_SECS + 59),
            Err(OfflineCodeError::Expired)
        );
        // Far outside, the start resolves to another window whose MAC does not match.
        for far in [start - 30 * 86_400, end + 7 * 86_400, end + 400 * 86_400] {
            assert_eq!(
                verify(&SECRET, lock(), &code, far),
                Err(OfflineCodeError::WrongCode)
            );
        }
    }

    #[test]
    fn codes_are_bound_to_lock_and_secret() {
        let g = grant(20_000, 24, CodeClass::Tour, 2);
        let code = issue(&SECRET, lock(), &g);
        let now = g.starts_at() + 100;
        assert_eq!(verify(&SECRET, lock(), &code, now), Ok(g));
        assert_eq!(
            verify(&SECRET, uuid::Uuid::nil(), &code, now),
            Err(OfflineCodeError::WrongCode)
        );
        assert_eq!(
            verify(&[6; 32], lock(), &code, now),
            Err(OfflineCodeError::WrongCode)
        );
        for bad in ["", "1234", "12345678901234x", "99999999999999"] {
            assert!(verify(&SECRET, lock(), bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn grants_are_validated() {
        let t = EPOCH + 100 * HOUR;
        let ok = |s, e| Grant::for_window(s, e, AccessCodeKind::Window, CodeClass::Guest, 0);
        assert!(ok(t, t + HOUR).is_ok());
        assert_eq!(ok(t + 1, t + HOUR), Err(OfflineCodeError::NotOnTheHour));
        assert_eq!(ok(t, t), Err(OfflineCodeError::BadLength));
        assert_eq!(ok(t, t + 721 * HOUR), Err(OfflineCodeError::BadLength));
        assert!(ok(t, t + 720 * HOUR).is_ok());
        assert_eq!(ok(EPOCH - HOUR, t), Err(OfflineCodeError::NotOnTheHour));
        assert_eq!(
            Grant::for_window(t, t + HOUR, AccessCodeKind::Permanent, CodeClass::Guest, 0),
            Err(OfflineCodeError::BadKind)
        );
        assert_eq!(
            Grant::for_window(t, t + HOUR, AccessCodeKind::Window, CodeClass::Staff, 0),
            Err(OfflineCodeError::BadClass)
        );
        assert_eq!(
            Grant::for_window(t, t + HOUR, AccessCodeKind::Window, CodeClass::Tour, NONCES),
            Err(OfflineCodeError::BadNonce)
        );
    }

    /// The realistic set of one lock's windows over a year: a start every 7 hours, the
    /// lengths people give (1 h tour to 30 days), both classes, both kinds, two nonces:
    /// 100,160 grants. Grants that can be valid at the same moment never share a code (their
    /// reference fields differ). Grants far apart in time can share the reference field
    /// (same length and class, starts a multiple of `hours + 2` apart); then they share the
    /// code only when the MAC fields agree, one pair in 10^7: that rate is measured here.
    #[test]
    fn collision_rate_over_a_year_of_windows() {
        let lengths = [1u16, 2, 3, 4, 8, 24, 72, 168, 336, 720];
        let mut codes: BTreeMap<String, Vec<Grant>> = BTreeMap::new();
        let mut references: BTreeMap<u64, u64> = BTreeMap::new();
        let mut n = 0u64;
        for start_hour in (17_520..17_520 + 8_760).step_by(7) {
            for &hours in &lengths {
                for class in [CodeClass::Guest, CodeClass::Tour] {
                    for kind in [AccessCodeKind::Window, AccessCodeKind::OneTime] {
                        for nonce in 0..2 {
                            let g = Grant {
                                start_hour,
                                hours,
                                kind,
                                class,
                                nonce,
                            };
                            let code = issue(&SECRET, lock(), &g);
                            *references.entry(g.reference_field().unwrap()).or_default() += 1;
                            codes.entry(code).or_default().push(g);
                            n += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(n, 100_160);
        let same_reference_pairs: u64 = references.values().map(|&c| c * (c - 1) / 2).sum();
        let mut collisions = 0u64;
        for grants in codes.values() {
            for (i, a) in grants.iter().enumerate() {
                for b in &grants[i + 1..] {
                    collisions += 1;
                    let overlap = a.starts_at() < b.ends_at() + 2 * TOLERANCE_SECS
                        && b.starts_at() < a.ends_at() + 2 * TOLERANCE_SECS;
                    assert!(!overlap, "{a:?} and {b:?} are valid together with one code");
                }
            }
        }
        let rate = collisions as f64 / same_reference_pairs as f64;
        eprintln!(
            "{n} grants, {same_reference_pairs} pairs sharing a reference field, \
             {collisions} sharing a code: {rate:.2e} per pair"
        );
        // 10^-7 per pair expected; allow for chance (Poisson) over ~2.7 million pairs.
        assert!(same_reference_pairs > 1_000_000, "{same_reference_pairs}");
        assert!(rate < 2e-6, "{rate}");
    }

    proptest! {
        #[test]
        fn every_grant_verifies_inside_its_window_only(
            start_hour in 0u32..200_000,
            hours in 1u16..=MAX_HOURS,
            kc in 0u8..4,
            nonce in 0u8..NONCES,
            offset in 0u64..(MAX_HOURS as u64 * HOUR),
        ) {
            let (kind, class) = from_kind_class(kc);
            let g = Grant { start_hour, hours, kind, class, nonce };
            let code = issue(&SECRET, lock(), &g);
            prop_assert_eq!(Grant::from_reference(g.reference()), Some(g));
            let now = g.starts_at() + offset % (u64::from(hours) * HOUR);
            prop_assert_eq!(verify(&SECRET, lock(), &code, now), Ok(g));
            prop_assert!(verify(&SECRET, lock(), &code, g.ends_at() + TOLERANCE_SECS).is_err());
            prop_assert!(verify(&SECRET, lock(), &code, g.starts_at() - TOLERANCE_SECS - 1).is_err());
        }

        #[test]
        fn two_different_grants_never_share_a_code(
            a in (0u32..100_000, 1u16..=MAX_HOURS, 0u8..4, 0u8..NONCES),
            b in (0u32..100_000, 1u16..=MAX_HOURS, 0u8..4, 0u8..NONCES),
        ) {
            let mk = |(s, h, kc, n): (u32, u16, u8, u8)| {
                let (kind, class) = from_kind_class(kc);
                Grant { start_hour: s, hours: h, kind, class, nonce: n }
            };
            let (ga, gb) = (mk(a), mk(b));
            let (ca, cb) = (issue(&SECRET, lock(), &ga), issue(&SECRET, lock(), &gb));
            // Two grants that overlap in time can both be valid at once: their codes must differ.
            let overlap = ga.starts_at() < gb.ends_at() && gb.starts_at() < ga.ends_at();
            if ga != gb && overlap {
                prop_assert_ne!(ca, cb);
            }
        }

        #[test]
        fn arbitrary_input_never_panics(code in "[0-9]{0,20}", now in any::<u64>()) {
            let _ = verify(&SECRET, lock(), &code, now);
        }
    }

    #[test]
    fn references_decode_and_reject_foreign_ids() {
        let mut seen = Vec::new();
        for kc in 0..4 {
            let (kind, class) = from_kind_class(kc);
            let g = Grant {
                start_hour: 123,
                hours: 5,
                kind,
                class,
                nonce: 8,
            };
            assert_eq!(Grant::from_reference(g.reference()), Some(g));
            seen.push(g.reference());
        }
        seen.dedup();
        assert_eq!(seen.len(), 4);
        let v4 = uuid::Uuid::new_v4().as_u64_pair().0;
        assert!(!is_reference(v4));
        assert!(!is_reference(1_000_000));
        assert_eq!(Grant::from_reference(u64::MAX), None);
    }
}
