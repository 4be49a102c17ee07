//! The rules behind the API: idempotency keys, sync cursors (also under concurrent
//! writers), SMS code limits and expiry, invitation expiry and revival, login throttling,
//! pagination, code sync states, log upload deduplication, the OpenAPI document.

mod common;

use std::collections::HashSet;

use access_server::store::StoreTestExt;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::Api;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_the_first_answer_without_a_second_effect() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Idem", &["1"]).await;
    let lock = api.lock(&admin, &units[0], "Idem 1").await;
    let path = format!("/api/v1/locks/{lock}/access-codes");
    let body = json!({"kind": "permanent", "label": "Dog walker"});
    let key = [("idempotency-key", "offline-action-1")];
    let first = api
        .call_with(Method::POST, &path, Some(&admin), Some(body.clone()), &key)
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = api
        .call_with(Method::POST, &path, Some(&admin), Some(body.clone()), &key)
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body, "the stored first response");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let codes = api.get(&path, &admin).await;
    assert_eq!(
        codes.body["items"].as_array().unwrap().len(),
        1,
        "no second effect"
    );
    // Same key, different request: refused.
    let other = api
        .call_with(
            Method::POST,
            &path,
            Some(&admin),
            Some(json!({"kind": "one_time"})),
            &key,
        )
        .await;
    assert_eq!(other.code(), "idempotency_key_reused");
    // Keys are per user: another user's same key is a new request.
    let (_, staff) = api
        .team_member(
            &admin,
            "idem@x.example",
            json!(["give_access"]),
            json!({"type": "all_locks"}),
        )
        .await;
    let theirs = api
        .call_with(Method::POST, &path, Some(&staff), Some(body.clone()), &key)
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    assert_ne!(theirs.body["id"], first.body["id"]);
    // Revoked, the same user gets no replay of the stored answer (which holds the code).
    let staff_id = api.get("/api/v1/me", &staff).await.body["id"].clone();
    let revoked = api.revoke(&admin, staff_id.as_str().unwrap()).await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    let replay = api
        .call_with(Method::POST, &path, Some(&staff), Some(body.clone()), &key)
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{:?}", replay.body);
    assert_eq!(replay.code(), "revoked");
    assert!(replay.headers.get("idempotent-replayed").is_none());
    // A refusal is replayed too (the action had no effect the first time either).
    let (sid, limited) = api
        .team_member(
            &admin,
            "idem2@x.example",
            json!([]),
            json!({"type": "all_locks"}),
        )
        .await;
    let k2 = [("idempotency-key", "rename-1")];
    let rpath = format!("/api/v1/locks/{lock}");
    let r1 = api
        .call_with(
            Method::PATCH,
            &rpath,
            Some(&limited),
            Some(json!({"name": "N"})),
            &k2,
        )
        .await;
    assert_eq!(r1.code(), "missing_permission");
    api.put(
        &format!("/api/v1/users/{sid}/permissions"),
        &admin,
        json!({"permissions": ["rename_locks"]}),
    )
    .await;
    let r2 = api
        .call_with(
            Method::PATCH,
            &rpath,
            Some(&limited),
            Some(json!({"name": "N"})),
            &k2,
        )
        .await;
    assert_eq!(r2.code(), "missing_permission", "same key, same answer");
    let r3 = api
        .call_with(
            Method::PATCH,
            &rpath,
            Some(&limited),
            Some(json!({"name": "N"})),
            &[("idempotency-key", "rename-2")],
        )
        .await;
    assert_eq!(r3.status, StatusCode::OK);
    // Renames replayed with one key happen once in the log.
    for _ in 0..3 {
        api.call_with(
            Method::PATCH,
            &rpath,
            Some(&admin),
            Some(json!({"name": "Once"})),
            &[("idempotency-key", "r-once")],
        )
        .await;
    }
    let logs = api.get(&format!("/api/v1/locks/{lock}/logs"), &admin).await;
    let renames = logs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"] == "rename" && e["detail"].as_str().unwrap_or("").ends_with("\"Once\"")
        })
        .count();
    assert_eq!(renames, 1);
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

