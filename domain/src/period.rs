//! Access with dates: when a user's access starts and ends (move-in and move-out, a
//! vendor's contract), and optional weekly hours (e.g. Mon-Fri 08:00-17:00).
//!
//! One type, [`AccessPeriod`], read by the gate ([`authorize`](crate::authorize)) on the
//! server and on the phone, by the server when it signs a BLE credential (never past
//! [`AccessPeriod::next_change`]) and when it builds what a lock holds (a personal passcode
//! carries the start and the end as its window).
//!
//! Weekly hours are wall-clock minutes at one fixed UTC offset, the one the browser had when
//! the hours were set. A fixed offset does not follow daylight saving time: hours set in
//! winter run one hour off in summer until they are saved again. That is the documented
//! limit of keeping it simple and explicit.
//!
//! ```
//! use access_domain::period::{AccessPeriod, WeeklyHours};
//! use time::macros::datetime;
//! let hours = WeeklyHours { days: WeeklyHours::WEEKDAYS, from_minute: 8 * 60,
//!                           to_minute: 17 * 60, utc_offset_minutes: -300 };
//! let period = AccessPeriod { weekly_hours: Some(hours), ..AccessPeriod::ALWAYS };
//! // Monday 2026-12-07 09:00 at UTC-5 is 14:00 UTC.
//! assert!(period.admits(datetime!(2026-12-07 14:00 UTC)).is_ok());
//! assert!(period.admits(datetime!(2026-12-07 23:00 UTC)).is_err());
//! assert_eq!(period.next_change(datetime!(2026-12-07 14:00 UTC)),
//!            Some(datetime!(2026-12-07 22:00 UTC)));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

/// Days of the week and the hours of each, at a fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeeklyHours {
    /// Bit 0 Monday ... bit 6 Sunday.
    pub days: u8,
    /// Minutes after local midnight the hours start, inclusive (0..1440).
    pub from_minute: u16,
    /// Minutes after local midnight the hours end, exclusive (1..=1440), after `from_minute`.
    pub to_minute: u16,
    /// The local time's offset from UTC in minutes (UTC-5 is -300), as the browser sent it.
    pub utc_offset_minutes: i16,
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl WeeklyHours {
    /// Monday to Friday.
    pub const WEEKDAYS: u8 = 0b001_1111;
    /// Every day.
    pub const EVERY_DAY: u8 = 0b111_1111;

    /// Why these hours cannot be saved, if they cannot.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.days == 0 || self.days > Self::EVERY_DAY {
            return Err("Weekly hours need at least one day of the week.");
        }
        if self.from_minute >= 1440 || self.to_minute > 1440 || self.from_minute >= self.to_minute {
            return Err("Weekly hours end after they start, within one day (00:00 to 24:00).");
        }
        if self.utc_offset_minutes.unsigned_abs() > 14 * 60 {
            return Err("The time zone offset is at most 14 hours from UTC.");
        }
        Ok(())
    }

    fn offset(&self) -> UtcOffset {
        UtcOffset::from_whole_seconds(i32::from(self.utc_offset_minutes) * 60)
            .unwrap_or(UtcOffset::UTC)
    }

    /// Whether `now` falls within the hours.
    pub fn contains(&self, now: OffsetDateTime) -> bool {
        let local = now.to_offset(self.offset());
        let day = local.weekday().number_days_from_monday();
        let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        self.days & (1 << day) != 0 && self.from_minute <= minute && minute < self.to_minute
    }

    /// The next time after `now` the answer of [`contains`](Self::contains) changes:
    /// the end of the current slot, or the start of the next one. `None` for hours that
    /// cannot be checked.
    pub fn next_change(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.check().ok()?;
        let local = now.to_offset(self.offset());
        let midnight = local.replace_time(time::Time::MIDNIGHT);
        let inside = self.contains(now);
        // Every slot boundary of today and the next 7 days, in order.
        (0..=7).find_map(|d| {
            let day_start = midnight + Duration::days(d);
            let day = day_start.weekday().number_days_from_monday();
            if self.days & (1 << day) == 0 {
                return None;
            }
            let from = day_start + Duration::minutes(i64::from(self.from_minute));
            let to = day_start + Duration::minutes(i64::from(self.to_minute));
            let edge = if inside { to } else { from };
            (edge > local).then_some(edge.to_offset(UtcOffset::UTC))
        })
    }
}

