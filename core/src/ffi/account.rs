//! [`Account`]: registration, sign in and out, the cached user (`crate::account`), and
//! credentials for opening locks offline (`crate::ble`).

use std::sync::Arc;

use crate::AccessError;
use crate::engine::Engine;
use crate::live_objects::LiveObject;
use crate::model::UserInfo;

/// The account on this device.
#[derive(uniffi::Object)]
pub struct Account {
    engine: Arc<Engine>,
    _live: LiveObject,
}

impl Account {
    pub(crate) fn new(engine: Arc<Engine>) -> Account {
        Account {
            engine,
            _live: LiveObject::new(),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Account {
    /// Starts registration from the invitation (link or token): checks the phone with the
    /// `+1` rule and the username rule first (nothing is sent when either is wrong), then asks
    /// the server to text a code to the phone. Returns the registration id for
    /// [`Account::verify_sms`].
    pub async fn register_from_invitation(
        &self,
        link_or_token: String,
        email: String,
        phone: String,
        password: String,
        name: String,
        username: String,
    ) -> Result<String, AccessError> {
        self.engine
            .register_from_invitation(link_or_token, email, phone, password, name, username)
            .await
    }

    /// Forgot password, first step: a reset link goes to the email and a code to the
    /// account's phone. Returns the server's sentence (the same for any email).
    pub async fn request_password_reset(&self, email: String) -> Result<String, AccessError> {
        self.engine.request_password_reset(email).await
    }

    /// Forgot password, second step: the mail's link (or its token), the texted code and
    /// the new password. Every session of the account ends; sign in again afterwards.
    pub async fn confirm_password_reset(
        &self,
        link_or_token: String,
        sms_code: String,
        new_password: String,
    ) -> Result<(), AccessError> {
        self.engine
            .confirm_password_reset(link_or_token, sms_code, new_password)
            .await
    }

    /// Completes registration with the code texted to the phone; signs in.
    pub async fn verify_sms(
        &self,
        registration_id: String,
        code: String,
    ) -> Result<UserInfo, AccessError> {
        self.engine.verify_sms(registration_id, code).await
    }

    /// Signs in with email and password. The account must belong in this app.
    pub async fn login(&self, email: String, password: String) -> Result<UserInfo, AccessError> {
        self.engine.login(email, password).await
    }

    /// Signs out: the server session is ended when reachable; the session secret, the cache
    /// and the queue are wiped in any case.
    pub async fn logout(&self) -> Result<(), AccessError> {
        self.engine.logout().await
    }

    /// The signed-in user as last synced, or `None` when nobody is signed in.
    pub async fn current_user(&self) -> Result<Option<UserInfo>, AccessError> {
        self.engine.current_user().await
    }

    /// Fetches credentials and door updates for every cached paired lock the user may open,
    /// so they open offline and carry the platform's changes. Returns how many credentials are cached.
    pub async fn refresh_credentials(&self) -> Result<u32, AccessError> {
        self.engine.refresh_credentials().await
    }
}
