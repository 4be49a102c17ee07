//! The door: what the platform wants each lock to hold, and what the lock confirmed.
//!
//! [`desired`] derives a lock's desired state from the platform's data: its mode and name,
//! the master code and the code secret, the given codes still valid (but those the lock
//! refused, which stay failed with its reason), every personal passcode
//! the mode table and scopes allow on it (with the holder's access dates as its window, and
//! gone once that access has ended), and the revocation list. It is the seam a lock
//! family implements against: this protocol's updates are built from it in [`issue`], and
//! [`contact`] records what a phone saw of the lock (the version it holds, its battery).

use access_domain::api::RevokedCredential;
use access_domain::api::{DoorState, LOW_BATTERY_PERCENT, LockContactReport};
use access_domain::{AccessCodeKind, Action, CodeClass, CodeSyncState, LockMode, UserType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lock_protocol::command::{AccessCode, MAX_NAME_LEN, Revocation, Window, code_id_of};
use lock_protocol::door::{self, PlainUpdate};
use ring::rand::SystemRandom;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::codes::grant_of;
use crate::service::credentials::revocations;
use crate::service::door_chain;
use crate::service::keys::{code_secret, org_keypair, report_key};
use crate::service::locks::{gated, lock_missing};
use crate::store::{DoorStatus, DoorUpdateRecord, HeldState, LockContact, LockRecord, UserRecord};

/// A keypad code the lock should hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredCode {
    /// The server's id (an access code's or a passcode's).
    pub id: Uuid,
    pub digits: String,
    pub kind: AccessCodeKind,
    /// The row of the mode table it uses.
    pub class: CodeClass,
    /// Whose personal passcode it is.
    pub owner: Option<Uuid>,
    /// Unix seconds, start inclusive, end exclusive.
    pub window: Option<(u64, u64)>,
    /// The lock confirmed holding it (what the platform knows, not part of the state).
    #[serde(skip)]
    pub installed: bool,
}

/// Everything the platform wants one lock to hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredDoor {
    pub lock_id: Uuid,
    pub name: String,
    pub mode: LockMode,
    pub master_code: String,
    pub code_secret: [u8; 32],
    pub report_key: [u8; 32],
    /// Ordered by id, so equal states have equal digests.
    pub codes: Vec<DesiredCode>,
    /// Ordered by serial.
    pub revocations: Vec<(u64, u64)>,
}

impl DesiredDoor {
    /// SHA-256 of the state: an unchanged state reuses the update already issued.
    pub fn digest(&self) -> [u8; 32] {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let d = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }
}

fn unix(t: OffsetDateTime) -> u64 {
    t.unix_timestamp().max(0) as u64
}

