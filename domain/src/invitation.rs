//! Invitation lifetime.

use time::{Duration, OffsetDateTime};

/// Invitations expire after seven days; "Resend Invite" issues a fresh link.
pub const INVITATION_TTL: Duration = Duration::days(7);

/// Whether an invitation sent at `sent_at` has expired at `now`.
pub fn invitation_expired(sent_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - sent_at >= INVITATION_TTL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_seven_days_not_before() {
        let sent = time::macros::datetime!(2026-01-01 12:00 UTC);
        assert!(!invitation_expired(
            sent,
            sent + Duration::days(7) - Duration::seconds(1)
        ));
        assert!(invitation_expired(sent, sent + Duration::days(7)));
    }
}
