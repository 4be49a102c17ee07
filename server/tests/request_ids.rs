//! Request ids and JSON logs: a user's failed request carries an id in its answer, and the
//! server's JSON log line for that request carries the same id.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use access_server::{TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD};
use common::Api;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_is_found_in_the_json_log_by_the_id_its_answer_shows() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_access-server"))
        .env("ACCESS_LISTEN", "127.0.0.1:0")
        .env("ACCESS_DATA_DIR", dir.path())
        .env("ACCESS_ADMIN_EMAIL", TEST_ADMIN_EMAIL)
        .env("ACCESS_ADMIN_PASSWORD", TEST_ADMIN_PASSWORD)
        .env("ACCESS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(
            access_server::store::postgres::test_database_url(dir.path())
                .map(|u| ("ACCESS_DATABASE_URL", u)),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let base = stdout
        .lines()
        .map(Result::unwrap)
        .find_map(|l| {
            l.strip_prefix("access-server listening on ")
                .map(str::to_string)
        })
        .expect("the server printed its address");
    let stderr = child.stderr.take().unwrap();
    let api = Api::new(base);

    let wrong = api
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"email": TEST_ADMIN_EMAIL, "password": "not it"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let id = wrong.body["error"]["request_id"]
        .as_str()
        .expect("request_id")
        .to_string();
    assert_eq!(wrong.headers["x-request-id"], id.as_str());

    // A proxy's plain id is kept; anything else is replaced by the server's own.
    let kept = api
        .call_with(
            Method::GET,
            "/api/v1/me",
            None,
            None,
            &[("x-request-id", "edge-77.a")],
        )
        .await;
    assert_eq!(kept.body["error"]["request_id"], "edge-77.a");
    let replaced = api
        .call_with(
            Method::GET,
            "/api/v1/me",
            None,
            None,
            &[("x-request-id", "no good{}")],
        )
        .await;
    let new_id = replaced.body["error"]["request_id"].as_str().unwrap();
    assert_ne!(new_id, "no good{}");
    assert_ne!(new_id, id);
    // A success carries the header too.
    let ok = api.get("/api/v1/openapi.json", "").await;
    assert!(ok.headers.contains_key("x-request-id"));

    child.kill().unwrap();
    child.wait().unwrap();
    let lines: Vec<Value> = BufReader::new(stderr)
        .lines()
        .map(Result::unwrap)
        .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect();
    let refused = lines
        .iter()
        .find(|l| l["fields"]["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no log line with request_id {id}: {lines:#?}"));
    assert_eq!(refused["fields"]["code"], "invalid_credentials");
    assert_eq!(refused["fields"]["status"], 401);
}
