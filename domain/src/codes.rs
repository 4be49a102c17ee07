//! Access codes and their sync state between platform and lock.

use serde::{Deserialize, Serialize};
use time::Duration;

/// The kinds of access code staff can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccessCodeKind {
    /// Works until removed.
    Permanent,
    /// Works between `starts_at` and `ends_at`.
    Window,
    /// Works once, first use within [`ONE_TIME_CODE_FIRST_USE_WINDOW`], then void.
    OneTime,
}

impl AccessCodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessCodeKind::Permanent => "permanent",
            AccessCodeKind::Window => "window",
            AccessCodeKind::OneTime => "one_time",
        }
    }

    pub fn parse(s: &str) -> Option<AccessCodeKind> {
        match s {
            "permanent" => Some(AccessCodeKind::Permanent),
            "window" => Some(AccessCodeKind::Window),
            "one_time" => Some(AccessCodeKind::OneTime),
            _ => None,
        }
    }
}

/// A one-time code must be used within this long of being issued.
pub const ONE_TIME_CODE_FIRST_USE_WINDOW: Duration = Duration::hours(24);

/// Whether a code on a lock is really there: only the lock can confirm it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CodeSyncState {
    /// Issued by the platform, not yet confirmed by the lock.
    Pending,
    /// The lock confirmed it holds the code.
    Installed,
    /// The lock refused it or it could not be delivered; the reason is kept beside it.
    Failed,
}

impl CodeSyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeSyncState::Pending => "pending",
            CodeSyncState::Installed => "installed",
            CodeSyncState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<CodeSyncState> {
        match s {
            "pending" => Some(CodeSyncState::Pending),
            "installed" => Some(CodeSyncState::Installed),
            "failed" => Some(CodeSyncState::Failed),
            _ => None,
        }
    }
}
