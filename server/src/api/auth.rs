//! Sign-in, registration from an invitation with the SMS step, and `/me`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use access_domain::api::{
    ErrorBody, LoginRequest, Me, PasswordResetConfirm, PasswordResetRequest, PasswordResetStarted,
    RegistrationRequest, RegistrationResponse, SessionResponse, VerifyRequest,
    error_codes as codes,
};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Auth, Id, Json, json_answer, json_bytes, me};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::notify::{self, Outgoing};
use crate::secrets;
use crate::store::rules::Limit;
use crate::store::{
    NewMessage, NewPasswordReset, NewRegistration, NewSession, ResetAttempt, ResetOutcome,
    UserRecord, VerifyAttempt, VerifyOutcome,
};
use crate::validate::{clean_email, clean_name, clean_phone};

/// Failed sign-ins counted over this window.
const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// Failed sign-ins per email within the window before refusing.
const MAX_FAILURES_PER_EMAIL: u64 = 5;
/// Failed sign-ins per client address within the window before refusing.
const MAX_FAILURES_PER_IP: u64 = 50;
/// Lifetime of an SMS code.
pub const SMS_CODE_TTL: Duration = Duration::minutes(10);
/// Wrong SMS codes allowed per registration.
pub const SMS_MAX_ATTEMPTS: u32 = 5;
/// Registrations (each one SMS) per invitation and per phone number in a day.
pub const REGISTRATIONS_PER_DAY: u64 = 5;
/// Registrations from one client address in an hour (generous: phones on one carrier
/// often share an address).
pub const REGISTRATIONS_PER_ADDRESS_HOUR: u64 = 60;

fn new_session(state: &AppState, user_id: Uuid, now: OffsetDateTime) -> (String, NewSession) {
    let token = secrets::new_token();
    let lifetime = Duration::try_from(state.config.session_lifetime).unwrap_or(Duration::days(30));
    let session = NewSession {
        token_hash: secrets::hash_token(&token),
        user_id,
        created_at: now,
        expires_at: now + lifetime,
    };
    (token, session)
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = LoginRequest,
    responses((status = 201, body = SessionResponse),
        (status = 401, description = "`invalid_credentials`: wrong email or password; `revoked`: the user's access was revoked", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many failed sign-ins for the email or the client address; wait 15 minutes", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<(StatusCode, axum::Json<SessionResponse>)> {
    let now = OffsetDateTime::now_utc();
    let email = req.email.trim().to_lowercase();
    let email_key = format!("email:{email}");
    let ip_key = format!("ip:{}", peer.ip());
    let since = now - THROTTLE_WINDOW;
    let limits = [
        Limit {
            key: email_key.clone(),
            max: MAX_FAILURES_PER_EMAIL,
            since,
        },
        Limit {
            key: ip_key.clone(),
            max: MAX_FAILURES_PER_IP,
            since,
        },
    ];
    // The attempt is counted as a failure before the password is checked, so parallel
    // attempts cannot all pass the limit; a success takes it back.
    if state
        .db
        .run(move |s| s.take_attempt(&limits, now))
        .await?
        .is_some()
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_MANY_ATTEMPTS,
            "Too many failed sign-ins. Wait 15 minutes and try again.",
        ));
    }
    let e = email.clone();
    let found = state.db.run(move |s| s.login_lookup(&e)).await?;
    // An unknown email is checked against a hash of the same cost: the same work, the same
    // time, so the answer's timing does not tell which emails have an account.
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, state.dummy_password_hash.clone()),
    };
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            codes::INVALID_CREDENTIALS,
            "Wrong email or password.",
        ));
    };
    if user.status == access_domain::UserStatus::Revoked {
        return Err(ApiError::revoked());
    }
    let (token, session) = new_session(&state, user.id, now);
    state
        .db
        .run(move |s| {
            s.clear_attempts(&email_key)?;
            s.release_attempt(&ip_key, now)?;
            s.create_session(&session)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SessionResponse {
            token,
            user: me(&user),
        }),
    ))
}

/// Sign out: the token stops working.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions",
    security(("bearer" = [])), responses((status = 204, description = "Signed out: the token stops working"),
        (status = 401, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    let hash = auth.token_hash;
    state.db.run(move |s| s.delete_session(&hash)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user with permissions and access.
#[utoipa::path(get, path = "/api/v1/me", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, body = Me),
        (status = 401, body = ErrorBody)))]
