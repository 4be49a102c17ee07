//! Locks over Bluetooth LE: scan, pairing on site, and every lock command, each gated by
//! `access_domain::authorize` like the HTTP actions and working offline with the signed
//! credentials kept in the cache.
//!
//! The transport is btleplug (the phone's radio; pick the adapter with
//! [`AccessClient::use_bluetooth_adapter`]) unless a test injects another with
//! [`AccessClient::set_lock_transport`] (e.g. `lock_ble::MemoryTransport`).
//!
//! - Credentials come from `POST /api/v1/locks/{id}/credentials` (during
//!   [`AccessClient::refresh_credentials`] or on demand) and are used until a minute before
//!   they expire; with no network, a cached unexpired one opens the lock.
//! - Every command opens a session whose first write carries the credential and the command
//!   (one round trip); staff phones then push the lock's revocation list when it changed.
//! - Log entries read from a lock wait in the cache and go to `POST /api/v1/locks/{id}/logs`
//!   when the network is there, deduplicated by lock and sequence number.
//! - Revocation reaches an offline lock two ways. Every staff phone fetches the lock's
//!   revocation list before each conversation (when online) and pushes it in the same
//!   session when it changed; and credentials expire (server `credential_lifetime`, 24 h by
//!   default). Worst case for a revoked user's phone that kept its credential: until the
//!   next staff phone that synced after the revocation talks to the lock, and at most the
//!   credential lifetime plus the 5-minute clock skew tolerance (24 h 5 min) when no staff
//!   phone comes by.
//! - Pairing needs the network: the lock is registered under its unit first (the answer is
//!   what to install), then SPAKE2 on the printed code proves the lock and installs it, then
//!   the lock's identity key goes to the server. A failed attempt is retried under the same
//!   registration.

pub mod link;
pub mod logs;
mod model;
pub mod store;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use access_domain::api::{
    AccessCode, CodeInstall, CredentialResponse, Lock, LockIdentity, LockRegistration, Me,
    RevocationList, RevokedCredential,
};
use access_domain::{AccessCodeKind, Action, Actor, CodeClass, UserType, authorize};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use lock_ble::{AnyLink, AnyTransport, BleError, BtleplugConfig, BtleplugTransport, LockTransport};
use lock_protocol::command::{
    self as cmd, Command, MAX_LOG_BATCH, MAX_REVOCATIONS_PER_PUSH, RefusalReason, Response,
    Revocation, Window,
};
use lock_protocol::credential::SignedCredential;
use lock_protocol::pairing::{Install, PairingError, PairingPhone, PairingStep};
use lock_protocol::session::{PhoneSession, SessionError};
use lock_protocol::wire::Rejection;
use reqwest::Method;
use uuid::Uuid;

pub use model::*;

use crate::callback::Listener;
use crate::model::LockInfo;
use crate::{AccessClient, AccessError, cache};
use access_domain::LockMode;
use link::{Framed, LinkError};
use store::StoredCredential;

/// A credential closer than this to its expiry is renewed when the network allows.
const RENEW_BEFORE_SECS: u64 = 60 * 60;
/// How long one lock answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long looking for a lock that is not where it was last seen may take.
const FIND_TIMEOUT: Duration = Duration::from_secs(8);

