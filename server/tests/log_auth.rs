//! The lock's log is authentic: the server stores only pages the lock MACed under its
//! report key (which reaches it sealed in door updates), decodes the entries itself, keeps
//! each lock sequence number once, and takes code states only from what the lock said.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::command::{Actor, Command, Event, LogEntry, MAX_LOG_BATCH, Response, Via};
use lock_protocol::credential::UserClass;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use common::paired::{b64, pair_bare};
use common::{Api, TestServer, log_entry, log_page};

fn unlock_by(seq: u64, user: Uuid) -> LogEntry {
    log_entry(
        seq,
        Actor::User {
            user_id: user,
            class: UserClass::Staff,
            serial: 1,
        },
        Via::Ble,
        Event::Unlocked,
    )
}

fn upload(pages: Vec<Value>) -> Value {
    json!({ "pages": pages })
}

async fn post_logs(api: &Api, token: &str, lock: &str, body: Value) -> common::Answer {
    api.post(&format!("/api/v1/locks/{lock}/logs"), token, body)
        .await
}

struct Site {
    t: TestServer,
    admin: String,
    admin_id: Uuid,
    units: Vec<String>,
    lock: String,
    other_lock: String,
}

async fn site() -> Site {
    let t = common::start().await;
    let admin = t.api.admin().await;
    let me = t.api.get("/api/v1/me", &admin).await;
    let admin_id = Uuid::parse_str(me.body["id"].as_str().unwrap()).unwrap();
    let (_, units) = t.api.property(&admin, "Log", &["1", "2"]).await;
    let lock = t.api.lock(&admin, &units[0], "Front").await;
    let other_lock = t.api.lock(&admin, &units[1], "Back").await;
    Site {
        t,
        admin,
        admin_id,
        units,
        lock,
        other_lock,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_entry_naming_someone_is_refused_and_nothing_is_stored() {
    let s = site().await;
    let api = &s.t.api;
    let key = s.t.report_key(&s.admin, &s.lock).await;
    let forged = [unlock_by(1, s.admin_id)];
    // Under another key, unsigned, altered after signing, or beside a genuine page: each
    // upload is refused whole.
    let genuine = log_page(
        &key,
        &s.lock,
        &[log_entry(2, Actor::Lock, Via::Ble, Event::Locked)],
    );
    let mut altered = log_page(&key, &s.lock, &forged);
    let mut bytes = STANDARD
        .decode(altered["entries"].as_str().unwrap())
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    altered["entries"] = json!(STANDARD.encode(bytes));
    let mut unsigned = log_page(&key, &s.lock, &forged);
    unsigned["mac"] = json!(STANDARD.encode([0u8; 32]));
    for pages in [
        vec![log_page(&[1; 32], &s.lock, &forged)],
        vec![unsigned],
        vec![altered],
        vec![genuine.clone(), log_page(&[1; 32], &s.lock, &forged)],
        vec![json!({"entries": "", "mac": STANDARD.encode([7u8; 32])})],
    ] {
        let r = post_logs(api, &s.admin, &s.lock, upload(pages)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
        assert_eq!(r.code(), "validation_failed");
    }
    assert!(api.lock_entries(&s.admin, &s.lock).await.is_empty());
    // Only the lock's own page goes in.
    let r = post_logs(api, &s.admin, &s.lock, upload(vec![genuine])).await;
    assert_eq!(r.body, json!({"accepted": 1, "duplicates": 0}));
    let stored = api.lock_entries(&s.admin, &s.lock).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["action"], "lock");
    assert_eq!(stored[0]["user_id"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_sequence_numbers_cannot_be_pre_uploaded() {
    let s = site().await;
    let api = &s.t.api;
    let key = s.t.report_key(&s.admin, &s.lock).await;
    // Someone tries to take sequence numbers 1..=3 before the lock's entries arrive.
    let squatted: Vec<LogEntry> = (1..=3).map(|n| unlock_by(n, s.admin_id)).collect();
    let r = post_logs(
        api,
        &s.admin,
        &s.lock,
        upload(vec![log_page(&[2; 32], &s.lock, &squatted)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    // The lock's real entries with those numbers are all taken.
    let real: Vec<LogEntry> = (1..=3)
        .map(|n| log_entry(n, Actor::MasterCode, Via::MasterCode, Event::Unlocked))
        .collect();
    let r = post_logs(
        api,
        &s.admin,
        &s.lock,
        upload(vec![log_page(&key, &s.lock, &real)]),
    )
    .await;
    assert_eq!(r.body, json!({"accepted": 3, "duplicates": 0}));
    let stored = api.lock_entries(&s.admin, &s.lock).await;
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|e| e["method"] == "master_code"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_lock_is_refused() {
    let s = site().await;
    let api = &s.t.api;
    let other_key = s.t.report_key(&s.admin, &s.other_lock).await;
    let key = s.t.report_key(&s.admin, &s.lock).await;
    assert_ne!(key, other_key);
    let entries = [log_entry(1, Actor::Lock, Via::Ble, Event::Locked)];
    let theirs = log_page(&other_key, &s.other_lock, &entries);
    let r = post_logs(api, &s.admin, &s.lock, upload(vec![theirs.clone()])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(api.lock_entries(&s.admin, &s.lock).await.is_empty());
    // Where it belongs it is taken.
    let r = post_logs(api, &s.admin, &s.other_lock, upload(vec![theirs])).await;
    assert_eq!(r.body, json!({"accepted": 1, "duplicates": 0}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_page_adds_nothing() {
    let s = site().await;
    let api = &s.t.api;
    let key = s.t.report_key(&s.admin, &s.lock).await;
    let page = log_page(
        &key,
        &s.lock,
        &[
            log_entry(1, Actor::MasterCode, Via::MasterCode, Event::Unlocked),
            log_entry(2, Actor::Lock, Via::Ble, Event::Locked),
        ],
    );
    let r = post_logs(api, &s.admin, &s.lock, upload(vec![page.clone()])).await;
    assert_eq!(r.body, json!({"accepted": 2, "duplicates": 0}));
    for pages in [vec![page.clone()], vec![page.clone(), page]] {
        let r = post_logs(api, &s.admin, &s.lock, upload(pages)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["accepted"], 0);
    }
    assert_eq!(api.lock_entries(&s.admin, &s.lock).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_without_a_contact_cannot_upload_and_a_courier_can() {
    let s = site().await;
    let api = &s.t.api;
    let key = s.t.report_key(&s.admin, &s.lock).await;
    let mut tokens = Vec::new();
    for (email, unit) in [
        ("kim@log.example", &s.units[0]),
        ("lee@log.example", &s.units[1]),
    ] {
        api.invite(
            &s.admin,
            json!({"user_type": "resident", "email": email,
                   "access": {"type": "units", "unit_ids": [unit]}}),
        )
        .await;
        tokens.push(
            api.register(
                &s.admin,
                email,
                email,
                &common::next_phone(),
                "resident pw 12345",
            )
            .await,
        );
    }
    let (resident, outsider) = (tokens[0].clone(), tokens[1].clone());
    // No contact, no genuine page: whatever the resident makes up is refused.
    let made_up = [unlock_by(1, s.admin_id)];
    for k in [[0u8; 32], [3; 32]] {
        let r = post_logs(
            api,
            &resident,
            &s.lock,
            upload(vec![log_page(&k, &s.lock, &made_up)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    }
    // A resident of another unit cannot even reach the lock, genuine page or not.
    let genuine = log_page(&key, &s.lock, &[unlock_by(1, s.admin_id)]);
    let r = post_logs(api, &outsider, &s.lock, upload(vec![genuine.clone()])).await;
    assert!(
        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
        "{:?}",
        r.body
    );
    assert!(api.lock_entries(&s.admin, &s.lock).await.is_empty());
    // A resident whose phone read the page at a contact carries it, whoever it names.
    let r = post_logs(api, &resident, &s.lock, upload(vec![genuine])).await;
    assert_eq!(r.body, json!({"accepted": 1, "duplicates": 0}));
    let stored = api.lock_entries(&s.admin, &s.lock).await;
    assert_eq!(stored[0]["user_id"], json!(s.admin_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_state_cannot_be_set_by_a_phone_only_by_the_lock() {
    let s = site().await;
    let api = &s.t.api;
    let code = api
        .post(
            &format!("/api/v1/locks/{}/access-codes", s.lock),
            &s.admin,
            json!({"kind": "permanent", "label": "Cleaner"}),
        )
        .await;
    assert_eq!(code.status, StatusCode::CREATED, "{:?}", code.body);
    let code_id = code.body["id"].as_str().unwrap().to_string();
    let state = || async {
        let list = api
            .get(&format!("/api/v1/locks/{}/access-codes", s.lock), &s.admin)
            .await;
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == code_id.as_str())
            .unwrap()["sync_state"]
            .clone()
    };
    assert_eq!(state().await, "pending");
    // The phone's word is not taken: there is no route for it.
    for body in [
        json!({"state": "installed"}),
        json!({"state": "failed", "reason": "x"}),
    ] {
        let r = api
            .call(
                Method::POST,
                &format!("/api/v1/locks/{}/access-codes/{code_id}/state", s.lock),
                Some(&s.admin),
                Some(body),
            )
            .await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::METHOD_NOT_ALLOWED,
            "{:?}",
            r.status
        );
    }
    let lock_code = lock_protocol::command::code_id_of(Uuid::parse_str(&code_id).unwrap());
    let added = [log_entry(
        1,
        Actor::Lock,
        Via::Ble,
        Event::CodeAdded { code_id: lock_code },
    )];
    // Nor a page the lock did not write.
    let r = post_logs(
        api,
        &s.admin,
        &s.lock,
        upload(vec![log_page(&[5; 32], &s.lock, &added)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(state().await, "pending");
    // A code the lock added and then removed is not installed.
    let key = s.t.report_key(&s.admin, &s.lock).await;
    let removed = [
        added[0].clone(),
        log_entry(
            2,
            Actor::Lock,
            Via::Ble,
            Event::CodeRemoved { code_id: lock_code },
        ),
    ];
    let r = post_logs(
        api,
        &s.admin,
        &s.lock,
        upload(vec![log_page(&key, &s.lock, &removed)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(state().await, "pending");
    // The lock's own entry that it added the code makes it installed.
    let again = [log_entry(
        3,
        Actor::Lock,
        Via::Ble,
        Event::CodeAdded { code_id: lock_code },
    )];
    let r = post_logs(
        api,
        &s.admin,
        &s.lock,
        upload(vec![log_page(&key, &s.lock, &again)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(state().await, "installed");
    let stored = api.lock_entries(&s.admin, &s.lock).await;
    assert!(stored.iter().any(|e| e["action"] == "code_installed"
        && e["code_id"] == code_id.as_str()
        && e["code_label"] == "Cleaner"));
}

/// The whole chain on a virtual lock: the door update brings the report key, the lock MACs
/// its pages with it, the phone carries them unchanged and the server takes them, naming
/// the user who opened; before the update the lock's pages are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_locks_pages_are_taken_once_it_holds_its_report_key() {
    let t = common::start().await;
    let api = &t.api;
    let admin = t.api.admin().await;
    let me = api.get("/api/v1/me", &admin).await;
    let admin_id = me.body["id"].as_str().unwrap().to_string();
    let (_, units) = api.property(&admin, "Real", &["1"]).await;
    // Paired, no contact yet: the lock holds no report key.
    let mut p = pair_bare(api, &admin, &units[0], "Real").await;
    let read = |r: Response| match r {
        Response::Log { page, .. } => page,
        other => panic!("{other:?}"),
    };
    let as_json = |page: &lock_protocol::report::LogPage| json!({"entries": STANDARD.encode(&page.entries), "mac": STANDARD.encode(page.mac)});
    let before = read(
        p.run(
            api,
            &admin,
            Command::ReadLog {
                since: 0,
                max: MAX_LOG_BATCH,
            },
        )
        .await,
    );
    assert!(before.is_unsigned());
    let r = post_logs(api, &admin, &p.id, upload(vec![as_json(&before)])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);

    let u = api
        .get(&format!("/api/v1/locks/{}/door-update", p.id), &admin)
        .await;
    assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
    let applied = p
        .run(
            api,
            &admin,
            Command::ApplyUpdate(b64(&u.body["updates"][0])),
        )
        .await;
    assert!(
        matches!(applied, Response::UpdateApplied { .. }),
        "{applied:?}"
    );
    assert_eq!(
        p.run(api, &admin, Command::Unlock).await,
        Response::Unlocked
    );
    let page = read(
        p.run(
            api,
            &admin,
            Command::ReadLog {
                since: 0,
                max: MAX_LOG_BATCH,
            },
        )
        .await,
    );
    assert!(!page.is_unsigned());
    let n = page.entries().unwrap().len() as u64;
    let r = post_logs(api, &admin, &p.id, upload(vec![as_json(&page)])).await;
    assert_eq!(r.body, json!({"accepted": n, "duplicates": 0}));
    let stored = api.lock_entries(&admin, &p.id).await;
    assert!(
        stored
            .iter()
            .any(|e| e["action"] == "unlock" && e["user_id"] == admin_id.as_str()),
        "{stored:?}"
    );
    assert!(stored.iter().any(|e| e["action"] == "update_applied"));
    let r = post_logs(api, &admin, &p.id, upload(vec![as_json(&page)])).await;
    assert_eq!(r.body, json!({"accepted": 0, "duplicates": n}));
}
