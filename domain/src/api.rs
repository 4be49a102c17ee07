//! The JSON wire types of the `/api/v1` API, shared by the server and the mobile core so
//! that both sides agree by construction. Field names listed in the issues are fixed;
//! fields may be added.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    Access, AccessCodeKind, App, CodeSyncState, LockMode, Permission, UserStatus, UserType,
};

/// Every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine code (see [`error_codes`]) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// The id of the request in the server's logs (also the `x-request-id` answer header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The stable machine codes of [`ErrorDetail::code`].
pub mod error_codes {
    pub const BAD_REQUEST: &str = "bad_request";
    pub const VALIDATION: &str = "validation_failed";
    pub const INVALID_PHONE: &str = "invalid_phone";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    pub const FORBIDDEN: &str = "forbidden";
    pub const MISSING_PERMISSION: &str = "missing_permission";
    pub const OUT_OF_SCOPE: &str = "out_of_scope";
    pub const NOT_MANAGER: &str = "not_manager";
    /// Before the user's access starts, after it ends, or outside its weekly hours.
    pub const OUTSIDE_ACCESS_PERIOD: &str = "outside_access_period";
    pub const REVOKED: &str = "revoked";
    pub const NOT_FOUND: &str = "not_found";
    pub const CONFLICT: &str = "conflict";
    pub const INVITATION_EXPIRED: &str = "invitation_expired";
    pub const INVITATION_INVALID: &str = "invitation_invalid";
    pub const WRONG_SMS_CODE: &str = "wrong_sms_code";
    pub const SMS_CODE_EXPIRED: &str = "sms_code_expired";
    /// A password reset link that is unknown, used, replaced or expired.
    pub const RESET_INVALID: &str = "reset_invalid";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const INTERNAL: &str = "internal";
}

/// A page of a list: `{"items": [...], "next": <cursor or null>}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

// ---- sessions and registration ----

/// `POST /api/v1/sessions`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Answer of login and of registration verify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionResponse {
    pub token: String,
    pub user: Me,
}

/// `POST /api/v1/registrations`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationRequest {
    pub token: String,
    pub email: String,
    pub phone: String,
    pub password: String,
    pub name: String,
    /// The username to sign up with ([`crate::normalize_username`]), unique in the
    /// organization. Absent (apps older than usernames): one is made from the email.
    #[serde(default)]
    pub username: Option<String>,
}

/// `201` answer of `POST /api/v1/registrations`: an SMS code went to `phone`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationResponse {
    pub registration_id: Uuid,
    /// The phone in E.164, as stored.
    pub phone: String,
    #[serde(with = "time::serde::rfc3339")]
    pub code_expires_at: OffsetDateTime,
}

/// `POST /api/v1/registrations/{id}/verify`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyRequest {
    pub code: String,
}

/// `GET /api/v1/me`: the signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: Uuid,
    pub name: String,
    /// The email used at registration (the login).
    pub email: String,
    pub user_type: UserType,
    pub status: UserStatus,
    /// The app this account belongs in.
    pub app: App,
    pub permissions: Vec<Permission>,
    pub access: Access,
    pub organization_id: Uuid,
    /// When the access holds: start, end, weekly hours (all optional).
    #[serde(default)]
    pub period: crate::AccessPeriod,
}

// ---- manage access ----

/// `GET /api/v1/access/summary`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessSummary {
    pub total_users: u64,
    pub team_members: u64,
    pub residents: u64,
    /// Invitations still waiting for their person and not expired.
    pub pending_invites: u64,
    /// Invitations whose link expired before registration (Resend Invite revives them).
    #[serde(default)]
    pub expired_invites: u64,
}

/// `POST /api/v1/invitations`: exactly one of `email` (a new address) or `username` (an
/// existing user of the organization).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationRequest {
    pub user_type: UserType,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    pub access: Access,
    /// The invitee's phone (`+1...`): only it can complete the registration, so whoever
    /// opens a forwarded or leaked link first cannot take the invitee's access.
    #[serde(default)]
    pub phone: Option<String>,
    /// When the access holds (move-in and move-out, a contract): all parts optional.
    #[serde(default)]
    pub period: crate::AccessPeriod,
}

