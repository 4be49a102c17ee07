//! The account: registration from an invitation, the SMS check, sign in and out, and the
//! cached user. The inputs are checked here, before any request ([`registration`],
//! [`sms_code`]).

use access_domain::api::{
    LoginRequest, PasswordResetConfirm, PasswordResetRequest, PasswordResetStarted,
    RegistrationRequest, RegistrationResponse, SessionResponse, VerifyRequest,
};
use access_domain::{normalize_phone, normalize_username};
use reqwest::Method;
use uuid::Uuid;

use crate::cache;
use crate::engine::Engine;
use crate::model::UserInfo;
use crate::{AccessError, invitation};

/// The registration request for these inputs, or why it cannot be sent: the phone with the
/// `+1` rule, the invitation's shape, an email address, a password and the username rule.
pub fn registration(
    link_or_token: &str,
    email: &str,
    phone: &str,
    password: String,
    name: &str,
    username: &str,
) -> Result<RegistrationRequest, AccessError> {
    let phone = normalize_phone(phone)?;
    let username = check_username(username.to_string())?;
    let token = invitation::invitation_token(link_or_token)?;
    let email = email.trim().to_string();
    if !email.contains('@') {
        return Err(AccessError::InvalidInput {
            message: "Enter the email address you want to sign in with.".into(),
        });
    }
    check_password(password.clone())?;
    Ok(RegistrationRequest {
        token,
        email,
        phone,
        password,
        name: name.trim().to_string(),
        username: Some(username),
    })
}

/// Checks a username with the server's rule (3 to 32 of a-z 0-9 . _ -) and returns it in
/// lower case; the refusal is [`AccessError::InvalidInput`] with the rule's sentence, for a
/// field checked as the user types. Nothing is sent.
///
/// ```
/// use access_core::{AccessError, check_username};
/// assert_eq!(check_username(" Kim.Lee ".into()).unwrap(), "kim.lee");
/// let Err(AccessError::InvalidInput { message }) = check_username("k".into()) else {
///     panic!("too short");
/// };
/// assert!(message.contains("3 to 32"));
/// ```
#[uniffi::export]
pub fn check_username(username: String) -> Result<String, AccessError> {
    normalize_username(&username).map_err(|message| AccessError::InvalidInput { message })
}

/// Checks a new password with the server's rule (at least 8 characters); the refusal is
/// [`AccessError::InvalidInput`] with the rule's sentence, for a field checked as the user
/// types. Nothing is sent.
///
/// ```
/// use access_core::{AccessError, check_password};
/// assert!(check_password("correct-horse".into()).is_ok());
/// let Err(AccessError::InvalidInput { message }) = check_password("short".into()) else {
///     panic!("too short");
/// };
/// assert!(message.contains("at least 8"));
/// ```
#[uniffi::export]
pub fn check_password(password: String) -> Result<(), AccessError> {
    access_domain::check_password(&password)
        .map_err(|message| AccessError::InvalidInput { message })
}

/// The token of a password reset given as the mail's link (`.../reset-password?token=...`)
/// or the bare token.
pub fn reset_token(link_or_token: &str) -> Result<String, AccessError> {
    let invalid = |message: &str| AccessError::InvalidInput {
        message: message.into(),
    };
    let s = link_or_token.trim();
    let token = match s.split_once("token=") {
        Some((_, rest)) => rest.split(['&', '#']).next().unwrap_or_default(),
        None if s.contains("://") => "",
        None => s,
    };
    if token.len() < 16
        || token.len() > 256
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "This is not a password reset link: paste the whole link from the email.",
        ));
    }
    Ok(token.to_string())
}

/// The registration id and the texted code, or why they cannot be right.
pub fn sms_code(registration_id: &str, code: &str) -> Result<(Uuid, String), AccessError> {
    let id = Uuid::parse_str(registration_id.trim()).map_err(|_| AccessError::InvalidInput {
        message: "Unknown registration: start again from the invitation link.".into(),
    })?;
    let code = code.trim().to_string();
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AccessError::WrongSmsCode);
    }
    Ok((id, code))
}

impl Engine {
    /// Starts registration; returns the registration id for [`Engine::verify_sms`].
    pub(crate) async fn register_from_invitation(
        &self,
        link_or_token: String,
        email: String,
        phone: String,
        password: String,
        name: String,
        username: String,
    ) -> Result<String, AccessError> {
        let req = registration(&link_or_token, &email, &phone, password, &name, &username)?;
        let r: RegistrationResponse = self
            .api
            .send(
                Method::POST,
                "/api/v1/registrations",
                None,
                Some(&req),
                None,
            )
            .await?;
        Ok(r.registration_id.to_string())
    }

    /// Completes registration with the code texted to the phone; signs in.
    pub(crate) async fn verify_sms(
        &self,
        registration_id: String,
        code: String,
    ) -> Result<UserInfo, AccessError> {
        let (id, code) = sms_code(&registration_id, &code)?;
        let s: SessionResponse = self
            .api
            .send(
                Method::POST,
                &format!("/api/v1/registrations/{id}/verify"),
                None,
                Some(&VerifyRequest { code }),
                None,
            )
            .await?;
        self.start_session(s).await
    }

