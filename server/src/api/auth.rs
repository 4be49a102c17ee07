//! Sign-in, registration from an invitation with the SMS step, and `/me`.

use std::net::SocketAddr;

use access_domain::api::{
    ErrorBody, LoginRequest, Me, RegistrationRequest, RegistrationResponse, SessionResponse,
    VerifyRequest, error_codes as codes,
};
use access_domain::normalize_phone;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Auth, Id, Json, into_me, me};
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::store::{NewMessage, NewRegistration, NewSession, VerifyAttempt, VerifyOutcome};
use crate::validate::{clean_email, clean_name};
use crate::{AppState, notify};

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
    let keys = vec![format!("email:{email}"), format!("ip:{}", peer.ip())];
    let k = keys.clone();
    let failures = state
        .db
        .run(move |s| s.login_failures(&k, now - THROTTLE_WINDOW))
        .await?;
    if failures.first().copied().unwrap_or(0) >= MAX_FAILURES_PER_EMAIL
        || failures.get(1).copied().unwrap_or(0) >= MAX_FAILURES_PER_IP
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_MANY_ATTEMPTS,
            "Too many failed sign-ins. Wait 15 minutes and try again.",
        ));
    }
    let e = email.clone();
    let found = state.db.run(move |s| s.login_lookup(&e)).await?;
    let password = req.password;
    let user = match found {
        Some((user, hash)) => {
            let ok =
                tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash))
                    .await
                    .unwrap_or(false);
            ok.then_some(user)
        }
        None => None,
    };
    let Some(user) = user else {
        state
            .db
            .run(move |s| s.record_login_failure(&keys, now))
            .await?;
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
    let email_key = keys[0].clone();
    state
        .db
        .run(move |s| {
            s.clear_login_failures(&email_key)?;
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
pub async fn me_handler(auth: Auth) -> axum::Json<Me> {
    axum::Json(into_me(auth.user))
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
    let phone = normalize_phone(&req.phone).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::INVALID_PHONE,
            e.to_string(),
        )
    })?;
    let email = clean_email(&req.email)?;
    let name = clean_name(&req.name, "Name", 100)?;
    if req.password.chars().count() < 8 || req.password.len() > 1024 {
        return Err(ApiError::validation(
            "The password must be at least 8 characters long.",
        ));
    }
    let cost = state.config.password_cost;
    let password = req.password;
    let password_hash =
        tokio::task::spawn_blocking(move || secrets::hash_password(&password, cost))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|e| {
                tracing::error!(error = %e, "password hashing failed");
                ApiError::internal()
            })?;
    let id = Uuid::new_v4();
    let code = secrets::random_digits(secrets::SMS_CODE_DIGITS);
    let app = inv.user_type.app().display_name();
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
    };
    let sms = NewMessage {
        id: Uuid::new_v4(),
        org_id: inv.org_id,
        channel: access_domain::api::Channel::Sms,
        to: phone.clone(),
        subject: None,
        body: format!("{app}: your verification code is {code}. It expires in 10 minutes."),
        created_at: now,
    };
    let sms2 = sms.clone();
    state
        .db
        .run(move |s| s.create_registration(&reg, &sms2))
        .await?;
    notify::deliver(&state, &sms).await;
    Ok((
        StatusCode::CREATED,
        axum::Json(RegistrationResponse {
            registration_id: id,
            phone,
            code_expires_at: now + SMS_CODE_TTL,
        }),
    ))
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
        VerifyOutcome::Wrong { attempts_left } => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::WRONG_SMS_CODE,
            format!(
                "That code is not right. {attempts_left} attempt{} left.",
                if attempts_left == 1 { "" } else { "s" }
            ),
        )),
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
