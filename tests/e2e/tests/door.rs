//! The door follows the platform on ordinary contacts: access-core against the real server
//! in-process and the virtual lock's brain over the in-memory transport (MTU 23). A phone
//! that unlocks carries the door update it fetched, and the lock's keypad then does what
//! the platform says; the lock's status reaches the server as a contact report, at once
//! when online, once the network is back when not.

mod support;

use access_domain::{AccessCodeKind, LockMode};
use lock_ble::AnyTransport;
use serde_json::{Value, json};
use virtual_lock::{KeypadOutcome, LockBrain};

use support::{Admin, Phone, Server};

/// A paired lock over the in-memory transport, the server, its administrator, the unit and
/// a team member's phone (who paired it).
struct Door {
    _dir: tempfile::TempDir,
    brain: LockBrain,
    transport: AnyTransport,
    server: Server,
    admin: Admin,
    unit: String,
    tech: Phone,
    lock: String,
}

impl Door {
    async fn paired(serial: &str) -> Door {
        let (dir, brain, transport) = support::fresh_lock(serial);
        let (server, admin, unit) = support::site().await;
        let tech = support::onboard(
            &admin,
            &server.base_url(),
            "team_member",
            &format!("tech-{serial}@example.test"),
            &support::all_permissions(),
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
                "Front door".into(),
                None,
            )
            .await
            .expect("paired")
            .id;
        Door {
            _dir: dir,
            brain,
            transport,
            server,
            admin,
            unit,
            tech,
            lock,
        }
    }

    async fn phone(&self, user_type: &str, email: &str) -> Phone {
        support::onboard(
            &self.admin,
            &self.server.base_url(),
            user_type,
            email,
            &[],
            &self.unit,
            &self.transport,
        )
        .await
    }

    fn keypad(&self, digits: &str) -> KeypadOutcome {
        self.brain.with(|lock| lock.keypad(digits))
    }

    fn door_version(&self) -> u64 {
        self.brain.with(|lock| lock.state().door_version)
    }

    async fn door(&self) -> Value {
        self.admin
            .get(&format!("/api/v1/locks/{}/door", self.lock))
            .await
    }

    /// The platform's newest update version for the lock.
    async fn platform_version(&self) -> u64 {
        self.admin
            .get(&format!("/api/v1/locks/{}/door-update", self.lock))
            .await["version"]
            .as_u64()
            .unwrap()
    }

    /// Gives a one-time code on the server (not over BLE); its digits.
    async fn give_one_time(&self) -> String {
        let given = self
            .admin
            .post(
                &format!("/api/v1/locks/{}/access-codes", self.lock),
                json!({"kind": "one_time", "label": "Plumber", "delivery": "ble"}),
            )
            .await;
        given["code"].as_str().expect("code").to_string()
    }
}

fn opened(o: &KeypadOutcome) -> bool {
    matches!(o, KeypadOutcome::Opened { .. })
}