/// `201` answer of `POST /api/v1/invitations` and of resend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationResponse {
    pub user_id: Uuid,
    pub status: UserStatus,
    /// The invitation gave access to an existing account (found by username): nothing to
    /// register, the person signs in as before; `status` is the account's.
    #[serde(default)]
    pub linked: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// One row of the Manage Access table (`GET /api/v1/users`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: Uuid,
    pub name: Option<String>,
    pub user_type: UserType,
    /// The stored status, with `expired` for a pending user whose invitation ran out.
    pub status: AccountStatus,
    /// `units` or `all_locks`.
    pub access_type: String,
    pub invited_email: Option<String>,
    pub username: Option<String>,
    /// The email used at registration, once registered.
    pub registered_email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub invited_at: OffsetDateTime,
    /// When the access holds; the table shows its end.
    #[serde(default)]
    pub period: crate::AccessPeriod,
}

/// A user's status as the Manage Access page shows it: [`UserStatus`] with `expired`, a
/// pending user whose invitation's validity has passed (derived when read, never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Pending,
    Expired,
    Active,
    Revoked,
}

impl AccountStatus {
    /// `status` as shown at `now`, given the current invitation's expiry.
    pub fn of(
        status: UserStatus,
        invitation_expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> AccountStatus {
        match status {
            UserStatus::Pending if invitation_expires_at.is_none_or(|e| now >= e) => {
                AccountStatus::Expired
            }
            UserStatus::Pending => AccountStatus::Pending,
            UserStatus::Active => AccountStatus::Active,
            UserStatus::Revoked => AccountStatus::Revoked,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Pending => "pending",
            AccountStatus::Expired => "expired",
            AccountStatus::Active => "active",
            AccountStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<AccountStatus> {
        Some(match s {
            "pending" => AccountStatus::Pending,
            "expired" => AccountStatus::Expired,
            "active" => AccountStatus::Active,
            "revoked" => AccountStatus::Revoked,
            _ => return None,
        })
    }
}

/// `POST /api/v1/auth/password-reset`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetRequest {
    pub email: String,
}

/// `202` answer of `POST /api/v1/auth/password-reset`, the same whether the email has an
/// account or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetStarted {
    pub message: String,
}

/// `POST /api/v1/auth/password-reset/confirm`: the link's token, the SMS code and the new
/// password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetConfirm {
    pub token: String,
    pub sms_code: String,
    pub new_password: String,
}

/// `GET /api/v1/users/{id}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDetail {
    #[serde(flatten)]
    pub summary: UserSummary,
    pub phone: Option<String>,
    pub permissions: Vec<Permission>,
    pub access: Access,
    pub invited_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub invitation_expires_at: Option<OffsetDateTime>,
    /// Generated passcodes: the user's personal passcode on each lock in scope.
    pub passcodes: Vec<Passcode>,
}

/// A user's generated personal passcode on one lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Passcode {
    pub lock_id: Uuid,
    pub lock_name: String,
    pub code: String,
    pub sync_state: CodeSyncState,
    /// Why the lock refused it, when `sync_state` is `failed`.
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// `PUT /api/v1/users/{id}/period`: the whole period, replaced (an empty body part clears
/// it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodUpdate {
    pub period: crate::AccessPeriod,
}

/// `PUT /api/v1/users/{id}/permissions`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PermissionsUpdate {
    pub permissions: Vec<Permission>,
}

/// The channel of an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// `GET /api/v1/outbox`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxMessage {
    pub id: Uuid,
    pub channel: Channel,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// `queued`, `sent`, `failed`, `outbox_only` (no transport: read it here) or `refused`
    /// (a limit stopped it; `delivery_error` says which).
    #[serde(default)]
    pub delivery: String,
    /// Why delivery failed or was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<String>,
}

// ---- properties, units, locks ----

/// `POST /api/v1/properties` and `POST /api/v1/properties/{id}/units`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NameRequest {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Property {
    pub id: Uuid,
    pub name: String,
    pub units: Vec<Unit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unit {
    pub id: Uuid,
    pub property_id: Uuid,
    pub name: String,
}

/// `POST /api/v1/locks`: a record by an administrator, or a lock paired on site (then the
/// pairing fields are set).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockCreate {
    pub unit_id: Uuid,
    pub name: String,
    /// The lock's static X25519 public key (base64), learned at pairing.
    #[serde(default)]
    pub identity_public_key: Option<String>,
    #[serde(default)]
    pub firmware: Option<String>,
}

/// A lock as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lock {
    pub id: Uuid,
    pub name: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub property_id: Uuid,
    pub property_name: String,
    pub mode: LockMode,
    pub battery: Option<u8>,
    pub firmware: Option<String>,
    pub paired: bool,
    pub identity_public_key: Option<String>,
}

