//! Pairing a factory-fresh lock on site: registered under its unit first (the answer is
//! what to install), then SPAKE2 on the printed code proves the lock and installs it, then
//! the lock's identity key goes to the server. A failed attempt is retried under the same
//! registration.

use std::sync::Arc;

use access_domain::Action;
use access_domain::api::{Lock, LockIdentity, LockRegistration, Page, Property};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lock_ble::{AnyLink, LockTransport};
use lock_protocol::command as cmd;
use lock_protocol::pairing::{Install, PairingError};
use lock_protocol::wire::Rejection;
use reqwest::Method;
use uuid::Uuid;

use super::conversation::pair;
use super::errors::{bad_response, ble_error, decode_b64, pairing_error, rejection};
use super::link::Framed;
use super::{ANSWER_TIMEOUT, PairingPhase, PairingPlace, PairingProgress, unix_now};
use crate::cache::on_site;
use crate::callback::Listener;
use crate::engine::Engine;
use crate::gate::{self, parse_id};
use crate::model::LockInfo;
use crate::{AccessError, cache};

/// The name a pairing installs in the lock and registers: checked before anything is sent,
/// because a retry only learns the server's verdict after the lock is paired.
pub(crate) fn pairing_name(raw: &str) -> Result<String, AccessError> {
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

impl Engine {
    /// Pairs a factory-fresh lock on site and registers it under `unit_id` as `name`.
    /// `pairing_code` is the code printed on the lock. Needs the network and the `Pair`
    /// right in the unit.
    pub(crate) async fn pair_lock(
        &self,
        unit_id: String,
        device_id: String,
        pairing_code: String,
        name: String,
        progress: Option<Arc<dyn PairingProgress>>,
    ) -> Result<LockInfo, AccessError> {
        self.require_token()?;
        let unit = parse_id(&unit_id)?;
        gate::check(&self.me().await?, Action::Pair, unit)?;
        let code = checked_code(&pairing_code)?;
        let name = pairing_name(&name)?;
        let target = Target {
            unit,
            name,
            known: None,
        };
        self.pair_to(target, &device_id, &code, progress).await
    }

    /// Pairs a factory-fresh lock onto a lock record already on the platform (added on the
    /// web, not yet paired), keeping its id, unit and name. Needs the network and the `Pair`
    /// right in the record's unit.
    pub(crate) async fn pair_onto(
        &self,
        lock_id: String,
        device_id: String,
        pairing_code: String,
        progress: Option<Arc<dyn PairingProgress>>,
    ) -> Result<LockInfo, AccessError> {
        self.require_token()?;
        let id = parse_id(&lock_id)?;
        let me = self.me().await?;
        let lock: Lock = self
            .request::<(), _>(Method::GET, &format!("/api/v1/locks/{id}"), None, None)
            .await?;
        gate::check(&me, Action::Pair, lock.unit_id)?;
        if lock.paired {
            return Err(rejection(Rejection::AlreadyPaired));
        }
        let code = checked_code(&pairing_code)?;
        let key: OrganizationKey = self
            .request::<(), _>(Method::GET, "/api/v1/organization/public-key", None, None)
            .await?;
        let target = Target {
            unit: lock.unit_id,
            name: lock.name.clone(),
            known: Some(LockRegistration {
                lock,
                org_public_key: key.public_key,
            }),
        };
        self.pair_to(target, &device_id, &code, progress).await
    }

    /// The pairing both entries share, telling `progress` its phases: the pairing itself,
    /// then a first contact while the phone is at the door, which carries the lock's first
    /// door update (pairing installs no secret: the master code and the code secret arrive
    /// sealed in it; best effort: any later contact carries it too).
    async fn pair_to(
        &self,
        target: Target,
        device_id: &str,
        code: &str,
        progress: Option<Arc<dyn PairingProgress>>,
    ) -> Result<LockInfo, AccessError> {
        let progress = Listener::new("pairing progress", progress);
        let phase = |p: PairingPhase| progress.tell(|l| l.on_phase(p));
        let lock = self.pair_here(target, device_id, code, &phase).await?;
        if let Err(e) = self
            .run_on_lock(&lock.id, vec![cmd::Command::ReadStatus])
            .await
        {
            tracing::warn!(lock = %lock.id, "no first contact after pairing: {e}");
        }
        phase(PairingPhase::Done);
        Ok(lock)
    }

    /// The units where the signed-in user may pair a lock, each with the locks added on the
    /// platform and waiting for theirs. Needs the network (units without a lock are in no
    /// cache).
    pub(crate) async fn pairing_places(&self) -> Result<Vec<PairingPlace>, AccessError> {
        let me = self.me().await?;
        let properties: Page<Property> = self
            .request::<(), _>(Method::GET, "/api/v1/properties", None, None)
            .await?;
        let locks = self.db(|c| cache::list_locks(c)).await?;
        let mut places = Vec::new();
        for p in properties.items {
            for u in p.units {
                if gate::check(&me, Action::Pair, u.id).is_err() {
                    continue;
                }
                let waiting_locks = locks
                    .iter()
                    .filter(|l| l.unit_id == u.id && !l.paired)
                    .cloned()
                    .map(LockInfo::from)
                    .collect();
                places.push(PairingPlace {
                    property_id: p.id.to_string(),
                    property_name: p.name.clone(),
                    unit_id: u.id.to_string(),
                    unit_name: u.name,
                    waiting_locks,
                });
            }
        }
        Ok(places)
    }

    /// The pairing itself, with the radio held: connect, register, SPAKE2, identity.
    async fn pair_here(
        &self,
        target: Target,
        device_id: &str,
        code: &str,
        phase: &(dyn Fn(PairingPhase) + Send + Sync),
    ) -> Result<LockInfo, AccessError> {
        let _one = self.ble.busy.lock().await;
        phase(PairingPhase::Connecting);
        let transport = self.transport().await?;
        // A lock this phone paired itself, or one that advertises itself paired, is refused
        // before anything is registered (BlueZ may still hold the advertisement from
        // before the pairing, so the phone's own record comes first).
        if self.paired_here(device_id).await?
            || self.advertises_paired(&transport, device_id).await?
        {
            return Err(rejection(Rejection::AlreadyPaired));
        }
        let link = transport.connect(device_id).await.map_err(ble_error)?;
        let mut framed = Framed::new(link, ANSWER_TIMEOUT);
        let out = self
            .pair_on(&mut framed, target, device_id, code, phase)
            .await;
        framed.close().await;
        out
    }

    /// Whether this phone paired `device` to a lock the cache still shows as paired.
    pub(crate) async fn paired_here(&self, device: &str) -> Result<bool, AccessError> {
        let dev = device.to_string();
        self.db(move |c| {
            Ok(match on_site::lock_of_device(c, &dev)? {
                Some(id) => match cache::lock(c, id) {
                    Ok(l) => l.paired,
                    Err(cache::CacheError::NotFound) => false,
                    Err(e) => return Err(e),
                },
                None => false,
            })
        })
        .await
    }

    /// The lock's registration under `unit`: the failed attempt's, else a new one.
    async fn registration(
        &self,
        unit: Uuid,
        device: &str,
        name: &str,
    ) -> Result<LockRegistration, AccessError> {
        let dev = device.to_string();
        let pending = self
            .db(move |c| on_site::pending_pairing(c, &dev, unit))
            .await?;
        if let Some(body) = pending {
            return serde_json::from_slice(body.as_bytes())
                .map_err(|e| bad_response(e.to_string()));
        }
        let body = serde_json::json!({"unit_id": unit, "name": name});
        let reg: LockRegistration = self
            .request(Method::POST, "/api/v1/locks", Some(&body), None)
            .await?;
        let json = serde_json::to_string(&reg).map_err(|e| bad_response(e.to_string()))?;
        let dev = device.to_string();
        self.db(move |c| on_site::put_pending_pairing(c, &dev, unit, &json))
            .await?;
        Ok(reg)
    }

    /// Registers (or takes the failed attempt's registration), pairs over `framed`, then
    /// records the lock's identity and caches the lock with a credential.
    pub(crate) async fn pair_on(
        &self,
        framed: &mut Framed<AnyLink>,
        target: Target,
        device: &str,
        code: &str,
        phase: &(dyn Fn(PairingPhase) + Send + Sync),
    ) -> Result<LockInfo, AccessError> {
        phase(PairingPhase::Registering);
        let Target { unit, name, known } = target;
        let registration = match known {
            // A record the platform already has: nothing to register.
            Some(r) => r,
            None => self.registration(unit, device, &name).await?,
        };
        let install = Install {
            org_public_key: decode_b64(&registration.org_public_key, "organization key")?,
            lock_id: registration.lock.id,
            now: unix_now(),
            // This attempt's name, also when the registration is a failed attempt's.
            name: name.clone(),
            mode: registration.lock.mode,
        };
        phase(PairingPhase::KeyExchange);
        let result = pair(framed, code, install, &|| phase(PairingPhase::Installing)).await?;
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
            on_site::put_device(c, l.id, &dev)?;
            on_site::drop_pending_pairing(c, &dev)
        })
        .await?;
        // So the lock opens offline right away.
        if let Err(e) = self.fetch_credential(lock.id).await {
            tracing::info!(lock = %lock.id, "no credential yet: {e}");
        }
        // Its first whole update, carried by the first contact.
        if let Err(e) = self.fetch_door_update(lock.id).await {
            tracing::info!(lock = %lock.id, "no door update yet: {e}");
        }
        Ok(LockInfo::from(lock))
    }
}

/// `GET /api/v1/organization/public-key`.
#[derive(serde::Deserialize)]
struct OrganizationKey {
    public_key: String,
}

/// The code printed on the lock, normalized; refused before anything is sent when too short.
fn checked_code(typed: &str) -> Result<String, AccessError> {
    let code = lock_protocol::pairing::normalize_code(typed);
    if code.len() < 6 {
        return Err(pairing_error(PairingError::CodeTooShort));
    }
    Ok(code)
}

/// What a pairing makes of the lock: its unit and name, and the platform's record when the
/// lock was added on the web (else pairing registers one).
pub(crate) struct Target {
    unit: Uuid,
    name: String,
    known: Option<LockRegistration>,
}
