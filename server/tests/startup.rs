//! Starting the real binary on a system without CA certificates (a minimal container): the
//! server needs them only to reach an `https://` SMS gateway, so without one configured it
//! must start and serve, and with one it must say what is missing.

mod common;

use std::process::{Command, Stdio};

use common::{Api, BinaryServer};
use reqwest::{Method, StatusCode};

/// Where the platform verifier looks for CA certificates on Linux, pointed at nothing.
const NO_CA_CERTIFICATES: [(&str, &str); 2] = [
    ("SSL_CERT_FILE", "/nonexistent/ca-certificates.crt"),
    ("SSL_CERT_DIR", "/nonexistent/certs"),
];

#[tokio::test]
async fn without_ca_certificates_the_server_starts_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::spawn(dir.path(), &NO_CA_CERTIFICATES);
    let api = Api::new(server.base.clone());
    let health = api.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert!(server.stop().success());
}

/// Runs the binary to its exit and returns its stderr; it must fail to start.
fn refused_start(envs: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_access-server"))
        .env("ACCESS_LISTEN", "127.0.0.1:0")
        .env("ACCESS_DATA_DIR", dir.path())
        .env_remove("ACCESS_DATABASE_URL")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run access-server");
    assert!(!out.status.success(), "the server started: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_sms_gateway_without_ca_certificates_is_a_clear_startup_error() {
    let mut envs = NO_CA_CERTIFICATES.to_vec();
    envs.push(("ACCESS_SMS_WEBHOOK_URL", "https://sms.example/send"));
    let stderr = refused_start(&envs);
    assert!(
        stderr.contains("ACCESS_SMS_WEBHOOK_URL") && stderr.contains("CA certificates"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_sms_gateway_url_is_a_clear_startup_error() {
    for url in ["sms.example/send", "ftp://sms.example/send", "http://"] {
        let stderr = refused_start(&[("ACCESS_SMS_WEBHOOK_URL", url)]);
        assert!(
            stderr.contains("must be an http:// or https:// URL"),
            "{url}: {stderr}"
        );
    }
}

/// `access-server healthcheck` (the container image's health check) against `base`'s port.
fn healthcheck(listen: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_access-server"))
        .args(["healthcheck", "--listen", listen])
        .output()
        .expect("run access-server healthcheck")
}

#[tokio::test]
async fn the_healthcheck_command_passes_while_the_server_serves_and_fails_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::spawn(dir.path(), &[]);
    let port = server.base.rsplit(':').next().unwrap().to_string();
    // A wildcard listen address is asked on loopback, as inside a container.
    let up = healthcheck(&format!("0.0.0.0:{port}"));
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(String::from_utf8_lossy(&up.stdout).contains("healthy"));
    assert!(server.stop().success());
    let down = healthcheck(&format!("127.0.0.1:{port}"));
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("no server"));
}