/// The BLE side of an [`AccessClient`]: which transport, opened on first use.
#[derive(Default)]
pub struct BleState {
    adapter: Mutex<Option<String>>,
    transport: tokio::sync::Mutex<Option<AnyTransport>>,
    /// One conversation with a lock at a time (a lock serves one link).
    busy: tokio::sync::Mutex<()>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn ble_error(e: BleError) -> AccessError {
    match e {
        BleError::OutOfRange(id) => AccessError::LockOutOfRange {
            message: format!("lock {id} is not in range"),
        },
        BleError::Disconnected => AccessError::LockOutOfRange {
            message: "the link to the lock was lost".into(),
        },
        BleError::Timeout { waiting_for, .. } => AccessError::LockTimeout {
            message: format!("no answer while waiting for {waiting_for}"),
        },
        other => AccessError::Bluetooth {
            message: other.to_string(),
        },
    }
}

fn link_error(e: LinkError) -> AccessError {
    match e {
        LinkError::Ble(b) => ble_error(b),
        LinkError::Frame(message) => AccessError::Bluetooth { message },
    }
}

fn rejection(r: Rejection) -> AccessError {
    let reason = match r {
        Rejection::Malformed => "malformed message".to_string(),
        Rejection::AlreadyPaired => "already paired (factory reset it first)".to_string(),
        Rejection::NotPaired => "not paired".to_string(),
        Rejection::PairingLockedOut { retry_after_secs } => {
            format!("too many pairing attempts: retry in {retry_after_secs} s")
        }
        Rejection::PairingFailed => "pairing failed (wrong code?)".to_string(),
        Rejection::UnexpectedMessage => "unexpected message".to_string(),
        Rejection::SessionFailed => "session refused".to_string(),
    };
    AccessError::RefusedByLock { reason }
}

fn session_error(e: SessionError) -> AccessError {
    match e {
        SessionError::Rejected(r) => rejection(r),
        other => AccessError::Bluetooth {
            message: other.to_string(),
        },
    }
}

fn refusal(reason: RefusalReason) -> AccessError {
    AccessError::RefusedByLock {
        reason: format!("{reason:?}"),
    }
}

fn pairing_error(e: PairingError) -> AccessError {
    match e {
        PairingError::WrongCode => AccessError::WrongPairingCode,
        PairingError::CodeTooShort => AccessError::InvalidInput {
            message: "The pairing code printed on the lock has at least 6 digits.".into(),
        },
        PairingError::Rejected(Rejection::PairingFailed) => AccessError::WrongPairingCode,
        PairingError::Rejected(r) => rejection(r),
        other => AccessError::Bluetooth {
            message: other.to_string(),
        },
    }
}

/// The name a pairing installs in the lock and registers: checked before anything is sent,
/// because a retry only learns the server's verdict after the lock is paired.
fn pairing_name(raw: &str) -> Result<String, AccessError> {
    let name = raw.trim();
    if name.is_empty() || name.len() > cmd::MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(AccessError::InvalidInput {
            message: format!(
                "A lock name needs 1 to {} bytes, without control characters.",
                cmd::MAX_NAME_LEN
            ),
        });
    }
    Ok(name.to_string())
}

fn parse_uuid(id: &str) -> Result<Uuid, AccessError> {
    Uuid::parse_str(id.trim()).map_err(|_| AccessError::NotFound)
}

fn bad_response(message: impl Into<String>) -> AccessError {
    AccessError::BadResponse {
        message: message.into(),
    }
}

fn decode_b64(s: &str, what: &str) -> Result<Vec<u8>, AccessError> {
    STANDARD
        .decode(s)
        .map_err(|_| bad_response(format!("{what} is not base64")))
}

fn key32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], AccessError> {
    bytes
        .try_into()
        .map_err(|_| bad_response(format!("{what} is not 32 bytes")))
}

/// The lock's advertised tag once paired: the first 8 bytes of its id.
fn tag_of(lock_id: Uuid) -> [u8; 8] {
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&lock_id.as_bytes()[..8]);
    tag
}

fn action_of(command: &Command) -> Action {
    match command {
        Command::Unlock
        | Command::Lock
        | Command::ReadStatus
        | Command::SetTime(_)
        | Command::PushRevocations(_) => Action::Unlock,
        Command::SetMode(_) => Action::ChangeMode,
        Command::Rename(_) => Action::Rename,
        Command::ResetCodes { .. } | Command::FactoryReset => Action::ResetCodes,
        Command::AddAccessCode(_) | Command::RemoveAccessCode { .. } => Action::GiveAccess,
        Command::ReadLog { .. } => Action::ViewLogs,
        Command::ReadMasterCode => Action::ViewMasterCode,
    }
}

fn to_revocations(list: &[RevokedCredential]) -> Vec<Revocation> {
    list.iter()
        .map(|r| Revocation {
            serial: r.serial,
            expires_at: r.expires_at,
        })
        .collect()
}

/// Installs a given code as the lock's mode table sees it: a code given while the lock is
/// in tour mode is a tour code, otherwise a guest code.
fn protocol_code(code: &AccessCode, mode: LockMode) -> Result<cmd::AccessCode, AccessError> {
    // A one-time code starts when it is given; a lock clock a little behind the server's
    // must not refuse it in its first minutes (the same tolerance as for credentials).
    let slack = match code.kind {
        AccessCodeKind::OneTime => lock_protocol::credential::CLOCK_SKEW_SECS,
        _ => 0,
    };
    let window = match (code.starts_at, code.ends_at) {
        (Some(s), Some(e)) => Some(Window {
            starts_at: (s.unix_timestamp().max(0) as u64).saturating_sub(slack),
            ends_at: e.unix_timestamp().max(0) as u64,
        }),
        _ => None,
    };
    Ok(cmd::AccessCode {
        code_id: logs::lock_code_id(code.id),
        digits: code.code.clone(),
        kind: code.kind,
        window,
        class: if mode == LockMode::Tour {
            CodeClass::Tour
        } else {
            CodeClass::Guest
        },
        owner: None,
    })
}

