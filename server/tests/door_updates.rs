//! The door follows the platform, in one process: the server issues signed, sealed door
//! updates, a phone carries them to a virtual lock in ordinary sessions (a resident's as
//! well as a team member's), the lock's status goes back as a contact, and the keypad does
//! what the platform says: a new resident's passcode opens, a one-time code opens once, a
//! mode that forbids residents refuses them, a revoked resident's passcode is refused.

mod common;

use access_domain::LockMode;
use lock_protocol::command::{Command, RefusalReason, Response};
use reqwest::StatusCode;
use serde_json::{Value, json};
use virtual_lock::KeypadOutcome;

use common::Api;
use common::paired::{b64, pair, pair_bare};

fn opened(o: KeypadOutcome) -> bool {
    matches!(o, KeypadOutcome::Opened { .. })
}

async fn passcode_on(api: &Api, admin: &str, user: &str, lock: &str) -> (String, String) {
    let d = api.get(&format!("/api/v1/users/{user}"), admin).await;
    let p = d.body["passcodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["lock_id"] == lock)
        .unwrap_or_else(|| panic!("no passcode on {lock}: {}", d.body));
    (
        p["code"].as_str().unwrap().to_string(),
        p["sync_state"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_contacts_bring_the_keypad_in_line_with_the_platform() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Maple", &["101"]).await;
    let mut p = pair(api, &admin, &units[0], "Maple 101").await;
    p.set_mode(api, &admin, "resident").await;

    // A new resident: their passcode waits, then one contact by their own phone installs it.
    let rid = api
        .invite(
            &admin,
            json!({"user_type": "resident", "email": "ana@maple.example",
                   "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    let resident = api
        .register(
            &admin,
            "ana@maple.example",
            "ana@maple.example",
            &common::next_phone(),
            "password-123",
        )
        .await;
    let (code, state) = passcode_on(api, &admin, &rid, &p.id).await;
    assert_eq!(state, "pending");
    assert!(!opened(p.lock.keypad(&code)), "not on the lock yet");
    let door = p.contact(api, &resident).await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(door["pending_codes"], 0);
    assert_eq!(door["last_contact_app"], "NoKey Resident");
    assert_eq!(p.lock.state().mode, LockMode::Resident);
    assert!(
        opened(p.lock.keypad(&code)),
        "the resident's passcode opens"
    );
    assert_eq!(passcode_on(api, &admin, &rid, &p.id).await.1, "installed");
    // The lock's log, as a phone carries it: the keypad's unlock names the passcode's holder.
    p.carry_log(api, &admin).await;
    let holder = api.get(&format!("/api/v1/users/{rid}"), &admin).await;
    let entries = api.lock_entries(&admin, &p.id).await;
    assert!(
        entries.iter().any(|e| e["action"] == "unlock"
            && e["method"] == "keypad"
            && e["user_id"] == rid.as_str()
            && e["user_name"] == holder.body["name"]),
        "{entries:?}"
    );
    // Nothing changed: the same update again, and the lock stays as it is.
    let again = p.contact(api, &resident).await;
    assert_eq!(again["confirmed_version"], door["confirmed_version"]);

    // A one-time code given on the platform opens once after the next contact.
    let given = p
        .give(
            api,
            &admin,
            json!({"kind": "one_time", "label": "Plumber", "delivery": "ble"}),
        )
        .await;
    assert_eq!(given.status, StatusCode::CREATED, "{:?}", given.body);
    let one_time = given.body["code"].as_str().unwrap().to_string();
    let waiting = api
        .get(&format!("/api/v1/locks/{}/door", p.id), &admin)
        .await;
    assert_eq!(waiting.body["in_step"], false);
    p.set_mode(api, &admin, "vacant").await; // guests open in vacant mode
    p.contact(api, &admin).await;
    assert!(
        opened(p.lock.keypad(&one_time)),
        "the one-time code opens once"
    );
    assert!(!opened(p.lock.keypad(&one_time)), "and only once");

    // A mode that forbids residents reaches the door.
    assert!(
        matches!(
            p.lock.keypad(&code),
            KeypadOutcome::Refused {
                reason: RefusalReason::ModeForbids,
                ..
            }
        ),
        "vacant mode refuses the resident"
    );
    p.set_mode(api, &admin, "resident").await;
    p.contact(api, &resident).await;
    assert!(opened(p.lock.keypad(&code)));

    // A revoked resident's passcode leaves the lock at the next contact (a staff phone's).
    let r = api.revoke(&admin, &rid).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let door = p.contact(api, &admin).await;
    assert_eq!(door["in_step"], true, "{door}");
    assert!(
        !opened(p.lock.keypad(&code)),
        "the revoked passcode is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_cannot_be_replayed_moved_or_read_by_its_carrier() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Oak", &["1", "2"]).await;
    let mut a = pair_bare(api, &admin, &units[0], "Oak 1").await;
    let mut b = pair_bare(api, &admin, &units[1], "Oak 2").await;
    let first = a.door_update(api, &admin).await;
    let first_bytes = b64(&first.body["updates"][0]);
    // The master code travels sealed: the carrier's bytes do not hold it.
    let master = api
        .get(&format!("/api/v1/locks/{}/master-code", a.id), &admin)
        .await;
    let master = master.body["code"].as_str().unwrap().to_string();
    assert!(
        !first_bytes
            .windows(master.len())
            .any(|w| w == master.as_bytes()),
        "the master code is readable in the update"
    );
    // Another lock refuses it.
    assert_eq!(
        b.run(api, &admin, Command::ApplyUpdate(first_bytes.clone()))
            .await,
        Response::Refused {
            reason: RefusalReason::BadUpdate
        }
    );
    // Its own lock takes it once; a replay is stale.
    assert!(matches!(
        a.run(api, &admin, Command::ApplyUpdate(first_bytes.clone()))
            .await,
        Response::UpdateApplied { .. }
    ));
    assert_eq!(
        a.run(api, &admin, Command::ApplyUpdate(first_bytes.clone()))
            .await,
        Response::Refused {
            reason: RefusalReason::StaleUpdate
        }
    );
    // A newer update, then the older one again: refused, the lock keeps the newer state.
    a.rename(api, &admin, "Oak 1 front").await;
    let second = a.door_update(api, &admin).await;
    assert!(second.body["version"].as_u64() > first.body["version"].as_u64());
    assert!(matches!(
        a.run(
            api,
            &admin,
            Command::ApplyUpdate(b64(&second.body["updates"][0]))
        )
        .await,
        Response::UpdateApplied { .. }
    ));
    assert_eq!(a.lock.state().name, "Oak 1 front");
    assert_eq!(
        a.run(api, &admin, Command::ApplyUpdate(first_bytes)).await,
        Response::Refused {
            reason: RefusalReason::StaleUpdate
        }
    );
    assert_eq!(a.lock.state().name, "Oak 1 front");
    // A tampered byte anywhere: refused, nothing changes.
    let mut tampered = b64(&second.body["updates"][0]);
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    let before = a.lock.state().clone();
    assert!(
        a.run(api, &admin, Command::ApplyUpdate(tampered))
            .await
            .is_refusal()
    );
    assert_eq!(a.lock.state().name, before.name);
    let _ = &mut b;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_code_revoked_alone_leaves_the_lock_at_the_next_contact() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Elm", &["1"]).await;
    let mut p = pair(api, &admin, &units[0], "Elm 1").await;
    // Vacant: given (guest) codes open.
    p.set_mode(api, &admin, "vacant").await;
    let give = |label: &'static str| json!({"kind": "permanent", "label": label});
    let cleaner = p.give(api, &admin, give("Cleaner")).await;
    let plumber = p.give(api, &admin, give("Plumber")).await;
    assert_eq!(cleaner.status, StatusCode::CREATED, "{:?}", cleaner.body);
    let digits = |a: &common::Answer| a.body["code"].as_str().unwrap().to_string();
    let (cleaner_code, plumber_code) = (digits(&cleaner), digits(&plumber));
    p.contact(api, &admin).await;
    assert!(opened(p.lock.keypad(&cleaner_code)));
    assert!(opened(p.lock.keypad(&plumber_code)));

    let revoke = api
        .post(
            &format!(
                "/api/v1/locks/{}/access-codes/{}/revoke",
                p.id,
                cleaner.body["id"].as_str().unwrap()
            ),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(revoke.status, StatusCode::OK, "{:?}", revoke.body);
    assert!(revoke.body["revoked_at"].is_string(), "{:?}", revoke.body);
    // Until a phone comes, the lock still holds it; the next contact takes it away alone.
    assert!(opened(p.lock.keypad(&cleaner_code)));
    let door = p.contact(api, &admin).await;
    assert_eq!(door["in_step"], true, "{door}");
    assert!(
        !opened(p.lock.keypad(&cleaner_code)),
        "a revoked code still opens"
    );
    assert!(
        opened(p.lock.keypad(&plumber_code)),
        "the other code went too"
    );
    let codes = api
        .get(&format!("/api/v1/locks/{}/access-codes", p.id), &admin)
        .await;
    let listed = |id: &Value| {
        codes.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == *id)
            .cloned()
            .unwrap()
    };
    assert!(listed(&cleaner.body["id"])["revoked_at"].is_string());
    assert!(listed(&plumber.body["id"])["revoked_at"].is_null());
}

/// One passcode renewed alone (say it was seen): the old one leaves the lock at the next
/// contact and the new one opens from then; the resident's other passcodes and the given
/// codes stay; nobody else may renew it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_passcode_renewed_alone_leaves_the_lock_at_the_next_contact() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Ash", &["1"]).await;
    let mut p = pair(api, &admin, &units[0], "Ash 1").await;
    p.set_mode(api, &admin, "resident").await;
    let rid = api
        .invite(
            &admin,
            json!({"user_type": "resident", "email": "kai@ash.example",
                   "access": {"type": "units", "unit_ids": [units[0]]}}),
        )
        .await;
    let resident = api
        .register(
            &admin,
            "kai@ash.example",
            "kai@ash.example",
            &common::next_phone(),
            "password-123",
        )
        .await;
    let (old, _) = passcode_on(api, &admin, &rid, &p.id).await;
    p.contact(api, &resident).await;
    assert!(opened(p.lock.keypad(&old)));

    let path = format!("/api/v1/users/{rid}/passcodes/{}/renew", p.id);
    // Not the resident, and not for a lock where they hold none.
    let own = api.post(&path, &resident, json!({})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{:?}", own.body);
    let elsewhere = api
        .post(
            &format!(
                "/api/v1/users/{rid}/passcodes/{}/renew",
                uuid::Uuid::new_v4()
            ),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{:?}",
        elsewhere.body
    );

    let renewed = api.post(&path, &admin, json!({})).await;
    assert_eq!(renewed.status, StatusCode::OK, "{:?}", renewed.body);
    let (new, state) = passcode_on(api, &admin, &rid, &p.id).await;
    assert_ne!(new, old);
    assert_eq!(state, "pending");
    // Until a phone comes, the lock holds the old one; the next contact swaps them.
    assert!(opened(p.lock.keypad(&old)));
    let door = p.contact(api, &resident).await;
    assert_eq!(door["in_step"], true, "{door}");
    assert!(!opened(p.lock.keypad(&old)), "the old passcode still opens");
    assert!(
        opened(p.lock.keypad(&new)),
        "the new passcode does not open"
    );
    let (_, state) = passcode_on(api, &admin, &rid, &p.id).await;
    assert_eq!(state, "installed");
}

/// A door with more codes than one update holds (250 given codes: the protocol takes 100 an
/// update) gets them all at one contact, as a chain the phone carries in order; after that
/// only the difference travels: a revoke and a rename are one small delta on the version
/// the lock confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_door_larger_than_one_update_follows_the_platform_by_chains_and_deltas() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Birch", &["1"]).await;
    let mut p = pair(api, &admin, &units[0], "Birch 1").await;
    p.set_mode(api, &admin, "vacant").await;
    let given = p.give_crew(api, &admin, 250).await;
    let path = format!("/api/v1/locks/{}/door-update", p.id);
    let chain = api.get(&path, &admin).await;
    let updates = chain.body["updates"].as_array().unwrap();
    assert!(updates.len() >= 3, "250 codes in {} updates", updates.len());
    let door = p.contact(api, &admin).await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(door["pending_codes"], 0, "{door}");
    // The pairing's own staff passcode beside the 250.
    let held = p.lock.state().codes.len();
    assert!(held >= 250, "{held} codes held");
    for (_, digits) in [&given[0], &given[124], &given[249]] {
        assert!(opened(p.lock.keypad(digits)), "{digits} does not open");
    }

    // One revoke and a rename: one delta on the confirmed version, nothing put again.
    let confirmed = door["confirmed_version"].as_u64().unwrap();
    let revoke = api
        .post(
            &format!("/api/v1/locks/{}/access-codes/{}/revoke", p.id, given[7].0),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(revoke.status, StatusCode::OK, "{:?}", revoke.body);
    p.rename(api, &admin, "Birch 1 side").await;
    let next = api.get(&path, &admin).await;
    let updates = next.body["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1, "{:?}", next.body);
    let delta = lock_protocol::door::unverified(&b64(&updates[0])).unwrap();
    assert_eq!(delta.base_version, confirmed);
    assert!(delta.put_codes.is_empty() && delta.master_code.is_none());
    assert_eq!(delta.remove_codes.len(), 1);
    assert_eq!(delta.name.as_deref(), Some("Birch 1 side"));
    let door = p.contact(api, &admin).await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(p.lock.state().codes.len(), held - 1);
    assert!(
        !opened(p.lock.keypad(&given[7].1)),
        "a revoked code still opens"
    );
    assert!(opened(p.lock.keypad(&given[8].1)));
    assert_eq!(p.lock.state().name, "Birch 1 side");
}

/// A code the lock cannot take fails with the lock's own reason, and does not hold up the
/// rest: a staff phone installed digits directly over Bluetooth that the platform then gave
/// to a new code; the lock refuses the update naming that code and logs why; once its
/// (MACed) log reaches the server the code is failed with the reason, and the next update,
/// without it, brings the other change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_the_lock_refuses_fails_with_its_reason_and_the_rest_follows() {
    use lock_protocol::command::AccessCode;
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Pine", &["1"]).await;
    let mut p = pair(api, &admin, &units[0], "Pine 1").await;
    // More codes than one whole update holds: updates go as the difference from the
    // version the lock confirmed, so a code the lock holds beside them stays and can clash.
    p.give_crew(api, &admin, 100).await;
    p.contact(api, &admin).await;

    let given = p
        .give(api, &admin, json!({"kind": "permanent", "label": "Clash"}))
        .await;
    assert_eq!(given.status, StatusCode::CREATED, "{:?}", given.body);
    let digits = given.body["code"].as_str().unwrap().to_string();
    let direct = AccessCode {
        code_id: 4242,
        digits: digits.clone(),
        kind: access_domain::AccessCodeKind::Permanent,
        window: None,
        class: access_domain::CodeClass::Guest,
        owner: None,
    };
    assert_eq!(
        p.run(api, &admin, Command::AddAccessCode(direct)).await,
        Response::CodeInstalled { code_id: 4242 }
    );
    p.rename(api, &admin, "Pine 1 back").await;
    let u = p.door_update(api, &admin).await;
    let refused = p
        .run(
            api,
            &admin,
            Command::ApplyUpdate(b64(&u.body["updates"][0])),
        )
        .await;
    assert_eq!(
        refused,
        Response::Refused {
            reason: RefusalReason::DuplicateCode
        }
    );
    // Carried again by another phone: refused again, logged once.
    p.run(
        api,
        &admin,
        Command::ApplyUpdate(b64(&u.body["updates"][0])),
    )
    .await;
    let page = p.carry_log(api, &admin).await;
    let refusals = page
        .entries()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.event, lock_protocol::command::Event::UpdateRefused { .. }))
        .count();
    assert_eq!(refusals, 1);

    let codes = api
        .get(&format!("/api/v1/locks/{}/access-codes", p.id), &admin)
        .await;
    let code = codes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == given.body["id"])
        .cloned()
        .unwrap();
    assert_eq!(code["sync_state"], "failed", "{code}");
    assert!(
        code["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("already used")),
        "{code}"
    );
    let entries = api.lock_entries(&admin, &p.id).await;
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "update_refused" && e["code_id"] == given.body["id"]),
        "{entries:?}"
    );
    // Without the failed code, the rename reaches the lock and the door is in step.
    let door = p.contact(api, &admin).await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(p.lock.state().name, "Pine 1 back");
}

/// A change undone before any phone came leaves the door in step, and the next answer is
/// newer than the update of the undone change (which a phone may hold: it must not win).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_undone_before_any_contact_leaves_the_door_in_step() {
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Cedar", &["1"]).await;
    let mut p = pair(api, &admin, &units[0], "Cedar 1").await;
    let door = p.contact(api, &admin).await;
    let confirmed = door["confirmed_version"].as_u64().unwrap();
    let path = format!("/api/v1/locks/{}", p.id);
    let mut versions = Vec::new();
    for name in ["Cedar 1 side", "Cedar 1"] {
        let r = api.patch(&path, &admin, json!({"name": name})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        // A phone fetches the update for the intermediate name, and never carries it.
        let u = api.get(&format!("{path}/door-update"), &admin).await;
        assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
        versions.push(u.body["version"].as_u64().unwrap());
    }
    assert!(
        versions[0] > confirmed && versions[1] > versions[0],
        "{versions:?}"
    );
    let state = api.get(&format!("{path}/door"), &admin).await;
    assert_eq!(state.body["in_step"], true, "{:?}", state.body);
    let door = p.contact(api, &admin).await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(p.lock.state().name, "Cedar 1");
}
