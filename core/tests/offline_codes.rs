//! Offline codes through the core against the real server in-process: given with
//! `give_offline_access`, gated locally (scope, permission, window) with nothing sent when
//! refused, and the code the server returns verifies with the lock's code secret.

mod support;

use std::time::{Duration, SystemTime};

use access_core::{AccessError, OfflineCodeClass, TimeWindow};
use access_domain::AccessCodeKind;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::offline_code::{self, TOLERANCE_SECS};
use reqwest::Method;
use serde_json::json;
use support::*;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_codes_are_given_through_the_core_and_gated_locally() {
    let server = Server::start().await;
    let proxy = Proxy::start(server.addr()).await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    // Paired on the server's side: the identity key the pairing phone reports, of a lock
    // whose static secret this test holds (to open what the platform seals to it).
    let lock_secret = [9u8; 32];
    let lock_public = lock_protocol::session::static_public(
        &lock_protocol::session::StaticSecret::from(lock_secret),
    );
    admin
        .ok(
            Method::PUT,
            &format!("/api/v1/locks/{}/identity", s.lock_a),
            Some(json!({"identity_public_key": STANDARD.encode(lock_public)})),
        )
        .await;
    let (_, agent) = onboard(
        &admin,
        &proxy.url(),
        "team_member",
        "offline-agent@oakwood.example",
        "+1 555 201 0042",
        &["give_access"],
        units(&[&s.unit_a]),
    )
    .await;
    let c = &agent.client;
    c.sync(None).await.expect("sync");

    let hour = unix_now() - unix_now() % 3_600;
    let window = TimeWindow {
        starts_at: at(hour),
        ends_at: at(hour + 2 * 3_600),
    };
    let code = c
        .offline_codes()
        .give(
            s.lock_a.clone(),
            AccessCodeKind::Window,
            Some(OfflineCodeClass::Tour),
            Some("Saturday tour".into()),
            Some(window),
        )
        .await
        .expect("offline code");
    assert_eq!(code.code.len(), offline_code::CODE_LEN);
    assert_eq!(code.class, OfflineCodeClass::Tour);
    assert_eq!(code.valid_from, at(hour - TOLERANCE_SECS));
    assert_eq!(code.label.as_deref(), Some("Saturday tour"));

    // The lock's secret, as the lock opens it from its door update, verifies the code.
    let update = admin
        .get(&format!("/api/v1/locks/{}/door-update", s.lock_a))
        .await;
    let org = admin.get("/api/v1/organization/public-key").await;
    let lock_id = uuid::Uuid::parse_str(&s.lock_a).unwrap();
    let opened = lock_protocol::door::open(
        &STANDARD
            .decode(update["updates"][0].as_str().unwrap())
            .unwrap(),
        &STANDARD
            .decode(org["public_key"].as_str().unwrap())
            .unwrap(),
        lock_id,
        &lock_secret,
        0,
    )
    .expect("the update opens with the lock's key");
    let secret = opened
        .code_secret
        .expect("a whole update holds the code secret");
    let grant = offline_code::verify(&secret, lock_id, &code.code, hour + 60).expect("verifies");
    assert_eq!(grant.hours, 2);

    // Refused locally, nothing sent: out of scope, and a window not on the hour.
    let sent = proxy.sent();
    let e = c
        .offline_codes()
        .give(
            s.lock_b.clone(),
            AccessCodeKind::Window,
            None,
            None,
            Some(window),
        )
        .await
        .unwrap_err();
    // A lock out of scope is not even in the phone's cache.
    assert!(
        matches!(e, AccessError::NotFound | AccessError::NotAllowed { .. }),
        "{e:?}"
    );
    let e = c
        .offline_codes()
        .give(
            s.lock_a.clone(),
            AccessCodeKind::Window,
            None,
            None,
            Some(TimeWindow {
                starts_at: at(hour + 60),
                ends_at: at(hour + 3_600),
            }),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, AccessError::InvalidInput { .. }), "{e:?}");
    assert_eq!(
        proxy.sent(),
        sent,
        "a refused request must not reach the server"
    );

    // One-time without a window: this hour plus 24 hours, class from the lock's mode.
    let once = c
        .offline_codes()
        .give(s.lock_a.clone(), AccessCodeKind::OneTime, None, None, None)
        .await
        .expect("one-time offline code");
    assert_eq!(once.kind, AccessCodeKind::OneTime);
    assert_eq!(once.starts_at, at(hour));
    assert_eq!(once.ends_at, at(hour + 24 * 3_600));
}