/// A key on a request no endpoint serves (an unknown route, a method the path does not
/// take) is not taken: the answer is that route's 404 or 405, whatever the key saw before,
/// and the key stays free for a real request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_where_no_endpoint_answers_is_not_taken() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Stray", &["1"]).await;
    let lock = api.lock(&admin, &units[0], "Stray 1").await;
    let key = [("idempotency-key", "stray-1")];
    // The mode takes PUT only.
    let mode = format!("/api/v1/locks/{lock}/mode");
    for m in ["vacant", "tour"] {
        let a = api
            .call_with(
                Method::POST,
                &mode,
                Some(&admin),
                Some(json!({ "mode": m })),
                &key,
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
        );
    }
    for name in ["a", "b"] {
        let a = api
            .call_with(
                Method::POST,
                "/api/v1/nothing",
                Some(&admin),
                Some(json!({ "name": name })),
                &key,
            )
            .await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
    }
    let first = api
        .call_with(
            Method::PUT,
            &mode,
            Some(&admin),
            Some(json!({"mode": "maintenance"})),
            &key,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    assert_eq!(first.body["mode"], "maintenance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_sends_changes_since_the_cursor_once() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Sync", &["1", "2"]).await;
    let a = api.lock(&admin, &units[0], "A").await;
    let b = api.lock(&admin, &units[1], "B").await;
    let (uid, staff) = api
        .team_member(
            &admin,
            "sync@x.example",
            json!(["give_access", "rename_locks"]),
            json!({"type": "units", "unit_ids": [units[0]]}),
        )
        .await;
    let full = api.get("/api/v1/sync", &staff).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body["full"], true);
    assert_eq!(ids(&full.body, "locks"), vec![a.clone()]);
    assert_eq!(full.body["passcodes"].as_array().unwrap().len(), 1);
    let cursor = full.body["cursor"].as_str().unwrap().to_string();
    // Nothing new: an empty delta, same cursor.
    let none = api
        .get(&format!("/api/v1/sync?since={cursor}"), &staff)
        .await;
    assert_eq!(none.body["full"], false);
    assert!(none.body["locks"].as_array().unwrap().is_empty());
    assert_eq!(none.body["cursor"], cursor.as_str());
    // A change out of scope is not sent; one in scope is, once, with its codes.
    api.patch(&format!("/api/v1/locks/{b}"), &admin, json!({"name": "B2"}))
        .await;
    api.patch(&format!("/api/v1/locks/{a}"), &admin, json!({"name": "A2"}))
        .await;
    let code = api
        .post(
            &format!("/api/v1/locks/{a}/access-codes"),
            &staff,
            json!({"kind": "one_time"}),
        )
        .await;
    assert_eq!(code.body["sync_state"], "pending");
    let d = api
        .get(&format!("/api/v1/sync?since={cursor}"), &staff)
        .await;
    assert_eq!(d.body["full"], false);
    assert_eq!(ids(&d.body, "locks"), vec![a.clone()]);
    assert_eq!(d.body["locks"][0]["name"], "A2");
    assert_eq!(d.body["access_codes"].as_array().unwrap().len(), 1);
    let c2 = d.body["cursor"].as_str().unwrap().to_string();
    assert!(
        api.get(&format!("/api/v1/sync?since={c2}"), &staff)
            .await
            .body["locks"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The lock's own log says it added the code: the state changes and syncs. A phone
    // cannot say so itself: the route that let it is gone.
    let code_id = code.body["id"].as_str().unwrap();
    let claimed = api
        .post(
            &format!("/api/v1/locks/{a}/access-codes/{code_id}/state"),
            &staff,
            json!({"state": "installed"}),
        )
        .await;
    assert!(
        claimed.status == StatusCode::NOT_FOUND || claimed.status == StatusCode::METHOD_NOT_ALLOWED,
        "{:?}",
        claimed.status
    );
    let lock_code = lock_protocol::command::code_id_of(uuid::Uuid::parse_str(code_id).unwrap());
    let key = t.report_key(&admin, &a).await;
    let page = common::log_page(
        &key,
        &a,
        &[common::log_entry(
            1,
            lock_protocol::command::Actor::Lock,
            lock_protocol::command::Via::Ble,
            lock_protocol::command::Event::CodeAdded { code_id: lock_code },
        )],
    );
    let st = api
        .post(
            &format!("/api/v1/locks/{a}/logs"),
            &staff,
            json!({"pages": [page]}),
        )
        .await;
    assert_eq!(st.status, StatusCode::OK, "{:?}", st.body);
    let d = api.get(&format!("/api/v1/sync?since={c2}"), &staff).await;
    assert_eq!(d.body["access_codes"][0]["sync_state"], "installed");
    // A scope change makes the next sync full, with the new lock set.
    let c3 = d.body["cursor"].as_str().unwrap().to_string();
    api.put(
        &format!("/api/v1/users/{uid}/access"),
        &admin,
        json!({"access": {"type": "all_locks"}}),
    )
    .await;
    let f = api.get(&format!("/api/v1/sync?since={c3}"), &staff).await;
    assert_eq!(f.body["full"], true);
    let mut got = ids(&f.body, "locks");
    got.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(f.body["passcodes"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_never_make_a_sync_miss_or_repeat_a_change() {
    let t = common::start().await;
    let api = t.api.clone();
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Busy", &["1"]).await;
    let mut locks = Vec::new();
    for i in 0..8 {
        locks.push(api.lock(&admin, &units[0], &format!("L{i}")).await);
    }
    let first = api.get("/api/v1/sync", &admin).await;
    let mut cursor = first.body["cursor"].as_str().unwrap().to_string();
    // Writers rename every lock 10 times concurrently while a reader syncs in a loop.
    let writers: Vec<_> = locks
        .iter()
        .cloned()
        .map(|l| {
            let (api, admin) = (api.clone(), admin.clone());
            tokio::spawn(async move {
                for n in 0..10 {
                    let a = api
                        .patch(
                            &format!("/api/v1/locks/{l}"),
                            &admin,
                            json!({"name": format!("{l}-{n}")}),
                        )
                        .await;
                    assert_eq!(a.status, StatusCode::OK);
                }
            })
        })
        .collect();
    let mut last_seen = std::collections::HashMap::new();
    let mut done = false;
    while !done {
        done = writers.iter().all(|w| w.is_finished());
        let d = api
            .get(&format!("/api/v1/sync?since={cursor}"), &admin)
            .await;
        for l in d.body["locks"].as_array().unwrap() {
            last_seen.insert(
                l["id"].as_str().unwrap().to_string(),
                l["name"].as_str().unwrap().to_string(),
            );
        }
        cursor = d.body["cursor"].as_str().unwrap().to_string();
    }
    for w in writers {
        w.await.unwrap();
    }
    let d = api
        .get(&format!("/api/v1/sync?since={cursor}"), &admin)
        .await;
    for l in d.body["locks"].as_array().unwrap() {
        last_seen.insert(
            l["id"].as_str().unwrap().to_string(),
            l["name"].as_str().unwrap().to_string(),
        );
    }
    // Every lock's final name was delivered through deltas alone.
    for l in &locks {
        assert_eq!(last_seen.get(l), Some(&format!("{l}-9")), "{l}");
    }
    // And a delta after the last cursor repeats nothing.
    let c = d.body["cursor"].as_str().unwrap();
    assert!(
        api.get(&format!("/api/v1/sync?since={c}"), &admin)
            .await
            .body["locks"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn start_registration(api: &Api, admin: &str, email: &str, phone: &str) -> String {
    let token = api.invitation_token(admin, email).await;
    let r = api
        .call(Method::POST, "/api/v1/registrations", None,
              Some(json!({"token": token, "email": email, "phone": phone, "password": "password-1", "name": "N"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["registration_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_codes_are_limited_and_expire() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Sms", &["1"]).await;
    let uid = api
        .invite(
            &admin,
            json!({"user_type": "resident", "email": "sms@x.example",
                               "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    let id = start_registration(api, &admin, "sms@x.example", "+15552223333").await;
    let sms = api.last_message_to(&admin, "+15552223333").await;
    assert_eq!(sms["channel"], "sms");
    assert!(sms["body"].as_str().unwrap().contains("NoKey Resident"));
    let code = api.sms_code(&admin, "+15552223333").await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    let verify_path = format!("/api/v1/registrations/{id}/verify");
    let verify = |c: &str| api.call(Method::POST, &verify_path, None, Some(json!({"code": c})));
    for left in (1..5).rev() {
        let a = verify(wrong).await;
        assert_eq!(a.code(), "wrong_sms_code");
        assert!(a.message().contains(&left.to_string()), "{}", a.message());
    }
    assert_eq!(verify(wrong).await.code(), "too_many_attempts");
    // Even the right code no longer works for this registration.
    assert_eq!(verify(&code).await.code(), "too_many_attempts");
    // A new registration from the link gets a new code; an expired one is refused.
    let id2 = start_registration(api, &admin, "sms@x.example", "+15552223333").await;
    let code2 = api.sms_code(&admin, "+15552223333").await;
    let store = t.server.store();
    let user = uuid::Uuid::parse_str(&uid).unwrap();
    tokio::task::spawn_blocking(move || store.age_pending(user, 11 * 60))
        .await
        .unwrap()
        .unwrap();
    let a = api
        .call(
            Method::POST,
            &format!("/api/v1/registrations/{id2}/verify"),
            None,
            Some(json!({"code": code2})),
        )
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::GONE, "sms_code_expired"));
    assert_eq!(
        api.get(&format!("/api/v1/users/{uid}"), &admin).await.body["status"],
        "pending"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_invitations_are_refused_and_resending_revives_them() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Exp", &["1"]).await;
    let uid = api
        .invite(&admin, json!({"user_type": "team_member", "email": "late@x.example",
                               "permissions": ["view_logs"], "access": {"type": "units", "unit_ids": [units[0]]}}))
        .await;
    let store = t.server.store();
    let user = uuid::Uuid::parse_str(&uid).unwrap();
    tokio::task::spawn_blocking(move || store.age_pending(user, 7 * 24 * 3600))
        .await
        .unwrap()
        .unwrap();
    let token = api.invitation_token(&admin, "late@x.example").await;
    let a = api
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(
                json!({"token": token, "email": "late@x.example", "phone": "+15553334444",
                          "password": "password-1", "name": "Late"}),
            ),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::GONE, "invitation_expired")
    );
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/resend-invite"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let token = api
        .register(
            &admin,
            "late@x.example",
            "late@x.example",
            "+15553334444",
            "password-1",
        )
        .await;
    assert_eq!(api.get("/api/v1/me", &token).await.body["status"], "active");
    // Resending an active user's invite is a conflict.
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/resend-invite"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // The same email cannot be registered twice.
    api.invite(
        &admin,
        json!({"user_type": "resident", "email": "other@x.example",
                              "access": {"type": "units", "unit_ids": [units[0]]}}),
    )
    .await;
    let tok = api.invitation_token(&admin, "other@x.example").await;
    let dup = api
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(
                json!({"token": tok, "email": "LATE@x.example", "phone": "+15553334445",
                          "password": "password-1", "name": "Dup"}),
            ),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_throttled_per_email() {
    let t = common::start().await;
    let api = &t.api;
    let bad = json!({"email": access_server::TEST_ADMIN_EMAIL, "password": "guess"});
    for _ in 0..5 {
        let a = api
            .call(Method::POST, "/api/v1/sessions", None, Some(bad.clone()))
            .await;
        assert_eq!(a.code(), "invalid_credentials");
    }
    let a = api
        .call(Method::POST, "/api/v1/sessions", None, Some(bad.clone()))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    // Even the right password waits out the window.
    let good = json!({"email": access_server::TEST_ADMIN_EMAIL, "password": access_server::TEST_ADMIN_PASSWORD});
    let a = api
        .call(Method::POST, "/api/v1/sessions", None, Some(good))
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_paginate_and_logs_deduplicate_uploads() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Pages", &["1"]).await;
    let mut created = HashSet::new();
    for i in 0..25 {
        created.insert(api.lock(&admin, &units[0], &format!("P{i}")).await);
    }
    let mut seen = HashSet::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &next {
            Some(n) => format!("/api/v1/locks?limit=10&after={n}"),
            None => "/api/v1/locks?limit=10".to_string(),
        };
        let page = api.get(&path, &admin).await;
        pages += 1;
        for id in ids(&page.body, "items") {
            assert!(seen.insert(id), "no repeats across pages");
        }
        match page.body["next"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, created);
    assert!(pages >= 3);
    let lock = created.iter().next().unwrap().clone();
    use lock_protocol::command::{Actor, Event, RefusalReason, Via};
    let key = t.report_key(&admin, &lock).await;
    let upload = json!({"pages": [common::log_page(&key, &lock, &[
        common::log_entry(1, Actor::MasterCode, Via::Keypad, Event::Unlocked),
        common::log_entry(2, Actor::UnknownCode, Via::Keypad,
            Event::KeypadRefused { reason: RefusalReason::WrongCode }),
    ])]});
    let u = api
        .post(
            &format!("/api/v1/locks/{lock}/logs"),
            &admin,
            upload.clone(),
        )
        .await;
    assert_eq!(u.body, json!({"accepted": 2, "duplicates": 0}));
    let u = api
        .post(&format!("/api/v1/locks/{lock}/logs"), &admin, upload)
        .await;
    assert_eq!(u.body, json!({"accepted": 0, "duplicates": 2}));
    let logs = api.get(&format!("/api/v1/locks/{lock}/logs"), &admin).await;
    let from_lock: Vec<_> = logs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "lock")
        .collect();
    assert_eq!(from_lock.len(), 2);
    assert!(from_lock.iter().all(|e| e["method"] == "keypad"));
    // Outbox is newest first.
    let out = api.get("/api/v1/outbox", &admin).await;
    assert_eq!(out.body["next"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_health_credentials_and_logout() {
    let t = common::start().await;
    let api = &t.api;
    let h = api.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(h.status, StatusCode::OK);
    let doc = api
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().unwrap();
    for p in [
        "/api/v1/sessions",
        "/api/v1/registrations",
        "/api/v1/registrations/{id}/verify",
        "/api/v1/me",
        "/api/v1/access/summary",
        "/api/v1/invitations",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/permissions",
        "/api/v1/users/{id}/access",
        "/api/v1/users/{id}/revoke",
        "/api/v1/users/{id}/resend-invite",
        "/api/v1/outbox",
        "/api/v1/properties",
        "/api/v1/properties/{id}/units",
        "/api/v1/locks",
        "/api/v1/locks/{id}",
        "/api/v1/locks/{id}/mode",
        "/api/v1/locks/{id}/reset-codes",
        "/api/v1/locks/{id}/master-code",
        "/api/v1/locks/{id}/logs",
        "/api/v1/locks/{id}/access-codes",
        "/api/v1/locks/{id}/credentials",
        "/api/v1/sync",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc.body["components"]["schemas"]["InvitationRequest"].is_object());
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Cred", &["1", "2"]).await;
    let lock = api.lock(&admin, &units[0], "C").await;
    let path = format!("/api/v1/locks/{lock}/credentials");
    let c = api.call(Method::POST, &path, Some(&admin), None).await;
    // Credentials are issued for paired locks only (see tests/credentials.rs).
    assert_eq!((c.status, c.code()), (StatusCode::CONFLICT, "conflict"));
    let key = STANDARD.encode([7u8; 32]);
    let paired = api
        .put(
            &format!("/api/v1/locks/{lock}/identity"),
            &admin,
            json!({"identity_public_key": key, "firmware": "vl 1.0"}),
        )
        .await;
    assert_eq!(paired.status, StatusCode::OK, "{:?}", paired.body);
    // Paired: the administrator (all locks) gets a signed credential for it.
    let c = api.call(Method::POST, &path, Some(&admin), None).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let cred = STANDARD
        .decode(c.body["credential"].as_str().expect("credential"))
        .expect("base64 credential");
    assert!(cred.len() > 64, "a signed credential: {} bytes", cred.len());
    assert_eq!(c.body["lock_public_key"], key.as_str());
    assert!(c.body["expires_at"].is_string());
    // A team member whose access is the other unit only is refused this lock.
    let (_, outsider) = api
        .team_member(
            &admin,
            "elsewhere@cred.example",
            json!([]),
            json!({"type": "units", "unit_ids": [units[1]]}),
        )
        .await;
    let refused = api.call(Method::POST, &path, Some(&outsider), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert!(refused.body["credential"].is_null());
    let out = api
        .call(
            Method::DELETE,
            "/api/v1/sessions/current",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/v1/me", &admin).await.code(),
        "unauthenticated"
    );
}
