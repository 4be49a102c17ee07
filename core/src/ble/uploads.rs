//! What lock contacts leave for the server: contact reports and pages of locks' logs, sent
//! when the network is there, each once.

use access_domain::api::{LockLogPage, LockLogUpload, MAX_LOG_PAGES_PER_UPLOAD};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;

use super::REPORT_WAIT;
use crate::AccessError;
use crate::cache::on_site;
use crate::engine::Engine;

/// Most bytes of pages (as base64) in one upload, well under the server's 64 KiB body limit.
const UPLOAD_BYTES: usize = 40 * 1024;

impl Engine {
    /// Sends the contact's reports and log pages, waiting at most [`REPORT_WAIT`] for the
    /// server: the rest goes on in the background, and what fails waits in the durable
    /// queue for the next contact or sync.
    pub(crate) async fn send_reports_soon(&self) {
        self.finish(REPORT_WAIT, "contact report", |e| {
            Box::pin(async move { e.flush_ble_uploads().await.map(|_| ()) })
        })
        .await;
    }

    /// Sends what waits for the server: contact reports, then pages of locks' logs as the
    /// locks sent them. Returns how many log entries the server took.
    pub(crate) async fn flush_ble_uploads(&self) -> Result<u64, AccessError> {
        // One flush at a time: one still waiting on a slow server must not send what the
        // next one sends again.
        let _one = self.ble.uploading.lock().await;
        self.flush_contact_reports().await?;
        let mut uploaded = 0;
        for lock in self.db(|c| on_site::log_locks(c)).await? {
            loop {
                let queued = self
                    .db(move |c| on_site::queued_pages(c, lock, MAX_LOG_PAGES_PER_UPLOAD as u32))
                    .await?;
                let mut pages = Vec::new();
                let (mut size, mut entries, mut last) = (0, 0, None);
                for q in &queued {
                    let page = LockLogPage {
                        entries: STANDARD.encode(&q.page.entries),
                        mac: STANDARD.encode(q.page.mac),
                    };
                    size += page.entries.len() + page.mac.len();
                    if !pages.is_empty() && size > UPLOAD_BYTES {
                        break;
                    }
                    pages.push(page);
                    entries += q.entries;
                    last = Some(q.last_seq);
                }
                let Some(last) = last else {
                    break;
                };
                let body = LockLogUpload { pages };
                let r: Result<serde_json::Value, _> = self
                    .request(
                        Method::POST,
                        &format!("/api/v1/locks/{lock}/logs"),
                        Some(&body),
                        None,
                    )
                    .await;
                match r {
                    Ok(_) => uploaded += entries,
                    // A lock this user can no longer see, or pages the server does not take
                    // as the lock's: sending them again would not change the answer.
                    Err(
                        e @ (AccessError::NotFound
                        | AccessError::NotAllowed { .. }
                        | AccessError::InvalidInput { .. }),
                    ) => tracing::warn!(lock = %lock, "log pages dropped: {e}"),
                    Err(e) => return Err(e),
                }
                self.db(move |c| on_site::drop_pages(c, lock, last)).await?;
            }
        }
        Ok(uploaded)
    }
}
