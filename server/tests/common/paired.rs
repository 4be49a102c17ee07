//! A lock paired in memory with what the server returned at registration, driven over an
//! in-memory link with sessions opened by server-signed credentials.

use access_domain::LockMode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::command::{Command, RefusalReason, Response};
use lock_protocol::frame::{Reassembler, fragment};
use lock_protocol::pairing::{Install, PairingPhone, PairingStep};
use lock_protocol::session::PhoneSession;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use virtual_lock::clock::ManualClock;
use virtual_lock::{FactorySettings, VirtualLock};

use super::Api;

pub const PAIRING_CODE: &str = "1234567890";

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().expect("base64 string")).unwrap()
}

/// Writes one message to the lock over an in-memory link at MTU 185; returns the answer.
pub fn exchange(lock: &mut VirtualLock, message: &[u8]) -> Vec<u8> {
    let mut notified = Vec::new();
    for f in fragment(1, message, 185).unwrap() {
        notified.extend(lock.on_write(&f));
    }
    let mut r = Reassembler::new();
    let mut out = None;
    for f in notified {
        out = r.push(&f).unwrap();
    }
    out.expect("a whole answer")
}

/// A lock registered with the server and paired in memory.
pub struct Paired {
    pub id: String,
    pub lock: VirtualLock,
    pub clock: ManualClock,
    _dir: tempfile::TempDir,
    counter: u64,
}

/// Registers and pairs a lock in tour mode as the phone does: pairing, then a first contact
/// that carries the platform's first door update (the master code and the code secret).
pub async fn pair(api: &Api, token: &str, unit: &str, name: &str) -> Paired {
    let mut p = pair_bare(api, token, unit, name).await;
    // The platform's mode follows in the update: tour, as the pairing installed it.
    let mode = api
        .put(
            &format!("/api/v1/locks/{}/mode", p.id),
            token,
            json!({"mode": "tour"}),
        )
        .await;
    assert_eq!(mode.status, StatusCode::OK, "{:?}", mode.body);
    p.contact(api, token).await;
    p
}

