//! Accounts: usernames chosen at registration, invitations by username that add access to
//! the existing account, expired invitations and their revival, reinstating revoked users,
//! and the password reset.

mod common;

use access_server::store::StoreTestExt;
use common::{Api, TestServer, next_phone, six_digits, token_in};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn age(t: &TestServer, user: &str, seconds: i64) {
    let store = t.server.store();
    let user = uuid::Uuid::parse_str(user).unwrap();
    tokio::task::spawn_blocking(move || store.age_pending(user, seconds))
        .await
        .unwrap()
        .unwrap();
}

/// `POST /api/v1/registrations` from the newest invitation to `invited`, with `username`.
async fn start_registration(
    api: &Api,
    admin: &str,
    invited: &str,
    username: Option<&str>,
    phone: &str,
) -> common::Answer {
    let token = api.invitation_token(admin, invited).await;
    let mut body = json!({"token": token, "email": invited, "phone": phone,
                          "password": "password-123", "name": "Someone"});
    if let Some(u) = username {
        body["username"] = json!(u);
    }
    api.call(Method::POST, "/api/v1/registrations", None, Some(body))
        .await
}

async fn finish_registration(api: &Api, admin: &str, r: &common::Answer) -> String {
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["registration_id"].as_str().unwrap();
    let code = api.sms_code(admin, r.body["phone"].as_str().unwrap()).await;
    let v = api
        .call(
            Method::POST,
            &format!("/api/v1/registrations/{id}/verify"),
            None,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    v.body["token"].as_str().unwrap().to_string()
}

async fn invite_email(
    api: &Api,
    admin: &str,
    user_type: &str,
    email: &str,
    access: Value,
) -> String {
    let perms = if user_type == "team_member" {
        json!(["view_logs"])
    } else {
        json!([])
    };
    api.invite(
        admin,
        json!({"user_type": user_type, "email": email, "permissions": perms, "access": access}),
    )
    .await
}

async fn user(api: &Api, admin: &str, id: &str) -> Value {
    let a = api.get(&format!("/api/v1/users/{id}"), admin).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_are_checked_unique_in_any_case_shown_and_searched() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let all = json!({"type": "all_locks"});
    let ann = invite_email(api, &admin, "team_member", "ann@u.example", all.clone()).await;
    invite_email(api, &admin, "team_member", "bob@u.example", all.clone()).await;

    for bad in ["ab", "ann smith", "änn", &"a".repeat(33)] {
        let r = start_registration(api, &admin, "ann@u.example", Some(bad), &next_phone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {:?}",
            r.body
        );
        assert_eq!(r.code(), "validation_failed");
        assert!(r.message().contains("3 to 32"), "{}", r.message());
    }
    let r = start_registration(
        api,
        &admin,
        "ann@u.example",
        Some(" Ann.Lee "),
        &next_phone(),
    )
    .await;
    finish_registration(api, &admin, &r).await;
    assert_eq!(user(api, &admin, &ann).await["username"], "ann.lee");

    // Another person cannot take it, whatever the case; nor the administrator's.
    for taken in ["ANN.LEE", "admin"] {
        let r = start_registration(api, &admin, "bob@u.example", Some(taken), &next_phone()).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
        assert!(r.message().contains("username is taken"), "{}", r.message());
    }

    // The table shows it and the search finds it.
    let page = api.get("/api/v1/users?q=ann.l", &admin).await;
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", page.body);
    assert_eq!(items[0]["username"], "ann.lee");

    // A registration without a username (an older app) gets one from the email.
    let r = start_registration(api, &admin, "bob@u.example", None, &next_phone()).await;
    let bob_token = finish_registration(api, &admin, &r).await;
    let me = api.get("/api/v1/me", &bob_token).await;
    let bob = me.body["id"].as_str().unwrap().to_string();
    assert_eq!(user(api, &admin, &bob).await["username"], "bob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_parallel_registrations_with_one_username_make_one_winner() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let all = json!({"type": "all_locks"});
    for round in 0..3 {
        let (a, b) = (format!("a{round}@p.example"), format!("b{round}@p.example"));
        invite_email(api, &admin, "team_member", &a, all.clone()).await;
        invite_email(api, &admin, "team_member", &b, all.clone()).await;
        let name = format!("same.name{round}");
        let (pa, pb) = (next_phone(), next_phone());
        let (ra, rb) = tokio::join!(
            start_registration(api, &admin, &a, Some(&name), &pa),
            start_registration(api, &admin, &b, Some(&name), &pb),
        );
        let statuses = [ra.status, rb.status];
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CREATED)
                .count(),
            1,
            "{:?} {:?}",
            ra.body,
            rb.body
        );
        assert!(statuses.contains(&StatusCode::CONFLICT), "{statuses:?}");
        let winner = if ra.status == StatusCode::CREATED {
            &ra
        } else {
            &rb
        };
        finish_registration(api, &admin, winner).await;
        let page = api.get(&format!("/api/v1/users?q={name}"), &admin).await;
        assert_eq!(page.body["total"], 1, "{:?}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_invitation_adds_access_to_the_existing_account() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Elm", &["1A", "1B"]).await;
    let id = api
        .invite(
            &admin,
            json!({"user_type": "team_member", "email": "kim@l.example",
                   "permissions": ["view_logs"], "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    let r = start_registration(api, &admin, "kim@l.example", Some("kim"), &next_phone()).await;
    let kim = finish_registration(api, &admin, &r).await;
    let before = api.get("/api/v1/users", &admin).await.body["total"].clone();

    let a = api
        .post(
            "/api/v1/invitations",
            &admin,
            json!({"user_type": "team_member", "username": "KIM",
                   "permissions": ["rename_locks"], "access": {"type": "units", "unit_ids": [units[1]]}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["linked"], true);
    assert_eq!(a.body["status"], "active");
    assert_eq!(a.body["user_id"], id.as_str());
    // No second user; the union of permissions and units; the same session works on.
    assert_eq!(api.get("/api/v1/users", &admin).await.body["total"], before);
    let d = user(api, &admin, &id).await;
    assert_eq!(d["permissions"], json!(["view_logs", "rename_locks"]));
    let mut got: Vec<String> = serde_json::from_value(d["access"]["unit_ids"].clone()).unwrap();
    got.sort();
    let mut want = units.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(api.get("/api/v1/me", &kim).await.status, StatusCode::OK);
    let mail = api.last_message_to(&admin, "kim@l.example").await;
    let body = mail["body"].as_str().unwrap();
    assert!(body.contains("existing account"), "{body}");
    assert!(token_in(body).is_none(), "nothing to register: {body}");

    // Another user type is refused with the reason.
    let a = api
        .post(
            "/api/v1/invitations",
            &admin,
            json!({"user_type": "resident", "username": "kim",
                   "access": {"type": "units", "unit_ids": [units[1]]}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", a.body);
    assert!(a.message().contains("team member"), "{}", a.message());

    // The email of an existing login is pointed to the username invitation.
    let a = api
        .post(
            "/api/v1/invitations",
            &admin,
            json!({"user_type": "team_member", "email": "KIM@l.example",
                   "permissions": [], "access": {"type": "all_locks"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{:?}", a.body);
    assert!(
        a.message().contains("by username") && a.message().contains("kim"),
        "{}",
        a.message()
    );
    assert_eq!(api.get("/api/v1/users", &admin).await.body["total"], before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_invitation_is_shown_counted_filtered_and_revived_by_resend() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let all = json!({"type": "all_locks"});
    let late = invite_email(api, &admin, "team_member", "late@e.example", all.clone()).await;
    invite_email(api, &admin, "team_member", "fresh@e.example", all.clone()).await;
    let old_token = api.invitation_token(&admin, "late@e.example").await;
    age(&t, &late, 8 * 24 * 3600).await;

    assert_eq!(user(api, &admin, &late).await["status"], "expired");
    let s = api.get("/api/v1/access/summary", &admin).await.body;
    assert_eq!(
        (s["pending_invites"].clone(), s["expired_invites"].clone()),
        (json!(1), json!(1))
    );
    let expired = api.get("/api/v1/users?status=expired", &admin).await.body;
    assert_eq!(expired["total"], 1, "{expired:?}");
    assert_eq!(expired["items"][0]["id"], late.as_str());
    assert_eq!(expired["items"][0]["status"], "expired");
    let pending = api.get("/api/v1/users?status=pending", &admin).await.body;
    assert_eq!(pending["total"], 1, "{pending:?}");
    assert_eq!(pending["items"][0]["invited_email"], "fresh@e.example");

    // Resend revives it: pending again, a fresh link, the old one dead.
    let a = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{late}/resend-invite"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(user(api, &admin, &late).await["status"], "pending");
    let s = api.get("/api/v1/access/summary", &admin).await.body;
    assert_eq!(
        (s["pending_invites"].clone(), s["expired_invites"].clone()),
        (json!(2), json!(0))
    );
    let r = api
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(
                json!({"token": old_token, "email": "late@e.example", "phone": next_phone(),
                        "password": "password-123", "name": "Late", "username": "late"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = start_registration(api, &admin, "late@e.example", Some("late"), &next_phone()).await;
    finish_registration(api, &admin, &r).await;
    assert_eq!(user(api, &admin, &late).await["status"], "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_user_is_reinstated_under_the_same_id_and_registers_again() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["2A"]).await;
    let lock = api.lock(&admin, &units[0], "Front").await;
    let (id, token) = api
        .team_member(
            &admin,
            "rae@r.example",
            json!(["rename_locks"]),
            json!({"type": "units", "unit_ids": [units[0]]}),
        )
        .await;
    // Some history: the member renamed the lock (audited in its log).
    let renamed = api
        .patch(
            &format!("/api/v1/locks/{lock}"),
            &token,
            json!({"name": "Front door"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{:?}", renamed.body);
    let before = user(api, &admin, &id).await;
    assert_eq!(api.revoke(&admin, &id).await.status, StatusCode::OK);

    let reinstate = |who: String| {
        let (api, admin) = (api.clone(), admin.clone());
        async move {
            api.call(
                Method::POST,
                &format!("/api/v1/users/{who}/reinstate"),
                Some(&admin),
                None,
            )
            .await
        }
    };
    let a = reinstate(id.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["user_id"], id.as_str());
    assert_eq!(a.body["status"], "pending");
    let after = user(api, &admin, &id).await;
    assert_eq!(after["status"], "pending");
    assert_eq!(after["invited_at"], before["invited_at"]);
    assert_eq!(after["username"], before["username"]);
    // Reinstating someone who is not revoked is refused.
    assert_eq!(reinstate(id.clone()).await.status, StatusCode::CONFLICT);

    // The old password and session stay dead.
    let login = api
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": "rae@r.example", "password": "password-123"})),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{:?}", login.body);
    assert_eq!(
        api.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );

    // They register again with the new invitation, same id, history kept.
    let r = start_registration(api, &admin, "rae@r.example", None, &next_phone()).await;
    let fresh = finish_registration(api, &admin, &r).await;
    let me = api.get("/api/v1/me", &fresh).await;
    assert_eq!(me.body["id"], id.as_str());
    let history = api.get(&format!("/api/v1/locks/{lock}/logs"), &admin).await;
    let entries = history.body["items"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e.to_string().contains(&id)),
        "the member's audited rename is still there: {:?}",
        history.body
    );
    assert_eq!(api.get("/api/v1/users", &admin).await.body["total"], 2);

    // A username invitation of a revoked account reinstates it too.
    assert_eq!(api.revoke(&admin, &id).await.status, StatusCode::OK);
    let username = after["username"].as_str().unwrap();
    let a = api
        .post(
            "/api/v1/invitations",
            &admin,
            json!({"user_type": "team_member", "username": username,
                   "permissions": ["rename_locks"], "access": {"type": "all_locks"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert_eq!(
        (a.body["user_id"].clone(), a.body["status"].clone()),
        (json!(id), json!("pending"))
    );
    let d = user(api, &admin, &id).await;
    assert_eq!(d["permissions"], json!(["rename_locks"]));
    assert_eq!(d["status"], "pending");
}

async fn ask_reset(api: &Api, email: &str) -> common::Answer {
    api.call(
        Method::POST,
        "/api/v1/auth/password-reset",
        None,
        Some(json!({ "email": email })),
    )
    .await
}

async fn confirm_reset(api: &Api, token: &str, code: &str, password: &str) -> common::Answer {
    api.call(
        Method::POST,
        "/api/v1/auth/password-reset/confirm",
        None,
        Some(json!({"token": token, "sms_code": code, "new_password": password})),
    )
    .await
}

/// A registered member's (email, phone, session).
async fn member(api: &Api, admin: &str, email: &str) -> (String, String, String) {
    invite_email(
        api,
        admin,
        "team_member",
        email,
        json!({"type": "all_locks"}),
    )
    .await;
    let phone = next_phone();
    let r = start_registration(api, admin, email, None, &phone).await;
    let session = finish_registration(api, admin, &r).await;
    (email.to_string(), phone, session)
}

async fn outbox_len(api: &Api, admin: &str) -> usize {
    api.get("/api/v1/outbox?limit=1000", admin).await.body["items"]
        .as_array()
        .unwrap()
        .len()
}

/// The link token and SMS code of the newest reset (delivery runs after the answer).
async fn reset_secrets(api: &Api, admin: &str, email: &str, phone: &str) -> (String, String) {
    for _ in 0..100 {
        let mail = api.last_message_to(admin, email).await;
        if mail["subject"].as_str().unwrap_or("").contains("Reset") {
            let body = mail["body"].as_str().unwrap();
            assert!(body.contains("/reset-password?token="), "{body}");
            let sms = api.last_message_to(admin, phone).await;
            let text = sms["body"].as_str().unwrap();
            assert!(text.contains("password reset code"), "{text}");
            return (token_in(body).unwrap(), six_digits(text).unwrap());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no reset mail to {email}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_sets_the_password_ends_sessions_and_is_single_use() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (email, phone, session) = member(api, &admin, "ivy@reset.example").await;

    let known = ask_reset(api, "IVY@reset.example").await;
    assert_eq!(known.status, StatusCode::ACCEPTED, "{:?}", known.body);
    let (token, code) = reset_secrets(api, &admin, &email, &phone).await;
    // An unknown email gets the very same answer, and nothing is sent.
    let n = outbox_len(api, &admin).await;
    let unknown = ask_reset(api, "nobody@reset.example").await;
    assert_eq!((unknown.status, &unknown.body), (known.status, &known.body));
    assert_eq!(outbox_len(api, &admin).await, n);

    // The password rule of registration; a wrong code is counted.
    let short = confirm_reset(api, &token, &code, "short").await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let wrong = confirm_reset(api, &token, wrong_code, "new-password-1").await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "wrong_sms_code")
    );
    assert!(
        wrong.message().contains("4 attempts left"),
        "{}",
        wrong.message()
    );

    let ok = confirm_reset(api, &token, &code, "new-password-1").await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{:?}", ok.body);
    assert_eq!(
        api.get("/api/v1/me", &session).await.status,
        StatusCode::UNAUTHORIZED
    );
    api.login(&email, "new-password-1").await;
    let old = api
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": email, "password": "password-123"})),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    // Single use.
    let again = confirm_reset(api, &token, &code, "new-password-2").await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::GONE, "reset_invalid")
    );

    // A newer request kills the older link; 30 minutes end a link.
    ask_reset(api, &email).await;
    let (t1, _) = reset_secrets(api, &admin, &email, &phone).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    ask_reset(api, &email).await;
    let (t2, c2) = loop {
        let s = reset_secrets(api, &admin, &email, &phone).await;
        if s.0 != t1 {
            break s;
        }
    };
    assert_eq!(
        confirm_reset(api, &t1, &c2, "new-password-3").await.status,
        StatusCode::GONE
    );
    let me = api.login(&email, "new-password-1").await;
    let id = api.get("/api/v1/me", &me).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    age(&t, &id, 31 * 60).await;
    assert_eq!(
        confirm_reset(api, &t2, &c2, "new-password-3").await.status,
        StatusCode::GONE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_reset_codes_kill_the_link_and_requests_are_throttled() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (email, phone, _) = member(api, &admin, "max@reset.example").await;
    ask_reset(api, &email).await;
    let (token, code) = reset_secrets(api, &admin, &email, &phone).await;
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    for left in (1..5).rev() {
        let a = confirm_reset(api, &token, wrong_code, "new-password-1").await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", a.body);
        assert!(
            a.message().contains(&format!("{left} attempt")),
            "{}",
            a.message()
        );
    }
    let fifth = confirm_reset(api, &token, wrong_code, "new-password-1").await;
    assert_eq!(
        (fifth.status, fifth.code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    let right = confirm_reset(api, &token, &code, "new-password-1").await;
    assert_eq!(
        right.status,
        StatusCode::GONE,
        "the link died: {:?}",
        right.body
    );
    api.login(&email, "password-123").await;

    // Three requests an hour per email (one was made), known or not.
    assert_eq!(ask_reset(api, &email).await.status, StatusCode::ACCEPTED);
    assert_eq!(ask_reset(api, &email).await.status, StatusCode::ACCEPTED);
    let n = outbox_len(api, &admin).await;
    let refused = ask_reset(api, &email).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    assert_eq!(
        outbox_len(api, &admin).await,
        n,
        "nothing sent when refused"
    );
    for _ in 0..3 {
        assert_eq!(
            ask_reset(api, "ghost@reset.example").await.status,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(
        ask_reset(api, "ghost@reset.example").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