pub async fn me_handler(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::response::Response> {
    // The answer is about 450 bytes.
    let body = state
        .me_answers
        .answer(&auth, |user| json_bytes(&me(user), 512))?;
    Ok(json_answer(body))
}

/// `/me` answers already written, by session (the apps' most frequent call). An answer is
/// kept with the record it was written from and served only while the session lookup still
/// hands out that same record: any write makes the lookup read a new one (see
/// [`Store::session_user`](crate::store::Store::session_user)), so an answer is never older
/// than the user the request was authenticated as. A store that reads every session anew
/// (PostgreSQL) always writes the answer.
#[derive(Default)]
pub struct MeAnswers {
    entries: Mutex<HashMap<[u8; 32], MeAnswer>>,
}

/// One remembered answer: holding the record keeps its address from being reused, so
/// pointer equality means "the same read".
struct MeAnswer {
    user: Arc<UserRecord>,
    body: Bytes,
}

impl MeAnswers {
    /// Sessions remembered at most; a full memory starts over.
    const MAX_ENTRIES: usize = 10_000;

    /// The answer for `auth`: remembered from this same record, or what `write` makes of it
    /// (then remembered).
    pub fn answer(
        &self,
        auth: &Auth,
        write: impl FnOnce(&UserRecord) -> ApiResult<Bytes>,
    ) -> ApiResult<Bytes> {
        let same = |a: &MeAnswer| Arc::ptr_eq(&a.user, &auth.user);
        if let Some(a) = self.lock().get(&auth.token_hash).filter(|a| same(a)) {
            return Ok(a.body.clone());
        }
        let body = write(&auth.user)?;
        let mut entries = self.lock();
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        let user = Arc::clone(&auth.user);
        entries.insert(
            auth.token_hash,
            MeAnswer {
                user,
                body: body.clone(),
            },
        );
        Ok(body)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], MeAnswer>> {
        // The map holds no invariant a panic could break: a poisoned lock is as good.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn invitation_invalid() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::INVITATION_INVALID,
        "This invitation link is not valid any more (a newer one may have been sent). \
         Use the latest invitation email or ask your administrator to resend it.",
    )
}

fn invitation_expired() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        codes::INVITATION_EXPIRED,
        "This invitation has expired. Ask your administrator to resend the invite.",
    )
}

