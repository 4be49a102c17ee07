//! [`SessionStore`] on SQLite: sign-in, sessions (answered from the session cache while the
//! database has not changed), login throttling and idempotency keys.

use std::sync::{Arc, LazyLock};

use access_domain::UserStatus;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::tx::{SESSION_USER_COLS, USER_COLS, insert_message};
use super::{SqliteStore, ts};
use crate::secrets;
use crate::store::rows::{self, Columns, USER_COL_COUNT};
use crate::store::rules::{self, KeyCheck, Limit};
use crate::store::{
    IdempotencyBegin, NewMessage, NewPasswordReset, NewSession, ResetAttempt, ResetOutcome,
    SessionStore, StoreResult, UserRecord,
};

impl SessionStore for SqliteStore {
    fn login_lookup(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        self.with(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {USER_COLS}, u.password_hash FROM users u \
                     WHERE lower(u.registered_email) = lower(?1) AND u.password_hash IS NOT NULL"
            ))?
            .query_row([email], |r| Ok((rows::user(r)?, r.text(USER_COL_COUNT)?)))
            .optional()?)
        })
    }

    fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                &s.token_hash[..],
                s.user_id.to_string(),
                ts(s.created_at),
                ts(s.expires_at)
            ])?;
            Ok(())
        })
    }

    fn session_user(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<Arc<UserRecord>>> {
        let now = ts(now);
        // Built once: this runs on every authenticated request the cache cannot answer.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {SESSION_USER_COLS}, s.token_hash, s.revoked, s.expires_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2"
            )
        });
        self.sessions.user(&self.generation, token_hash, now, || {
            self.with(|c| {
                let mut stmt = c.prepare_cached(&SQL)?;
                let found = stmt
                    .query_row(params![&token_hash[..], now], |r| {
                        Ok((
                            rows::user(r)?,
                            r.bytes(USER_COL_COUNT)?,
                            r.flag(USER_COL_COUNT + 1)?,
                            r.int(USER_COL_COUNT + 2)?,
                        ))
                    })
                    .optional()?;
                Ok(found.and_then(|(mut user, stored, revoked, expires_at)| {
                    // A revoked session reports its user as revoked, so the client learns why.
                    if revoked {
                        user.status = UserStatus::Revoked;
                    }
                    secrets::ct_eq(&stored, token_hash).then(|| (Arc::new(user), expires_at))
                }))
            })
        })
    }

    fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
                .execute([&token_hash[..]])?;
            Ok(())
        })
    }

    fn take_attempt(&self, limits: &[Limit], now: OffsetDateTime) -> StoreResult<Option<usize>> {
        // One immediate transaction under the writer lock: no other attempt is counted
        // between this one's check and its count.
        self.write(|tx| {
            let counts = {
                let mut stmt =
                    tx.prepare_cached("SELECT COUNT(*) FROM attempts WHERE key = ?1 AND at >= ?2")?;
                limits
                    .iter()
                    .map(|l| stmt.query_row(params![l.key, ts(l.since)], |r| rows::count(r, 0)))
                    .collect::<rusqlite::Result<Vec<u64>>>()?
            };
            if let Some(full) = rules::first_full(limits, &counts) {
                return Ok(Some(full));
            }
            let mut insert = tx.prepare_cached("INSERT INTO attempts (key, at) VALUES (?1, ?2)")?;
            for l in limits {
                insert.execute(params![l.key, ts(now)])?;
            }
            tx.prepare_cached("DELETE FROM attempts WHERE at < ?1")?
                .execute([ts(now - rules::ATTEMPTS_KEPT)])?;
            Ok(None)
        })
    }

    fn release_attempt(&self, key: &str, at: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "DELETE FROM attempts WHERE rowid = \
                 (SELECT rowid FROM attempts WHERE key = ?1 AND at = ?2 LIMIT 1)",
            )?
            .execute(params![key, ts(at)])?;
            Ok(())
        })
    }

    fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM attempts WHERE key = ?1")?
                .execute([key])?;
            Ok(())
        })
    }

    fn create_password_reset(
        &self,
        reset: &NewPasswordReset,
        mail: &NewMessage,
        sms: &NewMessage,
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE password_resets SET used = 1 WHERE user_id = ?1")?
                .execute([reset.user_id.to_string()])?;
            tx.prepare_cached(
                "INSERT INTO password_resets (id, user_id, token_hash, code_hash, created_at, \
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                reset.id.to_string(),
                reset.user_id.to_string(),
                &reset.token_hash[..],
                &reset.code_hash[..],
                ts(reset.created_at),
                ts(reset.expires_at)
            ])?;
            insert_message(tx, mail)?;
            insert_message(tx, sms)?;
            Ok(())
        })
    }

    fn confirm_password_reset(&self, a: &ResetAttempt) -> StoreResult<ResetOutcome> {
        self.write(|tx| {
            let found = tx
                .prepare_cached(
                    "SELECT r.id, r.user_id, r.code_hash, r.attempts, r.expires_at, r.used, \
                     u.status = 'active' FROM password_resets r JOIN users u ON u.id = r.user_id \
                     WHERE r.token_hash = ?1",
                )?
                .query_row([&a.token_hash[..]], |r| {
                    Ok((
                        r.text(0)?,
                        r.uuid(1)?,
                        r.bytes(2)?,
                        r.get::<_, u32>(3)?,
                        r.time(4)?,
                        r.flag(5)?,
                        r.flag(6)?,
                    ))
                })
                .optional()?;
            let Some((id, user_id, code_hash, attempts, expires_at, used, user_active)) = found
            else {
                return Ok(ResetOutcome::Invalid);
            };
            let stored = rules::StoredReset {
                code_hash: &code_hash,
                attempts,
                expires_at,
                used,
                user_active,
            };
            if let Err((outcome, count)) =
                rules::check_reset(&stored, &a.code_hash, a.max_attempts, a.now)
            {
                if let Some(dies) = count {
                    tx.prepare_cached(
                        "UPDATE password_resets SET attempts = attempts + 1, \
                         used = used OR ?2 WHERE id = ?1",
                    )?
                    .execute(params![id, dies])?;
                }
                return Ok(outcome);
            }
            let uid = user_id.to_string();
            tx.prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")?
                .execute(params![uid, a.password_hash])?;
            tx.prepare_cached("UPDATE sessions SET revoked = 1 WHERE user_id = ?1")?
                .execute([&uid])?;
            tx.prepare_cached("UPDATE password_resets SET used = 1 WHERE user_id = ?1")?
                .execute([&uid])?;
            Ok(ResetOutcome::Done(user_id))
        })
    }

    fn idempotency_begin(
        &self,
        user_id: Uuid,
        key: &str,
        fingerprint: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<IdempotencyBegin> {
        self.write(|tx| {
            let found = tx
                .prepare_cached(
                    "SELECT fingerprint, status, body, created_at FROM idempotency_keys \
                     WHERE user_id = ?1 AND key = ?2",
                )?
                .query_row(params![user_id.to_string(), key], |r| rows::stored_key(r))
                .optional()?;
            if let Some(stored) = found {
                match rules::idempotency_check(stored, fingerprint, now) {
                    KeyCheck::Answer(answer) => return Ok(answer),
                    KeyCheck::Reclaim => {
                        tx.prepare_cached(
                            "UPDATE idempotency_keys SET fingerprint = ?3, status = 0, \
                             body = NULL, created_at = ?4 WHERE user_id = ?1 AND key = ?2",
                        )?
                        .execute(params![
                            user_id.to_string(),
                            key,
                            &fingerprint[..],
                            ts(now)
                        ])?;
                        return Ok(IdempotencyBegin::New);
                    }
                }
            }
            tx.prepare_cached("DELETE FROM idempotency_keys WHERE created_at <= ?1")?
                .execute([ts(now - rules::IDEMPOTENCY_TTL)])?;
            let held: u64 = tx
                .prepare_cached("SELECT COUNT(*) FROM idempotency_keys WHERE user_id = ?1")?
                .query_row([user_id.to_string()], |r| rows::count(r, 0))?;
            if held >= rules::IDEMPOTENCY_KEYS_PER_USER {
                return Ok(IdempotencyBegin::TooMany);
            }
            tx.prepare_cached(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![user_id.to_string(), key, &fingerprint[..], ts(now)])?;
            Ok(IdempotencyBegin::New)
        })
    }

    fn idempotency_finish(
        &self,
        user_id: Uuid,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE user_id = ?1 \
                 AND key = ?2",
            )?
            .execute(params![user_id.to_string(), key, status, body])?;
            Ok(())
        })
    }

    fn idempotency_abort(&self, user_id: Uuid, key: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "DELETE FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND status = 0",
            )?
            .execute(params![user_id.to_string(), key])?;
            Ok(())
        })
    }
}
