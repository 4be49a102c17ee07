//! Shared by the end-to-end tests: the helpers of `access-test-support` (the real server
//! in-process, which can stop and start again on the same address: "network off"; an
//! administrator over HTTP; registration through the core), phones pointed at a lock rig,
//! and the whole lock scenario run against any rig.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use access_core::ble::{NearbyLock, PairingPhase, PairingProgress, ScanListener};
use access_core::{AccessClient, AccessError, CallbackError};
use access_domain::{AccessCodeKind, LockMode};
// Each test binary uses its own part of these.
#[allow(unused_imports)]
pub use access_test_support::{Admin, Server, all_permissions, app_for, open, register, units};
use lock_ble::{AnyTransport, MemoryTransport};
use virtual_lock::{FactorySettings, LockBrain, VirtualLock};

pub const PAIRING_CODE: &str = "1357924680";

/// A phone: a core client with its own data directory.
pub struct Phone {
    pub dir: tempfile::TempDir,
    pub client: Arc<AccessClient>,
    pub user_id: String,
}

/// Invites and registers a user through the core, syncs, and points its BLE at `transport`.
pub async fn onboard(
    admin: &Admin,
    server_url: &str,
    user_type: &str,
    email: &str,
    permissions: &[&str],
    unit: &str,
    transport: &AnyTransport,
) -> Phone {
    static PHONE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = PHONE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let phone = format!(
        "+1555{:07}",
        3_000_000 + n + std::process::id() % 1000 * 100
    );
    let user_id = admin
        .invite(user_type, email, permissions, units(&[unit]))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let client = open(
        dir.path().to_path_buf(),
        server_url,
        app_for(user_type),
        Some(3_000),
    );
    register(admin, &client, email, &phone, &format!("Pat {email}")).await;
    client.sync(None).await.expect("first sync");
    client.set_lock_transport(transport.clone()).await;
    Phone {
        dir,
        client,
        user_id,
    }
}

/// A factory-fresh virtual lock over the in-memory transport (MTU 23), as device "door":
/// its state directory (kept while the test runs), its brain and the phones' transport.
pub fn fresh_lock(serial: &str) -> (tempfile::TempDir, LockBrain, AnyTransport) {
    let dir = tempfile::tempdir().unwrap();
    let factory = FactorySettings {
        factory_serial: serial.into(),
        pairing_code: Some(PAIRING_CODE.into()),
    };
    let brain = LockBrain::new(VirtualLock::open(&dir.path().join("lock.state"), factory).unwrap());
    let memory = MemoryTransport::new(23);
    memory.add_lock("door", Some(serial), brain.clone());
    (dir, brain, AnyTransport::from(memory))
}

/// A server that takes connections on `addr` and never answers: the network up, the
/// platform not. Dropped, it stops and closes what it holds.
pub struct SilentServer {
    accepting: tokio::task::JoinHandle<()>,
    held: Arc<Mutex<Vec<tokio::net::TcpStream>>>,
}

impl SilentServer {
    pub async fn bind(addr: std::net::SocketAddr) -> SilentServer {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = held.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                keep.lock().unwrap().push(socket);
            }
        });
        SilentServer { accepting, held }
    }

    /// Connections taken (and never answered) so far.
    pub fn connections(&self) -> usize {
        self.held.lock().unwrap().len()
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.accepting.abort();
        self.held.lock().unwrap().clear();
    }
}

/// Records what pairing reported.
#[derive(Default)]
pub struct Phases(pub Mutex<Vec<PairingPhase>>);

impl PairingProgress for Phases {
    fn on_phase(&self, phase: PairingPhase) -> Result<(), CallbackError> {
        self.0.lock().unwrap().push(phase);
        Ok(())
    }
}

/// Records what a scan saw.
#[derive(Default)]
pub struct Seen(pub Mutex<Vec<NearbyLock>>);

impl ScanListener for Seen {
    fn on_lock(&self, lock: NearbyLock) -> Result<(), CallbackError> {
        self.0.lock().unwrap().push(lock);
        Ok(())
    }
}

/// The lock under test, however it is reached.
pub trait Rig {
    /// What the phones use to reach it.
    fn transport(&self) -> AnyTransport;
    /// Its device id as the phone's transport names it.
    fn device_id(&self) -> String;
    /// Someone types `digits` on the keypad; the outcome as the lock prints it
    /// (`Opened { .. }`, `Refused { reason: .. }`, `LockedOut { .. }`).
    fn keypad(&mut self, digits: &str) -> String;
}

