//! Pairing a factory-fresh lock on site: registered under its unit first (the answer is
//! what to install), then SPAKE2 on the printed code proves the lock and installs it, then
//! the lock's identity key goes to the server. A failed attempt is retried under the same
//! registration.

use std::sync::Arc;

use access_domain::api::{Lock, LockIdentity, LockRegistration};
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
use super::{ANSWER_TIMEOUT, PairingPhase, PairingProgress, unix_now};
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
        let progress = Listener::new("pairing progress", progress);
        let phase = |p: PairingPhase| progress.tell(|l| l.on_phase(p));
        self.require_token()?;
        let unit = parse_id(&unit_id)?;
        gate::check_pair(&self.me().await?, unit)?;
        let code = lock_protocol::pairing::normalize_code(&pairing_code);
        if code.len() < 6 {
            return Err(pairing_error(PairingError::CodeTooShort));
        }
        let name = pairing_name(&name)?;
        let lock = self
            .pair_here(unit, &device_id, &code, name, &phase)
            .await?;
        // Pairing installs no secret: the master code and the code secret arrive in the
        // lock's first door update, carried now by a first contact while the phone is at
        // the door (best effort: any later contact carries it too).
        if let Err(e) = self
            .run_on_lock(&lock.id, vec![cmd::Command::ReadStatus])
            .await
        {
            tracing::warn!(lock = %lock.id, "no first contact after pairing: {e}");
        }
        phase(PairingPhase::Done);
        Ok(lock)
    }

    /// The pairing itself, with the radio held: connect, register, SPAKE2, identity.
    async fn pair_here(
        &self,
        unit: Uuid,
        device_id: &str,
        code: &str,
        name: String,
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
            .pair_on(&mut framed, unit, device_id, code, name, phase)
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

    /// Registers (or takes the failed attempt's registration), pairs over `framed`, then
    /// records the lock's identity and caches the lock with a credential.
    pub(crate) async fn pair_on(
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
            .db(move |c| on_site::pending_pairing(c, &dev, unit))
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
                self.db(move |c| on_site::put_pending_pairing(c, &dev, unit, &json))
                    .await?;
                reg
            }
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
