//! Audit entries written with the store change they describe.

use time::OffsetDateTime;

use crate::store::{Audit, UserRecord};

/// The audit entry of `action` done by `user` now.
pub fn audit(user: &UserRecord, action: &str, detail: Option<String>) -> Audit {
    Audit {
        user_id: user.id,
        action: action.into(),
        detail,
        at: OffsetDateTime::now_utc(),
    }
}
