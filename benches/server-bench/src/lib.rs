//! What the benchmarks of access-server share: the admin they sign in as, the wrk settings,
//! JSON calls to the API, a member registered over HTTP, the locks they seed, real server
//! processes, PostgreSQL schemas, and CPU time and load read from `/proc`.
//!
//! - `access-server-bench` (`scripts/bench server`): one server in process on SQLite.
//! - `access-server-scale-bench` (`scripts/bench scale_out`): real server processes, one on
//!   SQLite, one and two on PostgreSQL.
//! - `access-server-large-org-bench` (`scripts/bench large_org`): one organization of
//!   100,000 locks and 200,000 users on SQLite and on PostgreSQL (real server processes).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

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

/// The 1-minute load average (Linux), to judge how quiet the machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// Invites a member as the admin (`invitation`: the body of `POST /api/v1/invitations`,
/// with `email`), then registers them over HTTP as the app does: the invitation link from
/// the outbox, `POST /api/v1/registrations`, and the SMS code from the outbox. Returns the
/// new member's session token.
pub async fn register_member(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    invitation: Value,
    phone: &str,
    password: &str,
    name: &str,
) -> Result<String, String> {
    let (post, get) = (reqwest::Method::POST, reqwest::Method::GET);
    let email = invitation["email"]
        .as_str()
        .ok_or("the invitation has no email")?
        .to_string();
    call(
        http,
        post.clone(),
        format!("{base}/api/v1/invitations"),
        Some(admin),
        invitation,
    )
    .await?;
    let outbox_url = format!("{base}/api/v1/outbox");
    let outbox = call(
        http,
        get.clone(),
        outbox_url.clone(),
        Some(admin),
        Value::Null,
    )
    .await?;
    let mail = outbox["items"][0]["body"].as_str().unwrap_or("");
    let token = mail
        .split("token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .ok_or("invitation token")?;
    let reg = call(
        http,
        post.clone(),
        format!("{base}/api/v1/registrations"),
        None,
        serde_json::json!({"token": token, "email": email, "phone": phone,
                           "password": password, "name": name}),
    )
    .await?;
    let rid = reg["registration_id"].as_str().ok_or("registration")?;
    let outbox = call(http, get, outbox_url, Some(admin), Value::Null).await?;
    let sms = outbox["items"][0]["body"].as_str().unwrap_or("");
    let code: String = sms
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .ok_or("sms code")?
        .into();
    let verified = call(
        http,
        post,
        format!("{base}/api/v1/registrations/{rid}/verify"),
        None,
        serde_json::json!({"code": code}),
    )
    .await?;
    Ok(verified["token"].as_str().ok_or("verify")?.to_string())
}

/// One `access-server` process (the binary as shipped); killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `access-server` binary next to the running bench binary (cargo builds both into the
/// same folder).
pub fn server_binary_next_to_me() -> std::path::PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("access-server")))
        .unwrap_or_else(|| "access-server".into())
}

/// Starts `server` on a free port with its data in `dir`, on PostgreSQL at `url` or else on
/// SQLite in `dir`, with the bench admin; returns once it listens.
pub fn spawn_server(server: &Path, dir: &Path, url: Option<&str>) -> Result<ServerProcess, String> {
    let mut cmd = Command::new(server);
    cmd.env("ACCESS_LISTEN", "127.0.0.1:0")
        .env("ACCESS_DATA_DIR", dir)
        .env("ACCESS_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ACCESS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "error")
        .env_remove("ACCESS_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = url {
        cmd.env("ACCESS_DATABASE_URL", url);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {server:?}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("access-server listening on ")
                .map(|b| b.trim().to_string())
        })
        .ok_or("the server exited before listening")?;
    std::thread::spawn(move || for _ in lines {});
    Ok(ServerProcess { child, base })
}

/// `url` with the server's own `schema=` parameter: each setup gets a fresh schema.
pub fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}schema={schema}")
}

/// A plain connection to the database of a server URL made by [`with_schema`], its search
/// path set to that schema.
pub fn pg_connect(url: &str) -> Result<postgres::Client, String> {
    let (base, schema) = url.rsplit_once("schema=").ok_or("no schema in the URL")?;
    let base = base.trim_end_matches(['?', '&']);
    let mut client = postgres::Client::connect(base, postgres::NoTls).map_err(|e| e.to_string())?;
    client
        .batch_execute(&format!("SET search_path = {schema}"))
        .map_err(|e| e.to_string())?;
    Ok(client)
}

/// Fresh planner statistics of the schema in `url`, as autovacuum would have them a minute
/// after a bulk import; without them the planner may scan every row for a page.
pub fn analyze(url: &str) -> Result<(), String> {
    pg_connect(url)?
        .batch_execute("ANALYZE")
        .map_err(|e| e.to_string())
}
