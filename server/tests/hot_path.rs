//! The per-request path the load benchmark measures: gzip only where it pays, concurrent
//! audited writes all land, and a session change applies to the very next request.

mod common;

use reqwest::StatusCode;
use serde_json::json;

/// A client that neither asks for gzip nor unpacks it, so the answer's encoding shows.
fn raw_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_answers_skip_gzip_and_large_ones_get_it() {
    let t = common::start().await;
    let admin = t.api.admin().await;
    let http = raw_client();
    let me = http
        .get(format!("{}/api/v1/me", t.api.base))
        .bearer_auth(&admin)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    assert!(
        me.headers().get("content-encoding").is_none(),
        "a few hundred bytes go as they are"
    );
    let body: serde_json::Value = me.json().await.expect("plain JSON");
    assert_eq!(body["email"], access_server::TEST_ADMIN_EMAIL);

    let doc = http
        .get(format!("{}/api/v1/openapi.json", t.api.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("openapi");
    assert_eq!(doc.status(), StatusCode::OK);
    assert_eq!(
        doc.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip"),
        "the OpenAPI document (tens of KiB) is compressed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_audited_reads_all_succeed_and_are_all_logged() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Busy", &["1"]).await;
    let lock = api.lock(&admin, &units[0], "Busy 1").await;
    let n = 48;
    let calls = (0..n).map(|_| {
        let api = api.clone();
        let admin = admin.clone();
        let path = format!("/api/v1/locks/{lock}/master-code");
        tokio::spawn(async move { api.get(&path, &admin).await.status })
    });
    for status in futures::future::join_all(calls).await {
        assert_eq!(status.expect("task"), StatusCode::OK);
    }
    let logs = api
        .get(&format!("/api/v1/locks/{lock}/logs?limit=1000"), &admin)
        .await;
    let reads = logs.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "view_master_code")
        .count();
    assert_eq!(reads, n, "one audit row per read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_change_and_a_revoke_apply_to_the_very_next_request() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Next", &["1"]).await;
    let lock = api.lock(&admin, &units[0], "Next 1").await;
    let (uid, member) = api
        .team_member(
            &admin,
            "next@example.test",
            json!(["view_master_code"]),
            json!({"type": "all_locks"}),
        )
        .await;
    let path = format!("/api/v1/locks/{lock}/master-code");
    // Warm every path (statement caches, connections) before the change.
    for _ in 0..20 {
        assert_eq!(api.get(&path, &member).await.status, StatusCode::OK);
        assert_eq!(api.get("/api/v1/me", &member).await.status, StatusCode::OK);
    }
    let set = api
        .put(
            &format!("/api/v1/users/{uid}/permissions"),
            &admin,
            json!({"permissions": []}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(api.get(&path, &member).await.status, StatusCode::FORBIDDEN);
    let me = api.get("/api/v1/me", &member).await;
    assert_eq!(me.body["permissions"], json!([]));

    let revoked = api
        .post(&format!("/api/v1/users/{uid}/revoke"), &admin, json!({}))
        .await;
    assert!(revoked.status.is_success(), "{:?}", revoked.body);
    let me = api.get("/api/v1/me", &member).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.code(), "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idempotency_layer_checks_keys_on_writes_and_lets_reads_through() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let long = "k".repeat(201);
    let refused = api
        .call_with(
            reqwest::Method::POST,
            "/api/v1/properties",
            Some(&admin),
            Some(json!({"name": "Keyed"})),
            &[("idempotency-key", long.as_str())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let props = api.get("/api/v1/properties", &admin).await;
    assert_eq!(
        props.body["items"],
        json!([]),
        "the refused write had no effect"
    );
    // A key on a GET means nothing: the read runs as usual.
    let me = api
        .call_with(
            reqwest::Method::GET,
            "/api/v1/me",
            Some(&admin),
            None,
            &[("idempotency-key", long.as_str())],
        )
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], access_server::TEST_ADMIN_EMAIL);
}
