//! Offline codes end to end in one process: the server issues them over its HTTP
//! API, a virtual lock paired in memory with the registration's install (same code secret)
//! checks them on its keypad, revocations and code resets reach it through real sessions
//! with server-signed credentials, and its log goes back to the server with each use
//! attributed to the grant's label and issuer.

mod common;

use access_domain::LockMode;
use lock_protocol::command::{Actor, Command, LogEntry, MAX_LOG_BATCH, Response};
use lock_protocol::offline_code::{CODE_LEN, HOUR, TOLERANCE_SECS};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use virtual_lock::KeypadOutcome;

use common::paired::{now, pair, pair_bare};

fn rfc3339(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn opened(o: KeypadOutcome) -> bool {
    matches!(o, KeypadOutcome::Opened { .. })
}

/// The lock's log as pages MACed under its report key, as a lock holding it sends them (a
/// phone carries them unchanged); the server names each code itself.
fn upload_body(key: &[u8; 32], lock: &str, entries: &[LogEntry]) -> Value {
    let pages: Vec<Value> = entries
        .chunks(usize::from(MAX_LOG_BATCH))
        .map(|c| common::log_page(key, lock, c))
        .collect();
    json!({ "pages": pages })
}

#[tokio::test]
async fn server_issued_offline_codes_open_the_virtual_lock() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Maple Court", &["1A", "1B"]).await;
    let mut a = pair(api, &admin, &units[0], "A").await;
    let mut b = pair(api, &admin, &units[1], "B").await;
    let hour = now() - now() % HOUR;

    // A tour window for this hour and the next, checked by the lock alone.
    let tour = a
        .give(
            api,
            &admin,
            json!({"kind": "window", "delivery": "offline", "class": "tour", "label": "Tour 2pm",
                   "starts_at": rfc3339(hour), "ends_at": rfc3339(hour + 2 * HOUR)}),
        )
        .await;
    assert_eq!(tour.status, StatusCode::CREATED, "{:?}", tour.body);
    assert_eq!(tour.body["delivery"], "offline");
    assert_eq!(tour.body["sync_state"], "installed");
    let code = tour.body["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), CODE_LEN);
    let KeypadOutcome::Opened { actor, .. } = a.lock.keypad(&code) else {
        panic!("the server's code did not open lock A");
    };
    let tour_id = Uuid::parse_str(tour.body["id"].as_str().unwrap()).unwrap();
    assert!(matches!(actor, Actor::Code { code_id, .. } if code_id == tour_id.as_u64_pair().0));
    // Lock B has its own secret and id: the code is a wrong entry there.
    assert!(!opened(b.lock.keypad(&code)));
    // Guest code: not in tour mode.
    let guest = a
        .give(
            api,
            &admin,
            json!({"kind": "window", "delivery": "offline", "class": "guest", "label": "Plumber",
                   "starts_at": rfc3339(hour), "ends_at": rfc3339(hour + 3 * HOUR)}),
        )
        .await;
    assert_eq!(guest.status, StatusCode::CREATED, "{:?}", guest.body);
    let guest_code = guest.body["code"].as_str().unwrap().to_string();
    assert!(!opened(a.lock.keypad(&guest_code)));
    assert_eq!(
        a.run(api, &admin, Command::SetMode(LockMode::Vacant)).await,
        Response::ModeSet(LockMode::Vacant)
    );
    assert!(opened(a.lock.keypad(&guest_code)));
    assert!(!opened(a.lock.keypad(&code)));
    assert_eq!(
        a.run(api, &admin, Command::SetMode(LockMode::Tour)).await,
        Response::ModeSet(LockMode::Tour)
    );

    // One-time: once.
    let once = a
        .give(
            api,
            &admin,
            json!({"kind": "one_time", "delivery": "offline", "class": "tour", "label": "Walk-in"}),
        )
        .await;
    assert_eq!(once.status, StatusCode::CREATED, "{:?}", once.body);
    let once_code = once.body["code"].as_str().unwrap().to_string();
    assert!(opened(a.lock.keypad(&once_code)));
    assert!(!opened(a.lock.keypad(&once_code)));

    // Revocation: listed, carried in the lock's door update by a staff contact, then refused.
    let revoke = api
        .post(
            &format!("/api/v1/locks/{}/access-codes/{}/revoke", a.id, tour_id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(revoke.status, StatusCode::OK, "{:?}", revoke.body);
    assert!(revoke.body["revoked_at"].is_string());
    let again = api
        .post(
            &format!("/api/v1/locks/{}/access-codes/{}/revoke", a.id, tour_id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let list = api
        .get(&format!("/api/v1/locks/{}/revocations", a.id), &admin)
        .await;
    let listed = list.body["revoked"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r["serial"].as_u64() == Some(tour_id.as_u64_pair().0))
    );
    assert!(
        opened(a.lock.keypad(&code)),
        "still opens before the update"
    );
    a.contact(api, &admin).await;
    assert!(!opened(a.lock.keypad(&code)));

    // Window end: one minute past the tolerance the guest code is refused.
    let guest_end = hour + 3 * HOUR;
    assert_eq!(
        a.run(api, &admin, Command::SetMode(LockMode::Vacant)).await,
        Response::ModeSet(LockMode::Vacant)
    );
    a.clock.set(guest_end + TOLERANCE_SECS - 1);
    assert!(opened(a.lock.keypad(&guest_code)));
    a.clock.set(guest_end + TOLERANCE_SECS + 60);
    assert!(!opened(a.lock.keypad(&guest_code)));
    a.clock.set(now());

    // The log goes to the server: uses are attributed, refusals visible to staff.
    let key = t.report_key(&admin, &a.id).await;
    let entries = a.lock.state().log.since(0, 1000);
    let up = api
        .post(
            &format!("/api/v1/locks/{}/logs", a.id),
            &admin,
            upload_body(&key, &a.id, &entries),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.body);
    let logs = api
        .get(&format!("/api/v1/locks/{}/logs?limit=1000", a.id), &admin)
        .await;
    let logs = logs.body["items"].as_array().unwrap();
    let labelled = |label: &str| {
        logs.iter()
            .filter(|l| l["action"] == "unlock" && l["code_label"] == label)
            .count()
    };
    assert_eq!(labelled("Tour 2pm"), 2);
    assert_eq!(labelled("Walk-in"), 1);
    assert_eq!(labelled("Plumber"), 2);
    assert!(logs.iter().any(|l| l["action"] == "keypad_refused"));
    // A later page: the server names the code itself.
    let head = a.lock.state().log.head;
    assert!(opened(a.lock.keypad(&guest_code)));
    let fresh = a.lock.state().log.since(head, 10);
    let up = api
        .post(
            &format!("/api/v1/locks/{}/logs", a.id),
            &admin,
            upload_body(&key, &a.id, &fresh),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.body);
    let logs = api
        .get(&format!("/api/v1/locks/{}/logs?limit=1000", a.id), &admin)
        .await;
    let plumber = logs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"] == "unlock" && l["code_label"] == "Plumber")
        .count();
    assert_eq!(plumber, 3);
    let offline = api
        .get(&format!("/api/v1/locks/{}/offline-codes", a.id), &admin)
        .await;
    assert_eq!(offline.status, StatusCode::OK, "{:?}", offline.body);
    let items = offline.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let tour_row = items.iter().find(|c| c["label"] == "Tour 2pm").unwrap();
    assert_eq!(tour_row["uses"], 2);
    let plumber_row = items.iter().find(|c| c["label"] == "Plumber").unwrap();
    assert_eq!(plumber_row["uses"], 3);
    assert!(tour_row["revoked_at"].is_string());
    assert_eq!(tour_row["class"], "tour");
    let walk_in = items.iter().find(|c| c["label"] == "Walk-in").unwrap();
    assert_eq!(
        (walk_in["uses"].as_u64(), walk_in["kind"].as_str()),
        (Some(1), Some("one_time"))
    );
}

#[tokio::test]
async fn after_reset_codes_the_server_issues_with_the_new_secret() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Birch", &["2A"]).await;
    let mut a = pair(api, &admin, &units[0], "A").await;
    let hour = now() - now() % HOUR;
    let body = json!({"kind": "window", "delivery": "offline", "class": "tour", "label": "Before",
                      "starts_at": rfc3339(hour), "ends_at": rfc3339(hour + HOUR)});
    let old = a.give(api, &admin, body).await;
    let old_code = old.body["code"].as_str().unwrap().to_string();
    assert!(opened(a.lock.keypad(&old_code)));

    let reset = api
        .post(
            &format!("/api/v1/locks/{}/reset-codes", a.id),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{:?}", reset.body);
    // The reset reaches the lock at the next contact, sealed in its door update.
    a.contact(api, &admin).await;
    assert!(
        !opened(a.lock.keypad(&old_code)),
        "old secret's code still opens"
    );
    let body = json!({"kind": "window", "delivery": "offline", "class": "tour", "label": "After",
                      "starts_at": rfc3339(hour), "ends_at": rfc3339(hour + HOUR)});
    let new = a.give(api, &admin, body).await;
    assert_eq!(new.status, StatusCode::CREATED, "{:?}", new.body);
    let new_code = new.body["code"].as_str().unwrap().to_string();
    assert_ne!(new_code, old_code);
    assert!(opened(a.lock.keypad(&new_code)));
}

#[tokio::test]
async fn offline_codes_follow_give_access_and_scope_and_validate_windows() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Cedar", &["3A", "3B"]).await;
    let a = pair_bare(api, &admin, &units[0], "A").await;
    let b = pair_bare(api, &admin, &units[1], "B").await;
    let hour = now() - now() % HOUR;
    let window = |s: u64, e: u64| json!({"kind": "window", "delivery": "offline", "starts_at": rfc3339(s), "ends_at": rfc3339(e)});
    // Give access on unit 3A only.
    let (_, agent) = api
        .team_member(
            &admin,
            "agent-offline@example.com",
            json!(["give_access"]),
            json!({"type": "units", "unit_ids": [units[0]]}),
        )
        .await;
    let (_, viewer) = api
        .team_member(
            &admin,
            "viewer-offline@example.com",
            json!(["view_logs"]),
            json!({"type": "all_locks"}),
        )
        .await;
    let ok = a.give(api, &agent, window(hour, hour + HOUR)).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    // The class follows the lock's mode on the server unless given: guest (vacant) ...
    assert_eq!(ok.body["class"], "guest");
    let mode = api
        .put(
            &format!("/api/v1/locks/{}/mode", a.id),
            &admin,
            json!({"mode": "tour"}),
        )
        .await;
    assert_eq!(mode.status, StatusCode::OK, "{:?}", mode.body);
    // ... and tour in tour mode.
    let tour = a.give(api, &agent, window(hour, hour + HOUR)).await;
    assert_eq!(tour.body["class"], "tour");
    assert_eq!(
        b.give(api, &agent, window(hour, hour + HOUR)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.give(api, &viewer, window(hour, hour + HOUR)).await.status,
        StatusCode::FORBIDDEN
    );
    for (body, what) in [
        (window(hour + 60, hour + HOUR), "not on the hour"),
        (window(hour, hour + 721 * HOUR), "over 30 days"),
        (window(hour - 3 * HOUR, hour - 2 * HOUR), "over"),
        (
            json!({"kind": "permanent", "delivery": "offline"}),
            "permanent",
        ),
    ] {
        let r = a.give(api, &agent, body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {:?}",
            r.body
        );
    }
    // Nine tour grants for one exact window, then 409; each with its own code.
    let mut seen = std::collections::HashSet::new();
    seen.insert(ok.body["code"].as_str().unwrap().to_string());
    seen.insert(tour.body["code"].as_str().unwrap().to_string());
    for _ in 1..9 {
        let r = a.give(api, &agent, window(hour, hour + HOUR)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert!(seen.insert(r.body["code"].as_str().unwrap().to_string()));
    }
    assert_eq!(
        a.give(api, &agent, window(hour, hour + HOUR)).await.status,
        StatusCode::CONFLICT
    );
    // BLE codes are unchanged: the default delivery, the server's digits, pending.
    let ble = a
        .give(api, &agent, json!({"kind": "one_time", "label": "BLE"}))
        .await;
    assert_eq!(ble.status, StatusCode::CREATED, "{:?}", ble.body);
    assert_eq!(ble.body["sync_state"], "pending");
    assert_eq!(
        ble.body["code"].as_str().unwrap().len(),
        access_server::secrets::ACCESS_CODE_DIGITS
    );
    let ble_id = ble.body["id"].as_str().unwrap();
    let r = api
        .post(
            &format!("/api/v1/locks/{}/access-codes/{ble_id}/revoke", a.id),
            &agent,
            json!({}),
        )
        .await;
    // A code over BLE is revoked alone too: it leaves the lock with the next update.
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["revoked_at"].is_string() && r.body.get("grant_reference").is_none());
    let bad = a
        .give(api, &agent, json!({"kind": "one_time", "class": "tour"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
