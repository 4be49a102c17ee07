//! A lock paired in memory with what the server returned at registration, driven over an
//! in-memory link with sessions opened by server-signed credentials.

use access_domain::LockMode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::command::{Command, Response};
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

/// A lock registered with the server and paired in memory with what the server returned.
pub struct Paired {
    pub id: String,
    pub lock: VirtualLock,
    pub clock: ManualClock,
    _dir: tempfile::TempDir,
    counter: u64,
}

pub async fn pair(api: &Api, token: &str, unit: &str, name: &str) -> Paired {
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

    pub async fn give(&self, api: &Api, token: &str, body: Value) -> super::Answer {
        api.post(
            &format!("/api/v1/locks/{}/access-codes", self.id),
            token,
            body,
        )
        .await
    }
}