/// Register from an invitation: an SMS code then goes to the phone.
#[utoipa::path(post, path = "/api/v1/registrations", tag = "registration",
    request_body = RegistrationRequest,
    responses((status = 201, body = RegistrationResponse),
        (status = 404, description = "`invitation_invalid`: an unknown, replaced or used invitation", body = ErrorBody),
        (status = 409, description = "`conflict`: an account with this email exists", body = ErrorBody),
        (status = 410, description = "`invitation_expired`", body = ErrorBody),
        (status = 422, description = "`invalid_phone` or `validation_failed`: a malformed email, name or password", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RegistrationRequest>,
) -> ApiResult<(StatusCode, axum::Json<RegistrationResponse>)> {
    let now = OffsetDateTime::now_utc();
    let token = req.token.trim().to_string();
    if token.is_empty() || token.len() > 128 {
        return Err(invitation_invalid());
    }
    let hash = secrets::hash_token(&token);
    let inv = state
        .db
        .run(move |s| s.invitation_by_token(&hash))
        .await?
        .ok_or_else(invitation_invalid)?;
    if inv.voided || inv.user_status != access_domain::UserStatus::Pending {
        return Err(invitation_invalid());
    }
    if now >= inv.expires_at {
        return Err(invitation_expired());
    }
    let phone = clean_phone(&req.phone)?;
    if inv.invited_phone.as_ref().is_some_and(|p| *p != phone) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID_PHONE,
            "This invitation is for another phone number. Use the number you gave the person \
             who invited you, or ask them to invite you again.",
        ));
    }
    let email = clean_email(&req.email)?;
    let name = clean_name(&req.name, "Name", 100)?;
    check_password(&req.password)?;
    let username = match req.username.as_deref() {
        Some(u) => access_domain::normalize_username(u).map_err(ApiError::validation)?,
        None => username_from_email(&state, inv.org_id, inv.user_id, &email).await?,
    };
    let app = inv.user_type.app().display_name();
    let sms = |body: String| sms_message(inv.org_id, &phone, body, now);
    // Counted before the password is hashed and before anything is sent: the limits hold
    // the SMS bill and the server's work whatever the caller sends, in parallel or not.
    let limits = registration_limits(&state, inv.id, &phone, peer, now);
    if let Some(full) = state.db.run(move |s| s.take_attempt(&limits, now)).await? {
        let why = REFUSAL_REASONS[full];
        tracing::warn!(invitation = %inv.id, limit = why, "registration refused: SMS not sent");
        // One outbox note per invitation and limit an hour: a flood of refused attempts
        // must not grow the outbox instead.
        let refused = sms(format!("{app}: verification code not sent ({why})."));
        let note = Limit {
            key: format!("refusal-noted:{}:{full}", inv.id),
            max: 1,
            since: now - Duration::hours(1),
        };
        state
            .db
            .run(move |s| match s.take_attempt(&[note], now)? {
                None => s.record_refused_message(&refused, why),
                Some(_) => Ok(()),
            })
            .await?;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_MANY_ATTEMPTS,
            "Too many verification codes were sent for this registration. Try again later, \
             or ask the person who invited you for help.",
        ));
    }
    let password_hash = hash_password(&state, req.password).await?;
    let id = Uuid::new_v4();
    let (code, out) = sms_code(
        &state,
        inv.org_id,
        &phone,
        app,
        "verification",
        SMS_CODE_TTL,
        now,
    );
    let reg = NewRegistration {
        id,
        invitation_id: inv.id,
        user_id: inv.user_id,
        email,
        phone: phone.clone(),
        name,
        password_hash,
        code_hash: sms_code_hash(id, &code),
        created_at: now,
        code_expires_at: now + SMS_CODE_TTL,
        username,
    };
    let stored = out.stored.clone();
    state
        .db
        .run(move |s| s.create_registration(&reg, &stored))
        .await?;
    notify::deliver(&state, &out).await;
    Ok((
        StatusCode::CREATED,
        axum::Json(RegistrationResponse {
            registration_id: id,
            phone,
            code_expires_at: now + SMS_CODE_TTL,
        }),
    ))
}

/// Why a registration was refused, per limit of [`registration_limits`], as the outbox and
/// the log say it.
const REFUSAL_REASONS: [&str; 4] = [
    "too many codes for this invitation today",
    "too many codes for this phone number today",
    "too many registrations from this address in the last hour",
    "the hourly SMS budget is used up",
];

/// The limits one registration counts against, in the order of [`REFUSAL_REASONS`].
fn registration_limits(
    state: &AppState,
    invitation: Uuid,
    phone: &str,
    peer: SocketAddr,
    now: OffsetDateTime,
) -> Vec<Limit> {
    let (day, hour) = (now - Duration::days(1), now - Duration::hours(1));
    let limit = |key: String, max, since| Limit { key, max, since };
    vec![
        limit(
            format!("registration-invitation:{invitation}"),
            REGISTRATIONS_PER_DAY,
            day,
        ),
        limit(
            format!("registration-phone:{phone}"),
            REGISTRATIONS_PER_DAY,
            day,
        ),
        limit(
            format!("registration-ip:{}", peer.ip()),
            REGISTRATIONS_PER_ADDRESS_HOUR,
            hour,
        ),
        limit("sms".into(), state.config.sms_per_hour, hour),
    ]
}

/// The stored hash of a new password, computed off the runtime (argon2id takes tens of ms).
async fn hash_password(state: &AppState, password: String) -> ApiResult<String> {
    let cost = state.config.password_cost;
    tokio::task::spawn_blocking(move || secrets::hash_password(&password, cost))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ApiError::internal()
        })
}

/// A wrong SMS code (registration, password reset), with the attempts it leaves.
fn wrong_sms_code(attempts_left: u32) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        codes::WRONG_SMS_CODE,
        format!(
            "That code is not right. {attempts_left} attempt{} left.",
            if attempts_left == 1 { "" } else { "s" }
        ),
    )
}

/// The password rule of registration and reset ([`access_domain::check_password`]).
fn check_password(password: &str) -> ApiResult<()> {
    access_domain::check_password(password).map_err(ApiError::validation)
}

