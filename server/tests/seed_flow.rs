//! The seed article's whole flow over HTTP against the real `access-server` binary, and
//! persistence across a graceful restart and a `kill -9`.

mod common;

use common::{Api, BinaryServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

const ADMIN: &str = "office@maple.example";
const ADMIN_PW: &str = "office-password-1";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ACCESS_ADMIN_EMAIL", ADMIN),
        ("ACCESS_ADMIN_PASSWORD", ADMIN_PW),
        ("ACCESS_PUBLIC_URL", "https://access.maple.example"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_article_flow_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::spawn(dir.path(), &env());
    let api = Api::new(server.base.clone());

    // Bootstrap: the administrator from the environment can sign in.
    let health = api.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    let admin = api.login(ADMIN, ADMIN_PW).await;
    let me = api.get("/api/v1/me", &admin).await;
    // The first administrator is the first holder of the right to manage lock access.
    assert!(
        me.body["permissions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("manage_access"))
    );

    // Properties, units, locks.
    let (_, units) = api
        .property(&admin, "Maple Court", &["101", "102", "103"])
        .await;
    let lock101 = api.lock(&admin, &units[0], "Front door 101").await;
    let lock102 = api.lock(&admin, &units[1], "Front door 102").await;

    // Invite a team member: some permissions, selected units.
    let agent_id = api
        .invite(
            &admin,
            json!({"user_type": "team_member", "email": "agent@maple.example",
                   "permissions": ["view_logs", "rename_locks"],
                   "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    let mail = api.last_message_to(&admin, "agent@maple.example").await;
    assert_eq!(mail["channel"], "email");
    let body = mail["body"].as_str().unwrap();
    assert!(
        mail["subject"].as_str().unwrap().contains("Access Manager"),
        "{mail}"
    );
    assert!(
        body.contains("Access Manager") && !body.contains("NoKey"),
        "{body}"
    );
    assert!(
        body.contains("https://access.maple.example/invite/access-manager?token="),
        "{body}"
    );
    // Where to download the app, and the code to type when the link does not open it.
    assert!(
        body.contains("https://play.google.com/store/apps/details?id=com.lockaccess.manager")
            && body.contains("https://apps.apple.com/search?term=Access%20Manager"),
        "{body}"
    );
    let code = common::token_in(body).unwrap();
    assert!(
        body.contains(&format!("invitation code in it:\n   {code}")),
        "{body}"
    );

    // And a resident of unit 102: the NoKey Resident app.
    let resident_id = api
        .invite(
            &admin,
            json!({"user_type": "resident", "email": "resident@home.example",
                   "access": {"type": "units", "unit_ids": [units[1]]}}),
        )
        .await;
    let mail = api.last_message_to(&admin, "resident@home.example").await;
    assert!(
        mail["body"].as_str().unwrap().contains("NoKey Resident"),
        "{mail}"
    );
    assert!(!mail["body"].as_str().unwrap().contains("Access Manager"));

    let summary = api.get("/api/v1/access/summary", &admin).await;
    assert_eq!(
        summary.body,
        json!({"total_users": 3, "team_members": 2, "residents": 1, "pending_invites": 2,
               "expired_invites": 0})
    );

    // Registration with a different email and a +1 phone; the phone rule is enforced.
    let token = api.invitation_token(&admin, "agent@maple.example").await;
    let reg = |phone: &str| {
        json!({"token": token, "email": "Agent.Personal@mail.example", "phone": phone,
               "password": "agent-password-1", "name": "Alex Agent"})
    };
    let bad = api
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(reg("5551234567")),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.code(), "invalid_phone");
    assert!(bad.message().contains("+15551234567"), "{:?}", bad.body);
    let ok = api
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(reg("+1 (555) 123-4567")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    assert_eq!(ok.body["phone"], "+15551234567");
    let reg_id = ok.body["registration_id"].as_str().unwrap().to_string();
    let code = api.sms_code(&admin, "+15551234567").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let w = api
        .call(
            Method::POST,
            &format!("/api/v1/registrations/{reg_id}/verify"),
            None,
            Some(json!({"code": wrong})),
        )
        .await;
    assert_eq!(w.code(), "wrong_sms_code", "{:?}", w.body);
    let v = api
        .call(
            Method::POST,
            &format!("/api/v1/registrations/{reg_id}/verify"),
            None,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    let agent = v.body["token"].as_str().unwrap().to_string();
    assert_eq!(v.body["user"]["app"], "access_manager");
    // The new login works with the email actually used.
    api.login("agent.personal@mail.example", "agent-password-1")
        .await;

    // Details show both emails, the phone, permissions, access and a generated passcode.
    let d = api.get(&format!("/api/v1/users/{agent_id}"), &admin).await;
    assert_eq!(d.body["status"], "active");
    assert_eq!(d.body["invited_email"], "agent@maple.example");
    assert_eq!(d.body["registered_email"], "Agent.Personal@mail.example");
    assert_eq!(d.body["phone"], "+15551234567");
    assert_eq!(d.body["permissions"], json!(["view_logs", "rename_locks"]));
    assert_eq!(
        d.body["access"],
        json!({"type": "units", "unit_ids": [units[0]]})
    );
    let passcodes = d.body["passcodes"].as_array().unwrap();
    assert_eq!(passcodes.len(), 1, "{passcodes:?}");
    assert_eq!(passcodes[0]["lock_id"], lock101.as_str());
    assert_eq!(passcodes[0]["code"].as_str().unwrap().len(), 8);
    assert!(d.body["invited_at"].is_string());

    let summary = api.get("/api/v1/access/summary", &admin).await;
    assert_eq!(summary.body["pending_invites"], 1);

    // The agent's permissions and scope are enforced.
    let renamed = api
        .patch(
            &format!("/api/v1/locks/{lock101}"),
            &agent,
            json!({"name": "Lobby 101"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{:?}", renamed.body);
    let mode = api
        .put(
            &format!("/api/v1/locks/{lock101}/mode"),
            &agent,
            json!({"mode": "tour"}),
        )
        .await;
    assert_eq!(
        (mode.status, mode.code()),
        (StatusCode::FORBIDDEN, "missing_permission")
    );
    let other = api
        .patch(
            &format!("/api/v1/locks/{lock102}"),
            &agent,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::FORBIDDEN, "out_of_scope")
    );

    // Update permissions: effective on the very next request.
    let up = api
        .put(
            &format!("/api/v1/users/{agent_id}/permissions"),
            &admin,
            json!({"permissions": ["view_logs", "change_modes"]}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.body);
    let mode = api
        .put(
            &format!("/api/v1/locks/{lock101}/mode"),
            &agent,
            json!({"mode": "tour"}),
        )
        .await;
    assert_eq!(mode.status, StatusCode::OK, "{:?}", mode.body);
    assert_eq!(mode.body["mode"], "tour");
    let rename = api
        .patch(
            &format!("/api/v1/locks/{lock101}"),
            &agent,
            json!({"name": "again"}),
        )
        .await;
    assert_eq!(rename.code(), "missing_permission");

    // The audit log names who did what.
    let logs = api
        .get(&format!("/api/v1/locks/{lock101}/logs"), &agent)
        .await;
    assert_eq!(logs.status, StatusCode::OK);
    let items = logs.body["items"].as_array().unwrap();
    let mine: Vec<_> = items
        .iter()
        .filter(|e| e["user_name"] == "Alex Agent")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(mine, vec!["mode_change", "rename"], "{items:?}");

    // Resend the resident's invite: the old link dies, the new one works.
    let old = api.invitation_token(&admin, "resident@home.example").await;
    let rs = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{resident_id}/resend-invite"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rs.status, StatusCode::OK, "{:?}", rs.body);
    let new = api.invitation_token(&admin, "resident@home.example").await;
    assert_ne!(old, new);
    let stale = api
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(
                json!({"token": old, "email": "r@home.example", "phone": "+15559876543",
                        "password": "resident-pw-1", "name": "Robin"}),
            ),
        )
        .await;
    assert_eq!(stale.code(), "invitation_invalid", "{:?}", stale.body);
    let resident = api
        .register(
            &admin,
            "resident@home.example",
            "r@home.example",
            "+15559876543",
            "resident-pw-1",
        )
        .await;
    let rme = api.get("/api/v1/me", &resident).await;
    assert_eq!(rme.body["app"], "nokey_resident");
    let rlocks = api.get("/api/v1/locks", &resident).await;
    let ids: Vec<_> = rlocks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(lock102)]);

    // Revoke: the agent's session dies at once.
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{agent_id}/revoke"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "revoked");
    assert_eq!(r.body["passcodes"], json!([]));
    let after = api.get("/api/v1/me", &agent).await;
    assert_eq!(
        (after.status, after.code()),
        (StatusCode::UNAUTHORIZED, "revoked")
    );
    let relogin = api
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": "agent.personal@mail.example", "password": "agent-password-1"})),
        )
        .await;
    assert_eq!(relogin.code(), "revoked");

    let users = api.get("/api/v1/users", &admin).await;
    assert_eq!(users.body["items"].as_array().unwrap().len(), 3);
    let summary = api.get("/api/v1/access/summary", &admin).await;
    assert_eq!(
        summary.body,
        json!({"total_users": 2, "team_members": 1, "residents": 1, "pending_invites": 0,
               "expired_invites": 0})
    );

    assert!(server.stop().success(), "graceful shutdown on SIGTERM");
}

async fn write_some(api: &Api) -> (String, String) {
    let admin = api.login(ADMIN, ADMIN_PW).await;
    let (_, units) = api.property(&admin, "Birch House", &["1A"]).await;
    let lock = api.lock(&admin, &units[0], "Birch 1A").await;
    let user = api
        .invite(
            &admin,
            json!({"user_type": "resident", "email": "birch@home.example",
                   "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    (lock, user)
}

async fn check_some(api: &Api, lock: &str, user: &str) {
    let admin = api.login(ADMIN, ADMIN_PW).await;
    let l = api.get(&format!("/api/v1/locks/{lock}"), &admin).await;
    assert_eq!(l.status, StatusCode::OK, "{:?}", l.body);
    assert_eq!(l.body["name"], "Birch 1A");
    let u = api.get(&format!("/api/v1/users/{user}"), &admin).await;
    assert_eq!(u.body["status"], "pending");
    let props = api.get("/api/v1/properties", &admin).await;
    assert_eq!(
        props.body["items"].as_array().unwrap().len(),
        1,
        "no duplicate bootstrap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = BinaryServer::spawn(dir.path(), &env());
    let api = Api::new(s.base.clone());
    let (lock, user) = write_some(&api).await;
    assert!(s.stop().success());
    // Another password in the environment must not replace the administrator.
    let mut e = env();
    e[1] = ("ACCESS_ADMIN_PASSWORD", "something-else");
    let s = BinaryServer::spawn(dir.path(), &e);
    check_some(&Api::new(s.base.clone()), &lock, &user).await;
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let s = BinaryServer::spawn(dir.path(), &env());
    let api = Api::new(s.base.clone());
    let (lock, user) = write_some(&api).await;
    s.kill9();
    let s = BinaryServer::spawn(dir.path(), &env());
    check_some(&Api::new(s.base.clone()), &lock, &user).await;
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_admin_password_is_printed_once_and_works() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_access-server"))
        .env("ACCESS_LISTEN", "127.0.0.1:0")
        .env("ACCESS_DATA_DIR", dir.path())
        .env("ACCESS_ADMIN_EMAIL", "first@admin.example")
        .env_remove("ACCESS_ADMIN_PASSWORD")
        // The same database BinaryServer::spawn picks for this dir (PostgreSQL under test).
        .envs(
            access_server::store::postgres::test_database_url(dir.path())
                .map(|url| ("ACCESS_DATABASE_URL", url)),
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let child = KillOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let password = first
        .split("with password ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in {first:?}"))
        .to_string();
    let base = lines
        .next()
        .unwrap()
        .unwrap()
        .trim_start_matches("access-server listening on ")
        .to_string();
    Api::new(base).login("first@admin.example", &password).await;
    drop(child);
    // Second start: nothing printed about credentials.
    let s = BinaryServer::spawn(dir.path(), &[("ACCESS_ADMIN_EMAIL", "first@admin.example")]);
    Api::new(s.base.clone())
        .login("first@admin.example", &password)
        .await;
    s.stop();
}