async fn passcode_of(admin: &Admin, user: &str, lock: &str) -> String {
    let d = admin.get(&format!("/api/v1/users/{user}")).await;
    d["passcodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["lock_id"] == lock)
        .unwrap_or_else(|| panic!("no passcode on {lock}: {d}"))["code"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A resident's own unlock installs their passcode at the keypad, and the server hears of
/// it from the resident's app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_residents_unlock_brings_their_passcode_to_the_keypad() {
    let mut d = Door::paired("VL-DOOR-A").await;
    // Staff set the mode on the spot: a direct change carries no update.
    d.tech
        .client
        .on_site()
        .set_mode(d.lock.clone(), LockMode::Resident)
        .await
        .unwrap();
    let resident = d.phone("resident", "ana@example.test").await;
    let code = passcode_of(&d.admin, &resident.user_id, &d.lock).await;
    assert!(!opened(&d.keypad(&code)), "not on the lock yet");
    assert_eq!(d.door().await["in_step"], false);

    let r = &resident.client;
    r.sync(None).await.unwrap();
    assert_eq!(r.account().refresh_credentials().await.unwrap(), 1);
    r.on_site()
        .unlock(d.lock.clone(), None)
        .await
        .expect("unlock");

    assert!(
        opened(&d.keypad(&code)),
        "the resident's passcode opens after their unlock"
    );
    let version = d.platform_version().await;
    assert_eq!(d.door_version(), version);
    let door = d.door().await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(door["confirmed_version"], version);
    assert_eq!(door["pending_codes"], 0);
    assert_eq!(door["last_contact_app"], "NoKey Resident");
    assert!(door["battery"].as_u64().is_some(), "{door}");
    d.server.stop().await;
}

/// A code given on the server after the phone cached an older update reaches the lock at
/// the staff phone's next ordinary contact, and the lock keeps what the user asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_given_later_reaches_the_lock_at_the_next_staff_contact() {
    let mut d = Door::paired("VL-DOOR-B").await;
    let t = &d.tech.client;
    t.sync(None).await.unwrap();
    t.account().refresh_credentials().await.unwrap();
    let before = d.platform_version().await;
    // The first contact installs the whole state the phone cached.
    let status = t.on_site().read_status(d.lock.clone()).await.unwrap();
    assert_eq!(status.mode, LockMode::Vacant);
    assert_eq!(d.door_version(), before);

    let one_time = d.give_one_time().await;
    assert!(d.platform_version().await > before);
    assert!(!opened(&d.keypad(&one_time)), "not on the lock yet");
    // An unlock with the older update still cached: the newer one is fetched beside it.
    t.on_site()
        .unlock(d.lock.clone(), None)
        .await
        .expect("unlock");
    assert_eq!(d.door_version(), d.platform_version().await);
    assert!(opened(&d.keypad(&one_time)), "the one-time code opens");
    assert!(!opened(&d.keypad(&one_time)), "once");
    // A later contact carrying the same update again changes nothing, the used code stays used.
    t.on_site().lock(d.lock.clone()).await.unwrap();
    assert!(!opened(&d.keypad(&one_time)));
    let door = d.door().await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(door["last_contact_app"], "Access Manager");

    // A code installed over BLE by staff stays through the next contact's whole update.
    let given = match t
        .locks()
        .give_access(d.lock.clone(), AccessCodeKind::OneTime, None, None)
        .await
        .unwrap()
    {
        access_core::GiveAccessOutcome::Created { code } => code,
        other => panic!("not created: {other:?}"),
    };
    t.sync(None).await.unwrap();
    t.on_site()
        .install_access_code(d.lock.clone(), given.id.clone())
        .await
        .unwrap();
    t.on_site().unlock(d.lock.clone(), None).await.unwrap();
    assert!(opened(&d.keypad(&given.code)));
    d.server.stop().await;
}

/// Offline, the phone carries the update it cached; the contact report waits and reaches
/// the server once when the network is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_cached_update_is_carried_and_the_report_waits() {
    let mut d = Door::paired("VL-DOOR-C").await;
    let t = &d.tech.client;
    let one_time = d.give_one_time().await;
    t.sync(None).await.unwrap();
    t.account().refresh_credentials().await.unwrap();
    let version = d.platform_version().await;
    let door = d.door().await;
    assert_eq!(door["in_step"], false);

    d.server.stop().await;
    t.on_site()
        .unlock(d.lock.clone(), None)
        .await
        .expect("offline unlock");
    assert_eq!(d.door_version(), version, "the cached update was carried");
    assert!(opened(&d.keypad(&one_time)), "the keypad follows offline");

    d.server.start_again().await;
    let waiting = d.door().await;
    assert_eq!(waiting["confirmed_version"], door["confirmed_version"]);
    assert_eq!(waiting["last_contact_at"], door["last_contact_at"]);
    // Sent with the other uploads once the network is back, then no more.
    t.on_site().upload_lock_logs().await.unwrap();
    let reported = d.door().await;
    assert_eq!(reported["confirmed_version"], version, "{reported}");
    assert_eq!(reported["in_step"], true, "{reported}");
    assert_ne!(reported["last_contact_at"], Value::Null);
    t.on_site().upload_lock_logs().await.unwrap();
    assert_eq!(
        d.door().await["last_contact_at"],
        reported["last_contact_at"],
        "the report went once"
    );
    d.server.stop().await;
}