/// The desired state of `lock` now.
pub async fn desired(state: &AppState, lock: &LockRecord) -> ApiResult<DesiredDoor> {
    let (org, id) = (lock.org_id, lock.id);
    let now = OffsetDateTime::now_utc();
    let (master_code, key, given, revoked_codes, passcodes, holders) = state
        .db
        .run(move |s| {
            let given = s.list_access_codes(org, id)?;
            let revoked: Vec<Uuid> = s
                .access_code_revocations(org, id)?
                .into_iter()
                .map(|r| r.code_id)
                .collect();
            let passcodes = s.lock_passcodes(id)?;
            let mut holders = Vec::with_capacity(passcodes.len());
            for p in &passcodes {
                holders.push(s.user(org, p.user_id)?);
            }
            Ok((
                s.door_master_code(org, id)?,
                s.organization_key(org)?,
                given,
                revoked,
                passcodes,
                holders,
            ))
        })
        .await
        .map_err(lock_missing)?;
    // A one-time code starts when it is given; a lock clock a little behind the server's
    // must not refuse it in its first minutes (the tolerance of credentials).
    let slack = lock_protocol::credential::CLOCK_SKEW_SECS;
    let guest_class = if lock.mode == LockMode::Tour {
        CodeClass::Tour
    } else {
        CodeClass::Guest
    };
    let mut codes: Vec<DesiredCode> = given
        .into_iter()
        // Offline codes are computed by the lock, never installed.
        .filter(|c| grant_of(c.id).is_none() && !revoked_codes.contains(&c.id))
        // A code the lock refused stays out, or no update after it would ever apply.
        .filter(|c| c.sync_state != CodeSyncState::Failed)
        .filter(|c| c.ends_at.is_none_or(|e| e > now))
        .map(|c| DesiredCode {
            id: c.id,
            // Any kind with a date carries a window the lock holds it to (a permanent code
            // may have a start, an end or both).
            window: match (c.starts_at, c.ends_at) {
                (None, None) => None,
                (s, e) => {
                    let slack = if c.kind == AccessCodeKind::OneTime {
                        slack
                    } else {
                        0
                    };
                    Some((
                        s.map_or(0, |s| unix(s).saturating_sub(slack)),
                        e.map_or(u64::MAX, unix),
                    ))
                }
            },
            installed: c.sync_state == CodeSyncState::Installed,
            digits: c.code,
            kind: c.kind,
            class: guest_class,
            owner: None,
        })
        .collect();
    codes.extend(
        passcodes
            .into_iter()
            .zip(holders)
            .filter(|(p, holder)| {
                holder.status == access_domain::UserStatus::Active
                    && p.sync_state != CodeSyncState::Failed
            })
            // Once the holder's access has ended the code leaves the lock with the next
            // update; until then the lock itself refuses it outside the window.
            .filter(|(_, holder)| !holder.period.ended(now))
            .map(|(p, holder)| DesiredCode {
                installed: p.sync_state == CodeSyncState::Installed,
                id: p.id,
                digits: p.code,
                kind: AccessCodeKind::Permanent,
                class: match holder.user_type {
                    UserType::Resident => CodeClass::Resident,
                    UserType::TeamMember => CodeClass::Staff,
                },
                owner: Some(holder.id),
                window: holder.period.window_secs(),
            }),
    );
    codes.sort_by_key(|c| c.id);
    let mut revoked: Vec<(u64, u64)> = revocations(state, lock)
        .await?
        .into_iter()
        .map(|RevokedCredential { serial, expires_at }| (serial, expires_at))
        .collect();
    revoked.sort_unstable();
    Ok(DesiredDoor {
        lock_id: id,
        name: lock.name.clone(),
        mode: lock.mode,
        code_secret: code_secret(&key.signing_key_pkcs8, id, &master_code),
        report_key: report_key(&key.signing_key_pkcs8, id),
        master_code,
        codes,
        revocations: revoked,
    })
}

/// Records what a phone of `user` (anyone who may open the lock) read of it, once the
/// lock's receipt shows the report came from the lock.
pub async fn contact(
    state: &AppState,
    user: &UserRecord,
    lock_id: Uuid,
    report: LockContactReport,
) -> ApiResult<DoorStatus> {
    let lock = gated(state, user, lock_id, Action::Unlock).await?;
    if lock.identity_public_key.is_none() {
        // No phone can hold a session with a lock that was never paired.
        return Err(ApiError::conflict(
            "This lock is not paired yet: there is no contact to report.",
        ));
    }
    let org = user.org_id;
    let key = state
        .db
        .run(move |s| s.organization_key(org))
        .await
        .map_err(lock_missing)?;
    let secret = report_key(&key.signing_key_pkcs8, lock_id);
    let genuine = STANDARD.decode(&report.receipt).is_ok_and(|tag| {
        door::receipt_matches(
            &secret,
            lock_id,
            report.door_version,
            report.battery,
            report.clock,
            &report.firmware,
            &tag,
        )
    });
    if !genuine {
        return Err(ApiError::validation(
            "The lock's receipt does not match this report: only what the lock itself said \
             is recorded.",
        ));
    }
    let seen = LockContact {
        door_version: report.door_version,
        battery: Some(report.battery.min(100)),
        firmware: Some(report.firmware),
        app: user.user_type.app(),
        at: OffsetDateTime::now_utc(),
    };
    Ok(state
        .db
        .run(move |s| s.record_contact(org, lock_id, &seen))
        .await?)
}

