//! Domain types and rules of lock access, shared by `access-server` and `access-core`.
//!
//! Every rule the article and SPEC.md state lives here exactly once: the permissions and
//! who may manage whom,
//! user types and the app each one uses, access scope, lock modes and which codes open in
//! which mode, the `+1` phone rule, invitation expiry, and the gate that decides whether a
//! user may perform an action on a lock.
//!
//! ```
//! use access_domain::phone::normalize_phone;
//! assert_eq!(normalize_phone("+1 (555) 123-4567").unwrap(), "+15551234567");
//! assert!(normalize_phone("5551234567").is_err());
//! ```

pub mod access;
pub mod account_rules;
pub mod api;
pub mod codes;
pub mod delegation;
pub mod invitation;
pub mod modes;
pub mod period;
pub mod permissions;
pub mod phone;
pub mod users;

pub use access::{Access, Action, Actor, Denied, Member, authorize};
pub use account_rules::{USERNAME_RULE, check_password, normalize_username};
pub use codes::{AccessCodeKind, CodeSyncState, ONE_TIME_CODE_FIRST_USE_WINDOW};
pub use invitation::{INVITATION_TTL, invitation_expired};
pub use modes::{CodeClass, LockMode};
pub use period::{AccessPeriod, WeeklyHours};
pub use permissions::Permission;
pub use phone::{PhoneError, normalize_phone};
pub use users::{App, UserStatus, UserType};