/// How far a lock is in step with the platform (`GET /api/v1/locks/{id}/door`): what it
/// confirmed at its last contact against what the platform wants now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoorState {
    pub lock_id: Uuid,
    /// The door-update version the lock last confirmed holding (0: none yet).
    pub confirmed_version: u64,
    /// The lock holds everything the platform wants (mode, name, codes, revocations).
    pub in_step: bool,
    /// Given codes and passcodes waiting for a phone to reach the lock.
    pub pending_codes: u32,
    /// Percent, as the lock last reported it.
    pub battery: Option<u8>,
    /// At or below [`LOW_BATTERY_PERCENT`].
    pub low_battery: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_contact_at: Option<OffsetDateTime>,
    /// The app whose phone made the last contact.
    pub last_contact_app: Option<String>,
}

/// `GET /api/v1/locks/{id}/door-update`: the update that brings the lock to what the
/// platform wants, for any phone to carry (`lock_protocol::door`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoorUpdateResponse {
    pub lock_id: Uuid,
    /// The version the lock holds once it applied every update: strictly increasing per
    /// lock.
    pub version: u64,
    /// The signed updates, secrets sealed to the lock (base64), oldest first: each built on
    /// the one before, so a phone sends them together and the lock applies them in order
    /// (one unless the lock's change exceeds one update's bounds).
    pub updates: Vec<String>,
    /// The newest entry of the lock's own log the server holds (0: none): a phone reads
    /// the lock's log from there, so a new phone does not read again what others brought.
    #[serde(default)]
    pub log_seq: u64,
}

/// A battery at or below this is shown as low.
pub const LOW_BATTERY_PERCENT: u8 = 20;

/// `POST /api/v1/locks/{id}/contact`: the lock's status as a phone read it, with the
/// lock's receipt for it (`lock_protocol::door::receipt`), so only a real contact counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockContactReport {
    /// The door-update version the lock reports holding.
    #[serde(deserialize_with = "whole::deserialize")]
    pub door_version: u64,
    /// Percent.
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    #[serde(deserialize_with = "whole::deserialize")]
    pub battery: u8,
    /// The lock's clock, unix seconds.
    #[serde(deserialize_with = "whole::deserialize")]
    pub clock: u64,
    pub firmware: String,
    /// The lock's receipt over the fields above (base64, 32 bytes).
    pub receipt: String,
}

/// `PATCH /api/v1/locks/{id}`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameRequest {
    pub name: String,
}

/// `PUT /api/v1/locks/{id}/mode`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModeRequest {
    pub mode: LockMode,
}

/// `GET /api/v1/locks/{id}/master-code`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterCode {
    pub code: String,
}

/// How a logged action was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogMethod {
    Ble,
    Keypad,
    MasterCode,
    Admin,
}

impl LogMethod {
    pub const ALL: [LogMethod; 4] = [
        LogMethod::Ble,
        LogMethod::Keypad,
        LogMethod::MasterCode,
        LogMethod::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogMethod::Ble => "ble",
            LogMethod::Keypad => "keypad",
            LogMethod::MasterCode => "master_code",
            LogMethod::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<LogMethod> {
        LogMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// One entry of a lock's access log. Every entry says who and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntry {
    pub id: Uuid,
    pub lock_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened, e.g. `unlock`, `rename`, `mode_change`, `keypad_refused`.
    pub action: String,
    pub method: LogMethod,
    /// `server` (the server's audit) or `lock` (read from the lock over BLE).
    pub source: String,
    pub user_id: Option<Uuid>,
    pub user_name: Option<String>,
    pub code_id: Option<Uuid>,
    pub code_label: Option<String>,
    pub detail: Option<String>,
    /// The lock's own sequence number, for entries read from the lock.
    pub lock_seq: Option<u64>,
}

/// `POST /api/v1/locks/{id}/logs`: pages of the lock's log as the lock sent them
/// (`lock_protocol::report::LogPage`); the server checks each page's MAC under the lock's
/// report key, decodes the entries itself and keeps each lock sequence number once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockLogUpload {
    /// At most 16.
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub pages: Vec<LockLogPage>,
}

/// The most pages one log upload carries.
pub const MAX_LOG_PAGES_PER_UPLOAD: usize = 16;

const _: () = assert!(
    MAX_LOG_PAGES_PER_UPLOAD == 16,
    "the OpenAPI document says 16"
);

/// One page of a lock's log, exactly as the lock sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockLogPage {
    /// The encoded entries (base64).
    pub entries: String,
    /// The lock's MAC over them (base64, 32 bytes).
    pub mac: String,
}

