//! Core clients and the invitation -> registration flow through them.

use std::path::PathBuf;
use std::sync::Arc;

use access_core::{AccessClient, ClientConfig, file_secret_store};
use access_domain::App;

use crate::Admin;

/// A core client keeping its cache and secrets (`secrets.json`) in `dir`.
pub fn open(
    dir: PathBuf,
    server_url: &str,
    app: App,
    timeout_ms: Option<u32>,
) -> Arc<AccessClient> {
    AccessClient::new(
        ClientConfig {
            server_url: server_url.into(),
            data_dir: dir.display().to_string(),
            app,
            request_timeout_ms: timeout_ms,
        },
        file_secret_store(dir.join("secrets.json").display().to_string()),
        None,
    )
    .expect("client opens")
}

/// The app a user of `user_type` signs in with.
pub fn app_for(user_type: &str) -> App {
    if user_type == "resident" {
        App::NokeyResident
    } else {
        App::AccessManager
    }
}

/// A username for a test user, made from the email (unique as the emails are).
pub fn username_for(email: &str) -> String {
    let name: String = email
        .to_ascii_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '.',
        })
        .collect();
    name[name.len().saturating_sub(32)..].to_string()
}

/// Registers the user invited at `email` through `client`: follows the newest invitation
/// link, then enters the code of the SMS the server sent.
pub async fn register(admin: &Admin, client: &AccessClient, email: &str, phone: &str, name: &str) {
    let link = admin.invitation_link(email).await;
    let registration = client
        .account()
        .register_from_invitation(
            link,
            email.into(),
            phone.into(),
            "pw-123456789".into(),
            name.into(),
            username_for(email),
        )
        .await
        .expect("registration starts");
    let normalized = access_domain::normalize_phone(phone).expect("a valid phone");
    let code = admin.sms_code(&normalized).await;
    client
        .account()
        .verify_sms(registration, code)
        .await
        .expect("verified");
}
