//! [`LogStore`] on PostgreSQL.

use super::*;
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
            all(found, |r| {
                let ch: String = r.try_get(2)?;
                Ok(MessageRecord {
                    seq: r.try_get(0)?,
                    id: r.try_get(1)?,
                    channel: if ch == "sms" {
                        Channel::Sms
                    } else {
                        Channel::Email
                    },
                    to: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    body: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                    delivery: r.try_get(7)?,
                    delivery_error: r.try_get(8)?,
                })
            })
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
    ) -> StoreResult<Vec<LogRecord>> {
        self.read(|c| {
            lock_q(c, org_id, lock_id)?;
            let found = c.query(
                "SELECT g.seq, g.id, g.lock_id, g.at, g.action, g.method, g.source, g.user_id, \
                 u.name, g.code_id, COALESCE(ac.label, CASE WHEN pc.id IS NOT NULL \
                 THEN 'passcode of ' || COALESCE(pu.name, pu.invited_email) END), g.detail, \
                 g.lock_seq FROM logs g LEFT JOIN users u ON u.id = g.user_id \
                 LEFT JOIN access_codes ac ON ac.id = g.code_id \
                 LEFT JOIN passcodes pc ON pc.id = g.code_id \
                 LEFT JOIN users pu ON pu.id = pc.user_id \
                 WHERE g.lock_id = $1 AND g.seq < $2 ORDER BY g.seq DESC LIMIT $3",
                &[&lock_id, &before.unwrap_or(i64::MAX), &i64::from(limit)],
            )?;
            all(found, |r| {
                let method: String = r.try_get(5)?;
                Ok(LogRecord {
                    seq: r.try_get(0)?,
                    id: r.try_get(1)?,
                    lock_id: r.try_get(2)?,
                    at: r.try_get(3)?,
                    action: r.try_get(4)?,
                    method: LogMethod::parse(&method).ok_or_else(|| bad("method"))?,
                    source: r.try_get(6)?,
                    user_id: r.try_get(7)?,
                    user_name: r.try_get(8)?,
                    code_id: r.try_get(9)?,
                    code_label: r.try_get(10)?,
                    detail: r.try_get(11)?,
                    lock_seq: r.try_get::<_, Option<i64>>(12)?.map(|s| s as u64),
                })
            })
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