/// An SMS to `phone`.
fn sms_message(org_id: Uuid, phone: &str, body: String, now: OffsetDateTime) -> NewMessage {
    NewMessage {
        id: Uuid::new_v4(),
        org_id,
        channel: access_domain::api::Channel::Sms,
        to: phone.to_string(),
        subject: None,
        body,
        created_at: now,
    }
}

/// A fresh SMS code for `purpose` ("verification", "password reset") and its message; the
/// caller stores a hash of the code, never the code.
fn sms_code(
    state: &AppState,
    org_id: Uuid,
    phone: &str,
    app: &str,
    purpose: &str,
    ttl: Duration,
    now: OffsetDateTime,
) -> (String, Outgoing) {
    let code = secrets::random_digits(secrets::SMS_CODE_DIGITS);
    let text = format!(
        "{app}: your {purpose} code is {code}. It expires in {} minutes.",
        ttl.whole_minutes()
    );
    let out = Outgoing::new(state, sms_message(org_id, phone, text, now), &code);
    (code, out)
}

/// The username of a registration that names none (apps older than usernames): the email's
/// local part, made valid, with the user id's start when someone else has it.
async fn username_from_email(
    state: &AppState,
    org: Uuid,
    user_id: Uuid,
    email: &str,
) -> ApiResult<String> {
    let local = email
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut base: String = local
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '.',
        })
        .take(25)
        .collect();
    let suffix = user_id.simple().to_string()[..6].to_string();
    if base.len() < access_domain::account_rules::USERNAME_MIN {
        base = format!("{base}-{suffix}");
    }
    let b = base.clone();
    let holder = state.db.run(move |s| s.user_by_username(org, &b)).await?;
    Ok(match holder {
        Some(u) if u.id != user_id => format!("{base}-{suffix}"),
        _ => base,
    })
}

fn sms_code_hash(registration: Uuid, code: &str) -> [u8; 32] {
    secrets::hash_token(&format!("{registration}:{code}"))
}

/// Enter the SMS code: the account becomes active and a session starts.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/verify", tag = "registration",
    params(("id" = Uuid, Path, description = "registration_id")), request_body = VerifyRequest,
    responses((status = 200, body = SessionResponse),
        (status = 404, description = "`not_found`: no such registration; `invitation_invalid`: its invitation was replaced", body = ErrorBody),
        (status = 410, description = "`sms_code_expired`", body = ErrorBody),
        (status = 422, description = "`wrong_sms_code`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many wrong codes", body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    Id(id): Id,
    Json(req): Json<VerifyRequest>,
) -> ApiResult<axum::Json<SessionResponse>> {
    let now = OffsetDateTime::now_utc();
    let (token, session) = new_session(&state, Uuid::nil(), now);
    let attempt = VerifyAttempt {
        registration_id: id,
        code_hash: sms_code_hash(id, req.code.trim()),
        max_attempts: SMS_MAX_ATTEMPTS,
        session,
        now,
    };
    let outcome = state
        .db
        .run(move |s| s.verify_registration(&attempt))
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => ApiError::not_found("Registration"),
            other => other.into(),
        })?;
    match outcome {
        VerifyOutcome::Verified(user) => Ok(axum::Json(SessionResponse {
            token,
            user: me(&user),
        })),
        VerifyOutcome::Wrong { attempts_left } => Err(wrong_sms_code(attempts_left)),
        VerifyOutcome::TooManyAttempts => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_MANY_ATTEMPTS,
            "Too many wrong codes. Open the invitation link again to get a new code.",
        )),
        VerifyOutcome::Expired => Err(ApiError::new(
            StatusCode::GONE,
            codes::SMS_CODE_EXPIRED,
            "This code has expired. Open the invitation link again to get a new code.",
        )),
        VerifyOutcome::InvitationVoided => Err(invitation_invalid()),
    }
}

/// Lifetime of a password reset link and its SMS code.
pub const RESET_TTL: Duration = Duration::minutes(30);
/// Wrong SMS codes a reset link survives (the last one kills it).
pub const RESET_MAX_ATTEMPTS: u32 = 5;
/// Reset requests per email in an hour, and per client address.
pub const RESETS_PER_EMAIL_HOUR: u64 = 3;
pub const RESETS_PER_ADDRESS_HOUR: u64 = 20;
/// Reset confirmations per client address in 15 minutes.
pub const RESET_CONFIRMS_PER_ADDRESS: u64 = 30;