/// `Mon-Fri 08:00-17:00 UTC-05:00`, `Mon, Wed 09:30-12:00 UTC`.
impl fmt::Display for WeeklyHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<String> = Vec::new();
        let mut day = 0;
        while day < 7 {
            if self.days & (1 << day) == 0 {
                day += 1;
                continue;
            }
            let start = day;
            while day + 1 < 7 && self.days & (1 << (day + 1)) != 0 {
                day += 1;
            }
            runs.push(match day - start {
                0 => DAY_NAMES[start].to_string(),
                1 => format!("{}, {}", DAY_NAMES[start], DAY_NAMES[day]),
                _ => format!("{}-{}", DAY_NAMES[start], DAY_NAMES[day]),
            });
            day += 1;
        }
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let off = self.utc_offset_minutes;
        let zone = if off == 0 {
            "UTC".to_string()
        } else {
            let sign = if off < 0 { '-' } else { '+' };
            let a = off.unsigned_abs();
            format!("UTC{sign}{:02}:{:02}", a / 60, a % 60)
        };
        write!(
            f,
            "{} {}-{} {zone}",
            runs.join(", "),
            hm(self.from_minute),
            hm(self.to_minute)
        )
    }
}

/// When a user's (or a code's) access holds: from `starts_at` (inclusive) to `ends_at`
/// (exclusive), and within `weekly_hours` when set. Every part is optional; the default,
/// [`AccessPeriod::ALWAYS`], admits at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessPeriod {
    /// Move-in, the contract's start: refused before.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub starts_at: Option<OffsetDateTime>,
    /// Move-out, the contract's end: refused from then on.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ends_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub weekly_hours: Option<WeeklyHours>,
}

/// Why a period does not admit now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsidePeriod {
    NotStarted(OffsetDateTime),
    Ended(OffsetDateTime),
    OutsideHours(WeeklyHours),
}

impl AccessPeriod {
    /// No start, no end, no hours.
    pub const ALWAYS: AccessPeriod = AccessPeriod {
        starts_at: None,
        ends_at: None,
        weekly_hours: None,
    };

    /// Whether any part is set.
    pub fn is_bounded(&self) -> bool {
        *self != Self::ALWAYS
    }

    /// Why this period cannot be saved, if it cannot: the end after the start, sane hours.
    pub fn check(&self) -> Result<(), &'static str> {
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at)
            && e <= s
        {
            return Err("The access end must be after its start.");
        }
        for t in [self.starts_at, self.ends_at].into_iter().flatten() {
            if t.year() < 2000 || t.year() > 2200 {
                return Err("Access dates must be between the years 2000 and 2200.");
            }
        }
        match &self.weekly_hours {
            Some(h) => h.check(),
            None => Ok(()),
        }
    }

    /// Whether the period admits `now`, and why not.
    pub fn admits(&self, now: OffsetDateTime) -> Result<(), OutsidePeriod> {
        if let Some(s) = self.starts_at
            && now < s
        {
            return Err(OutsidePeriod::NotStarted(s));
        }
        if let Some(e) = self.ends_at
            && now >= e
        {
            return Err(OutsidePeriod::Ended(e));
        }
        if let Some(h) = self.weekly_hours
            && !h.contains(now)
        {
            return Err(OutsidePeriod::OutsideHours(h));
        }
        Ok(())
    }

    /// Whether the access is over for good at `now` (past its end).
    pub fn ended(&self, now: OffsetDateTime) -> bool {
        self.ends_at.is_some_and(|e| now >= e)
    }

    /// The next time after `now` the answer of [`admits`](Self::admits) changes, `None`
    /// when it never does. A credential issued inside the period expires no later.
    pub fn next_change(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        if self.ended(now) {
            return None;
        }
        if let Some(s) = self.starts_at
            && now < s
        {
            // Before the start: the first moment it admits is the start, or the first
            // slot of the hours after it.
            return match self.weekly_hours {
                Some(h) if !h.contains(s) => h
                    .next_change(s)
                    .filter(|t| self.ends_at.is_none_or(|e| *t < e)),
                _ => Some(s),
            };
        }
        let hours = self.weekly_hours.and_then(|h| h.next_change(now));
        match (hours, self.ends_at) {
            (Some(h), Some(e)) => Some(h.min(e)),
            (h, e) => h.or(e),
        }
    }

    /// The window a lock holds a code in, unix seconds `[start, end)`: `None` without a
    /// start or an end (the hours are not a window: the platform and the credentials
    /// enforce them).
    pub fn window_secs(&self) -> Option<(u64, u64)> {
        if self.starts_at.is_none() && self.ends_at.is_none() {
            return None;
        }
        let unix = |t: OffsetDateTime| t.unix_timestamp().max(0) as u64;
        Some((
            self.starts_at.map_or(0, unix),
            self.ends_at.map_or(u64::MAX, unix),
        ))
    }
}