/// Registers and pairs a lock, nothing more: it holds no master code or code secret yet.
pub async fn pair_bare(api: &Api, token: &str, unit: &str, name: &str) -> Paired {
    let reg = api
        .post(
            "/api/v1/locks",
            token,
            json!({"unit_id": unit, "name": name}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{:?}", reg.body);
    let id = reg.body["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(now());
    let factory = FactorySettings {
        factory_serial: format!("VL-{name}"),
        pairing_code: Some(PAIRING_CODE.into()),
    };
    let mut lock = VirtualLock::open_with_clock(
        &dir.path().join("lock.state"),
        factory,
        Box::new(clock.clone()),
    )
    .unwrap();
    let install = Install {
        org_public_key: b64(&reg.body["org_public_key"]),
        lock_id: Uuid::parse_str(&id).unwrap(),
        now: now(),
        name: name.into(),
        mode: LockMode::Tour,
    };
    lock.on_connect(185);
    let (mut message, mut phone) = PairingPhone::start(PAIRING_CODE, install).unwrap();
    let result = loop {
        let answer = exchange(&mut lock, &message);
        match phone.on_message(&answer).unwrap() {
            PairingStep::Send(next) => message = next,
            PairingStep::Paired(result) => break result,
        }
    };
    let done = api
        .put(
            &format!("/api/v1/locks/{id}/identity"),
            token,
            json!({"identity_public_key": STANDARD.encode(result.lock_static_public)}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    Paired {
        id,
        lock,
        clock,
        _dir: dir,
        counter: 0,
    }
}

impl Paired {
    /// Runs one command in a session opened with a credential the server signs for `token`.
    pub async fn run(&mut self, api: &Api, token: &str, command: Command) -> Response {
        let cred = api
            .post(
                &format!("/api/v1/locks/{}/credentials", self.id),
                token,
                json!({}),
            )
            .await;
        assert_eq!(cred.status, StatusCode::OK, "{:?}", cred.body);
        let key: [u8; 32] = b64(&cred.body["lock_public_key"]).try_into().unwrap();
        self.counter = lock_protocol::session::next_counter(Some(self.counter), 0);
        let (request, pending) =
            PhoneSession::start(&key, &b64(&cred.body["credential"]), &command, self.counter)
                .unwrap();
        self.lock.on_connect(185);
        let answer = exchange(&mut self.lock, &request);
        pending.open_response(&answer).unwrap().1
    }

    /// Fetches the lock's update as `token`, carries it in a session, reads the status in
    /// another and reports the contact; answers the server's door state.
    pub async fn contact(&mut self, api: &Api, token: &str) -> Value {
        let u = self.door_update(api, token).await;
        assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
        let version = u.body["version"].as_u64().unwrap();
        let mut held = 0;
        for update in u.body["updates"].as_array().unwrap() {
            held = match self
                .run(api, token, Command::ApplyUpdate(b64(update)))
                .await
            {
                Response::UpdateApplied { version: v } => v,
                // Already applied by an earlier contact: nothing newer to take.
                Response::Refused {
                    reason: RefusalReason::StaleUpdate,
                } => version,
                other => panic!("update not applied: {other:?}"),
            };
        }
        assert_eq!(held, version);
        let Response::Status(status) = self.run(api, token, Command::ReadStatus).await else {
            panic!("no status");
        };
        assert_eq!(status.door_version, version);
        let seen = api
            .post(
                &format!("/api/v1/locks/{}/contact", self.id),
                token,
                json!({"door_version": status.door_version, "battery": status.battery,
                       "clock": status.clock, "firmware": status.firmware,
                       "receipt": STANDARD.encode(status.receipt)}),
            )
            .await;
        assert_eq!(seen.status, StatusCode::OK, "{:?}", seen.body);
        seen.body
    }

    /// Sets the lock's mode on the platform as `token` (asserted to succeed).
    pub async fn set_mode(&self, api: &Api, token: &str, mode: &str) {
        let a = api
            .put(
                &format!("/api/v1/locks/{}/mode", self.id),
                token,
                json!({"mode": mode}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }

    /// Renames the lock on the platform as `token` (asserted to succeed).
    pub async fn rename(&self, api: &Api, token: &str, name: &str) {
        let a = api
            .patch(
                &format!("/api/v1/locks/{}", self.id),
                token,
                json!({"name": name}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    }

    /// Reads the lock's log from the start in a session as `token` and uploads the page as
    /// a phone carries it (asserted taken); the page read.
    pub async fn carry_log(&mut self, api: &Api, token: &str) -> lock_protocol::report::LogPage {
        let since = 0;
        let max = lock_protocol::command::MAX_LOG_BATCH;
        let Response::Log { page, .. } =
            self.run(api, token, Command::ReadLog { since, max }).await
        else {
            panic!("no log page");
        };
        let up = api
            .post(
                &format!("/api/v1/locks/{}/logs", self.id),
                token,
                json!({"pages": [{"entries": STANDARD.encode(&page.entries), "mac": STANDARD.encode(page.mac)}]}),
            )
            .await;
        assert_eq!(up.status, StatusCode::OK, "{:?}", up.body);
        page
    }

    /// The lock's door updates as `token` fetches them.
    pub async fn door_update(&self, api: &Api, token: &str) -> super::Answer {
        api.get(&format!("/api/v1/locks/{}/door-update", self.id), token)
            .await
    }

    /// Gives `n` permanent codes labelled `Crew 0`, `Crew 1`, ... as `token` (each asserted
    /// created); their (id, digits).
    pub async fn give_crew(&self, api: &Api, token: &str, n: usize) -> Vec<(String, String)> {
        let mut given = Vec::with_capacity(n);
        for k in 0..n {
            let label = format!("Crew {k}");
            let a = self
                .give(api, token, json!({"kind": "permanent", "label": label}))
                .await;
            assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
            given.push((
                a.body["id"].as_str().unwrap().to_string(),
                a.body["code"].as_str().unwrap().to_string(),
            ));
        }
        given
    }

    pub async fn give(&self, api: &Api, token: &str, body: Value) -> super::Answer {
        api.post(
            &format!("/api/v1/locks/{}/access-codes", self.id),
            token,
            body,
        )
        .await
    }
}
