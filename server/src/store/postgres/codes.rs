//! [`CodeStore`] on PostgreSQL.

use super::*;
use crate::store::rules;

impl CodeStore for PostgresStore {
    fn create_access_code(
        &self,
        org_id: Uuid,
        code: &AccessCodeRecord,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.write(|tx| {
            hold_lock_row(tx, org_id, code.lock_id)?;
            codes_in_use(tx, code.lock_id)?.ensure_free(&code.code)?;
            tx.exec(
                "INSERT INTO access_codes (id, lock_id, kind, label, code, starts_at, ends_at, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &code.id,
                    &code.lock_id,
                    &code.kind.as_str(),
                    &code.label,
                    &code.code,
                    &code.starts_at,
                    &code.ends_at,
                    &code.created_by,
                    &code.created_at,
                ],
            )?;
            lock_changed(tx, org_id, code.lock_id, audit)?;
            Ok(())
        })
    }

    fn list_access_codes(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<Vec<AccessCodeRecord>> {
        self.read(|c| {
            // The organization check rides in the same statement as the read.
            let sql = format!(
                "SELECT {CODE_COLS} JOIN locks l ON l.id = c.lock_id \
                 WHERE c.lock_id = $1 AND l.org_id = $2 ORDER BY c.created_at, c.id"
            );
            let found = c.query(&sql, &[&lock_id, &org_id])?;
            if found.is_empty() {
                lock_q(c, org_id, lock_id)?;
            }
            all(found, rows::access_code)
        })
    }

    fn set_code_state(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        code_id: Uuid,
        state: CodeSyncState,
        reason: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.write(|tx| {
            lock_q(tx, org_id, lock_id)?;
            let args: [&(dyn ToSql + Sync); 4] = [&code_id, &lock_id, &state.as_str(), &reason];
            let n = tx.exec(
                "UPDATE access_codes SET sync_state = $3, failure_reason = $4 \
                 WHERE id = $1 AND lock_id = $2",
                &args,
            )? + tx.exec(
                "UPDATE passcodes SET sync_state = $3, failure_reason = $4 \
                 WHERE id = $1 AND lock_id = $2",
                &args,
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            lock_changed(tx, org_id, lock_id, audit)?;
            Ok(())
        })
    }

    fn revoke_access_code(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        code_id: Uuid,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.write(|tx| {
            lock_q(tx, org_id, lock_id)?;
            let row = tx.one(
                "SELECT revoked_at FROM access_codes WHERE id = $1 AND lock_id = $2 FOR UPDATE",
                &[&code_id, &lock_id],
            )?;
            rules::ensure_not_revoked(row.opt_time(0)?)?;
            tx.exec(
                "UPDATE access_codes SET revoked_at = $3, revoked_by = $4 \
                 WHERE id = $1 AND lock_id = $2",
                &[&code_id, &lock_id, &audit.at, &audit.user_id],
            )?;
            lock_changed(tx, org_id, lock_id, audit)?;
            Ok(())
        })
    }

    fn access_code_revocations(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
    ) -> StoreResult<Vec<CodeRevocationRecord>> {
        self.read(|c| {
            lock_q(c, org_id, lock_id)?;
            let found = c.query(
                "SELECT id, revoked_at, revoked_by FROM access_codes \
                 WHERE lock_id = $1 AND revoked_at IS NOT NULL ORDER BY revoked_at, id",
                &[&lock_id],
            )?;
            all(found, |r| {
                Ok(CodeRevocationRecord {
                    code_id: r.try_get(0)?,
                    revoked_at: r.try_get(1)?,
                    revoked_by: r.try_get(2)?,
                })
            })
        })
    }

    fn lock_passcodes(&self, lock_id: Uuid) -> StoreResult<Vec<PasscodeRecord>> {
        self.read(|c| {
            let sql = format!("SELECT {PASSCODE_COLS} WHERE pc.lock_id = $1");
            all(c.query(&sql, &[&lock_id])?, rows::passcode)
        })
    }
}