/// The one answer of a reset request, whether the email has an account or not.
const RESET_STARTED: &str = "If this email belongs to an active account, a link to reset the \
     password is on its way to it, and a code to the account's phone. The link works for 30 \
     minutes.";

fn too_many_resets() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        codes::TOO_MANY_ATTEMPTS,
        "Too many password reset requests. Wait an hour and try again.",
    )
}

/// The SMS code of a reset, bound to its link's token: a copy of the database (hash of the
/// token, hash of both) cannot try the million codes without the token.
fn reset_code_hash(token: &str, code: &str) -> [u8; 32] {
    secrets::hash_token(&format!("reset:{token}:{code}"))
}

/// Forgot password: a link to the account's email and a code to its phone. The answer is
/// the same for any email (no account enumeration); requests are limited per email and per
/// client address whatever the email.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "sessions",
    request_body = PasswordResetRequest,
    responses((status = 202, body = PasswordResetStarted),
        (status = 429, description = "`too_many_attempts`: too many requests for the email or from the client address", body = ErrorBody)))]
pub async fn password_reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<PasswordResetRequest>,
) -> ApiResult<(StatusCode, axum::Json<PasswordResetStarted>)> {
    let now = OffsetDateTime::now_utc();
    let email = req.email.trim().to_lowercase();
    let hour = now - Duration::hours(1);
    let limits = [
        Limit {
            key: format!("reset-email:{email}"),
            max: RESETS_PER_EMAIL_HOUR,
            since: hour,
        },
        Limit {
            key: format!("reset-ip:{}", peer.ip()),
            max: RESETS_PER_ADDRESS_HOUR,
            since: hour,
        },
    ];
    if state
        .db
        .run(move |s| s.take_attempt(&limits, now))
        .await?
        .is_some()
    {
        return Err(too_many_resets());
    }
    let answer = (
        StatusCode::ACCEPTED,
        axum::Json(PasswordResetStarted {
            message: RESET_STARTED.into(),
        }),
    );
    if email.len() > 254 {
        return Ok(answer);
    }
    let e = email.clone();
    let found = state.db.run(move |s| s.login_lookup(&e)).await?;
    let Some((user, _)) = found else {
        return Ok(answer);
    };
    let (Some(phone), Some(to)) = (user.phone.clone(), user.registered_email.clone()) else {
        return Ok(answer);
    };
    if user.status != access_domain::UserStatus::Active {
        return Ok(answer);
    }
    // The SMS budget of the whole server holds here too.
    let budget = [Limit {
        key: "sms".into(),
        max: state.config.sms_per_hour,
        since: hour,
    }];
    if state
        .db
        .run(move |s| s.take_attempt(&budget, now))
        .await?
        .is_some()
    {
        tracing::warn!(user = %user.id, "password reset not sent: the hourly SMS budget is used up");
        return Ok(answer);
    }
    let app = user.user_type.app().display_name();
    let token = secrets::new_token();
    let (code, sms) = sms_code(
        &state,
        user.org_id,
        &phone,
        app,
        "password reset",
        RESET_TTL,
        now,
    );
    let link = format!("{}/reset-password?token={token}", state.public_url);
    let mail = Outgoing::new(
        &state,
        NewMessage {
            id: Uuid::new_v4(),
            org_id: user.org_id,
            channel: access_domain::api::Channel::Email,
            to,
            subject: Some(format!("Reset your {app} password")),
            body: format!(
                "Hello,\n\nSomeone (we hope you) asked to reset the password of your {app} \
                 account.\n\nOpen this link within 30 minutes and enter the code we sent by SMS \
                 to your phone:\n   {link}\n\nIf the link does not open, the reset code is:\n   \
                 {token}\n\nIf you did not ask for this, ignore this email: your password stays \
                 as it is.\n"
            ),
            created_at: now,
        },
        &token,
    );
    let reset = NewPasswordReset {
        id: Uuid::new_v4(),
        user_id: user.id,
        token_hash: secrets::hash_token(&token),
        code_hash: reset_code_hash(&token, &code),
        created_at: now,
        expires_at: now + RESET_TTL,
    };
    let (m, t) = (mail.stored.clone(), sms.stored.clone());
    state
        .db
        .run(move |s| s.create_password_reset(&reset, &m, &t))
        .await?;
    // Delivery runs after the answer: its time does not tell that the email has an account.
    let st = state.clone();
    tokio::spawn(async move {
        notify::deliver(&st, &mail).await;
        notify::deliver(&st, &sms).await;
    });
    Ok(answer)
}