impl AccessClient {
    /// Uses `transport` for every lock conversation (tests: an in-memory transport, or
    /// btleplug on a chosen adapter). Not exported: the apps use the radio.
    pub async fn set_lock_transport(&self, transport: AnyTransport) {
        *self.ble.transport.lock().await = Some(transport);
    }

    async fn transport(&self) -> Result<AnyTransport, AccessError> {
        let mut t = self.ble.transport.lock().await;
        if let Some(t) = t.as_ref() {
            return Ok(t.clone());
        }
        let adapter = self
            .ble
            .adapter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let radio = BtleplugTransport::new(BtleplugConfig {
            adapter,
            ..Default::default()
        })
        .await
        .map_err(ble_error)?;
        let any = AnyTransport::from(radio);
        *t = Some(any.clone());
        Ok(any)
    }

    /// Asks the server for a credential and stores it.
    async fn fetch_credential(&self, lock: Uuid) -> Result<StoredCredential, AccessError> {
        let r: CredentialResponse = self
            .request::<serde_json::Value, _>(
                Method::POST,
                &format!("/api/v1/locks/{lock}/credentials"),
                Some(&serde_json::json!({})),
                None,
            )
            .await?;
        let credential = decode_b64(&r.credential, "credential")?;
        let claims = SignedCredential::from_bytes(&credential)
            .and_then(|c| c.unverified_claims())
            .map_err(|e| bad_response(e.to_string()))?;
        let key = r
            .lock_public_key
            .ok_or_else(|| bad_response("no lock key"))?;
        let stored = StoredCredential {
            credential,
            lock_public_key: key32(decode_b64(&key, "lock key")?, "lock key")?,
            serial: claims.serial,
            not_after: claims.not_after,
        };
        let s = stored.clone();
        self.db(move |c| store::put_credential(c, lock, &s)).await?;
        Ok(stored)
    }

