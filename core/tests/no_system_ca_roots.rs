//! A system without CA roots (a minimal container or chroot): the platform verifier cannot
//! load any, which used to fail `AccessClient::new` with `Offline { "builder error" }`, so
//! the UI queued actions forever. The client now falls back to the bundled roots.
//!
//! One test in its own binary: it points `SSL_CERT_FILE` at an empty file for the whole
//! process, which would disturb tests running beside it.

use std::sync::Arc;

use access_core::{AccessClient, AccessError, ClientConfig, file_secret_store};
use access_domain::App;
use access_server::ServerConfig;

fn client(server_url: &str, dir: &std::path::Path) -> Result<Arc<AccessClient>, AccessError> {
    AccessClient::new(
        ClientConfig {
            server_url: server_url.into(),
            data_dir: dir.display().to_string(),
            app: App::AccessManager,
            request_timeout_ms: None,
        },
        file_secret_store(dir.join("secrets.json").display().to_string()),
        None,
    )
}

#[test]
fn without_system_ca_roots_the_client_builds_and_reaches_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-roots.pem");
    std::fs::write(&empty, "").unwrap();
    // The server's address is chosen first: it is started only once the roots are back,
    // because it builds an HTTP client of its own.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // SAFETY: no other thread runs yet (the only test of this binary; no runtime so far).
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &empty);
        std::env::remove_var("SSL_CERT_DIR");
    }

    let device = dir.path().join("device");
    std::fs::create_dir_all(&device).unwrap();
    let https = client("https://access.example.com", &device);
    assert!(https.is_ok(), "{:?}", https.err());
    drop(https);
    let c = client(&format!("http://{addr}"), &device).unwrap();
    // The condition is real: the platform verifier alone finds no roots and refuses.
    let plain = reqwest::Client::builder().build();
    assert!(plain.is_err(), "the platform verifier found CA roots");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The HTTP client is built at the first request, here still without roots: the server
    // is not up yet, so the request finds no one, but the client it built stays.
    let first = rt.block_on(c.account().login("nobody@example.test".into(), "x".into()));
    assert!(
        matches!(first, Err(AccessError::Offline { .. })),
        "{first:?}"
    );

    // SAFETY: the runtime's threads read no environment.
    unsafe { std::env::remove_var("SSL_CERT_FILE") };
    rt.block_on(async {
        let mut config = ServerConfig::for_tests(dir.path().join("server"));
        config.listen = addr;
        let running = access_server::start(config).await.expect("server starts");
        // The fallback client talks to a real server (over http, as on a LAN or in tests).
        let r = c
            .account()
            .login("nobody@example.test".into(), "wrong password".into())
            .await;
        assert_eq!(r.err(), Some(AccessError::InvalidCredentials));
        running.shutdown().await;
    });
}