fn refused_with(r: Result<(), AccessError>, reason: &str) {
    match r {
        Err(AccessError::RefusedByLock { reason: got }) => {
            assert!(
                got.contains(reason),
                "refused for {got:?}, expected {reason:?}"
            )
        }
        // The mode's refusal has its own case, for the screens.
        Err(AccessError::NotNow { .. }) if reason == "ModeForbids" => {}
        other => panic!("expected a refusal for {reason}, got {other:?}"),
    }
}

fn opened(outcome: &str) {
    assert!(outcome.contains("Opened"), "keypad did not open: {outcome}");
}

fn refused(outcome: &str, reason: &str) {
    assert!(
        outcome.contains("Refused") && outcome.contains(reason),
        "keypad: {outcome}, expected a refusal for {reason}"
    );
}

/// A server, its administrator, and a property with one unit (returned).
pub async fn site() -> (Server, Admin, String) {
    let server = Server::start().await;
    let admin = Admin::login(&server.base_url()).await;
    let property = admin.property("Oakwood").await;
    let unit = admin.unit(&property, "4B").await;
    (server, admin, unit)
}

/// The whole field scenario of the BLE issue, online then with the network off.
pub async fn scenario(rig: &mut impl Rig) {
    let (mut server, admin, unit) = site().await;
    let url = server.base_url();
    let transport = rig.transport();
    let all = all_permissions();
    let tech = onboard(
        &admin,
        &url,
        "team_member",
        "tech@example.test",
        &all,
        &unit,
        &transport,
    )
    .await;
    let resident = onboard(
        &admin,
        &url,
        "resident",
        "res@example.test",
        &[],
        &unit,
        &transport,
    )
    .await;
    let vendor = onboard(
        &admin,
        &url,
        "team_member",
        "vendor@example.test",
        &[],
        &unit,
        &transport,
    )
    .await;
    let t = &tech.client;

    // ---- scan and pair on site ----
    let seen = Arc::new(Seen::default());
    let nearby = t.on_site().scan(3_000, Some(seen.clone())).await.unwrap();
    let device = rig.device_id();
    let fresh = nearby
        .iter()
        .find(|n| n.device_id == device)
        .unwrap_or_else(|| panic!("{device} not among {nearby:?}"));
    assert!(!fresh.paired && fresh.lock_id.is_none());
    assert!(
        !seen.0.lock().unwrap().is_empty(),
        "the listener heard the scan"
    );

    // A resident may not pair; nothing reaches the lock or the server.
    let r = resident
        .client
        .on_site()
        .pair(
            unit.clone(),
            device.clone(),
            PAIRING_CODE.into(),
            "x".into(),
            None,
        )
        .await;
    assert!(matches!(r, Err(AccessError::NotAllowed { .. })), "{r:?}");
    // A wrong code with a mistyped name, then the right code with the name corrected: the
    // retry reuses the first registration, and the lock is named by the attempt that worked.
    let wrong = t
        .on_site()
        .pair(
            unit.clone(),
            device.clone(),
            "2468013579".into(),
            "Frnot door".into(),
            None,
        )
        .await;
    assert_eq!(wrong.err(), Some(AccessError::WrongPairingCode));
    let phases = Arc::new(Phases::default());
    let lock = t
        .on_site()
        .pair(
            unit.clone(),
            device.clone(),
            PAIRING_CODE.into(),
            "Front door".into(),
            Some(phases.clone()),
        )
        .await
        .expect("paired");
    assert!(lock.paired);
    assert_eq!(lock.name, "Front door");
    assert_eq!(
        *phases.0.lock().unwrap(),
        vec![
            PairingPhase::Connecting,
            PairingPhase::Registering,
            PairingPhase::KeyExchange,
            PairingPhase::Installing,
            PairingPhase::Done
        ]
    );
    let locks = admin.get("/api/v1/locks").await;
    assert_eq!(
        locks["items"].as_array().unwrap().len(),
        1,
        "one registration"
    );
    assert_eq!(locks["items"][0]["paired"], true);
    assert_eq!(locks["items"][0]["name"], "Front door");
    let id = lock.id.clone();

    // A second pairing of the paired lock is refused and changes nothing.
    let again = t
        .on_site()
        .pair(
            unit.clone(),
            device.clone(),
            PAIRING_CODE.into(),
            "Hijack".into(),
            None,
        )
        .await;
    refused_with(again.map(|_| ()), "already paired");
    assert_eq!(
        admin.get("/api/v1/locks").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    for p in [&tech, &resident, &vendor] {
        p.client.sync(None).await.unwrap();
        p.client.account().refresh_credentials().await.unwrap();
    }
    let status = t.on_site().read_status(id.clone()).await.unwrap();
    assert_eq!(
        (status.name.as_str(), status.mode),
        ("Front door", LockMode::Vacant)
    );

    // ---- Tour mode: staff open, residents don't ----
    t.on_site()
        .set_mode(id.clone(), LockMode::Tour)
        .await
        .unwrap();
    assert_eq!(
        admin.get(&format!("/api/v1/locks/{id}")).await["mode"],
        "tour"
    );
    t.on_site()
        .unlock(id.clone(), None)
        .await
        .expect("staff unlock in tour mode");
    t.on_site().lock(id.clone()).await.unwrap();
    refused_with(
        resident.client.on_site().unlock(id.clone(), None).await,
        "ModeForbids",
    );
    // A resident's credential cannot change the mode: refused before anything is sent.
    let r = resident
        .client
        .on_site()
        .set_mode(id.clone(), LockMode::Vacant)
        .await;
    assert!(matches!(r, Err(AccessError::NotAllowed { .. })), "{r:?}");

    // ---- give access: a one-time code and a tour code ----
    let one_time = give(t, &id, AccessCodeKind::OneTime).await;
    let tour = give(t, &id, AccessCodeKind::Permanent).await;
    t.sync(None).await.unwrap();
    for c in [&one_time, &tour] {
        t.on_site()
            .install_access_code(id.clone(), c.id.clone())
            .await
            .unwrap();
    }
    // The phone's word does not make a code installed: the lock's receipt at the next
    // ordinary contact does (its door update holds both codes).
    let codes = admin.get(&format!("/api/v1/locks/{id}/access-codes")).await;
    for c in codes["items"].as_array().unwrap() {
        assert_eq!(c["sync_state"], "pending", "{c}");
    }
    t.on_site().read_status(id.clone()).await.unwrap();
    let codes = admin.get(&format!("/api/v1/locks/{id}/access-codes")).await;
    for c in codes["items"].as_array().unwrap() {
        assert_eq!(c["sync_state"], "installed", "{c}");
    }
    opened(&rig.keypad(&one_time.code));
    refused(&rig.keypad(&one_time.code), "");
    opened(&rig.keypad(&tour.code));

    // ---- Tour -> Resident: tour codes and staff stop, residents and the master code open ----
    t.on_site()
        .set_mode(id.clone(), LockMode::Resident)
        .await
        .unwrap();
    refused(&rig.keypad(&tour.code), "ModeForbids");
    let master = admin.master_code(&id).await;
    opened(&rig.keypad(&master));
    resident
        .client
        .on_site()
        .unlock(id.clone(), None)
        .await
        .expect("resident unlock");
    refused_with(t.on_site().unlock(id.clone(), None).await, "ModeForbids");

    // ---- rename ----
    t.on_site()
        .rename(id.clone(), "Front door 4B".into())
        .await
        .unwrap();
    assert_eq!(
        t.on_site().read_status(id.clone()).await.unwrap().name,
        "Front door 4B"
    );
    assert_eq!(
        admin.get(&format!("/api/v1/locks/{id}")).await["name"],
        "Front door 4B"
    );

    // ---- logs: read from the lock, on the server, attributed ----
    // Contacts of who may see the log already brought most pages back; the explicit read
    // takes the rest (entries after the last carrying contact) and leaves nothing waiting.
    let read = t.on_site().read_log(id.clone()).await.unwrap();
    assert_eq!((read.uploaded, read.waiting), (read.read, 0), "{read:?}");
    let log = admin.lock_log(&id).await;
    let seen_before = log
        .iter()
        .filter_map(|e| e["lock_seq"].as_u64())
        .max()
        .unwrap_or(0);
    let has = |action: &str, key: &str, value: &str, method: &str| {
        log.iter()
            .any(|e| e["action"] == action && e[key] == value && e["method"] == method)
    };
    assert!(has("unlock", "user_id", &tech.user_id, "ble"), "{log:#?}");
    assert!(has("unlock", "user_id", &resident.user_id, "ble"));
    assert!(has("unlock", "code_id", &one_time.id, "keypad"));
    assert!(has("unlock", "code_id", &tour.id, "keypad"));
    assert!(
        log.iter()
            .any(|e| e["action"] == "unlock" && e["method"] == "master_code")
    );
    assert!(has("keypad_refused", "code_id", &tour.id, "keypad"));
    // Reading again finds nothing new and uploads nothing twice.
    let again = t.on_site().read_log(id.clone()).await.unwrap();
    assert_eq!(again.read, 0);
    assert_eq!(admin.lock_log(&id).await.len(), log.len());

    // ---- reset codes: new master code, given codes gone ----
    let removed = t.on_site().reset_codes(id.clone()).await.unwrap();
    assert!(removed >= 1, "{removed}");
    let new_master = admin.master_code(&id).await;
    assert_ne!(new_master, master);
    refused(&rig.keypad(&master), "");
    refused(&rig.keypad(&tour.code), "");
    opened(&rig.keypad(&new_master));

    // ---- a revoked vendor, after a staff phone brought the lock in line ----
    t.on_site()
        .set_mode(id.clone(), LockMode::Tour)
        .await
        .unwrap();
    vendor
        .client
        .on_site()
        .unlock(id.clone(), None)
        .await
        .expect("vendor before revocation");
    admin.revoke(&vendor.user_id).await;
    let status = t.on_site().bring_in_line(id.clone()).await.unwrap();
    assert_eq!(status.mode, LockMode::Tour);

    // ---- network off: cached credentials ----
    server.stop().await;
    refused_with(
        vendor.client.on_site().unlock(id.clone(), None).await,
        "Revoked",
    );
    t.on_site()
        .unlock(id.clone(), None)
        .await
        .expect("offline staff unlock");
    t.on_site()
        .set_mode(id.clone(), LockMode::Resident)
        .await
        .expect("offline mode change");
    assert_eq!(
        t.on_site().read_status(id.clone()).await.unwrap().mode,
        LockMode::Resident
    );
    resident
        .client
        .on_site()
        .unlock(id.clone(), None)
        .await
        .expect("offline resident unlock");
    refused_with(t.on_site().unlock(id.clone(), None).await, "ModeForbids");
    opened(&rig.keypad(&new_master));
    t.on_site()
        .rename(id.clone(), "Front door (offline)".into())
        .await
        .unwrap();
    // The offline contacts queued their pages already; the explicit read adds the rest.
    let offline = t.on_site().read_log(id.clone()).await.unwrap();
    assert!(offline.waiting >= 5, "{offline:?}");
    assert_eq!(offline.uploaded, 0, "{offline:?}");
    let r = t.on_site().reset_codes(id.clone()).await;
    assert!(
        matches!(r, Err(AccessError::Offline { .. } | AccessError::Timeout)),
        "{r:?}"
    );

    // ---- network back: queued logs and actions reach the server once ----
    server.start_again().await;
    assert_eq!(
        t.on_site().upload_lock_logs().await.unwrap(),
        offline.waiting
    );
    assert_eq!(t.on_site().upload_lock_logs().await.unwrap(), 0);
    t.sync(None).await.unwrap();
    let l = admin.get(&format!("/api/v1/locks/{id}")).await;
    assert_eq!(
        (l["mode"].as_str(), l["name"].as_str()),
        (Some("resident"), Some("Front door (offline)"))
    );
    let log = admin.lock_log(&id).await;
    assert!(log.iter().any(|e| e["action"] == "unlock"
        && e["user_id"] == resident.user_id.as_str()
        && e["lock_seq"].as_u64() > Some(seen_before)));
    let mut seqs: Vec<u64> = log.iter().filter_map(|e| e["lock_seq"].as_u64()).collect();
    let n = seqs.len();
    seqs.dedup();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "no entry uploaded twice");
    server.stop().await;
}

pub struct GivenCode {
    pub id: String,
    pub code: String,
}

async fn give(t: &AccessClient, lock: &str, kind: AccessCodeKind) -> GivenCode {
    match t
        .locks()
        .give_access(lock.to_string(), kind, Some("Tour".into()), None)
        .await
        .unwrap()
    {
        access_core::GiveAccessOutcome::Created { code } => GivenCode {
            id: code.id,
            code: code.code,
        },
        other => panic!("not created: {other:?}"),
    }
}
