//! Bad input: malformed JSON, wrong types, oversized bodies, unknown ids, wrong phone forms,
//! SQL and HTML metacharacters. Each gets a clear 4xx JSON error, the server keeps serving,
//! and nothing is half-written.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::json;

fn assert_json_error(a: &common::Answer, status: StatusCode) {
    assert_eq!(a.status, status, "{:?}", a.body);
    assert!(!a.code().is_empty(), "error code in {:?}", a.body);
    assert!(!a.message().is_empty(), "error message in {:?}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_wrong_types_and_oversized_bodies() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (pid, units) = api.property(&admin, "Ash", &["1"]).await;
    let lock = api.lock(&admin, &units[0], "Ash 1").await;
    let cases: Vec<(Method, String, &[u8])> = vec![
        (Method::POST, "/api/v1/properties".into(), b"{\"name\": "),
        (Method::POST, "/api/v1/properties".into(), b"not json"),
        (Method::POST, "/api/v1/properties".into(), b"{\"name\": 42}"),
        (Method::POST, "/api/v1/properties".into(), b"[]"),
        (Method::POST, "/api/v1/sessions".into(), b"{\"email\": null, \"password\": \"x\"}"),
        (Method::POST, "/api/v1/invitations".into(), b"{\"user_type\": \"boss\", \"email\": \"a@b.co\", \"access\": {\"type\": \"all_locks\"}}"),
        (Method::POST, "/api/v1/invitations".into(), b"{\"user_type\": \"team_member\", \"email\": \"a@b.co\", \"permissions\": [\"fly\"], \"access\": {\"type\": \"all_locks\"}}"),
        (Method::POST, "/api/v1/invitations".into(), b"{\"user_type\": \"team_member\", \"email\": \"a@b.co\", \"access\": {\"type\": \"units\", \"unit_ids\": [\"nope\"]}}"),
        (Method::PUT, format!("/api/v1/locks/{lock}/mode"), b"{\"mode\": \"party\"}"),
        (Method::PATCH, format!("/api/v1/locks/{lock}"), b"{\"name\": [1,2]}"),
        (Method::POST, format!("/api/v1/locks/{lock}/access-codes"), b"{\"kind\": \"forever\"}"),
        (Method::POST, format!("/api/v1/properties/{pid}/units"), b"\xff\xfe\x00"),
    ];
    for (m, path, body) in cases {
        let a = api
            .raw(
                m.clone(),
                &path,
                Some(&admin),
                "application/json",
                body.to_vec(),
            )
            .await;
        assert_json_error(&a, StatusCode::BAD_REQUEST);
        assert_eq!(a.code(), "bad_request", "{m} {path}");
    }
    let a = api
        .raw(
            Method::POST,
            "/api/v1/properties",
            Some(&admin),
            "text/plain",
            b"{\"name\":\"x\"}".to_vec(),
        )
        .await;
    assert_json_error(&a, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // 80 KiB body (limit 64 KiB; small enough that the client has sent it all before the
    // server answers): 413 with the JSON shape, with or without an idempotency key.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(80 * 1024));
    let a = api
        .raw(
            Method::POST,
            "/api/v1/properties",
            Some(&admin),
            "application/json",
            big.clone().into_bytes(),
        )
        .await;
    assert_json_error(&a, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.code(), "payload_too_large");
    let r = api
        .http
        .post(format!("{}/api/v1/properties", api.base))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .header("idempotency-key", "big-1")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "payload_too_large");
    // Nothing half-written: still one property with one unit.
    let props = api.get("/api/v1/properties", &admin).await;
    assert_eq!(props.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(props.body["items"][0]["units"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.call(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_and_routes_are_json_404s() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/api/v1/locks/{unknown}"),
        format!("/api/v1/locks/{unknown}/logs"),
        format!("/api/v1/locks/{unknown}/master-code"),
        format!("/api/v1/users/{unknown}"),
        "/api/v1/locks/not-a-uuid".to_string(),
        "/api/v1/users/1%27%20OR%201=1".to_string(),
        "/api/v1/no-such-thing".to_string(),
    ] {
        let a = api.get(&path, &admin).await;
        assert_json_error(&a, StatusCode::NOT_FOUND);
        assert_eq!(a.code(), "not_found", "{path}");
    }
    for (m, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/locks/{unknown}"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{unknown}/revoke"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/users/{unknown}/resend-invite"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{unknown}/permissions"),
            Some(json!({"permissions": []})),
        ),
        (
            Method::POST,
            format!("/api/v1/properties/{unknown}/units"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::POST,
            "/api/v1/locks".to_string(),
            Some(json!({"unit_id": unknown, "name": "x"})),
        ),
        (
            Method::POST,
            format!("/api/v1/registrations/{unknown}/verify"),
            Some(json!({"code": "123456"})),
        ),
    ] {
        let a = api.call(m.clone(), &path, Some(&admin), body).await;
        assert_json_error(&a, StatusCode::NOT_FOUND);
    }
    let a = api
        .call(Method::DELETE, "/api/v1/locks", Some(&admin), None)
        .await;
    assert_json_error(&a, StatusCode::METHOD_NOT_ALLOWED);
    // A lean route (served without the compression and body layers) answers alike.
    let a = api
        .call(Method::DELETE, "/api/v1/me", Some(&admin), None)
        .await;
    assert_json_error(&a, StatusCode::METHOD_NOT_ALLOWED);
    let a = api
        .call(Method::GET, "/api/v1/locks?limit=abc", Some(&admin), None)
        .await;
    assert_json_error(&a, StatusCode::BAD_REQUEST);
    let a = api
        .call(
            Method::GET,
            "/api/v1/sync?since=garbage",
            Some(&admin),
            None,
        )
        .await;
    assert_json_error(&a, StatusCode::BAD_REQUEST);
    let long = format!("Bearer {}", "a".repeat(300));
    for header in ["Bearer ", "Bearer nonsense", "Basic abc", long.as_str()] {
        let r = api
            .http
            .get(format!("{}/api/v1/me", api.base))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_phone_forms_are_refused_and_the_article_form_is_stored_in_e164() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Fir", &["1"]).await;
    let uid = api
        .invite(
            &admin,
            json!({"user_type": "resident", "email": "phone@fir.example",
                               "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    let token = api.invitation_token(&admin, "phone@fir.example").await;
    let outbox_before = api.get("/api/v1/outbox", &admin).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    for bad in [
        "5551234567",
        "15551234567",
        "1-555-123-4567",
        "+15551234",
        "+442071234567",
        "+10551234567",
        "+15550234567",
        "+1555123456a",
        "phone",
        "",
        "   ",
        "+1 555 123 45678",
        "++15551234567",
        "+1/555/123/4567",
        "+1555\u{FF11}234567",
        "+1 (555) 123-4567; DROP TABLE users",
    ] {
        let a = api
            .call(
                Method::POST,
                "/api/v1/registrations",
                None,
                Some(
                    json!({"token": token, "email": "p@fir.example", "phone": bad,
                              "password": "password-1", "name": "P"}),
                ),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}: {:?}",
            a.body
        );
        assert_eq!(a.code(), "invalid_phone", "{bad:?}");
        assert!(
            a.message().contains("+15551234567"),
            "{bad:?}: {}",
            a.message()
        );
    }
    // No SMS went out for any refused form, and the user is still pending.
    let outbox_after = api.get("/api/v1/outbox", &admin).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(outbox_before, outbox_after);
    assert_eq!(
        api.get(&format!("/api/v1/users/{uid}"), &admin).await.body["status"],
        "pending"
    );
    let a = api
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(
                json!({"token": token, "email": "p@fir.example", "phone": "+1 (555) 123-4567",
                          "password": "password-1", "name": "P"}),
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert_eq!(a.body["phone"], "+15551234567");
    let code = api.sms_code(&admin, "+15551234567").await;
    let id = a.body["registration_id"].as_str().unwrap();
    let v = api
        .call(
            Method::POST,
            &format!("/api/v1/registrations/{id}/verify"),
            None,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK);
    assert_eq!(
        api.get(&format!("/api/v1/users/{uid}"), &admin).await.body["phone"],
        "+15551234567"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_and_html_metacharacters_are_stored_verbatim_or_refused() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let nasty = [
        "Robert'); DROP TABLE locks;--",
        "<script>alert(1)</script>",
        "\" OR \"1\"=\"1",
        "Ünïcødé & <b>bold</b> % _ \\",
    ];
    for name in nasty {
        let p = api
            .post("/api/v1/properties", &admin, json!({"name": name}))
            .await;
        assert_eq!(p.status, StatusCode::CREATED, "{name}");
        assert_eq!(p.body["name"], name);
        let pid = p.body["id"].as_str().unwrap();
        let u = api
            .post(
                &format!("/api/v1/properties/{pid}/units"),
                &admin,
                json!({"name": name}),
            )
            .await;
        let lock = api.lock(&admin, u.body["id"].as_str().unwrap(), name).await;
        let l = api.get(&format!("/api/v1/locks/{lock}"), &admin).await;
        assert_eq!(l.body["name"], name);
        assert_eq!(l.body["unit_name"], name);
        assert_eq!(l.headers["content-type"], "application/json");
    }
    let all = api.get("/api/v1/locks", &admin).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), nasty.len());
    // Control characters, empty and over-long names are refused with 422.
    for bad in ["", "   ", "a\u{0}b", "line\nbreak", &"x".repeat(300)] {
        let a = api
            .post("/api/v1/properties", &admin, json!({"name": bad}))
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert_eq!(a.code(), "validation_failed");
    }
    for bad in [
        "no-at-sign",
        "two@@example.com",
        "a@b",
        "<a@b.co>",
        "a b@c.co",
        "'; DROP TABLE users;--@x.co",
    ] {
        let a = api
            .post(
                "/api/v1/invitations",
                &admin,
                json!({"user_type": "team_member", "email": bad, "access": {"type": "all_locks"}}),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}: {:?}",
            a.body
        );
    }
    assert_eq!(
        api.get("/api/v1/users", &admin).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get("/api/v1/properties", &admin).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        nasty.len()
    );
}