/// `2026-12-05 14:00 UTC`: how a refusal names a date.
pub fn format_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn office(offset: i16) -> WeeklyHours {
        WeeklyHours {
            days: WeeklyHours::WEEKDAYS,
            from_minute: 8 * 60,
            to_minute: 17 * 60,
            utc_offset_minutes: offset,
        }
    }

    #[test]
    fn start_is_inclusive_and_end_exclusive() {
        let p = AccessPeriod {
            starts_at: Some(datetime!(2026-12-01 00:00 UTC)),
            ends_at: Some(datetime!(2026-12-31 00:00 UTC)),
            weekly_hours: None,
        };
        assert_eq!(
            p.admits(datetime!(2026-11-30 23:59:59 UTC)),
            Err(OutsidePeriod::NotStarted(datetime!(2026-12-01 00:00 UTC)))
        );
        assert!(p.admits(datetime!(2026-12-01 00:00 UTC)).is_ok());
        assert!(p.admits(datetime!(2026-12-30 23:59:59 UTC)).is_ok());
        assert_eq!(
            p.admits(datetime!(2026-12-31 00:00 UTC)),
            Err(OutsidePeriod::Ended(datetime!(2026-12-31 00:00 UTC)))
        );
        assert!(p.ended(datetime!(2026-12-31 00:00 UTC)));
        assert_eq!(
            p.next_change(datetime!(2026-11-01 00:00 UTC)),
            Some(datetime!(2026-12-01 00:00 UTC))
        );
        assert_eq!(
            p.next_change(datetime!(2026-12-05 00:00 UTC)),
            Some(datetime!(2026-12-31 00:00 UTC))
        );
        assert_eq!(p.next_change(datetime!(2027-01-05 00:00 UTC)), None);
        assert!(
            AccessPeriod::ALWAYS
                .admits(datetime!(1990-01-01 0:00 UTC))
                .is_ok()
        );
        assert_eq!(
            AccessPeriod::ALWAYS.next_change(datetime!(2026-01-01 0:00 UTC)),
            None
        );
    }

    #[test]
    fn hours_follow_the_offset_the_browser_sent() {
        // Friday 2026-12-04, 16:30 local at UTC-5 is 21:30 UTC; at UTC+1 it is 15:30 UTC.
        let new_york = office(-300);
        assert!(new_york.contains(datetime!(2026-12-04 21:30 UTC)));
        assert!(!new_york.contains(datetime!(2026-12-04 22:00 UTC)));
        assert!(new_york.contains(datetime!(2026-12-04 13:00 UTC)));
        assert!(!new_york.contains(datetime!(2026-12-04 12:59 UTC)));
        let paris = office(60);
        assert!(paris.contains(datetime!(2026-12-04 15:30 UTC)));
        assert!(!paris.contains(datetime!(2026-12-04 21:30 UTC)));
        // Saturday morning local is closed, though Friday in UTC... and the reverse.
        assert!(!office(0).contains(datetime!(2026-12-05 10:00 UTC)));
        // Monday 08:30 at UTC+14 is still Sunday in UTC.
        assert!(office(14 * 60).contains(datetime!(2026-12-06 18:30 UTC)));
    }

    #[test]
    fn the_next_change_ends_the_slot_or_starts_the_next() {
        let p = AccessPeriod {
            weekly_hours: Some(office(-300)),
            ..AccessPeriod::ALWAYS
        };
        // Inside Friday's slot: the slot's end.
        assert_eq!(
            p.next_change(datetime!(2026-12-04 15:00 UTC)),
            Some(datetime!(2026-12-04 22:00 UTC))
        );
        // Friday evening: Monday 08:00 local.
        assert_eq!(
            p.next_change(datetime!(2026-12-04 23:00 UTC)),
            Some(datetime!(2026-12-07 13:00 UTC))
        );
        // An end within the slot comes first.
        let ending = AccessPeriod {
            ends_at: Some(datetime!(2026-12-04 16:00 UTC)),
            ..p
        };
        assert_eq!(
            ending.next_change(datetime!(2026-12-04 15:00 UTC)),
            Some(datetime!(2026-12-04 16:00 UTC))
        );
        // A start on a Sunday: the first slot after it.
        let starting = AccessPeriod {
            starts_at: Some(datetime!(2026-12-06 12:00 UTC)),
            ..p
        };
        assert_eq!(
            starting.next_change(datetime!(2026-12-01 00:00 UTC)),
            Some(datetime!(2026-12-07 13:00 UTC))
        );
        // Every day, all day long: the hours never change, only the end would.
        let always = WeeklyHours {
            days: WeeklyHours::EVERY_DAY,
            from_minute: 0,
            to_minute: 1440,
            utc_offset_minutes: 0,
        };
        assert!(always.contains(datetime!(2026-12-06 23:59 UTC)));
    }

    #[test]
    fn validation_refuses_inverted_dates_and_silly_hours() {
        let start = datetime!(2026-12-01 00:00 UTC);
        let bad = AccessPeriod {
            starts_at: Some(start),
            ends_at: Some(start),
            weekly_hours: None,
        };
        assert!(bad.check().is_err());
        assert!(
            AccessPeriod {
                ends_at: Some(start + Duration::seconds(1)),
                ..bad
            }
            .check()
            .is_ok()
        );
        for hours in [
            WeeklyHours {
                days: 0,
                ..office(0)
            },
            WeeklyHours {
                days: 0x80,
                ..office(0)
            },
            WeeklyHours {
                from_minute: 17 * 60,
                to_minute: 8 * 60,
                ..office(0)
            },
            WeeklyHours {
                to_minute: 1441,
                ..office(0)
            },
            office(15 * 60),
        ] {
            assert!(hours.check().is_err(), "{hours:?}");
        }
        assert!(office(-720).check().is_ok());
    }

    #[test]
    fn hours_read_as_a_person_writes_them() {
        assert_eq!(office(-300).to_string(), "Mon-Fri 08:00-17:00 UTC-05:00");
        let odd = WeeklyHours {
            days: 0b100_0101,
            from_minute: 9 * 60 + 30,
            to_minute: 12 * 60,
            utc_offset_minutes: 0,
        };
        assert_eq!(odd.to_string(), "Mon, Wed, Sun 09:30-12:00 UTC");
        assert_eq!(
            format_date(datetime!(2026-12-05 09:00 -5)),
            "2026-12-05 14:00 UTC"
        );
    }

    #[test]
    fn the_lock_window_keeps_the_dates_and_leaves_the_hours() {
        assert_eq!(AccessPeriod::ALWAYS.window_secs(), None);
        let end = datetime!(2026-12-31 00:00 UTC);
        let p = AccessPeriod {
            ends_at: Some(end),
            weekly_hours: Some(office(0)),
            ..AccessPeriod::ALWAYS
        };
        assert_eq!(p.window_secs(), Some((0, end.unix_timestamp() as u64)));
    }
}
