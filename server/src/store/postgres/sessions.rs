//! [`SessionStore`] on PostgreSQL.

use super::*;
use crate::store::rules;
use crate::store::rules::KeyCheck;

impl SessionStore for PostgresStore {
    fn login_lookup(&self, email: &str) -> StoreResult<Option<(UserRecord, String)>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {USER_COLS}, u.password_hash FROM users u \
                 WHERE lower(u.registered_email) = lower($1) AND u.password_hash IS NOT NULL"
            );
            match c.opt(&sql, &[&email])? {
                Some(r) => Ok(Some((rows::user(&r)?, r.try_get(16)?))),
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
    ) -> StoreResult<Option<UserRecord>> {
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
                    let stored: Vec<u8> = r.try_get(16)?;
                    let mut user = rows::user(&r)?;
                    // A revoked session reports its user as revoked, so the client learns why.
                    if r.try_get::<_, bool>(17)? {
                        user.status = UserStatus::Revoked;
                    }
                    Ok(secrets::ct_eq(&stored, token_hash).then_some(user))
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

    fn login_failures(&self, keys: &[String], since: OffsetDateTime) -> StoreResult<Vec<u64>> {
        self.read(|c| {
            let found = c.query(
                "SELECT k.key, (SELECT COUNT(*) FROM login_failures f \
                 WHERE f.key = k.key AND f.at >= $2) FROM unnest($1::text[]) AS k(key)",
                &[&keys, &since],
            )?;
            let mut by_key = HashMap::new();
            for r in &found {
                by_key.insert(r.try_get::<_, String>(0)?, rows::count(r, 1)?);
            }
            Ok(keys
                .iter()
                .map(|k| by_key.get(k).copied().unwrap_or(0))
                .collect())
        })
    }

    fn record_login_failure(&self, keys: &[String], at: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            tx.exec(
                "INSERT INTO login_failures (key, at) SELECT k, $2 FROM unnest($1::text[]) AS k",
                &[&keys, &at],
            )?;
            // Old failures no longer count; drop them so the table stays small.
            tx.exec(
                "DELETE FROM login_failures WHERE at < $1",
                &[&(at - rules::LOGIN_FAILURES_KEPT)],
            )?;
            Ok(())
        })
    }

    fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        self.read(|c| {
            c.exec("DELETE FROM login_failures WHERE key = $1", &[&key])?;
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
            // Claiming is one statement, so two instances racing on one key get one winner.
            let claimed = tx.exec(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key) DO NOTHING",
                &[&user_id, &key, &&fingerprint[..], &now],
            )?;
            if claimed == 1 {
                return Ok(IdempotencyBegin::New);
            }
            let r = tx.one(
                "SELECT fingerprint, status, body, created_at FROM idempotency_keys \
                 WHERE user_id = $1 AND key = $2 FOR UPDATE",
                &[&user_id, &key],
            )?;
            match rules::idempotency_check(rows::stored_key(&r)?, fingerprint, now) {
                KeyCheck::Answer(answer) => Ok(answer),
                KeyCheck::Reclaim => {
                    tx.exec(
                        "UPDATE idempotency_keys SET created_at = $3 \
                         WHERE user_id = $1 AND key = $2",
                        &[&user_id, &key, &now],
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
