//! The offline action queue, sent: each queued action goes out with its idempotency key, in
//! order, one replay at a time; the server's answer is recorded, a refusal moves the action
//! to the failed list and makes the next sync a full one. `Revoked` and an ended session
//! stop the replay and are settled.

use access_domain::api::{AccessCode, Lock, ModeRequest, RenameRequest};
use reqwest::Method;
use rusqlite::Connection;
use uuid::Uuid;

use crate::AccessError;
use crate::cache::{self, CacheError};
use crate::engine::Engine;
use crate::http;
use crate::model::*;
use crate::queue::{self, Queued, State};

const DONE_ROWS_KEPT: u32 = 200;
/// Error code of a replay whose idempotency key the server is still working on.
pub(crate) const IN_PROGRESS: &str = "idempotency_in_progress";

/// How one replay went, inside the core.
pub(crate) struct Replay {
    pub sent: u32,
    /// Refused for good, with the typed error.
    pub failed: Vec<(i64, AccessError)>,
    /// The error that stopped the replay with actions still pending.
    pub stopped: Option<AccessError>,
}

impl Engine {
    /// Sends one queued action with its idempotency key; the answer body on success.
    async fn send_action(&self, q: &Queued, token: &str) -> Result<Vec<u8>, AccessError> {
        let (method, path, body) = match &q.action {
            queue::Action::Rename { name } => (
                Method::PATCH,
                format!("/api/v1/locks/{}", q.lock_id),
                serde_json::to_value(RenameRequest { name: name.clone() }),
            ),
            queue::Action::ChangeMode { mode } => (
                Method::PUT,
                format!("/api/v1/locks/{}/mode", q.lock_id),
                serde_json::to_value(ModeRequest { mode: *mode }),
            ),
            queue::Action::GiveAccess { request } => (
                Method::POST,
                format!("/api/v1/locks/{}/access-codes", q.lock_id),
                serde_json::to_value(request),
            ),
            queue::Action::RevokeCode { code_id } => (
                Method::POST,
                format!("/api/v1/locks/{}/access-codes/{code_id}/revoke", q.lock_id),
                Ok(serde_json::json!({})),
            ),
        };
        let body = body.map_err(|e| AccessError::Storage {
            message: e.to_string(),
        })?;
        let r = self
            .api
            .send_raw(
                method,
                &path,
                Some(token),
                Some(&body),
                Some(&q.key),
                &mut |_| {},
            )
            .await;
        match r {
            Ok(d) => Ok(d.body),
            // The same key is still being applied (an earlier attempt died mid-request): wait.
            Err(http::HttpError::Status {
                status: 409,
                message,
                ..
            }) => Err(AccessError::Server {
                code: IN_PROGRESS.into(),
                message,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends pending actions in order until the queue is empty or the network fails.
    pub(crate) async fn replay(&self) -> Result<Replay, AccessError> {
        let _one_at_a_time = self.replaying.lock().await;
        let mut out = Replay {
            sent: 0,
            failed: vec![],
            stopped: None,
        };
        loop {
            let Some(q) = self.db(|c| queue::next_pending(c)).await? else {
                break;
            };
            let token = self.require_token()?;
            let seq = q.seq;
            self.db(move |c| queue::begin_attempt(c, seq)).await?;
            match self.send_action(&q, &token).await {
                Ok(body) => {
                    let action = q.action.clone();
                    let lock_id = q.lock_id;
                    self.db(move |c| record_success(c, seq, lock_id, &action, &body))
                        .await?;
                    out.sent += 1;
                    tracing::info!(seq, kind = q.action.kind(), "queued action applied");
                }
                Err(AccessError::Revoked) => return Err(self.settle(AccessError::Revoked).await),
                Err(AccessError::NotSignedIn) => {
                    return Err(self.settle(AccessError::NotSignedIn).await);
                }
                Err(e) if e.is_transient() => {
                    let msg = e.to_string();
                    self.db(move |c| queue::note_error(c, seq, &msg)).await?;
                    tracing::info!(seq, "replay paused: {e}");
                    out.stopped = Some(e);
                    break;
                }
                Err(e) => {
                    let (code, msg) = (error_code(&e), e.to_string());
                    self.db(move |c| {
                        queue::mark_failed(c, seq, &code, &msg)?;
                        // The optimistic change was wrong: the next sync replaces the cache.
                        cache::clear_cursor(c)
                    })
                    .await?;
                    tracing::warn!(
                        seq,
                        kind = q.action.kind(),
                        "server refused a queued action: {e}"
                    );
                    out.failed.push((seq, e));
                }
            }
        }
        self.db(|c| queue::prune_done(c, DONE_ROWS_KEPT)).await?;
        Ok(out)
    }

    /// Queues an action and tries to send it (and anything queued before it) now.
    pub(crate) async fn perform(
        &self,
        lock_id: Uuid,
        action: queue::Action,
    ) -> Result<Queued, AccessError> {
        let q = self.db(move |c| queue::enqueue(c, lock_id, action)).await?;
        let replay = self.replay().await?;
        let seq = q.seq;
        if let Some((_, e)) = replay.failed.iter().find(|(s, _)| *s == seq) {
            // The caller is told now; the action does not linger in the failed list.
            let e = e.clone();
            self.db(move |c| queue::remove(c, seq)).await?;
            self.resync_quietly().await;
            return Err(e);
        }
        if !replay.failed.is_empty() {
            self.resync_quietly().await;
        }
        self.db(move |c| queue::get(c, seq)).await
    }

    /// Sends queued actions now, in order. Refused ones move to the failed list and the
    /// cache is corrected from the server.
    pub(crate) async fn replay_queue(&self) -> Result<ReplaySummary, AccessError> {
        let replay = self.replay().await?;
        if !replay.failed.is_empty() {
            self.resync_quietly().await;
        }
        let pending = self.db(|c| queue::list(c, State::Pending)).await?.len() as u32;
        Ok(ReplaySummary {
            sent: replay.sent,
            failed: replay.failed.len() as u32,
            pending,
        })
    }

    /// Queued actions in `state`, oldest first.
    pub(crate) async fn queued(&self, state: State) -> Result<Vec<QueuedActionInfo>, AccessError> {
        let q = self.db(move |c| queue::list(c, state)).await?;
        Ok(q.into_iter().map(QueuedActionInfo::from).collect())
    }

    /// Removes a failed action from the list once the user has seen it.
    pub(crate) async fn dismiss_failed(&self, action_id: String) -> Result<(), AccessError> {
        self.db(move |c| {
            let q = queue::get_by_key(c, &action_id)?;
            if q.state == State::Failed {
                queue::remove(c, q.seq)?;
            }
            Ok(())
        })
        .await
    }
}

/// Marks a queued action done and stores what the server answered.
pub(crate) fn record_success(
    c: &mut Connection,
    seq: i64,
    lock_id: Uuid,
    action: &queue::Action,
    body: &[u8],
) -> Result<(), CacheError> {
    let text = String::from_utf8_lossy(body);
    let tx = c.transaction()?;
    queue::mark_done(&tx, seq, Some(&text))?;
    match action {
        queue::Action::GiveAccess { .. } | queue::Action::RevokeCode { .. } => {
            if let Ok(code) = serde_json::from_slice::<AccessCode>(body) {
                cache::upsert_access_code(&tx, &code)?;
            }
        }
        queue::Action::Rename { .. } | queue::Action::ChangeMode { .. } => {
            // The server's lock, when it sent one, is the truth; otherwise keep ours.
            if let Ok(lock) = serde_json::from_slice::<Lock>(body)
                && lock.id == lock_id
            {
                cache::upsert_lock(&tx, &lock)?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// A stable machine code for a typed error, for the failed-actions list.
pub(crate) fn error_code(e: &AccessError) -> String {
    match e {
        AccessError::Server { code, .. } => code.clone(),
        AccessError::NotAllowed { .. } => "not_allowed".into(),
        AccessError::NotFound => "not_found".into(),
        AccessError::InvalidInput { .. } => "invalid_input".into(),
        other => format!("{other:?}")
            .split([' ', '{'])
            .next()
            .unwrap_or("error")
            .to_lowercase(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cache::Store;
    use access_domain::LockMode;

    fn lock(name: &str) -> Lock {
        Lock {
            id: Uuid::new_v4(),
            name: name.into(),
            unit_id: Uuid::new_v4(),
            unit_name: "4B".into(),
            property_id: Uuid::new_v4(),
            property_name: "Oak".into(),
            mode: LockMode::Vacant,
            battery: None,
            firmware: None,
            paired: false,
            identity_public_key: None,
        }
    }

    /// A cache in a temporary directory holding one lock.
    pub(crate) fn store_with_lock() -> (tempfile::TempDir, Store, Lock) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("cache.sqlite")).unwrap();
        let l = lock("Front");
        cache::upsert_lock(&store.conn(), &l).unwrap();
        (dir, store, l)
    }

    #[test]
    fn a_success_is_recorded_with_the_servers_lock() {
        let (_dir, store, l) = store_with_lock();
        let mut c = store.conn();
        let rename = queue::Action::Rename {
            name: "Back".into(),
        };
        let q = queue::enqueue(&mut c, l.id, rename.clone()).unwrap();
        let server = Lock {
            name: "Back (server)".into(),
            ..l.clone()
        };
        let body = serde_json::to_vec(&server).unwrap();
        record_success(&mut c, q.seq, l.id, &rename, &body).unwrap();
        assert_eq!(queue::get(&c, q.seq).unwrap().state, State::Done);
        assert_eq!(cache::lock(&c, l.id).unwrap().name, "Back (server)");

        // An answer that is not this lock keeps the optimistic row the queue wrote.
        let q = queue::enqueue(&mut c, l.id, rename.clone()).unwrap();
        record_success(&mut c, q.seq, l.id, &rename, b"{}").unwrap();
        assert_eq!(queue::get(&c, q.seq).unwrap().state, State::Done);
        assert_eq!(cache::lock(&c, l.id).unwrap().name, "Back");
    }

    #[test]
    fn error_codes_are_stable_names() {
        assert_eq!(
            error_code(&AccessError::Server {
                code: "lock_busy".into(),
                message: "busy".into()
            }),
            "lock_busy"
        );
        assert_eq!(error_code(&AccessError::NotFound), "not_found");
        assert_eq!(
            error_code(&AccessError::NotAllowed {
                message: "no".into()
            }),
            "not_allowed"
        );
        assert_eq!(error_code(&AccessError::Revoked), "revoked");
    }
}
