//! [`LogStore`] on SQLite: the outbox, the audit and the access log.

use super::tx::*;
use super::*;
use crate::store::rows::{self, Columns};
use crate::store::rules;
use crate::store::*;
use rusqlite::params;
use std::collections::HashMap;

impl LogStore for SqliteStore {
    fn list_outbox(
        &self,
        org_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, id, channel, recipient, subject, body, created_at, delivery, \
                 delivery_error FROM outbox WHERE org_id = ?1 AND seq < ?2 \
                 ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![org_id.to_string(), before.unwrap_or(i64::MAX), limit],
                |r| rows::message(r),
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn mark_delivery(
        &self,
        message_id: Uuid,
        delivery: &str,
        error: Option<&str>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE outbox SET delivery = ?2, delivery_error = ?3 WHERE id = ?1",
            )?
            .execute(params![message_id.to_string(), delivery, error])?;
            Ok(())
        })
    }

    fn record_refused_message(&self, msg: &NewMessage, reason: &str) -> StoreResult<()> {
        self.write(|tx| {
            insert_message(tx, msg)?;
            tx.prepare_cached(
                "UPDATE outbox SET delivery = 'refused', delivery_error = ?2 WHERE id = ?1",
            )?
            .execute(params![msg.id.to_string(), reason])?;
            Ok(())
        })
    }

    fn audit(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<()> {
        self.write(|tx| {
            lock_tx(tx, org_id, lock_id)?;
            write_audit(tx, lock_id, audit)?;
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
        self.with(|c| {
            // One read transaction: the check, the page and its names from one snapshot,
            // and one shared lock of the database instead of one per statement.
            let c = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let unit_id = lock_unit(&c, org_id, lock_id)?;
            // The entries alone (`rows::log`'s columns, the names left empty), then the names
            // of the few users and codes they mention: joining every entry to its user read
            // two indexes per entry, a third of the page's SQL.
            let mut stmt = c.prepare_cached(
                "SELECT g.seq, g.id, g.lock_id, g.at, g.action, g.method, g.source, g.user_id, \
                 NULL, g.code_id, NULL, g.detail, g.lock_seq FROM logs g \
                 WHERE g.lock_id = ?1 AND g.seq < ?2 ORDER BY g.seq DESC LIMIT ?3",
            )?;
            // Sized at once: a page of records grown by doubling is copied at each step.
            let mut entries = Vec::with_capacity(limit.min(1000) as usize);
            for entry in stmt.query_map(
                params![lock_id.to_string(), before.unwrap_or(i64::MAX), limit],
                |r| rows::log(r),
            )? {
                entries.push(entry?);
            }
            drop(stmt);
            name_entries(&c, &mut entries)?;
            c.commit()?;
            Ok(LogPage { unit_id, entries })
        })
    }

    fn lock_log_seq(&self, lock_id: Uuid) -> StoreResult<u64> {
        self.with(|c| {
            let seq: i64 = c
                .prepare_cached(
                    "SELECT COALESCE(MAX(lock_seq), 0) FROM logs WHERE lock_id = ?1 \
                 AND lock_seq IS NOT NULL",
                )?
                .query_row([lock_id.to_string()], |r| r.get(0))?;
            Ok(u64::try_from(seq).unwrap_or(0))
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
            lock_tx(tx, org_id, lock_id)?;
            let mut new = 0;
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO logs (id, lock_id, at, action, method, source, user_id, \
                 code_id, detail, lock_seq) VALUES (?1, ?2, ?3, ?4, ?5, 'lock', ?6, ?7, ?8, ?9)",
            )?;
            for e in events {
                let seq = rules::lock_seq(e)?;
                let detail = rules::uploaded_detail(e.detail.as_deref(), uploaded_by);
                new += stmt.execute(params![
                    Uuid::new_v4().to_string(),
                    lock_id.to_string(),
                    ts(e.at),
                    e.action,
                    e.method.as_str(),
                    e.user_id.map(|u| u.to_string()),
                    e.code_id.map(|c| c.to_string()),
                    detail,
                    seq
                ])? as u64;
            }
            Ok(new)
        })
    }
}

/// Fills each entry's user name and code label as `rows::LOG_COLS` joins them: the user's
/// name; an access code's label, or "passcode of" its holder's name or invited email.
fn name_entries(c: &Connection, page: &mut [LogRecord]) -> rusqlite::Result<()> {
    let ids = |of: fn(&LogRecord) -> Option<Uuid>| {
        let mut ids: Vec<Uuid> = page.iter().filter_map(of).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let (users, codes) = (ids(|e| e.user_id), ids(|e| e.code_id));
    let mut names: HashMap<Uuid, Option<String>> = HashMap::new();
    if !users.is_empty() {
        let mut stmt = c.prepare_cached(
            "SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?1))",
        )?;
        for found in stmt.query_map([ids_to_json(&users)], |r| Ok((r.uuid(0)?, r.opt_text(1)?)))? {
            let (id, name) = found?;
            names.insert(id, name);
        }
    }
    let mut labels: HashMap<Uuid, Option<String>> = HashMap::new();
    if !codes.is_empty() {
        let mut stmt = c.prepare_cached(
            "SELECT id, label FROM access_codes WHERE id IN (SELECT value FROM json_each(?1)) \
             UNION ALL \
             SELECT pc.id, 'passcode of ' || COALESCE(pu.name, pu.invited_email) \
             FROM passcodes pc LEFT JOIN users pu ON pu.id = pc.user_id \
             WHERE pc.id IN (SELECT value FROM json_each(?1))",
        )?;
        for found in stmt.query_map([ids_to_json(&codes)], |r| Ok((r.uuid(0)?, r.opt_text(1)?)))? {
            let (id, label) = found?;
            // An access code's label comes first, as the join's COALESCE has it.
            let slot = labels.entry(id).or_default();
            if slot.is_none() {
                *slot = label;
            }
        }
    }
    for e in page {
        e.user_name = e.user_id.and_then(|u| names.get(&u).cloned().flatten());
        e.code_label = e.code_id.and_then(|c| labels.get(&c).cloned().flatten());
    }
    Ok(())
}
