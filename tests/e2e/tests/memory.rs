//! The field scenario through `access-core` against the virtual lock's brain over the
//! in-memory transport (MTU 23, so every message is fragmented), with the real server.

mod support;

use lock_ble::{AnyTransport, MemoryTransport};
use virtual_lock::{FactorySettings, LockBrain, VirtualLock};

struct MemoryRig {
    _dir: tempfile::TempDir,
    brain: LockBrain,
    transport: MemoryTransport,
}

impl support::Rig for MemoryRig {
    fn transport(&self) -> AnyTransport {
        AnyTransport::from(self.transport.clone())
    }
    fn device_id(&self) -> String {
        "front-door".into()
    }
    fn keypad(&mut self, digits: &str) -> String {
        self.brain.with(|lock| format!("{:?}", lock.keypad(digits)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_scenario_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let factory = FactorySettings {
        factory_serial: "VL-MEM-01".into(),
        pairing_code: Some(support::PAIRING_CODE.into()),
    };
    let lock = VirtualLock::open(&dir.path().join("lock.state"), factory).unwrap();
    let brain = LockBrain::new(lock);
    let transport = MemoryTransport::new(23);
    transport.add_lock("front-door", Some("VL-MEM-01"), brain.clone());
    let mut rig = MemoryRig {
        _dir: dir,
        brain,
        transport,
    };
    support::scenario(&mut rig).await;
}

/// Out of range and a lock that stops answering give typed errors, not vague ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_and_silent_locks_give_typed_errors() {
    use access_core::AccessError;
    use lock_ble::FnHandler;

    let dir = tempfile::tempdir().unwrap();
    let factory = FactorySettings {
        factory_serial: "VL-MEM-02".into(),
        pairing_code: Some(support::PAIRING_CODE.into()),
    };
    let lock = VirtualLock::open(&dir.path().join("lock.state"), factory).unwrap();
    let brain = LockBrain::new(lock);
    let memory = MemoryTransport::new(185);
    memory.add_lock("front-door", None, brain.clone());
    let transport = AnyTransport::from(memory.clone());
    let (mut server, admin, unit) = support::site().await;
    let tech = support::onboard(
        &admin,
        &server.base_url(),
        "team_member",
        "range@example.test",
        &["reset_codes", "change_modes"],
        &unit,
        &transport,
    )
    .await;
    let t = &tech.client;
    let lock = t
        .on_site()
        .pair(
            unit,
            "front-door".into(),
            support::PAIRING_CODE.into(),
            "Door".into(),
            None,
        )
        .await
        .unwrap();
    t.on_site()
        .set_mode(lock.id.clone(), access_domain::LockMode::Tour)
        .await
        .unwrap();

    memory.set_in_range("front-door", false);
    let r = t.on_site().unlock(lock.id.clone(), None).await;
    assert!(
        matches!(r, Err(AccessError::LockOutOfRange { .. })),
        "{r:?}"
    );

    // Back in range but mute: it advertises as before and never answers.
    let ad = brain.with(|lock| lock.advertisement());
    memory.add_lock(
        "front-door",
        None,
        FnHandler::new(ad, |_: &[u8]| Vec::new()),
    );
    let r = t.on_site().unlock(lock.id.clone(), None).await;
    assert!(matches!(r, Err(AccessError::LockTimeout { .. })), "{r:?}");

    // The real lock again: it opens, and it never saw the failed attempts.
    memory.add_lock("front-door", None, brain.clone());
    t.on_site().unlock(lock.id.clone(), None).await.unwrap();
    server.stop().await;
}
