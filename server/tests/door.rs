//! The door as the platform sees it: what each lock should hold, what a contact reported
//! (only with the lock's receipt), and who may report.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// A status report as a lock with `secret` would sign it.
fn report(secret: &[u8; 32], lock: &str, version: u64, battery: u8) -> Value {
    let lock_id = Uuid::parse_str(lock).unwrap();
    let receipt =
        lock_protocol::door::receipt(secret, lock_id, version, battery, 1_800_000_000, "vlock-1");
    json!({"door_version": version, "battery": battery, "clock": 1_800_000_000u64,
           "firmware": "vlock-1", "receipt": STANDARD.encode(receipt)})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_records_battery_and_app_and_a_new_passcode_waits_for_the_lock() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Door", &["1", "2"]).await;
    let reg = api
        .post(
            "/api/v1/locks",
            &admin,
            json!({"unit_id": units[0], "name": "Door 1"}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    let lock = reg.body["id"].as_str().unwrap().to_string();
    // The lock reports under the report key its door updates bring.
    let secret = t.report_key(&admin, &lock).await;
    let door = format!("/api/v1/locks/{lock}/door");
    let contact = format!("/api/v1/locks/{lock}/contact");
    let unpaired = api
        .post(&contact, &admin, report(&[0; 32], &lock, 0, 90))
        .await;
    assert_eq!(unpaired.status, StatusCode::CONFLICT, "{:?}", unpaired.body);
    common::pair_identity(api, &admin, &lock).await;

    let fresh = api.get(&door, &admin).await;
    assert_eq!(fresh.status, StatusCode::OK, "{:?}", fresh.body);
    assert_eq!(fresh.body["confirmed_version"], 0);
    assert_eq!(fresh.body["in_step"], false);
    assert_eq!(fresh.body["last_contact_at"], json!(null));
    let before = fresh.body["pending_codes"].as_u64().unwrap();

    // A resident of the unit gets a passcode on its lock: one more code waits.
    api.invite(
        &admin,
        json!({"user_type": "resident", "email": "res@door.example",
               "access": {"type": "units", "unit_ids": [units[0]]}}),
    )
    .await;
    let resident = api
        .register(
            &admin,
            "res@door.example",
            "res@door.example",
            &common::next_phone(),
            "password-123",
        )
        .await;
    let waiting = api.get(&door, &resident).await;
    assert_eq!(waiting.status, StatusCode::OK, "{:?}", waiting.body);
    assert_eq!(waiting.body["pending_codes"].as_u64().unwrap(), before + 1);

    // The update seals that key to the lock, beside (and apart from) the code secret.
    let opened = common::opened_door_update(api, &admin, &lock).await;
    assert_eq!(opened.report_key, Some(secret));
    let code_secret = opened.code_secret.unwrap();
    assert_ne!(code_secret, secret);

    // The resident's phone reports a contact: battery, when, which app.
    let seen = api
        .post(&contact, &resident, report(&secret, &lock, 0, 15))
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{:?}", seen.body);
    assert_eq!(seen.body["battery"], 15);
    assert_eq!(seen.body["low_battery"], true);
    assert_eq!(seen.body["last_contact_app"], "NoKey Resident");
    assert!(seen.body["last_contact_at"].is_string());
    let l = api.get(&format!("/api/v1/locks/{lock}"), &admin).await;
    assert_eq!(l.body["battery"], 15);
    assert_eq!(l.body["firmware"], "vlock-1");

    // A report the lock did not sign is refused: another battery, another version, another
    // lock's secret.
    let mut lie = report(&secret, &lock, 0, 15);
    lie["battery"] = json!(99);
    let refused = api.post(&contact, &resident, lie).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        refused.body
    );
    let mut lie = report(&secret, &lock, 0, 15);
    lie["door_version"] = json!(7);
    assert_eq!(
        api.post(&contact, &resident, lie).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let other = api
        .post(&contact, &resident, report(&[9; 32], &lock, 0, 15))
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    let under_code_secret = api
        .post(&contact, &resident, report(&code_secret, &lock, 0, 15))
        .await;
    assert_eq!(under_code_secret.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A lock without a report key yet sends zeros: no contact.
    let mut unsigned = report(&secret, &lock, 0, 15);
    unsigned["receipt"] = json!(STANDARD.encode([0u8; 32]));
    assert_eq!(
        api.post(&contact, &resident, unsigned).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A genuine receipt for a version the server never issued (a restored database) is
    // refused, and nothing moves.
    let forged = api
        .post(&contact, &resident, report(&secret, &lock, 12345, 15))
        .await;
    assert_eq!(forged.status, StatusCode::CONFLICT, "{:?}", forged.body);
    let after = api.get(&door, &admin).await;
    assert_eq!(after.body["confirmed_version"], 0);

    // Someone who may not open the lock may not report on it.
    let (_, other) = api
        .team_member(
            &admin,
            "elsewhere@door.example",
            json!(["view_logs"]),
            json!({"type": "units", "unit_ids": [units[1]]}),
        )
        .await;
    let refused = api
        .call(
            Method::POST,
            &contact,
            Some(&other),
            Some(report(&secret, &lock, 0, 99)),
        )
        .await;
    assert!(
        refused.status == StatusCode::FORBIDDEN || refused.status == StatusCode::NOT_FOUND,
        "{:?}",
        refused.body
    );
    let unchanged = api.get(&door, &admin).await;
    assert_eq!(unchanged.body["battery"], 15);
}
