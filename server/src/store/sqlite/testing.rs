//! [`StoreTestExt`] on SQLite.

use super::*;
use crate::store::*;
use rusqlite::params;

impl StoreTestExt for SqliteStore {
    fn age_pending(&self, user_id: Uuid, seconds: i64) -> StoreResult<()> {
        self.write(|tx| {
            let uid = user_id.to_string();
            tx.prepare_cached(
                "UPDATE invitations SET sent_at = sent_at - ?2, expires_at = expires_at - ?2 \
                 WHERE user_id = ?1",
            )?
            .execute(params![uid, seconds])?;
            tx.prepare_cached(
                "UPDATE registrations SET created_at = created_at - ?2, \
                 code_expires_at = code_expires_at - ?2 WHERE user_id = ?1",
            )?
            .execute(params![uid, seconds])?;
            tx.prepare_cached(
                "UPDATE password_resets SET created_at = created_at - ?2, \
                 expires_at = expires_at - ?2 WHERE user_id = ?1",
            )?
            .execute(params![uid, seconds])?;
            Ok(())
        })
    }
}
