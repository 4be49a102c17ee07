//! Bad input and bad servers: every wrong invitation shape and phone form is refused
//! locally with a typed error (nothing sent), and a server that answers garbage, hangs or
//! vanishes is reported as a typed error within the configured timeout.

mod support;

use std::time::{Duration, Instant};

use access_core::AccessError;
use access_domain::App;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const GOOD_TOKEN: &str = "q0Jd6wM1yPZ_kV3n-8sRtgq0Jd6wM1yPZ_kV3n-8sRt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_invitation_shapes_and_phone_forms_never_reach_the_server() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let dev = Device::new(&proxy.url(), App::AccessManager);
    let c = &dev.client;
    let links = [
        String::new(),
        "   ".into(),
        "https://access.example.com/invite".into(),
        "https://access.example.com/invite?token=".into(),
        "https://access.example.com/invite?tok=abcdefabcdefabcdefabcdef".into(),
        format!(
            "https://access.example.com/invite?token={GOOD_TOKEN}&token=abcdefabcdefabcdefabcd"
        ),
        "https://".into(),
        "http://[::1/invite?token=abc".into(),
        "token=short".into(),
        "short".into(),
        format!("{GOOD_TOKEN} trailing words"),
        format!("{GOOD_TOKEN}<script>alert(1)</script>"),
        "x".repeat(5000),
        "' OR 1=1 --".into(),
        "\u{0}\u{1}\u{2}".into(),
        "🔑".repeat(20),
    ];
    for link in links {
        let r = c
            .account()
            .register_from_invitation(
                link.clone(),
                "a@x.example".into(),
                "+15551234567".into(),
                "pw-123456789".into(),
                "A".into(),
                "someone".into(),
            )
            .await;
        assert!(
            matches!(r, Err(AccessError::InvitationInvalid { .. })),
            "{link:?}: {r:?}"
        );
    }
    let phones = [
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
        "+1 555 123 45678",
        "++15551234567",
        "+1555１234567",
        "+1/555/123/4567",
        "(555) 123-4567",
    ];
    for phone in phones {
        let r = c
            .account()
            .register_from_invitation(
                GOOD_TOKEN.into(),
                "a@x.example".into(),
                phone.into(),
                "pw-123456789".into(),
                "A".into(),
                "someone".into(),
            )
            .await;
        let Err(AccessError::InvalidPhone { message }) = r else {
            panic!("{phone:?}: {r:?}")
        };
        assert!(message.contains("+15551234567"), "{phone:?}: {message}");
    }
    assert_eq!(
        proxy.sent(),
        0,
        "nothing may be sent for input refused locally"
    );
    assert_eq!(
        proxy.connections.load(std::sync::atomic::Ordering::SeqCst),
        0
    );

    // Well-formed but unknown token, and an accepted phone form: the server decides.
    let r = c
        .account()
        .register_from_invitation(
            GOOD_TOKEN.into(),
            "a@x.example".into(),
            "+1 (555) 123-4567".into(),
            "pw-123456789".into(),
            "A".into(),
            "someone".into(),
        )
        .await;
    assert!(
        matches!(r, Err(AccessError::InvitationInvalid { .. })),
        "{r:?}"
    );
    assert!(proxy.sent() > 0);
    // Other bad input stays local too.
    let sent = proxy.sent();
    assert!(matches!(
        c.account()
            .verify_sms("not-an-id".into(), "123456".into())
            .await,
        Err(AccessError::InvalidInput { .. })
    ));
    assert_eq!(
        c.account()
            .verify_sms(uuid::Uuid::new_v4().to_string(), "12a456".into())
            .await,
        Err(AccessError::WrongSmsCode)
    );
    assert_eq!(
        c.locks().get("../../etc/passwd".into()).await,
        Err(AccessError::NotFound)
    );
    assert_eq!(
        c.locks()
            .rename(uuid::Uuid::new_v4().to_string(), "x".into())
            .await,
        Err(AccessError::NotSignedIn)
    );
    assert_eq!(proxy.sent(), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voided_invitation_link_is_refused_with_its_own_error() {
    let server = Server::start().await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let user = admin
        .invite("team_member", "v@x.example", &[], units(&[&s.unit_a]))
        .await;
    let old = admin.invitation_link("v@x.example").await;
    admin
        .post(
            &format!("/api/v1/users/{user}/resend-invite"),
            serde_json::json!({}),
        )
        .await;
    let new = admin.invitation_link("v@x.example").await;
    assert_ne!(old, new);
    let dev = Device::new(&server.base_url(), App::AccessManager);
    let r = dev
        .client
        .account()
        .register_from_invitation(
            old,
            "v@x.example".into(),
            "+15551232001".into(),
            "pw-123456789".into(),
            "V".into(),
            "someone".into(),
        )
        .await;
    assert!(
        matches!(r, Err(AccessError::InvitationInvalid { .. })),
        "{r:?}"
    );
    dev.client
        .account()
        .register_from_invitation(
            new,
            "v@x.example".into(),
            "+15551232001".into(),
            "pw-123456789".into(),
            "V".into(),
            "someone".into(),
        )
        .await
        .expect("the fresh link works");
}

/// What a case expects of the error.
type Expect = fn(&AccessError) -> bool;

/// A raw TCP server that answers every connection with `reply` (or hangs when `None`).
async fn raw_server(reply: Option<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                match reply {
                    Some(r) => {
                        let _ = sock.write_all(r).await;
                        let _ = sock.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_hanging_and_absent_servers_give_typed_errors_in_time() {
    let cases: [(&[u8], Expect); 5] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{garbage\n",
            |e| matches!(e, AccessError::BadResponse { .. }),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"token\": 42}",
            |e| matches!(e, AccessError::BadResponse { .. }),
        ),
        (
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n\r\n<html>x</h>",
            |e| {
                matches!(e, AccessError::Server { code, .. } if code == "http_5xx")
                    && e.is_transient()
            },
        ),
        (
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}",
            |e| matches!(e, AccessError::Server { .. }),
        ),
        (b"SSH-2.0-OpenSSH_9.2\r\n\x00\xff\xfe", |e| {
            matches!(
                e,
                AccessError::Offline { .. } | AccessError::BadResponse { .. }
            )
        }),
    ];
    for (reply, ok) in cases {
        let url = raw_server(Some(reply)).await;
        let dev = Device::with_timeout(&url, App::AccessManager, Some(2000));
        let e = dev
            .client
            .account()
            .login("a@x.example".into(), "pw".into())
            .await
            .unwrap_err();
        assert!(ok(&e), "{:?}: {e:?}", String::from_utf8_lossy(reply));
        assert_eq!(dev.client.account().current_user().await.unwrap(), None);
    }

    // A server that accepts and never answers: the timeout, reported as such.
    let url = raw_server(None).await;
    let dev = Device::with_timeout(&url, App::AccessManager, Some(400));
    let t = Instant::now();
    let e = dev
        .client
        .account()
        .login("a@x.example".into(), "pw".into())
        .await
        .unwrap_err();
    assert_eq!(e, AccessError::Timeout);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

    // Nobody listening: offline.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dev = Device::new(&format!("http://127.0.0.1:{port}"), App::AccessManager);
    let e = dev
        .client
        .account()
        .login("a@x.example".into(), "pw".into())
        .await
        .unwrap_err();
    assert!(matches!(e, AccessError::Offline { .. }), "{e:?}");

    // A server address that is not one.
    for bad in ["", "localhost:8080", "ftp://x", "http://"] {
        let r = access_core::AccessClient::new(
            access_core::ClientConfig {
                server_url: bad.into(),
                data_dir: tempfile::tempdir().unwrap().path().display().to_string(),
                app: App::AccessManager,
                request_timeout_ms: None,
            },
            access_core::file_secret_store("/nonexistent/s.json".into()),
            None,
        );
        assert!(
            matches!(r, Err(AccessError::InvalidInput { .. })),
            "{bad:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_answer_that_is_garbage_leaves_the_cache_untouched() {
    // A real session, then a proxy that swaps in a garbage server for the sync.
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let (_, dev) = onboard(
        &admin,
        &proxy.url(),
        "team_member",
        "g@x.example",
        "+15551232002",
        &[],
        units(&[&s.unit_a]),
    )
    .await;
    dev.client.sync(None).await.unwrap();
    let garbage = raw_server(Some(
        // Well-framed HTTP (21 bytes, then closed), garbage JSON: a stray byte after the
        // body would make the pooled connection a race for the next request.
        b"HTTP/1.1 200 OK\r\nContent-Length: 21\r\nConnection: close\r\n\r\n{\"cursor\": [1,2,3]}  ",
    ))
    .await;
    proxy.retarget(garbage.trim_start_matches("http://").parse().unwrap());
    let e = dev.client.sync(None).await.unwrap_err();
    assert!(matches!(e, AccessError::BadResponse { .. }), "{e:?}");
    assert_eq!(dev.client.locks().list().await.unwrap().len(), 2);
    proxy.retarget(server.addr());
    assert!(!dev.client.sync(None).await.unwrap().full);
}