    /// A usable credential: the cached one while it is fresh, else a new one from the
    /// server, else (offline) the cached one until it expires.
    async fn credential(&self, lock: Uuid) -> Result<StoredCredential, AccessError> {
        let cached = self.db(move |c| store::credential(c, lock)).await?;
        let now = unix_now();
        if let Some(c) = &cached
            && c.not_after > now + RENEW_BEFORE_SECS
        {
            return Ok(c.clone());
        }
        match self.fetch_credential(lock).await {
            Ok(c) => Ok(c),
            Err(e) if e.is_transient() => match cached {
                Some(c) if c.not_after > now => Ok(c),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Fetches the revocation list of a lock (staff) and caches it.
    async fn fetch_revocations(&self, lock: Uuid) -> Result<(), AccessError> {
        let list: RevocationList = self
            .request::<(), _>(
                Method::GET,
                &format!("/api/v1/locks/{lock}/revocations"),
                None,
                None,
            )
            .await?;
        self.db(move |c| store::put_revocations(c, lock, &list.revoked))
            .await
    }

    /// The device id of a paired lock: where it was last seen, else a scan for its tag.
    async fn find_device(&self, lock: Uuid) -> Result<String, AccessError> {
        let transport = self.transport().await?;
        let mut scan = transport.scan().await.map_err(ble_error)?;
        let tag = tag_of(lock);
        let found = tokio::time::timeout(FIND_TIMEOUT, async {
            while let Some(seen) = scan.next().await {
                if seen.advertisement.paired && seen.advertisement.lock_tag == tag {
                    return Some(seen.id);
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        drop(scan);
        let Some(device) = found else {
            return Err(AccessError::LockOutOfRange {
                message: "the lock is not advertising nearby".into(),
            });
        };
        let d = device.clone();
        self.db(move |c| store::put_device(c, lock, &d)).await?;
        Ok(device)
    }

    /// Opens a framed link to a paired lock.
    async fn connect_lock(&self, lock: Uuid) -> Result<Framed<AnyLink>, AccessError> {
        let transport = self.transport().await?;
        if let Some(device) = self.db(move |c| store::device(c, lock)).await?
            && let Ok(link) = transport.connect(&device).await
        {
            return Ok(Framed::new(link, ANSWER_TIMEOUT));
        }
        let device = self.find_device(lock).await?;
        let link = transport.connect(&device).await.map_err(ble_error)?;
        Ok(Framed::new(link, ANSWER_TIMEOUT))
    }

    /// Runs `commands` on the lock in one session (the first one opens it: one round trip),
    /// after the local gate for each. A refusal by the lock ends the session with
    /// [`AccessError::RefusedByLock`]. Staff phones push the revocation list afterwards
    /// when it changed since the last push.
    pub(crate) async fn run_on_lock(
        &self,
        lock_id: &str,
        commands: Vec<Command>,
    ) -> Result<(Me, Lock, Vec<Response>), AccessError> {
        let first = commands
            .first()
            .ok_or_else(|| AccessError::InvalidInput {
                message: "nothing to send".into(),
            })?
            .clone();
        let (me, lock) = self.gate(lock_id, action_of(&first)).await?;
        for c in &commands[1..] {
            self.gate(lock_id, action_of(c)).await?;
        }
        if !lock.paired {
            return Err(AccessError::RefusedByLock {
                reason: "not paired".into(),
            });
        }
        let id = lock.id;
        let credential = self.credential(id).await?;
        let staff = me.user_type == UserType::TeamMember;
        if staff {
            // Best effort: offline, the last list fetched is pushed.
            match self.fetch_revocations(id).await {
                Ok(()) => {}
                Err(AccessError::Revoked) => return Err(AccessError::Revoked),
                Err(e) => tracing::debug!(lock = %id, "revocation list not refreshed: {e}"),
            }
        }
        let _one = self.ble.busy.lock().await;
        let counter = self
            .db(move |c| store::next_counter(c, id, unix_millis()))
            .await?;
        let mut framed = self.connect_lock(id).await?;
        let out = self
            .converse(&mut framed, &credential, counter, &commands, staff, id)
            .await;
        framed.close().await;
        out.map(|responses| (me, lock, responses))
    }

    async fn converse(
        &self,
        framed: &mut Framed<AnyLink>,
        credential: &StoredCredential,
        counter: u64,
        commands: &[Command],
        staff: bool,
        lock: Uuid,
    ) -> Result<Vec<Response>, AccessError> {
        let (request, pending) = PhoneSession::start(
            &credential.lock_public_key,
            &credential.credential,
            &commands[0],
            counter,
        )
        .map_err(session_error)?;
        let answer = framed.exchange(&request).await.map_err(link_error)?;
        let (mut session, first) = pending.open_response(&answer).map_err(session_error)?;
        if let Response::Refused { reason } = first {
            return Err(refusal(reason));
        }
        let mut responses = vec![first];
        for command in &commands[1..] {
            let answer = framed
                .exchange(&session.request(command))
                .await
                .map_err(link_error)?;
            match session.open_response(&answer).map_err(session_error)? {
                Response::Refused { reason } => return Err(refusal(reason)),
                r => responses.push(r),
            }
        }
        if staff && let Some((list, false)) = self.db(move |c| store::revocations(c, lock)).await? {
            for chunk in to_revocations(&list).chunks(MAX_REVOCATIONS_PER_PUSH) {
                let answer = framed
                    .exchange(&session.request(&Command::PushRevocations(chunk.to_vec())))
                    .await
                    .map_err(link_error)?;
                if let Response::Refused { reason } =
                    session.open_response(&answer).map_err(session_error)?
                {
                    tracing::warn!(%lock, "the lock refused the revocation list: {reason:?}");
                    return Ok(responses);
                }
            }
            self.db(move |c| store::mark_revocations_pushed(c, lock))
                .await?;
        }
        Ok(responses)
    }

    async fn one(&self, lock_id: &str, command: Command) -> Result<Response, AccessError> {
        let (_, _, mut r) = self.run_on_lock(lock_id, vec![command]).await?;
        r.pop().ok_or_else(|| bad_response("no answer"))
    }

    /// Sends what waits for the server: code confirmations, then log entries read from
    /// locks. Returns how many log entries the server took.
    async fn flush_ble_uploads(&self) -> Result<u64, AccessError> {
        for (lock, code, body) in self.db(|c| store::code_reports(c)).await? {
            let r: Result<serde_json::Value, _> = self
                .request(
                    Method::POST,
                    &format!("/api/v1/locks/{lock}/access-codes/{code}/state"),
                    Some(&body),
                    None,
                )
                .await;
            match r {
                Ok(_) | Err(AccessError::NotFound) => {
                    self.db(move |c| store::drop_code_report(c, lock, code))
                        .await?
                }
                Err(e) => return Err(e),
            }
        }
        let mut uploaded = 0;
        for lock in self.db(|c| store::log_locks(c)).await? {
            loop {
                let batch = self.db(move |c| store::queued_log(c, lock, 500)).await?;
                let Some(last) = batch.last().map(|e| e.lock_seq) else {
                    break;
                };
                let body = access_domain::api::LockLogUpload { entries: batch };
                let r: Result<serde_json::Value, _> = self
                    .request(
                        Method::POST,
                        &format!("/api/v1/locks/{lock}/logs"),
                        Some(&body),
                        None,
                    )
                    .await;
                match r {
                    Ok(_) => uploaded += body.entries.len() as u64,
                    // A lock this user can no longer see: the entries cannot go anywhere.
                    Err(AccessError::NotFound | AccessError::NotAllowed { .. }) => {}
                    Err(e) => return Err(e),
                }
                self.db(move |c| store::drop_log(c, lock, last)).await?;
            }
        }
        Ok(uploaded)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AccessClient {
    /// Uses the Bluetooth adapter with this address (`None`: the first one). Takes effect
    /// for the next lock conversation.
    pub async fn use_bluetooth_adapter(&self, address: Option<String>) {
        *self.ble.adapter.lock().unwrap_or_else(|p| p.into_inner()) = address;
        *self.ble.transport.lock().await = None;
    }

    /// Scans for `duration_ms`, telling `listener` of each lock seen (again when its
    /// advertising changes); returns the locks seen, one per device.
    pub async fn scan_locks(
        &self,
        duration_ms: u32,
        listener: Option<Arc<dyn ScanListener>>,
    ) -> Result<Vec<NearbyLock>, AccessError> {
        let listener = Listener::new("scan listener", listener);
        let transport = self.transport().await?;
        let locks = self.db(|c| cache::list_locks(c)).await.unwrap_or_default();
        let mut scan = transport.scan().await.map_err(ble_error)?;
        let mut seen: Vec<NearbyLock> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(u64::from(duration_ms));
        while let Ok(Some(d)) = tokio::time::timeout_at(deadline, scan.next()).await {
            let lock_id = d
                .advertisement
                .paired
                .then(|| {
                    locks
                        .iter()
                        .find(|l| tag_of(l.id) == d.advertisement.lock_tag)
                })
                .flatten()
                .map(|l| l.id.to_string());
            let nearby = NearbyLock {
                device_id: d.id.clone(),
                name: d.name.clone(),
                paired: d.advertisement.paired,
                lock_id,
                tag: String::from_utf8_lossy(&d.advertisement.lock_tag)
                    .chars()
                    .map(|c| if c.is_ascii_graphic() { c } else { '.' })
                    .collect(),
                rssi: d.rssi,
            };
            if let Some(old) = seen.iter_mut().find(|n| n.device_id == nearby.device_id) {
                if *old == nearby {
                    continue;
                }
                *old = nearby.clone();
            } else {
                seen.push(nearby.clone());
            }
            listener.tell(|l| l.on_lock(nearby));
        }
        Ok(seen)
    }

    /// Pairs a factory-fresh lock on site and registers it under `unit_id` as `name`.
    /// `pairing_code` is the code printed on the lock. Needs the network and the `Pair`
    /// right in the unit.
    pub async fn pair_lock(
        &self,
        unit_id: String,
        device_id: String,
        pairing_code: String,
        name: String,
        progress: Option<Arc<dyn PairingProgress>>,
    ) -> Result<LockInfo, AccessError> {
        let progress = Listener::new("pairing progress", progress);
        let phase = |p: PairingPhase| progress.tell(|l| l.on_phase(p));
        self.require_token()?;
        let unit = parse_uuid(&unit_id)?;
        let me = self
            .db(|c| cache::me(c))
            .await?
            .ok_or(AccessError::NotSignedIn)?;
        let actor = Actor {
            user_type: me.user_type,
            status: me.status,
            permissions: &me.permissions,
            access: &me.access,
        };
        if !me.is_admin {
            authorize(&actor, Action::Pair, unit)?;
        }
        let code = lock_protocol::pairing::normalize_code(&pairing_code);
        if code.len() < 6 {
            return Err(pairing_error(PairingError::CodeTooShort));
        }
        let name = pairing_name(&name)?;
        let _one = self.ble.busy.lock().await;
        phase(PairingPhase::Connecting);
        let transport = self.transport().await?;
        // A lock this phone paired itself, or one that advertises itself paired, is refused
        // before anything is registered (BlueZ may still hold the advertisement from
        // before the pairing, so the phone's own record comes first).
        if self.paired_here(&device_id).await?
            || self.advertises_paired(&transport, &device_id).await?
        {
            return Err(rejection(Rejection::AlreadyPaired));
        }
        let link = transport.connect(&device_id).await.map_err(ble_error)?;
        let mut framed = Framed::new(link, ANSWER_TIMEOUT);
        let out = self
            .pair_on(&mut framed, unit, &device_id, &code, name, &phase)
            .await;
        framed.close().await;
        let lock = out?;
        phase(PairingPhase::Done);
        Ok(lock)
    }

    /// Fetches credentials (and, for staff, revocation lists) for every cached paired lock
    /// the user may open, so they open offline. Returns how many credentials are cached.
    pub async fn refresh_credentials(&self) -> Result<u32, AccessError> {
        let me = self
            .db(|c| cache::me(c))
            .await?
            .ok_or(AccessError::NotSignedIn)?;
        let locks = self.db(|c| cache::list_locks(c)).await?;
        let actor = Actor {
            user_type: me.user_type,
            status: me.status,
            permissions: &me.permissions,
            access: &me.access,
        };
        let mut n = 0;
        for lock in locks.iter().filter(|l| l.paired) {
            if authorize(&actor, Action::Unlock, lock.unit_id).is_err() {
                continue;
            }
            self.fetch_credential(lock.id).await?;
            if me.user_type == UserType::TeamMember {
                self.fetch_revocations(lock.id).await?;
            }
            n += 1;
        }
        Ok(n)
    }

    /// Opens the door. Offline with a cached credential.
    pub async fn ble_unlock(&self, lock_id: String) -> Result<(), AccessError> {
        match self.one(&lock_id, Command::Unlock).await? {
            Response::Unlocked => Ok(()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Throws the bolt.
    pub async fn ble_lock(&self, lock_id: String) -> Result<(), AccessError> {
        match self.one(&lock_id, Command::Lock).await? {
            Response::Locked => Ok(()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Sets the mode on the lock (`change_modes`), then records it on the server (queued
    /// when offline).
    pub async fn ble_set_mode(&self, lock_id: String, mode: LockMode) -> Result<(), AccessError> {
        match self.one(&lock_id, Command::SetMode(mode)).await? {
            Response::ModeSet(m) if m == mode => {}
            other => return Err(bad_response(format!("unexpected answer {other:?}"))),
        }
        self.change_mode(lock_id, mode).await.map(|_| ())
    }

    /// Renames the lock (`rename_locks`), then on the server (queued when offline).
    pub async fn ble_rename(&self, lock_id: String, name: String) -> Result<(), AccessError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > cmd::MAX_NAME_LEN {
            return Err(AccessError::InvalidInput {
                message: format!("A lock name needs 1 to {} bytes.", cmd::MAX_NAME_LEN),
            });
        }
        match self.one(&lock_id, Command::Rename(name.clone())).await? {
            Response::Renamed(_) => {}
            other => return Err(bad_response(format!("unexpected answer {other:?}"))),
        }
        self.rename_lock(lock_id, name).await.map(|_| ())
    }

    /// Resets the codes (`reset_codes`) in one session: the lock is reached first, then the
    /// server makes the new master code, then the lock takes it and drops every access code.
    /// Needs the network; nothing changes anywhere when the lock is out of range.
    pub async fn ble_reset_codes(&self, lock_id: String) -> Result<u32, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ResetCodes).await?;
        if !lock.paired {
            return Err(rejection(Rejection::NotPaired));
        }
        let id = lock.id;
        let credential = self.credential(id).await?;
        let _one = self.ble.busy.lock().await;
        let counter = self
            .db(move |c| store::next_counter(c, id, unix_millis()))
            .await?;
        let mut framed = self.connect_lock(id).await?;
        let out = self
            .reset_in_session(&mut framed, &credential, counter, &lock_id)
            .await;
        framed.close().await;
        out
    }

    /// Installs a given access code (from the cache) in the lock (`give_access`); the
    /// lock's confirmation is reported to the server (queued when offline).
    pub async fn ble_install_access_code(
        &self,
        lock_id: String,
        code_id: String,
    ) -> Result<(), AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::GiveAccess).await?;
        let code_uuid = parse_uuid(&code_id)?;
        let lid = lock.id;
        let code = self
            .db(move |c| cache::access_codes(c, lid))
            .await?
            .into_iter()
            .find(|c| c.id == code_uuid)
            .ok_or(AccessError::NotFound)?;
        let command = Command::AddAccessCode(protocol_code(&code, lock.mode)?);
        let result = self.one(&lock_id, command).await;
        let report = match &result {
            Ok(Response::CodeInstalled { .. }) => serde_json::json!({"state": "installed"}),
            Err(AccessError::RefusedByLock { reason }) => {
                serde_json::json!({"state": "failed", "reason": format!("refused by the lock: {reason}")})
            }
            _ => return result.map(|_| ()),
        };
        self.db(move |c| store::put_code_report(c, lid, code_uuid, &report))
            .await?;
        if let Err(e) = self.flush_ble_uploads().await {
            tracing::info!("code confirmation waits for the network: {e}");
        }
        result.map(|_| ())
    }

    /// Removes an access code from the lock (`give_access`).
    pub async fn ble_remove_access_code(
        &self,
        lock_id: String,
        code_id: String,
    ) -> Result<(), AccessError> {
        let code_id = logs::lock_code_id(parse_uuid(&code_id)?);
        match self
            .one(&lock_id, Command::RemoveAccessCode { code_id })
            .await?
        {
            Response::CodeRemoved { .. } => Ok(()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Battery, firmware, clock, mode, name of the lock.
    pub async fn ble_read_status(&self, lock_id: String) -> Result<LockStatusInfo, AccessError> {
        match self.one(&lock_id, Command::ReadStatus).await? {
            Response::Status(s) => Ok(s.into()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Reads the lock's log since the last entry read (`view_logs`), queues the entries and
    /// uploads what waits when the network is there.
    pub async fn ble_read_log(&self, lock_id: String) -> Result<LogReadSummary, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ViewLogs).await?;
        let id = lock.id;
        let codes = self.db(move |c| cache::access_codes(c, id)).await?;
        let mut since = self.db(move |c| store::log_cursor(c, id)).await?;
        let mut read = 0u64;
        loop {
            let command = Command::ReadLog {
                since,
                max: MAX_LOG_BATCH,
            };
            let (entries, head) = match self.one(&lock_id, command).await? {
                Response::Log { entries, head } => (entries, head),
                other => return Err(bad_response(format!("unexpected answer {other:?}"))),
            };
            let Some(last) = entries.last().map(|e| e.seq) else {
                break;
            };
            let events: Vec<_> = entries.iter().map(|e| logs::to_upload(e, &codes)).collect();
            read += events.len() as u64;
            self.db(move |c| store::queue_log(c, id, &events, last))
                .await?;
            since = last;
            if last >= head {
                break;
            }
        }
        let uploaded = match self.flush_ble_uploads().await {
            Ok(n) => n,
            Err(e) if e.is_transient() => 0,
            Err(e) => return Err(e),
        };
        let waiting = self.db(|c| store::queued_log_count(c)).await?;
        Ok(LogReadSummary {
            read,
            uploaded,
            waiting,
        })
    }

    /// Sets the lock's clock to this phone's; returns the lock's new clock.
    pub async fn ble_set_time(&self, lock_id: String) -> Result<u64, AccessError> {
        match self.one(&lock_id, Command::SetTime(unix_now())).await? {
            Response::TimeSet { clock } => Ok(clock),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Pushes the lock's revocation list (fetched now when online, else the cached one);
    /// returns how many revocations the lock holds.
    pub async fn ble_push_revocations(&self, lock_id: String) -> Result<u32, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::Unlock).await?;
        let id = lock.id;
        if let Err(e) = self.fetch_revocations(id).await
            && !e.is_transient()
        {
            return Err(e);
        }
        let list = self
            .db(move |c| store::revocations(c, id))
            .await?
            .map(|(l, _)| l)
            .unwrap_or_default();
        let mut total = 0;
        let chunks: Vec<Vec<Revocation>> = to_revocations(&list)
            .chunks(MAX_REVOCATIONS_PER_PUSH)
            .map(<[Revocation]>::to_vec)
            .collect();
        let commands = if chunks.is_empty() {
            vec![Command::PushRevocations(vec![])]
        } else {
            chunks.into_iter().map(Command::PushRevocations).collect()
        };
        for r in self.run_on_lock(&lock_id, commands).await?.2 {
            if let Response::RevocationsStored { total: t } = r {
                total = t;
            }
        }
        self.db(move |c| store::mark_revocations_pushed(c, id))
            .await?;
        Ok(total)
    }

    /// Uploads log entries and code confirmations waiting from earlier lock contacts;
    /// returns how many log entries the server took.
    pub async fn upload_lock_logs(&self) -> Result<u64, AccessError> {
        self.flush_ble_uploads().await
    }
}

impl AccessClient {
    async fn reset_in_session(
        &self,
        framed: &mut Framed<AnyLink>,
        credential: &StoredCredential,
        counter: u64,
        lock_id: &str,
    ) -> Result<u32, AccessError> {
        let (request, pending) = PhoneSession::start(
            &credential.lock_public_key,
            &credential.credential,
            &Command::ReadStatus,
            counter,
        )
        .map_err(session_error)?;
        let answer = framed.exchange(&request).await.map_err(link_error)?;
        let (mut session, first) = pending.open_response(&answer).map_err(session_error)?;
        if let Response::Refused { reason } = first {
            return Err(refusal(reason));
        }
        // The lock is here and takes this credential: now the server's new master code.
        self.reset_codes(lock_id.to_string()).await?;
        let install: CodeInstall = self
            .request::<(), _>(
                Method::GET,
                &format!("/api/v1/locks/{lock_id}/code-install"),
                None,
                None,
            )
            .await?;
        let code_secret = key32(
            decode_b64(&install.code_secret, "code secret")?,
            "code secret",
        )?;
        let command = Command::ResetCodes {
            master_code: install.master_code,
            code_secret,
        };
        let answer = framed
            .exchange(&session.request(&command))
            .await
            .map_err(link_error)?;
        match session.open_response(&answer).map_err(session_error)? {
            Response::CodesReset { removed } => Ok(removed),
            Response::Refused { reason } => Err(refusal(reason)),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Whether this phone paired `device` to a lock the cache still shows as paired.
    async fn paired_here(&self, device: &str) -> Result<bool, AccessError> {
        let dev = device.to_string();
        self.db(move |c| {
            Ok(match store::lock_of_device(c, &dev)? {
                Some(id) => match cache::lock(c, id) {
                    Ok(l) => l.paired,
                    Err(cache::StoreError::NotFound) => false,
                    Err(e) => return Err(e),
                },
                None => false,
            })
        })
        .await
    }

    /// Whether `device` advertises that it is paired (looked up for a few seconds; a
    /// device not seen is left to the connection attempt).
    async fn advertises_paired(
        &self,
        transport: &AnyTransport,
        device: &str,
    ) -> Result<bool, AccessError> {
        let mut scan = transport.scan().await.map_err(ble_error)?;
        let found = tokio::time::timeout(FIND_TIMEOUT, async {
            while let Some(seen) = scan.next().await {
                if seen.id == device {
                    return Some(seen.advertisement.paired);
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        Ok(found.unwrap_or(false))
    }

    async fn pair_on(
        &self,
        framed: &mut Framed<AnyLink>,
        unit: Uuid,
        device: &str,
        code: &str,
        name: String,
        phase: &(dyn Fn(PairingPhase) + Send + Sync),
    ) -> Result<LockInfo, AccessError> {
        phase(PairingPhase::Registering);
        let dev = device.to_string();
        let pending = self
            .db(move |c| store::pending_pairing(c, &dev, unit))
            .await?;
        let registration: LockRegistration = match pending {
            Some(body) => {
                serde_json::from_slice(body.as_bytes()).map_err(|e| bad_response(e.to_string()))?
            }
            None => {
                let body = serde_json::json!({"unit_id": unit, "name": name});
                let reg: LockRegistration = self
                    .request(Method::POST, "/api/v1/locks", Some(&body), None)
                    .await?;
                let json = serde_json::to_string(&reg).map_err(|e| bad_response(e.to_string()))?;
                let dev = device.to_string();
                self.db(move |c| store::put_pending_pairing(c, &dev, unit, &json))
                    .await?;
                reg
            }
        };
        let install = Install {
            org_public_key: decode_b64(&registration.org_public_key, "organization key")?,
            lock_id: registration.lock.id,
            now: unix_now(),
            master_code: registration.master_code.clone(),
            // This attempt's name, also when the registration is a failed attempt's.
            name: name.clone(),
            mode: registration.lock.mode,
            code_secret: key32(
                decode_b64(&registration.code_secret, "code secret")?,
                "code secret",
            )?,
        };
        phase(PairingPhase::KeyExchange);
        let (start, mut pairing) = PairingPhone::start(code, install).map_err(pairing_error)?;
        let mut message = start;
        let result = loop {
            let answer = framed.exchange(&message).await.map_err(link_error)?;
            match pairing.on_message(&answer).map_err(pairing_error)? {
                PairingStep::Send(next) => {
                    phase(PairingPhase::Installing);
                    message = next;
                }
                PairingStep::Paired(result) => break result,
            }
        };
        let identity = LockIdentity {
            identity_public_key: STANDARD.encode(result.lock_static_public),
            firmware: Some(result.firmware.chars().take(64).collect()),
            name: (name != registration.lock.name).then_some(name),
        };
        let lock: Lock = self
            .request(
                Method::PUT,
                &format!("/api/v1/locks/{}/identity", registration.lock.id),
                Some(&identity),
                None,
            )
            .await?;
        let (l, dev) = (lock.clone(), device.to_string());
        self.db(move |c| {
            cache::upsert_lock(c, &l)?;
            store::put_device(c, l.id, &dev)?;
            store::drop_pending_pairing(c, &dev)
        })
        .await?;
        // So the lock opens offline right away.
        if let Err(e) = self.fetch_credential(lock.id).await {
            tracing::info!(lock = %lock.id, "no credential yet: {e}");
        }
        Ok(LockInfo::from(lock))
    }
}
