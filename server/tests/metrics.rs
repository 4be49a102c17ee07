//! `/metrics`: off unless configured, never on the public address, and after a scripted
//! flow its counters have moved by exactly what the flow did.

mod common;

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::json;

/// `name{labels} value` lines of the text format, by `name{labels}`.
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_unless_configured() {
    let t = common::start().await;
    assert_eq!(t.server.metrics_addr(), None);
    let a = t.api.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_flow_moves_the_counters_by_what_it_did() {
    let t = common::start_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let api = &t.api;
    let metrics_url = format!("http://{}/metrics", t.server.metrics_addr().unwrap());
    // Not on the public address.
    let public = api.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(public.status, StatusCode::NOT_FOUND);

    let wrong = json!({"email": access_server::TEST_ADMIN_EMAIL, "password": "nope"});
    for _ in 0..2 {
        let a = api
            .call(Method::POST, "/api/v1/sessions", None, Some(wrong.clone()))
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let admin = api.admin().await;
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/me", &admin).await.status, StatusCode::OK);
    }
    let missing = api
        .get("/api/v1/locks/00000000-0000-0000-0000-000000000001", &admin)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let (_, units) = api.property(&admin, "Maple", &["1A"]).await;
    api.lock(&admin, &units[0], "Front door").await;
    api.invite(
        &admin,
        json!({"user_type": "resident", "email": "r@maple.example",
               "access": {"type": "units", "unit_ids": [units[0]]}}),
    )
    .await;
    // Wrong passwords for one email until the server throttles.
    let guess = json!({"email": "r@maple.example", "password": "guess"});
    let (mut refused, mut throttled) = (0, 0);
    while throttled == 0 && refused < 20 {
        let a = api
            .call(Method::POST, "/api/v1/sessions", None, Some(guess.clone()))
            .await;
        match a.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            s => panic!("unexpected {s}: {:?}", a.body),
        }
    }
    assert_eq!(throttled, 1, "the server never throttled");

    let text = common::client()
        .get(&metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let m = parse(&text);
    let at = |key: &str| {
        m.get(key)
            .copied()
            .unwrap_or_else(|| panic!("no {key} in\n{text}"))
    };
    let sessions = r#"route="/api/v1/sessions",method="POST""#;
    assert_eq!(
        at(&format!(
            "access_http_requests_total{{{sessions},status=\"401\"}}"
        )),
        (2 + refused) as f64
    );
    assert_eq!(
        at(&format!(
            "access_http_requests_total{{{sessions},status=\"201\"}}"
        )),
        1.0
    );
    assert_eq!(
        at(&format!(
            "access_http_requests_total{{{sessions},status=\"429\"}}"
        )),
        1.0
    );
    assert_eq!(
        at(r#"access_http_requests_total{route="/api/v1/me",method="GET",status="200"}"#),
        3.0
    );
    assert_eq!(
        at(r#"access_http_request_duration_seconds_count{route="/api/v1/me",method="GET"}"#),
        3.0
    );
    assert_eq!(
        at(r#"access_http_requests_total{route="/api/v1/locks/{id}",method="GET",status="404"}"#),
        1.0
    );
    assert_eq!(
        at(r#"access_http_errors_total{code="invalid_credentials"}"#),
        (2 + refused) as f64
    );
    assert_eq!(at(r#"access_http_errors_total{code="not_found"}"#), 1.0);
    assert_eq!(at("access_login_failures_total"), (2 + refused) as f64);
    assert_eq!(at("access_login_throttled_total"), 1.0);
    assert_eq!(
        at(r#"access_messages_total{channel="email",outcome="outbox_only"}"#),
        1.0
    );
    assert_eq!(at("access_sessions_live"), 1.0);
    assert_eq!(at(r#"access_locks{level="unknown"}"#), 1.0);
    assert_eq!(at(r#"access_locks{level="low"}"#), 0.0);
    // No series per lock id: routes are templates.
    assert!(!text.contains("00000000-0000-0000-0000-000000000001"));
}
