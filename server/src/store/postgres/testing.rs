//! [`StoreTestExt`] on PostgreSQL.

use super::*;

impl StoreTestExt for PostgresStore {
    fn age_pending(&self, user_id: Uuid, seconds: i64) -> StoreResult<()> {
        self.write(|tx| {
            let by = seconds as f64;
            tx.exec(
                "UPDATE invitations SET sent_at = sent_at - make_interval(secs => $2), \
                 expires_at = expires_at - make_interval(secs => $2) WHERE user_id = $1",
                &[&user_id, &by],
            )?;
            tx.exec(
                "UPDATE registrations SET created_at = created_at - make_interval(secs => $2), \
                 code_expires_at = code_expires_at - make_interval(secs => $2) \
                 WHERE user_id = $1",
                &[&user_id, &by],
            )?;
            tx.exec(
                "UPDATE password_resets SET created_at = created_at - make_interval(secs => $2), \
                 expires_at = expires_at - make_interval(secs => $2) WHERE user_id = $1",
                &[&user_id, &by],
            )?;
            Ok(())
        })
    }
}
