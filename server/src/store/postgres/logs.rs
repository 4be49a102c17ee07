//! [`LogStore`] on PostgreSQL.

use super::*;
use crate::store::rows::LOG_COLS;
use crate::store::rules;

impl LogStore for PostgresStore {
    fn list_outbox(
        &self,
        org_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>> {
        self.read(|c| {
            let found = c.query(
                "SELECT seq, id, channel, recipient, subject, body, created_at, delivery, \
                 delivery_error FROM outbox WHERE org_id = $1 AND seq < $2 \
                 ORDER BY seq DESC LIMIT $3",
                &[&org_id, &before.unwrap_or(i64::MAX), &i64::from(limit)],
            )?;
            all(found, rows::message)
        })
    }

    fn mark_delivery(
        &self,
        message_id: Uuid,
        delivery: &str,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "UPDATE outbox SET delivery = $2, delivery_error = $3 WHERE id = $1",
                &[&message_id, &delivery, &error],
            )?;
            Ok(())
        })
    }

    fn record_refused_message(&self, msg: &NewMessage, reason: &str) -> StoreResult<()> {
        self.write(|tx| {
            insert_message(tx, msg)?;
            tx.exec(
                "UPDATE outbox SET delivery = 'refused', delivery_error = $2 WHERE id = $1",
                &[&msg.id, &reason],
            )?;
            Ok(())
        })
    }

    fn audit(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<()> {
        self.read(|c| {
            // One statement: the organization check and the insert.
            let n = c.exec(
                "INSERT INTO logs (id, lock_id, at, action, method, source, user_id, detail) \
                 SELECT $1, l.id, $3, $4, 'admin', 'server', $5, $6 FROM locks l \
                 WHERE l.id = $2 AND l.org_id = $7",
                &[
                    &Uuid::new_v4(),
                    &lock_id,
                    &audit.at,
                    &audit.action,
                    &audit.user_id,
                    &audit.detail,
                    &org_id,
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
    }

    fn list_logs(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<LogPage> {
        self.read(|c| {
            let unit_id = lock_q(c, org_id, lock_id)?.unit_id;
            let found = c.query(
                &format!(
                    "SELECT {LOG_COLS} WHERE g.lock_id = $1 AND g.seq < $2 ORDER BY g.seq DESC LIMIT $3"
                ),
                &[&lock_id, &before.unwrap_or(i64::MAX), &i64::from(limit)],
            )?;
            let entries = all(found, rows::log)?;
            Ok(LogPage { unit_id, entries })
        })
    }

    fn lock_log_seq(&self, lock_id: Uuid) -> StoreResult<u64> {
        self.read(|c| {
            let r = c.one(
                "SELECT COALESCE(MAX(lock_seq), 0) FROM logs WHERE lock_id = $1 \
                 AND lock_seq IS NOT NULL",
                &[&lock_id],
            )?;
            Ok(u64::try_from(r.try_get::<_, i64>(0)?).unwrap_or(0))
        })
    }

    fn upload_lock_events(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        uploaded_by: Uuid,
        events: &[NewLockEvent],
    ) -> StoreResult<u64> {
        self.write(|tx| {
            lock_q(tx, org_id, lock_id)?;
            let mut new = 0;
            for e in events {
                let seq = rules::lock_seq(e)?;
                let detail = rules::uploaded_detail(e.detail.as_deref(), uploaded_by);
                // Two phones uploading the same events through two instances: one row each.
                new += tx.exec(
                    "INSERT INTO logs (id, lock_id, at, action, method, source, user_id, \
                     code_id, detail, lock_seq) VALUES ($1, $2, $3, $4, $5, 'lock', $6, $7, $8, $9) \
                     ON CONFLICT (lock_id, lock_seq) WHERE lock_seq IS NOT NULL DO NOTHING",
                    &[
                        &Uuid::new_v4(),
                        &lock_id,
                        &e.at,
                        &e.action,
                        &e.method.as_str(),
                        &e.user_id,
                        &e.code_id,
                        &detail,
                        &seq,
                    ],
                )?;
            }
            Ok(new)
        })
    }
}
