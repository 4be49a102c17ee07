//! What lock contacts leave for the server: contact reports, code confirmations and log
//! entries, sent when the network is there.

use reqwest::Method;

use crate::AccessError;
use crate::cache::on_site;
use crate::engine::Engine;

impl Engine {
    /// Sends what waits for the server: contact reports, code confirmations, then log
    /// entries read from locks. Returns how many log entries the server took.
    pub(crate) async fn flush_ble_uploads(&self) -> Result<u64, AccessError> {
        self.flush_contact_reports().await?;
        for (lock, code, body) in self.db(|c| on_site::code_reports(c)).await? {
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
                    self.db(move |c| on_site::drop_code_report(c, lock, code))
                        .await?
                }
                Err(e) => return Err(e),
            }
        }
        let mut uploaded = 0;
        for lock in self.db(|c| on_site::log_locks(c)).await? {
            loop {
                let batch = self.db(move |c| on_site::queued_log(c, lock, 500)).await?;
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
                self.db(move |c| on_site::drop_log(c, lock, last)).await?;
            }
        }
        Ok(uploaded)
    }
}