/// How far the lock `lock_id` is in step, for anyone who sees it.
pub async fn door_state(
    state: &AppState,
    user: &UserRecord,
    lock_id: Uuid,
) -> ApiResult<DoorState> {
    let lock = gated(state, user, lock_id, Action::View).await?;
    let want = desired(state, &lock).await?;
    let org = user.org_id;
    let (status, held) = state
        .db
        .run(move |s| {
            let status = s.door_status(org, lock_id)?;
            let held = s.door_update(lock_id, status.confirmed)?;
            Ok((status, held))
        })
        .await?;
    // In step: the update the lock confirmed holds what the platform wants now.
    let in_step = status.confirmed != 0 && held.is_some_and(|u| u.digest == want.digest());
    Ok(DoorState {
        lock_id,
        confirmed_version: status.confirmed,
        in_step,
        pending_codes: want.codes.iter().filter(|c| !c.installed).count() as u32,
        battery: lock.battery,
        low_battery: lock.battery.is_some_and(|b| b <= LOW_BATTERY_PERCENT),
        last_contact_at: status.last_contact_at,
        last_contact_app: status.last_contact_app,
    })
}

/// The updates that bring the lock `lock_id` to its desired state, for anyone who may open
/// it to carry, oldest first ([`door_chain`]): the newest answer again while the state is
/// unchanged, else new ones with versions above every earlier one (milliseconds of the
/// server's clock): one whole state when it fits one update, else the difference from the
/// version the lock confirmed (a whole state first when it confirmed none).
pub async fn issue(
    state: &AppState,
    user: &UserRecord,
    lock_id: Uuid,
) -> ApiResult<Vec<DoorUpdateRecord>> {
    let lock = gated(state, user, lock_id, Action::Unlock).await?;
    let Some(public) = lock.identity_public_key.as_deref() else {
        return Err(ApiError::conflict(
            "This lock is not paired yet: pair it on site first.",
        ));
    };
    let lock_public: [u8; 32] = STANDARD
        .decode(public)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| {
            tracing::error!(lock = %lock_id, "stored lock identity key is not 32 bytes of base64");
            ApiError::internal()
        })?;
    let org = user.org_id;
    // Two requests may issue at once; the one that records first stands and the other
    // builds again on what it recorded.
    for _ in 0..3 {
        let want = desired(state, &lock).await?;
        let digest = want.digest();
        let (status, updates) = state
            .db
            .run(move |s| {
                let status = s.door_status(org, lock_id)?;
                Ok((
                    status.clone(),
                    s.door_updates_from(lock_id, status.confirmed)?,
                ))
            })
            .await?;
        if let Some(reused) = reuse(&updates, &status, &digest) {
            return Ok(reused);
        }
        let now = OffsetDateTime::now_utc();
        let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let first_version = millis.max(status.latest + 1);
        let target = target_of(&want);
        // A state that fits one update goes whole: it applies over whatever the lock holds,
        // also a version a phone carried but has not reported yet. A larger one goes as the
        // difference from the version the lock confirmed.
        let fits = want.codes.len() <= door::MAX_PUT_CODES
            && want.revocations.len() <= door::MAX_ADD_REVOCATIONS;
        let base = updates
            .first()
            .filter(|u| !fits && status.confirmed != 0 && u.version == status.confirmed)
            .and_then(|u| u.held.as_ref().map(|h| (u.version, h)));
        let planned = door_chain::plan(base, &target, first_version);
        let (keypair, _) = org_keypair(state, org).await?;
        let rng = SystemRandom::new();
        let last = planned.len() - 1;
        let mut chain = Vec::with_capacity(planned.len());
        for (k, p) in planned.into_iter().enumerate() {
            let plain = plain_update(&want, &target, &p, unix(now));
            let body = door::seal_and_sign(&plain, &lock_public, &keypair, &rng).map_err(|e| {
                tracing::error!(lock = %lock_id, error = %e, "door update not built");
                ApiError::internal()
            })?;
            chain.push(DoorUpdateRecord {
                lock_id,
                version: p.version,
                base_version: p.base_version,
                digest: if k == last { digest } else { [0; 32] },
                code_ids: p.held.codes.keys().copied().collect(),
                body,
                created_at: now,
                held: Some(p.held),
            });
        }
        let recorded = chain.clone();
        if state
            .db
            .run(move |s| s.record_door_chain(org, &recorded))
            .await?
        {
            return Ok(chain);
        }
    }
    Err(ApiError::conflict(
        "The lock's door updates are changing right now: try again.",
    ))
}

