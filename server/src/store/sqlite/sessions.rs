//! [`SessionStore`] on SQLite: sign-in, sessions (answered from the session cache while the
//! database has not changed), login throttling and idempotency keys.

use std::sync::LazyLock;

use access_domain::UserStatus;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::tx::{SESSION_USER_COLS, USER_COLS};
use super::{SqliteStore, ts};
use crate::secrets;
use crate::store::rows::{self, Columns, USER_COL_COUNT};
use crate::store::rules::{self, KeyCheck};
use crate::store::{IdempotencyBegin, NewSession, SessionStore, StoreResult, UserRecord};

impl SessionStore for SqliteStore {
    fn login_lookup(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {USER_COLS}, u.password_hash FROM users u \
                     WHERE lower(u.registered_email) = lower(?1) AND u.password_hash IS NOT NULL"
                ),
                [email],
                |r| Ok((rows::user(r)?, r.text(USER_COL_COUNT)?)),
            )
            .optional()?)
        })
    }

    fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    &s.token_hash[..],
                    s.user_id.to_string(),
                    ts(s.created_at),
                    ts(s.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn session_user(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
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
                    secrets::ct_eq(&stored, token_hash).then_some((user, expires_at))
                }))
            })
        })
    }

    fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [&token_hash[..]],
            )?;
            Ok(())
        })
    }

    fn login_failures(&self, keys: &[String], since: OffsetDateTime) -> StoreResult<Vec<u64>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT COUNT(*) FROM login_failures WHERE key = ?1 AND at >= ?2",
            )?;
            Ok(keys
                .iter()
                .map(|k| stmt.query_row(params![k, ts(since)], |r| rows::count(r, 0)))
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    fn record_login_failure(&self, keys: &[String], at: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            for k in keys {
                tx.execute(
                    "INSERT INTO login_failures (key, at) VALUES (?1, ?2)",
                    params![k, ts(at)],
                )?;
            }
            // Old failures no longer count; drop them so the table stays small.
            tx.execute(
                "DELETE FROM login_failures WHERE at < ?1",
                [ts(at - rules::LOGIN_FAILURES_KEPT)],
            )?;
            Ok(())
        })
    }

    fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM login_failures WHERE key = ?1", [key])?;
            Ok(())
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
                .query_row(
                    "SELECT fingerprint, status, body, created_at FROM idempotency_keys \
                     WHERE user_id = ?1 AND key = ?2",
                    params![user_id.to_string(), key],
                    |r| rows::stored_key(r),
                )
                .optional()?;
            let Some(stored) = found else {
                tx.execute(
                    "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![user_id.to_string(), key, &fingerprint[..], ts(now)],
                )?;
                return Ok(IdempotencyBegin::New);
            };
            match rules::idempotency_check(stored, fingerprint, now) {
                KeyCheck::Answer(answer) => Ok(answer),
                KeyCheck::Reclaim => {
                    tx.execute(
                        "UPDATE idempotency_keys SET created_at = ?3 WHERE user_id = ?1 AND key = ?2",
                        params![user_id.to_string(), key, ts(now)],
                    )?;
                    Ok(IdempotencyBegin::New)
                }
            }
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
            tx.execute(
                "UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE user_id = ?1 AND key = ?2",
                params![user_id.to_string(), key, status, body],
            )?;
            Ok(())
        })
    }

    fn idempotency_abort(&self, user_id: Uuid, key: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND status = 0",
                params![user_id.to_string(), key],
            )?;
            Ok(())
        })
    }
}
