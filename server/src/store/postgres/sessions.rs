//! [`SessionStore`] on PostgreSQL.

use super::*;
use crate::store::rules;
use crate::store::rules::{KeyCheck, Limit};

impl SessionStore for PostgresStore {
    fn login_lookup(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {USER_COLS}, u.password_hash FROM users u \
                 WHERE lower(u.registered_email) = lower($1) AND u.password_hash IS NOT NULL"
            );
            match c.opt(&sql, &[&email])? {
                Some(r) => Ok(Some((rows::user(&r)?, r.try_get(rows::USER_COL_COUNT)?))),
                None => Ok(None),
            }
        })
    }

    fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
                &[&&s.token_hash[..], &s.user_id, &s.created_at, &s.expires_at],
            )?;
            Ok(())
        })
    }

    fn session_user(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<Arc<UserRecord>>> {
        // Built once: this runs on every authenticated request.
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {SESSION_USER_COLS}, s.token_hash, s.revoked FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"
            )
        });
        self.read(|c| {
            match c.opt(&SQL, &[&&token_hash[..], &now])? {
                Some(r) => {
                    let stored: Vec<u8> = r.try_get(rows::USER_COL_COUNT)?;
                    let mut user = rows::user(&r)?;
                    // A revoked session reports its user as revoked, so the client learns why.
                    if r.try_get::<_, bool>(rows::USER_COL_COUNT + 1)? {
                        user.status = UserStatus::Revoked;
                    }
                    Ok(secrets::ct_eq(&stored, token_hash).then(|| Arc::new(user)))
                }
                None => Ok(None),
            }
        })
    }

    fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "DELETE FROM sessions WHERE token_hash = $1",
                &[&&token_hash[..]],
            )?;
            Ok(())
        })
    }

    fn take_attempt(&self, limits: &[Limit], now: OffsetDateTime) -> StoreResult<Option<usize>> {
        let mut keys: Vec<&str> = limits.iter().map(|l| l.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        self.write(|tx| {
            // Transaction-scoped locks on the keys (taken in one order, so two requests
            // cannot deadlock): no other attempt under them is counted between this one's
            // check and its count, on any instance.
            tx.exec(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) \
                 FROM unnest($1::text[]) AS k ORDER BY k",
                &[&keys],
            )?;
            let mut counts = Vec::with_capacity(limits.len());
            for l in limits {
                let r = tx.one(
                    "SELECT COUNT(*) FROM attempts WHERE key = $1 AND at >= $2",
                    &[&l.key, &l.since],
                )?;
                counts.push(rows::count(&r, 0)?);
            }
            if let Some(full) = rules::first_full(limits, &counts) {
                return Ok(Some(full));
            }
            let all: Vec<&str> = limits.iter().map(|l| l.key.as_str()).collect();
            tx.exec(
                "INSERT INTO attempts (key, at) SELECT k, $2 FROM unnest($1::text[]) AS k",
                &[&all, &now],
            )?;
            tx.exec(
                "DELETE FROM attempts WHERE at < $1",
                &[&(now - rules::ATTEMPTS_KEPT)],
            )?;
            Ok(None)
        })
    }

    fn release_attempt(&self, key: &str, at: OffsetDateTime) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "DELETE FROM attempts WHERE ctid = \
                 (SELECT ctid FROM attempts WHERE key = $1 AND at = $2 LIMIT 1)",
                &[&key, &at],
            )?;
            Ok(())
        })
    }

    fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        self.read(|c| {
            c.exec("DELETE FROM attempts WHERE key = $1", &[&key])?;
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
            tx.exec(
                "UPDATE password_resets SET used = true WHERE user_id = $1",
                &[&reset.user_id],
            )?;
            tx.exec(
                "INSERT INTO password_resets (id, user_id, token_hash, code_hash, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &reset.id,
                    &reset.user_id,
                    &&reset.token_hash[..],
                    &&reset.code_hash[..],
                    &reset.created_at,
                    &reset.expires_at,
                ],
            )?;
            insert_message(tx, mail)?;
            insert_message(tx, sms)?;
            Ok(())
        })
    }

    fn confirm_password_reset(&self, a: &ResetAttempt) -> StoreResult<ResetOutcome> {
        self.write(|tx| {
            // Row lock: parallel wrong codes are counted one after the other.
            let Some(r) = tx.opt(
                "SELECT r.id, r.user_id, r.code_hash, r.attempts, r.expires_at, r.used, \
                 u.status = 'active' FROM password_resets r JOIN users u ON u.id = r.user_id \
                 WHERE r.token_hash = $1 FOR UPDATE OF r",
                &[&&a.token_hash[..]],
            )?
            else {
                return Ok(ResetOutcome::Invalid);
            };
            let (id, user_id) = (r.uuid(0)?, r.uuid(1)?);
            let code_hash = r.bytes(2)?;
            let stored = rules::StoredReset {
                code_hash: &code_hash,
                attempts: u32::try_from(r.int(3)?).unwrap_or(0),
                expires_at: r.time(4)?,
                used: r.flag(5)?,
                user_active: r.flag(6)?,
            };
            if let Err((outcome, count)) =
                rules::check_reset(&stored, &a.code_hash, a.max_attempts, a.now)
            {
                if let Some(dies) = count {
                    tx.exec(
                        "UPDATE password_resets SET attempts = attempts + 1, \
                         used = used OR $2 WHERE id = $1",
                        &[&id, &dies],
                    )?;
                }
                return Ok(outcome);
            }
            tx.exec(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user_id, &a.password_hash],
            )?;
            tx.exec(
                "UPDATE sessions SET revoked = true WHERE user_id = $1",
                &[&user_id],
            )?;
            tx.exec(
                "UPDATE password_resets SET used = true WHERE user_id = $1",
                &[&user_id],
            )?;
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
            // One claim per user at a time (any instance), so the per-user bound holds.
            tx.exec(
                "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 1))",
                &[&user_id.to_string()],
            )?;
            let found = tx.opt(
                "SELECT fingerprint, status, body, created_at FROM idempotency_keys \
                 WHERE user_id = $1 AND key = $2 FOR UPDATE",
                &[&user_id, &key],
            )?;
            if let Some(r) = found {
                return match rules::idempotency_check(rows::stored_key(&r)?, fingerprint, now) {
                    KeyCheck::Answer(answer) => Ok(answer),
                    KeyCheck::Reclaim => {
                        tx.exec(
                            "UPDATE idempotency_keys SET fingerprint = $3, status = 0, \
                             body = NULL, created_at = $4 WHERE user_id = $1 AND key = $2",
                            &[&user_id, &key, &&fingerprint[..], &now],
                        )?;
                        Ok(IdempotencyBegin::New)
                    }
                };
            }
            tx.exec(
                "DELETE FROM idempotency_keys WHERE created_at <= $1",
                &[&(now - rules::IDEMPOTENCY_TTL)],
            )?;
            let held = tx.one(
                "SELECT COUNT(*) FROM idempotency_keys WHERE user_id = $1",
                &[&user_id],
            )?;
            if rows::count(&held, 0)? >= rules::IDEMPOTENCY_KEYS_PER_USER {
                return Ok(IdempotencyBegin::TooMany);
            }
            tx.exec(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4)",
                &[&user_id, &key, &&fingerprint[..], &now],
            )?;
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
        self.read(|c| {
            c.exec(
                "UPDATE idempotency_keys SET status = $3, body = $4 WHERE user_id = $1 AND key = $2",
                &[&user_id, &key, &i32::from(status), &body],
            )?;
            Ok(())
        })
    }

    fn idempotency_abort(&self, user_id: Uuid, key: &str) -> StoreResult<()> {
        self.read(|c| {
            c.exec(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 0",
                &[&user_id, &key],
            )?;
            Ok(())
        })
    }
}