    /// Forgot password: asks the server to mail a reset link and text a code to the
    /// account's phone. Returns the server's answer, the same whether the email has an
    /// account or not.
    pub(crate) async fn request_password_reset(
        &self,
        email: String,
    ) -> Result<String, AccessError> {
        let email = email.trim().to_string();
        if !email.contains('@') {
            return Err(AccessError::InvalidInput {
                message: "Enter the email address you sign in with.".into(),
            });
        }
        let r: PasswordResetStarted = self
            .api
            .send(
                Method::POST,
                "/api/v1/auth/password-reset",
                None,
                Some(&PasswordResetRequest { email }),
                None,
            )
            .await?;
        Ok(r.message)
    }

    /// Sets a new password with the mail's link (or its token) and the texted code. Every
    /// session of the account ends, this device's too: sign in again afterwards.
    pub(crate) async fn confirm_password_reset(
        &self,
        link_or_token: String,
        sms_code: String,
        new_password: String,
    ) -> Result<(), AccessError> {
        let token = reset_token(&link_or_token)?;
        let code = sms_code.trim().to_string();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AccessError::WrongSmsCode);
        }
        check_password(new_password.clone())?;
        let _: serde_json::Value = self
            .api
            .send(
                Method::POST,
                "/api/v1/auth/password-reset/confirm",
                None,
                Some(&PasswordResetConfirm {
                    token,
                    sms_code: code,
                    new_password,
                }),
                None,
            )
            .await?;
        Ok(())
    }

    /// Signs in with email and password. The account must belong in this app.
    pub(crate) async fn login(
        &self,
        email: String,
        password: String,
    ) -> Result<UserInfo, AccessError> {
        let req = LoginRequest {
            email: email.trim().to_string(),
            password,
        };
        let s: SessionResponse = self
            .api
            .send(Method::POST, "/api/v1/sessions", None, Some(&req), None)
            .await?;
        self.start_session(s).await
    }

    /// Signs out: the server session is ended when reachable; the session secret, the cache
    /// and the queue are wiped in any case.
    pub(crate) async fn logout(&self) -> Result<(), AccessError> {
        tracing::info!("signing out");
        if let Some(token) = self.token()? {
            let ended: Result<serde_json::Value, _> = self
                .api
                .send::<(), _>(
                    Method::DELETE,
                    "/api/v1/sessions/current",
                    Some(&token),
                    None,
                    None,
                )
                .await;
            if let Err(e) = ended {
                tracing::info!("server session not ended (wiped locally anyway): {e}");
            }
        }
        self.wipe().await
    }

    /// The signed-in user as last synced, or `None` when nobody is signed in.
    pub(crate) async fn current_user(&self) -> Result<Option<UserInfo>, AccessError> {
        if self.token()?.is_none() {
            return Ok(None);
        }
        let me = self.db(|c| cache::me(c)).await?;
        Ok(me.as_ref().map(UserInfo::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://access.example/invite?token=abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn registration_inputs_are_checked_before_any_request() {
        let ok = registration(
            LINK,
            " ann@example.test ",
            "+1 (555) 123-4567",
            "password-1".into(),
            " Ann ",
            " Ann.Lee ",
        );
        let req = ok.unwrap();
        assert_eq!(
            (
                req.email.as_str(),
                req.name.as_str(),
                req.username.as_deref()
            ),
            ("ann@example.test", "Ann", Some("ann.lee"))
        );
        assert!(matches!(
            registration(
                LINK,
                "ann@example.test",
                "+15551234567",
                "password-1".into(),
                "Ann",
                "a"
            ),
            Err(AccessError::InvalidInput { .. })
        ));
        assert!(matches!(
            registration(
                LINK,
                "ann",
                "+15551234567",
                "password-1".into(),
                "Ann",
                "ann"
            ),
            Err(AccessError::InvalidInput { .. })
        ));
        assert!(matches!(
            registration(
                LINK,
                "ann@example.test",
                "+15551234567",
                String::new(),
                "Ann",
                "ann"
            ),
            Err(AccessError::InvalidInput { .. })
        ));
        assert!(matches!(
            registration(
                LINK,
                "ann@example.test",
                "123",
                "password-1".into(),
                "Ann",
                "ann"
            ),
            Err(AccessError::InvalidPhone { .. })
        ));
        assert!(matches!(
            registration(
                "not a link",
                "ann@example.test",
                "+15551234567",
                "password-1".into(),
                "Ann",
                "ann"
            ),
            Err(AccessError::InvitationInvalid { .. })
        ));
    }

    #[test]
    fn sms_codes_are_digits_for_a_known_registration() {
        let id = Uuid::new_v4();
        assert_eq!(
            sms_code(&id.to_string(), " 123456 "),
            Ok((id, "123456".into()))
        );
        assert_eq!(
            sms_code(&id.to_string(), "12a456"),
            Err(AccessError::WrongSmsCode)
        );
        assert_eq!(
            sms_code(&id.to_string(), " "),
            Err(AccessError::WrongSmsCode)
        );
        assert!(matches!(
            sms_code("r-1", "123456"),
            Err(AccessError::InvalidInput { .. })
        ));
    }
}