/// Set a new password with the link's token and the SMS code: every session of the user
/// ends and the link is used up.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "sessions",
    request_body = PasswordResetConfirm,
    responses((status = 204, description = "The password is set; every session of the account ended"),
        (status = 410, description = "`reset_invalid`: an unknown, used, replaced or expired link", body = ErrorBody),
        (status = 422, description = "`wrong_sms_code`, or `validation_failed`: a password shorter than 8 characters", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many wrong codes (the link is dead), or too many tries from the client address", body = ErrorBody)))]
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<PasswordResetConfirm>,
) -> ApiResult<StatusCode> {
    let now = OffsetDateTime::now_utc();
    let invalid = || {
        ApiError::new(
            StatusCode::GONE,
            codes::RESET_INVALID,
            "This password reset link is not valid any more (used, replaced by a newer one, or \
             older than 30 minutes). Ask for a new one from the sign-in page.",
        )
    };
    let token = req.token.trim().to_string();
    if token.is_empty() || token.len() > 128 {
        return Err(invalid());
    }
    check_password(&req.new_password)?;
    let limits = [Limit {
        key: format!("reset-confirm-ip:{}", peer.ip()),
        max: RESET_CONFIRMS_PER_ADDRESS,
        since: now - THROTTLE_WINDOW,
    }];
    if state
        .db
        .run(move |s| s.take_attempt(&limits, now))
        .await?
        .is_some()
    {
        return Err(too_many_resets());
    }
    let password_hash = hash_password(&state, req.new_password).await?;
    let attempt = ResetAttempt {
        token_hash: secrets::hash_token(&token),
        code_hash: reset_code_hash(&token, req.sms_code.trim()),
        password_hash,
        max_attempts: RESET_MAX_ATTEMPTS,
        now,
    };
    match state
        .db
        .run(move |s| s.confirm_password_reset(&attempt))
        .await?
    {
        ResetOutcome::Done(user) => {
            tracing::info!(%user, "password reset");
            Ok(StatusCode::NO_CONTENT)
        }
        ResetOutcome::Invalid => Err(invalid()),
        ResetOutcome::Wrong { attempts_left } => Err(wrong_sms_code(attempts_left)),
        ResetOutcome::TooManyAttempts => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_MANY_ATTEMPTS,
            "Too many wrong codes: this reset link no longer works. Ask for a new one.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> Arc<UserRecord> {
        Arc::new(UserRecord {
            id: Uuid::nil(),
            org_id: Uuid::nil(),
            user_type: access_domain::UserType::TeamMember,
            status: access_domain::UserStatus::Active,
            name: Some(name.into()),
            username: None,
            invited_email: None,
            registered_email: None,
            phone: None,
            permissions: vec![],
            access: access_domain::Access::AllLocks,
            invited_by: None,
            invited_at: OffsetDateTime::UNIX_EPOCH,
            invitation_expires_at: None,
            period: Default::default(),
        })
    }

    #[test]
    fn a_me_answer_is_served_only_for_the_record_it_was_written_from() {
        let answers = MeAnswers::default();
        let written = std::cell::Cell::new(0);
        let write = |user: &UserRecord| {
            written.set(written.get() + 1);
            Ok(Bytes::from(user.name.clone().unwrap_or_default()))
        };
        let first = Auth {
            user: record("Ana"),
            token_hash: [1; 32],
        };
        assert_eq!(answers.answer(&first, write).unwrap(), "Ana");
        assert_eq!(answers.answer(&first, write).unwrap(), "Ana");
        assert_eq!(written.get(), 1, "the same record: the answer is reused");
        // After a write the session lookup hands out a new record, equal or not.
        let reread = Auth {
            user: record("Ana B."),
            token_hash: [1; 32],
        };
        assert_eq!(answers.answer(&reread, write).unwrap(), "Ana B.");
        assert_eq!(written.get(), 2);
        // Another session of the same record has its own answer.
        let other = Auth {
            user: Arc::clone(&reread.user),
            token_hash: [2; 32],
        };
        assert_eq!(answers.answer(&other, write).unwrap(), "Ana B.");
        assert_eq!(written.get(), 3);
    }
}
