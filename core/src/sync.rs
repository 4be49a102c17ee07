//! A sync: queued actions first, then `GET /api/v1/sync` from the cached cursor into the
//! cache (the whole cache on the first sync, after a refused action or when the server says
//! so), with the changes still queued laid over the server's rows again.

use std::sync::Arc;

use access_domain::UserStatus;
use access_domain::api::SyncResponse;
use reqwest::Method;
use rusqlite::Connection;

use crate::AccessError;
use crate::cache::{self, CacheError};
use crate::callback::Listener;
use crate::engine::Engine;
use crate::http;
use crate::model::*;
use crate::queue::{self, State};

impl Engine {
    /// Sends queued actions, then brings the cache up to date from the cursor.
    pub(crate) async fn sync(
        &self,
        progress: Option<Arc<dyn SyncProgress>>,
    ) -> Result<SyncSummary, AccessError> {
        self.require_token()?;
        let progress = Arc::new(Listener::new("sync progress", progress));
        progress.tell(|l| l.on_progress(SyncPhase::Replaying, 0, 0));
        let replay = self.replay().await?;
        if let Some(e) = replay.stopped {
            return Err(e);
        }
        let (applied, bytes) = self.fetch_sync(progress.clone()).await?;
        // The network is back: what earlier lock contacts left (contact reports, code
        // confirmations, log entries) goes now, not only at the next contact. No request
        // when nothing waits; a failure here fails no sync.
        if let Err(e) = self.flush_ble_uploads().await {
            tracing::info!("lock uploads wait for the network: {e}");
        }
        let total_locks = self.db(|c| cache::lock_count(c)).await?;
        progress.tell(|l| l.on_progress(SyncPhase::Finished, total_locks, total_locks));
        tracing::info!(
            full = applied.full,
            changed = applied.locks_upserted,
            bytes,
            "synced"
        );
        Ok(SyncSummary {
            full: applied.full,
            locks_changed: applied.locks_upserted,
            locks_removed: applied.locks_removed,
            access_codes: applied.access_codes,
            total_locks,
            replayed: replay.sent,
            failed: replay.failed.len() as u32,
            bytes,
        })
    }

    /// A sync after a refusal, so the cache shows the server's truth; failure is fine (the
    /// cursor is cleared, the next sync is full).
    pub(crate) async fn resync_quietly(&self) {
        let quiet = Arc::new(Listener::new("sync progress", None));
        if let Err(e) = self.fetch_sync(quiet).await {
            tracing::info!("re-sync after a refused action did not complete: {e}");
        }
    }

    /// `GET /api/v1/sync` from the cached cursor into the cache.
    async fn fetch_sync(
        &self,
        progress: Arc<Listener<dyn SyncProgress>>,
    ) -> Result<(cache::Applied, u64), AccessError> {
        let token = self.require_token()?;
        let since = self.db(|c| cache::cursor(c)).await?;
        let mut url = self.api.url("/api/v1/sync")?;
        if let Some(s) = &since {
            url.query_pairs_mut().append_pair("since", s);
        }
        let path = match url.query() {
            Some(q) => format!("/api/v1/sync?{q}"),
            None => "/api/v1/sync".to_string(),
        };
        let p = progress.clone();
        let mut on_bytes = move |n: u64| {
            p.tell(|l| l.on_progress(SyncPhase::Downloading, n, 0));
        };
        let download = match self
            .api
            .send_raw::<()>(Method::GET, &path, Some(&token), None, None, &mut on_bytes)
            .await
        {
            Ok(d) => d,
            Err(e) => return Err(self.settle(e.into()).await),
        };
        let bytes = download.body.len() as u64;
        let p = progress.clone();
        let result = self
            .db(move |c| {
                let sync: SyncResponse = match http::decode(&download.body) {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(AccessError::from(e))),
                };
                drop(download);
                if sync.me.status == UserStatus::Revoked {
                    return Ok(Err(AccessError::Revoked));
                }
                let total = sync.locks.len() as u64;
                let mut on_row = |n: u64| {
                    p.tell(|l| l.on_progress(SyncPhase::Saving, n, total));
                };
                let applied = cache::apply_sync(c, &sync, &mut on_row)?;
                reapply_pending(c)?;
                Ok(Ok(applied))
            })
            .await?;
        match result {
            Ok(applied) => Ok((applied, bytes)),
            Err(e) => Err(self.settle(e).await),
        }
    }
}

/// After the server's answer replaced cached rows, the changes still waiting in the queue
/// are laid over them again so the user keeps seeing what they did.
pub(crate) fn reapply_pending(c: &mut Connection) -> Result<(), CacheError> {
    for q in queue::list(c, State::Pending)? {
        match q.action {
            queue::Action::Rename { name } => cache::set_lock_name(c, q.lock_id, &name)?,
            queue::Action::ChangeMode { mode } => cache::set_lock_mode(c, q.lock_id, mode)?,
            queue::Action::GiveAccess { .. } => {}
            queue::Action::RevokeCode { code_id } => {
                cache::set_code_revoked(c, code_id, q.created_at)?
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::tests::store_with_lock;
    use access_domain::LockMode;

    #[test]
    fn queued_changes_are_laid_over_the_servers_rows() {
        let (_dir, store, l) = store_with_lock();
        let mut c = store.conn();
        let rename = queue::Action::Rename {
            name: "Back".into(),
        };
        let mode = queue::Action::ChangeMode {
            mode: LockMode::Tour,
        };
        queue::enqueue(&mut c, l.id, rename).unwrap();
        queue::enqueue(&mut c, l.id, mode).unwrap();
        // The server's answer put its own row back.
        cache::upsert_lock(&c, &l).unwrap();
        reapply_pending(&mut c).unwrap();
        let shown = cache::lock(&c, l.id).unwrap();
        assert_eq!((shown.name.as_str(), shown.mode), ("Back", LockMode::Tour));
    }
}