/// `POST /api/v1/locks/{id}/access-codes` (give access).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessCodeRequest {
    pub kind: AccessCodeKind,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ends_at: Option<OffsetDateTime>,
}

/// An access code on a lock, with its sync state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessCode {
    pub id: Uuid,
    pub lock_id: Uuid,
    pub kind: AccessCodeKind,
    pub label: Option<String>,
    pub code: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ends_at: Option<OffsetDateTime>,
    pub sync_state: CodeSyncState,
    pub failure_reason: Option<String>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Set once revoked: the lock drops the code at the next contact.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub revoked_at: Option<OffsetDateTime>,
}

/// `POST /api/v1/locks/{id}/credentials`: a signed BLE credential for the caller and lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialResponse {
    /// The signed credential bytes, base64.
    pub credential: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The lock's static public key (base64), so the phone can open a session.
    pub lock_public_key: Option<String>,
}

/// `GET /api/v1/sync?since=CURSOR`: what changed for the caller since the cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResponse {
    /// Pass back as `since` next time.
    pub cursor: String,
    /// When true the caller must replace its cache with this answer (first sync, or a
    /// scope change made a delta impossible).
    pub full: bool,
    pub me: Me,
    pub locks: Vec<Lock>,
    pub removed_lock_ids: Vec<Uuid>,
    pub access_codes: Vec<AccessCode>,
    pub passcodes: Vec<Passcode>,
}

// ---- BLE pairing, credentials and revocations ----

/// `201` answer of `POST /api/v1/locks`: the lock, and what a phone pairing it on site
/// installs in it (`lock-protocol`'s `Install`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockRegistration {
    #[serde(flatten)]
    pub lock: Lock,
    /// The organization's Ed25519 public key (base64, 32 bytes): the lock checks
    /// credentials with it.
    pub org_public_key: String,
}

/// `PUT /api/v1/locks/{id}/identity`: the lock's static key, learned at the end of pairing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockIdentity {
    /// The lock's static X25519 public key (base64, 32 bytes).
    pub identity_public_key: String,
    #[serde(default)]
    pub firmware: Option<String>,
    /// The name given by the pairing that succeeded, when it differs from the one the lock
    /// was registered with (a retry after a wrong pairing code reuses that registration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One credential a lock must refuse from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokedCredential {
    pub serial: u64,
    /// Unix seconds: the credential's own expiry, after which the entry can go.
    pub expires_at: u64,
}

/// `GET /api/v1/locks/{id}/revocations`: unexpired credentials of this lock whose holder
/// was revoked or lost the rights they carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevocationList {
    pub lock_id: Uuid,
    pub revoked: Vec<RevokedCredential>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_the_wire_names_and_round_trip() {
        for c in Channel::ALL {
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        for m in LogMethod::ALL {
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.as_str())
            );
            assert_eq!(LogMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(Channel::parse("fax"), None);
        assert_eq!(LogMethod::parse("Ble"), None);
    }
}

/// Whole numbers read also when spelled as floats (`40.0`), as JSON Schema's `integer`
/// allows; a fraction or a number out of the field's range is refused.
mod whole {
    use serde::Deserializer;
    use serde::de::{Error, Visitor};

    pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        struct Whole;
        impl Visitor<'_> for Whole {
            type Value = u64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::custom("a negative number"))
            }
            fn visit_f64<E: Error>(self, v: f64) -> Result<u64, E> {
                // 2^64 is the first float past u64::MAX.
                if v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v) {
                    Ok(v as u64)
                } else {
                    Err(E::custom("not a whole number in range"))
                }
            }
        }
        let n = d.deserialize_any(Whole)?;
        T::try_from(n).map_err(|_| D::Error::custom("a number out of range"))
    }
}

#[cfg(test)]
mod whole_tests {
    use super::LockContactReport;

    #[test]
    fn a_contact_reads_whole_floats_and_refuses_fractions_and_overflow() {
        let read = |battery: &str| {
            serde_json::from_str::<LockContactReport>(&format!(
                r#"{{"door_version": 3.0, "battery": {battery}, "clock": 1800000000,
                    "firmware": "f", "receipt": "r"}}"#
            ))
        };
        let r = read("40.0").unwrap();
        assert_eq!((r.door_version, r.battery), (3, 40));
        assert!(read("40.5").is_err());
        assert!(read("256").is_err());
        assert!(read("-1").is_err());
    }
}
