//! Organizations as the operator makes them: `access-server org create` and `org list`
//! against the real binary, on the store the server runs on. The wall between
//! organizations over HTTP is in the authorization matrix (`authz_matrix.rs`).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use access_server::{TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD};
use common::{Api, BinaryServer};
use reqwest::StatusCode;
use serde_json::json;

const ADMIN_ENV: [(&str, &str); 2] = [
    ("ACCESS_ADMIN_EMAIL", TEST_ADMIN_EMAIL),
    ("ACCESS_ADMIN_PASSWORD", TEST_ADMIN_PASSWORD),
];

/// `access-server org ARGS` on the store a server on `data_dir` uses.
fn org(data_dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_access-server"));
    cmd.env("ACCESS_DATA_DIR", data_dir)
        .env_remove("ACCESS_DATABASE_URL")
        .env_remove("ACCESS_NEW_ADMIN_PASSWORD")
        .arg("org")
        .args(args);
    if let Some(url) = access_server::store::postgres::test_database_url(data_dir) {
        cmd.env("ACCESS_DATABASE_URL", url);
    }
    cmd.output().expect("run access-server org")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_adds_an_organization_whose_admin_signs_in_and_sees_only_it() {
    let dir = tempfile::tempdir().unwrap();
    // The first organization, made at first start.
    let first = BinaryServer::spawn(dir.path(), &ADMIN_ENV);
    let api = Api::new(first.base.clone());
    let admin = api.admin().await;
    api.property(&admin, "Maple Court", &["1A"]).await;
    first.stop();

    let made = org(
        dir.path(),
        &[
            "create",
            "--name",
            "Rival Homes",
            "--admin-email",
            "boss@rival.example",
        ],
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let said = stdout(&made);
    let password = said
        .split("with password ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no generated password in {said:?}"))
        .to_string();

    // Refused: an email someone signs in with, a malformed email, an empty name.
    let again = org(
        dir.path(),
        &[
            "create",
            "--name",
            "Again",
            "--admin-email",
            "BOSS@rival.example",
        ],
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already signs in"),
        "{}",
        stderr(&again)
    );
    let bad = org(
        dir.path(),
        &["create", "--name", "X", "--admin-email", "nope"],
    );
    assert!(
        stderr(&bad).contains("not a valid email"),
        "{}",
        stderr(&bad)
    );
    let empty = org(
        dir.path(),
        &["create", "--name", " ", "--admin-email", "e@x.example"],
    );
    assert!(
        stderr(&empty).contains("must not be empty"),
        "{}",
        stderr(&empty)
    );

    let list = org(dir.path(), &["list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let lines: Vec<String> = stdout(&list).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[1].ends_with("My organization"), "{lines:?}");
    assert!(lines[2].ends_with("Rival Homes"), "{lines:?}");

    let server = BinaryServer::spawn(dir.path(), &ADMIN_ENV);
    let api = Api::new(server.base.clone());
    let rival = api.login("boss@rival.example", &password).await;
    let props = api.get("/api/v1/properties", &rival).await;
    assert_eq!(props.status, StatusCode::OK);
    assert_eq!(
        props.body["items"],
        json!([]),
        "a new organization starts empty"
    );
    api.property(&rival, "Rival Tower", &["9"]).await;
    let ours = api.get("/api/v1/properties", &api.admin().await).await;
    assert!(!ours.body.to_string().contains("Rival Tower"));
    server.stop();
}
