//! What the apps' screens call on site, through access-core against the real server
//! in-process and the virtual lock's brain over the in-memory transport: pairing onto a lock
//! added on the web, the places a technician may pair, the unlock's phases, the mode's own
//! refusal, a resident's guest code, and each action with the reason it is not allowed.

mod support;

use std::sync::{Arc, Mutex};

use access_core::ble::{PairingPhase, UnlockPhase, UnlockProgress};
use access_core::{AccessError, CallbackError, OfflineCodeClass, TimeWindow};
use access_domain::{AccessCodeKind, Action, LockMode};
use serde_json::json;
use virtual_lock::KeypadOutcome;

use support::{Phases, Phone};

/// Records the unlock's phases.
#[derive(Default)]
struct Told(Mutex<Vec<UnlockPhase>>);

impl UnlockProgress for Told {
    fn on_phase(&self, phase: UnlockPhase) -> Result<(), CallbackError> {
        self.0.lock().unwrap().push(phase);
        Ok(())
    }
}

fn told() -> Arc<Told> {
    Arc::new(Told::default())
}

/// A window on the hour, starting this hour, `hours` long.
fn window(hours: u64) -> TimeWindow {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = now - now % 3_600;
    let at = |s: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
    TimeWindow {
        starts_at: at(start),
        ends_at: at(start + hours * 3_600),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_pairs_onto_the_web_lock_and_residents_open_and_share() {
    let (_dir, brain, transport) = support::fresh_lock("VL-APPS-1");
    let (mut server, admin, unit) = support::site().await;
    let url = server.base_url();

    // The property manager adds the lock on the web; nobody has paired it yet.
    let added = admin
        .post(
            "/api/v1/locks",
            json!({"unit_id": unit, "name": "Unit 4B front door"}),
        )
        .await;
    let lock = added["id"].as_str().unwrap().to_string();
    let tech = support::onboard(
        &admin,
        &url,
        "team_member",
        "tech@apps.example",
        &["reset_codes", "change_modes"],
        &unit,
        &transport,
    )
    .await;
    let guard: Phone = support::onboard(
        &admin,
        &url,
        "team_member",
        "guard@apps.example",
        &[],
        &unit,
        &transport,
    )
    .await;

    // The technician's picker: the unit, with the web's lock waiting in it.
    let places = tech.client.on_site().pairing_places().await.unwrap();
    let place = places.iter().find(|p| p.unit_id == unit).expect("the unit");
    assert_eq!(place.property_name, "Oakwood");
    assert_eq!(place.unit_name, "4B");
    assert_eq!(
        place
            .waiting_locks
            .iter()
            .map(|l| &l.id)
            .collect::<Vec<_>>(),
        [&lock]
    );
    // Who may not pair sees no place, and cannot pair onto the lock either.
    assert!(
        guard
            .client
            .on_site()
            .pairing_places()
            .await
            .unwrap()
            .is_empty()
    );
    let refused = guard
        .client
        .on_site()
        .pair_onto(
            lock.clone(),
            "door".into(),
            support::PAIRING_CODE.into(),
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(AccessError::NotAllowed { .. })),
        "{refused:?}"
    );
    // A wrong code, then the right one: the web's record is paired, keeping id and name.
    let wrong = tech
        .client
        .on_site()
        .pair_onto(lock.clone(), "door".into(), "2468013579".into(), None)
        .await;
    assert!(
        matches!(wrong, Err(AccessError::WrongPairingCode)),
        "{wrong:?}"
    );
    let phases = Arc::new(Phases::default());
    let paired = tech
        .client
        .on_site()
        .pair_onto(
            lock.clone(),
            "door".into(),
            support::PAIRING_CODE.into(),
            Some(phases.clone()),
        )
        .await
        .expect("paired onto the web's lock");
    assert_eq!(paired.id, lock);
    assert_eq!(paired.name, "Unit 4B front door");
    assert!(paired.paired);
    assert_eq!(phases.0.lock().unwrap().last(), Some(&PairingPhase::Done));
    let on_server = admin.get(&format!("/api/v1/locks/{lock}")).await;
    assert_eq!(on_server["paired"], true, "{on_server}");
    let locks = admin.get("/api/v1/locks").await;
    assert_eq!(
        locks["items"].as_array().unwrap().len(),
        1,
        "no second record: {locks}"
    );
    tech.client.sync(None).await.unwrap();
    let places = tech.client.on_site().pairing_places().await.unwrap();
    assert!(
        places.iter().all(|p| p.waiting_locks.is_empty()),
        "{places:?}"
    );
    let again = tech
        .client
        .on_site()
        .pair_onto(
            lock.clone(),
            "door".into(),
            support::PAIRING_CODE.into(),
            None,
        )
        .await;
    assert!(
        matches!(&again, Err(AccessError::RefusedByLock { reason }) if reason.contains("already paired")),
        "{again:?}"
    );

    // Each action with why not: the technician has no give_access.
    let gates = tech
        .client
        .locks()
        .action_gates(lock.clone())
        .await
        .unwrap();
    let give = gates
        .iter()
        .find(|g| g.action == Action::GiveAccess)
        .unwrap();
    assert!(!give.allowed);
    assert!(
        give.reason
            .as_deref()
            .unwrap_or_default()
            .contains("give access"),
        "{give:?}"
    );
    assert!(
        gates
            .iter()
            .any(|g| g.action == Action::ChangeMode && g.allowed && g.reason.is_none())
    );

    // A resident opens: searching (this phone never met the lock), connecting, opened.
    tech.client
        .locks()
        .change_mode(lock.clone(), LockMode::Maintenance)
        .await
        .unwrap();
    let resident = support::onboard(
        &admin,
        &url,
        "resident",
        "ana@apps.example",
        &[],
        &unit,
        &transport,
    )
    .await;
    let r = &resident.client;
    r.account().refresh_credentials().await.unwrap();
    let phases = told();
    r.on_site()
        .unlock(lock.clone(), Some(phases.clone()))
        .await
        .expect("the resident opens in maintenance mode");
    assert_eq!(
        *phases.0.lock().unwrap(),
        [
            UnlockPhase::Searching,
            UnlockPhase::Connecting,
            UnlockPhase::Opened
        ]
    );
    // The next time the phone knows where the lock is.
    let phases = told();
    r.on_site()
        .unlock(lock.clone(), Some(phases.clone()))
        .await
        .unwrap();
    assert_eq!(
        *phases.0.lock().unwrap(),
        [UnlockPhase::Connecting, UnlockPhase::Opened]
    );
    // The door as the app shows it: in step, with the battery and the resident's contact.
    let door = r.locks().door(lock.clone()).await.unwrap();
    assert!(door.in_step && door.pending_codes == 0, "{door:?}");
    assert!(
        door.battery.is_some() && door.last_contact_at.is_some(),
        "{door:?}"
    );
    assert_eq!(
        door.last_contact_app.as_deref(),
        Some("NoKey Resident"),
        "{door:?}"
    );
    let gates = r.locks().action_gates(lock.clone()).await.unwrap();
    assert!(
        gates
            .iter()
            .any(|g| g.action == Action::ShareGuestCode && g.allowed)
    );
    assert!(
        gates
            .iter()
            .any(|g| g.action == Action::ChangeMode && !g.allowed && g.reason.is_some())
    );

    // The resident shares a guest code: a window of at most a week, guest class only.
    let shared = r
        .offline_codes()
        .give(
            lock.clone(),
            AccessCodeKind::Window,
            None,
            Some("Dog walker".into()),
            Some(window(3)),
        )
        .await
        .expect("a resident shares a guest code");
    assert_eq!(shared.class, OfflineCodeClass::Guest);
    let at_door = brain.with(|l| l.keypad(&shared.code));
    assert!(
        matches!(at_door, KeypadOutcome::Opened { .. }),
        "{at_door:?}"
    );
    for (kind, class, w) in [
        (AccessCodeKind::Window, None, Some(window(8 * 24))),
        (AccessCodeKind::OneTime, None, None),
        (
            AccessCodeKind::Window,
            Some(OfflineCodeClass::Tour),
            Some(window(2)),
        ),
    ] {
        let r = r
            .offline_codes()
            .give(lock.clone(), kind, class, None, w)
            .await;
        assert!(matches!(r, Err(AccessError::InvalidInput { .. })), "{r:?}");
    }
    // The server holds the same bounds whatever the phone sends.
    let (status, body) = resident_post(
        &url,
        "ana@apps.example",
        &lock,
        json!({"kind": "window", "delivery": "offline", "class": "tour",
               "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T12:00:00Z"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = resident_post(
        &url,
        "ana@apps.example",
        &lock,
        json!({"kind": "one_time", "delivery": "offline"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = resident_post(
        &url,
        "ana@apps.example",
        &lock,
        json!({"kind": "permanent", "delivery": "ble"}),
    )
    .await;
    assert_eq!(status, 403, "a resident gives no lock code: {body}");

    // In resident mode... the mode table keeps guests out; the resident's own phone opens.
    // In tour mode the resident is refused with the mode's own case.
    tech.client
        .locks()
        .change_mode(lock.clone(), LockMode::Tour)
        .await
        .unwrap();
    tech.client
        .on_site()
        .unlock(lock.clone(), None)
        .await
        .expect("staff carry the tour mode to the door");
    let phases = told();
    let not_now = r.on_site().unlock(lock.clone(), Some(phases.clone())).await;
    assert!(
        matches!(&not_now, Err(AccessError::NotNow { message }) if message.contains("mode")),
        "{not_now:?}"
    );
    assert!(!phases.0.lock().unwrap().contains(&UnlockPhase::Opened));
    server.stop().await;
}

/// A resident's request in a session of their own, straight to the API (a phone that lies).
async fn resident_post(
    url: &str,
    email: &str,
    lock: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let http = reqwest::Client::new();
    let session: serde_json::Value = http
        .post(format!("{url}/api/v1/sessions"))
        .json(&json!({"email": email, "password": "pw-123456789"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().expect("a session").to_string();
    let r = http
        .post(format!("{url}/api/v1/locks/{lock}/access-codes"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// A server that takes connections and never answers holds no door: a staff phone and a
/// resident's phone whose credentials are in their renewal window open at once (the
/// requests beside the contact wait at most 200 ms, then go on in the background), with a
/// request timeout of 20 s that the old path waited for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_holds_no_door() {
    let (_dir, _lock, transport) = support::fresh_lock("VL-APPS-2");
    // Every credential is within its last hour from the start.
    let mut server = support::Server::start_with(|c| {
        c.credential_lifetime = std::time::Duration::from_secs(30 * 60)
    })
    .await;
    let url = server.base_url();
    let admin = support::Admin::login(&url).await;
    let property = admin.property("Birch").await;
    let unit = admin.unit(&property, "1A").await;
    let tech = support::onboard(
        &admin,
        &url,
        "team_member",
        "tech@silent.example",
        &["reset_codes", "change_modes"],
        &unit,
        &transport,
    )
    .await;
    let lock = tech
        .client
        .on_site()
        .pair(
            unit.clone(),
            "door".into(),
            support::PAIRING_CODE.into(),
            "Side door".into(),
            None,
        )
        .await
        .unwrap()
        .id;
    tech.client
        .locks()
        .change_mode(lock.clone(), LockMode::Maintenance)
        .await
        .unwrap();
    tech.client
        .on_site()
        .unlock(lock.clone(), None)
        .await
        .unwrap();
    let resident = support::onboard(
        &admin,
        &url,
        "resident",
        "ana@silent.example",
        &[],
        &unit,
        &transport,
    )
    .await;
    resident.client.sync(None).await.unwrap();
    resident
        .client
        .account()
        .refresh_credentials()
        .await
        .unwrap();
    tech.client.account().refresh_credentials().await.unwrap();

    // The server's address now takes connections and never answers.
    let addr = server.addr();
    server.stop().await;
    let silent = support::SilentServer::bind(addr).await;

    for (phone, app) in [
        (&tech, access_domain::App::AccessManager),
        (&resident, access_domain::App::NokeyResident),
    ] {
        // The same phone, with the request timeout an app has.
        let client = support::open(phone.dir.path().to_path_buf(), &url, app, Some(20_000));
        client.set_lock_transport(transport.clone()).await;
        let phases = told();
        let started = std::time::Instant::now();
        client
            .on_site()
            .unlock(lock.clone(), Some(phases.clone()))
            .await
            .expect("opens with the server silent");
        let took = started.elapsed();
        assert!(phases.0.lock().unwrap().contains(&UnlockPhase::Opened));
        // Not a speed figure (scripts/bench tap has those): the unlock did not wait for
        // the 20 s request timeout.
        assert!(
            took < std::time::Duration::from_secs(5),
            "{app:?} waited {took:?} on a silent server"
        );
    }
    assert!(silent.connections() > 0, "the phones did try the server");
}

/// A code revoked from the lock screen with no network shows revoked at once, reaches the
/// platform when the network is back, and leaves the lock at the next contact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_revoked_offline_reaches_the_platform_then_the_door() {
    let (_dir, brain, transport) = support::fresh_lock("VL-APPS-3");
    let (mut server, admin, unit) = support::site().await;
    let url = server.base_url();
    let tech = support::onboard(
        &admin,
        &url,
        "team_member",
        "tech@revoke.example",
        &["reset_codes", "give_access", "change_modes"],
        &unit,
        &transport,
    )
    .await;
    let t = &tech.client;
    let lock = t
        .on_site()
        .pair(
            unit.clone(),
            "door".into(),
            support::PAIRING_CODE.into(),
            "Back door".into(),
            None,
        )
        .await
        .unwrap()
        .id;
    t.locks()
        .change_mode(lock.clone(), LockMode::Vacant)
        .await
        .unwrap();
    let given = admin
        .post(
            &format!("/api/v1/locks/{lock}/access-codes"),
            json!({"kind": "permanent", "label": "Cleaner", "delivery": "ble"}),
        )
        .await;
    let (code_id, digits) = (
        given["id"].as_str().unwrap().to_string(),
        given["code"].as_str().unwrap().to_string(),
    );
    t.sync(None).await.unwrap();
    t.account().refresh_credentials().await.unwrap();
    t.on_site().unlock(lock.clone(), None).await.unwrap();
    let before = brain.with(|l| l.keypad(&digits));
    assert!(matches!(before, KeypadOutcome::Opened { .. }), "{before:?}");

    server.stop().await;
    let queued = t
        .locks()
        .revoke_code(lock.clone(), code_id.clone())
        .await
        .unwrap();
    assert!(
        matches!(queued, access_core::ActionOutcome::Queued { .. }),
        "{queued:?}"
    );
    let shown = t.locks().access_codes(lock.clone()).await.unwrap();
    let code = shown.iter().find(|c| c.id == code_id).unwrap();
    assert!(code.revoked_at.is_some(), "shown revoked offline: {code:?}");
    assert_eq!(t.queue().pending().await.unwrap().len(), 1);

    server.start_again().await;
    let summary = t.sync(None).await.unwrap();
    assert_eq!(summary.replayed, 1, "{summary:?}");
    let on_server = admin
        .get(&format!("/api/v1/locks/{lock}/access-codes"))
        .await;
    let revoked = on_server["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == code_id.as_str())
        .unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    // Gone from the lock at the next ordinary contact.
    t.account().refresh_credentials().await.unwrap();
    t.on_site().unlock(lock.clone(), None).await.unwrap();
    let after = brain.with(|l| l.keypad(&digits));
    assert!(!matches!(after, KeypadOutcome::Opened { .. }), "{after:?}");
    server.stop().await;
}
