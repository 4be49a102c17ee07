//! What the two load benchmarks of access-server share: the admin they sign in as, the wrk
//! settings, JSON calls to the API, the locks they seed and CPU time read from `/proc`.
//!
//! - `access-server-bench` (`scripts/bench server`): one server in process on SQLite.
//! - `access-server-scale-bench` (`scripts/bench scale_out`): real server processes, one on
//!   SQLite, one and two on PostgreSQL.

use access_domain::api::Channel;
use access_domain::{Access, UserType};
use access_server::secrets;
use access_server::store::{Audit, NewInvitation, NewInvitationToken, NewLock, NewMessage};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// The first admin each bench server is started with.
pub const ADMIN_EMAIL: &str = "bench@example.test";
pub const ADMIN_PASSWORD: &str = "bench-password-1";

/// How wrk loads the server.
#[derive(Debug, Clone, clap::Args)]
pub struct WrkArgs {
    /// Seconds of load per wrk run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// wrk connections (in total, split over the instances when there are several).
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// wrk threads (in total).
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
}

/// Sends one API request (a JSON body unless `body` is null) and returns the JSON answer;
/// an error names the URL.
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Result<Value, String> {
    let mut rb = http.request(method, &url);
    if !body.is_null() {
        rb = rb.json(&body);
    }
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {body}"));
    }
    Ok(body)
}

/// The bench admin, signed in.
pub struct Admin {
    pub token: String,
    pub id: Uuid,
    pub org_id: Uuid,
}

/// Signs the bench admin in to the server at `base`.
pub async fn sign_in_admin(http: &reqwest::Client, base: &str) -> Result<Admin, String> {
    let login = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/v1/sessions"),
        None,
        serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await?;
    let uuid = |v: &Value| v.as_str().and_then(|s| s.parse::<Uuid>().ok());
    Ok(Admin {
        token: login["token"].as_str().ok_or("admin login failed")?.into(),
        id: uuid(&login["user"]["id"]).ok_or("no user id")?,
        org_id: uuid(&login["user"]["organization_id"]).ok_or("no organization id")?,
    })
}

/// What `POST /api/v1/locks` writes for lock number `i`, to seed locks straight through the
/// store (much faster than over HTTP).
pub fn seed_lock(
    org_id: Uuid,
    unit_id: Uuid,
    admin_id: Uuid,
    i: usize,
    firmware: Option<&str>,
) -> (NewLock, Audit) {
    let lock = NewLock {
        id: Uuid::new_v4(),
        org_id,
        unit_id,
        name: format!("Door {i:05}"),
        master_code: secrets::random_digits(secrets::MASTER_CODE_DIGITS),
        firmware: firmware.map(str::to_string),
        identity_public_key: None,
    };
    let audit = Audit {
        user_id: admin_id,
        action: "lock_registered".into(),
        detail: None,
        at: OffsetDateTime::now_utc(),
    };
    (lock, audit)
}

/// What `POST /api/v1/invitations` writes for user number `i` (a pending user; every third
/// a resident of `unit`), to seed users straight through the store.
pub fn seed_user(
    org_id: Uuid,
    unit_id: Uuid,
    admin_id: Uuid,
    i: usize,
) -> (NewInvitation, NewMessage) {
    let now = OffsetDateTime::now_utc() - time::Duration::seconds(i as i64);
    let email = format!("person{i:06}@bench.test");
    let (user_type, access) = if i.is_multiple_of(3) {
        (
            UserType::Resident,
            Access::Units {
                unit_ids: vec![unit_id],
            },
        )
    } else {
        (UserType::TeamMember, Access::AllLocks)
    };
    let mut token_hash = [0u8; 32];
    token_hash[..8].copy_from_slice(&(i as u64).to_be_bytes());
    let invitation = NewInvitation {
        org_id,
        user_id: Uuid::new_v4(),
        user_type,
        invited_email: email.clone(),
        username: None,
        permissions: vec![],
        access,
        invited_by: admin_id,
        token: NewInvitationToken {
            id: Uuid::new_v4(),
            token_hash,
            sent_at: now,
            expires_at: now + time::Duration::days(7),
        },
        invited_phone: None,
        period: Default::default(),
    };
    let mail = NewMessage {
        id: Uuid::new_v4(),
        org_id,
        channel: Channel::Email,
        to: email,
        subject: None,
        body: "seeded".into(),
        created_at: now,
    };
    (invitation, mail)
}

/// The numeric fields of `/proc/<pid>/stat` after the command name (which is in
/// parentheses and may hold spaces): index 11 is utime, 12 stime, 13 cutime, 14 cstime, in
/// clock ticks of 1/100 s (USER_HZ on every common architecture).
pub fn proc_stat(pid: &str) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(
        rest.split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect(),
    )
}