/// The newest answer again while the state is unchanged: the newest update issued, when it
/// holds the state `digest`, with the updates it builds on since the confirmed version.
/// Never an older one: a phone keeps the newest update it fetched, so an answer that went
/// back in version would leave the newer one (of a state since undone) in its cache.
fn reuse(
    updates: &[DoorUpdateRecord],
    status: &DoorStatus,
    digest: &[u8; 32],
) -> Option<Vec<DoorUpdateRecord>> {
    let newest = updates.last()?;
    if newest.version != status.latest || newest.digest != *digest {
        return None;
    }
    if newest.version == status.confirmed {
        return Some(vec![newest.clone()]);
    }
    door_chain::chain_to(updates, newest.version, status.confirmed)
}

/// `want` in the protocol's terms, with the fingerprints a chain compares.
fn target_of(want: &DesiredDoor) -> door_chain::Target {
    let sha = |parts: &[&[u8]]| {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for p in parts {
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p);
        }
        ctx.finish()
    };
    let codes: Vec<(Uuid, AccessCode)> = want
        .codes
        .iter()
        .map(|c| {
            (
                c.id,
                AccessCode {
                    code_id: code_id_of(c.id),
                    digits: c.digits.clone(),
                    kind: c.kind,
                    window: c
                        .window
                        .map(|(starts_at, ends_at)| Window { starts_at, ends_at }),
                    class: c.class,
                    owner: c.owner,
                },
            )
        })
        .collect();
    let revocations: Vec<Revocation> = want
        .revocations
        .iter()
        .map(|&(serial, expires_at)| Revocation { serial, expires_at })
        .collect();
    let held = HeldState {
        name: lock_name(&want.name),
        mode: Some(want.mode),
        secrets: hex::encode(
            sha(&[
                want.master_code.as_bytes(),
                &want.code_secret,
                &want.report_key,
            ])
            .as_ref(),
        ),
        codes: codes
            .iter()
            .map(|(id, c)| {
                let bytes = serde_json::to_vec(c).unwrap_or_default();
                (*id, hex::encode(&sha(&[&bytes]).as_ref()[..16]))
            })
            .collect(),
        revocations: want.revocations.iter().copied().collect(),
    };
    door_chain::Target {
        held,
        codes,
        revocations,
    }
}

/// The protocol's update for one planned step of a chain.
fn plain_update(
    want: &DesiredDoor,
    target: &door_chain::Target,
    p: &door_chain::PlannedUpdate,
    issued_at: u64,
) -> PlainUpdate {
    let mut plain = PlainUpdate::empty(want.lock_id, p.version, p.base_version, issued_at);
    if p.name {
        plain.name = Some(target.held.name.clone());
    }
    if p.mode {
        plain.mode = Some(want.mode);
    }
    if p.secrets {
        plain.master_code = Some(want.master_code.clone());
        plain.code_secret = Some(want.code_secret);
        plain.report_key = Some(want.report_key);
    }
    plain.remove_codes = p.remove_codes.iter().map(|id| code_id_of(*id)).collect();
    plain.put_codes = p
        .put_codes
        .iter()
        .map(|&i| target.codes[i].1.clone())
        .collect();
    plain.add_revocations = p
        .add_revocations
        .iter()
        .map(|&i| target.revocations[i])
        .collect();
    plain
}

/// The platform's name cut to what the lock keeps, at a character boundary.
fn lock_name(name: &str) -> String {
    let mut end = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}
