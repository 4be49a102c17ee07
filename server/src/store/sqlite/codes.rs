//! [`CodeStore`] on SQLite: access codes and their revocations.

use super::tx::*;
use super::*;
use crate::store::rows::{self, Columns};
use crate::store::rows::{CODE_COLS, PASSCODE_COLS};
use crate::store::rules;
use crate::store::*;
use access_domain::CodeSyncState;
use rusqlite::params;

impl CodeStore for SqliteStore {
    fn create_access_code(
        &self,
        org_id: Uuid,
        code: &AccessCodeRecord,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.write(|tx| {
            lock_tx(tx, org_id, code.lock_id)?;
            codes_in_use(tx, code.lock_id)?.ensure_free(&code.code)?;
            tx.prepare_cached(
                "INSERT INTO access_codes (id, lock_id, kind, label, code, starts_at, ends_at, \
                 created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                code.id.to_string(),
                code.lock_id.to_string(),
                code.kind.as_str(),
                code.label,
                code.code,
                code.starts_at.map(ts),
                code.ends_at.map(ts),
                code.created_by.to_string(),
                ts(code.created_at)
            ])?;
            lock_changed(tx, org_id, code.lock_id, audit)?;
            Ok(())
        })
    }

    fn list_access_codes(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<Vec<AccessCodeRecord>> {
        self.with(|c| {
            lock_tx(c, org_id, lock_id)?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CODE_COLS} WHERE c.lock_id = ?1 ORDER BY c.created_at, c.id"
            ))?;
            let rows = stmt.query_map([lock_id.to_string()], |r| rows::access_code(r))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
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
            lock_tx(tx, org_id, lock_id)?;
            let args = params![
                code_id.to_string(),
                lock_id.to_string(),
                state.as_str(),
                reason
            ];
            let n = tx
                .prepare_cached(
                    "UPDATE access_codes SET sync_state = ?3, failure_reason = ?4 \
                 WHERE id = ?1 AND lock_id = ?2",
                )?
                .execute(args)?
                + tx.prepare_cached(
                    "UPDATE passcodes SET sync_state = ?3, failure_reason = ?4 \
                 WHERE id = ?1 AND lock_id = ?2",
                )?
                .execute(args)?;
            if n == 0 {
                return Err(StoreError::NotFound);
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
            lock_tx(tx, org_id, lock_id)?;
            let revoked_at = tx
                .prepare_cached(
                    "SELECT revoked_at FROM access_codes WHERE id = ?1 AND lock_id = ?2",
                )?
                .query_row(params![code_id.to_string(), lock_id.to_string()], |r| {
                    r.opt_time(0)
                })?;
            rules::ensure_not_revoked(revoked_at)?;
            tx.prepare_cached(
                "UPDATE access_codes SET revoked_at = ?3, revoked_by = ?4 \
                 WHERE id = ?1 AND lock_id = ?2",
            )?
            .execute(params![
                code_id.to_string(),
                lock_id.to_string(),
                ts(audit.at),
                audit.user_id.to_string()
            ])?;
            lock_changed(tx, org_id, lock_id, audit)?;
            Ok(())
        })
    }

    fn access_code_revocations(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
    ) -> StoreResult<Vec<CodeRevocationRecord>> {
        self.with(|c| {
            lock_tx(c, org_id, lock_id)?;
            let mut stmt = c.prepare_cached(
                "SELECT id, revoked_at, revoked_by FROM access_codes \
                 WHERE lock_id = ?1 AND revoked_at IS NOT NULL ORDER BY revoked_at, id",
            )?;
            let rows = stmt.query_map([lock_id.to_string()], |r| rows::revocation(r))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn lock_passcodes(&self, lock_id: Uuid) -> StoreResult<Vec<PasscodeRecord>> {
        self.with(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {PASSCODE_COLS} WHERE pc.lock_id = ?1"))?;
            let rows = stmt.query_map([lock_id.to_string()], |r| rows::passcode(r))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
