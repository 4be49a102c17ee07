//! Signed credentials (fetched from the server, kept in the cache, used offline until they
//! expire).

use access_domain::api::CredentialResponse;
use access_domain::{Action, Member, authorize};
use lock_protocol::credential::SignedCredential;
use reqwest::Method;
use uuid::Uuid;

use super::errors::{bad_response, decode_b64, key32};
use std::time::Duration;

use super::{RENEW_BEFORE_SECS, unix_now};

/// A credential this close to its expiry is renewed before the contact, not beside it: the
/// session might outlast it.
const LAST_MINUTE_SECS: u64 = 60;
use crate::cache::on_site::{self, StoredCredential};
use crate::engine::Engine;
use crate::{AccessError, cache};

impl Engine {
    /// Asks the server for a credential and stores it.
    pub(crate) async fn fetch_credential(
        &self,
        lock: Uuid,
    ) -> Result<StoredCredential, AccessError> {
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
        self.db(move |c| on_site::put_credential(c, lock, &s))
            .await?;
        Ok(stored)
    }

    /// A usable credential: the cached one while it is fresh, else a new one from the
    /// server, else (offline) the cached one until it expires.
    pub(crate) async fn credential(&self, lock: Uuid) -> Result<StoredCredential, AccessError> {
        let cached = self.db(move |c| on_site::credential(c, lock)).await?;
        let now = unix_now();
        if let Some(c) = &cached
            && c.not_after > now + RENEW_BEFORE_SECS
        {
            return Ok(c.clone());
        }
        // In its last hour a credential still opens: renewed in the background, never on
        // the way to the door.
        if let Some(c) = &cached
            && c.not_after > now + LAST_MINUTE_SECS
        {
            self.finish(Duration::ZERO, "credential renewal", move |e| {
                Box::pin(async move { e.fetch_credential(lock).await.map(|_| ()) })
            })
            .await;
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

    /// Fetches credentials and door updates (carried at the next contact) for every cached
    /// paired lock the user may open, so they open offline and follow the platform. Returns how many credentials are cached.
    pub(crate) async fn refresh_credentials(&self) -> Result<u32, AccessError> {
        let me = self.me().await?;
        let locks = self.db(|c| cache::list_locks(c)).await?;
        let actor = me.actor();
        let now = time::OffsetDateTime::now_utc();
        let mut n = 0;
        for lock in locks.iter().filter(|l| l.paired) {
            if authorize(&actor, Action::Unlock, lock.unit_id, now).is_err() {
                continue;
            }
            self.fetch_credential(lock.id).await?;
            self.fetch_door_update(lock.id).await?;
            n += 1;
        }
        Ok(n)
    }
}
