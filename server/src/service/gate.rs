//! The one gate: every permission and scope check goes through `access_domain::authorize`,
//! with the caller's facts from [`Member::actor`].

use access_domain::{Action, Member, authorize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Whether `user` may do `action` in the unit `unit_id`; 403 (or 401 revoked) otherwise.
pub fn gate(user: &impl Member, action: Action, unit_id: Uuid) -> ApiResult<()> {
    let now = OffsetDateTime::now_utc();
    authorize(&user.actor(), action, unit_id, now).map_err(ApiError::from)
}
