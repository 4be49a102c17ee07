//! [`LockStore`] on SQLite: locks, their master code and BLE credentials.

use super::tx::*;
use super::*;
use crate::store::rows::{self};
use crate::store::rules;
use crate::store::*;
use access_domain::LockMode;
use rusqlite::params;

impl LockStore for SqliteStore {
    fn create_lock(&self, lock: &NewLock, audit: &Audit) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let unit_ok: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM units WHERE id = ?1 AND org_id = ?2)",
                )?
                .query_row(
                    params![lock.unit_id.to_string(), lock.org_id.to_string()],
                    |r| r.get(0),
                )?;
            if !unit_ok {
                return Err(StoreError::NotFound);
            }
            tx.prepare_cached(
                "INSERT INTO locks (id, org_id, unit_id, name, mode, firmware, master_code, \
                 identity_public_key, created_at) \
                 VALUES (?1, ?2, ?3, ?4, 'vacant', ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                lock.id.to_string(),
                lock.org_id.to_string(),
                lock.unit_id.to_string(),
                lock.name,
                lock.firmware,
                lock.master_code,
                lock.identity_public_key,
                ts(audit.at)
            ])?;
            let record = lock_tx(tx, lock.org_id, lock.id)?;
            passcodes_for_lock(tx, &record)?;
            lock_changed(tx, lock.org_id, lock.id, audit)?;
            Ok(record)
        })
    }

    fn lock(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<LockRecord> {
        self.with(|c| Ok(lock_tx(c, org_id, lock_id)?))
    }

    fn list_locks(
        &self,
        org_id: Uuid,
        filter: &LockFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<LockRecord>> {
        self.with(|c| Ok(locks_tx(c, org_id, filter, after, Some(limit))?))
    }

    fn rename_lock(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        name: &str,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("UPDATE locks SET name = ?3 WHERE org_id = ?1 AND id = ?2")?
                .execute(params![org_id.to_string(), lock_id.to_string(), name])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            lock_changed(tx, org_id, lock_id, audit)?;
            Ok(lock_tx(tx, org_id, lock_id)?)
        })
    }

    fn set_lock_mode(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        mode: LockMode,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("UPDATE locks SET mode = ?3 WHERE org_id = ?1 AND id = ?2")?
                .execute(params![
                    org_id.to_string(),
                    lock_id.to_string(),
                    mode.as_str()
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            lock_changed(tx, org_id, lock_id, audit)?;
            Ok(lock_tx(tx, org_id, lock_id)?)
        })
    }

    fn reset_lock_codes(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        master_code: &str,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("UPDATE locks SET master_code = ?3 WHERE org_id = ?1 AND id = ?2")?
                .execute(params![
                    org_id.to_string(),
                    lock_id.to_string(),
                    master_code
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let lid = lock_id.to_string();
            tx.prepare_cached("DELETE FROM access_codes WHERE lock_id = ?1")?
                .execute([&lid])?;
            tx.prepare_cached("DELETE FROM passcodes WHERE lock_id = ?1")?
                .execute([&lid])?;
            let record = lock_tx(tx, org_id, lock_id)?;
            passcodes_for_lock(tx, &record)?;
            lock_changed(tx, org_id, lock_id, audit)?;
            Ok(record)
        })
    }

    fn master_code(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<String> {
        self.write(|tx| {
            let code: String = tx
                .prepare_cached("SELECT master_code FROM locks WHERE org_id = ?1 AND id = ?2")?
                .query_row(params![org_id.to_string(), lock_id.to_string()], |r| {
                    r.get(0)
                })?;
            write_audit(tx, lock_id, audit)?;
            Ok(code)
        })
    }

    fn record_credential(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        lock_id: Uuid,
        rights: u32,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> StoreResult<u64> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO ble_credentials (org_id, user_id, lock_id, rights, not_before, \
                 not_after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                org_id.to_string(),
                user_id.to_string(),
                lock_id.to_string(),
                rights,
                ts(not_before),
                ts(not_after)
            ])?;
            Ok(tx.last_insert_rowid() as u64)
        })
    }

    fn lock_credentials(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<CredentialRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT serial, user_id, lock_id, rights, not_before, not_after \
                 FROM ble_credentials WHERE org_id = ?1 AND lock_id = ?2 AND not_after >= ?3 \
                 ORDER BY serial",
            )?;
            let rows = stmt.query_map(
                params![org_id.to_string(), lock_id.to_string(), ts(now)],
                |r| rows::credential(r),
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn set_lock_identity(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        identity_public_key: &str,
        firmware: Option<&str>,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let lock = lock_tx(tx, org_id, lock_id)?;
            if lock.identity_public_key.is_some() {
                return Err(rules::already_paired());
            }
            tx.prepare_cached(
                "UPDATE locks SET identity_public_key = ?3, firmware = COALESCE(?4, firmware) \
                 WHERE org_id = ?1 AND id = ?2",
            )?
            .execute(params![
                org_id.to_string(),
                lock_id.to_string(),
                identity_public_key,
                firmware
            ])?;
            lock_changed(tx, org_id, lock_id, audit)?;
            Ok(lock_tx(tx, org_id, lock_id)?)
        })
    }
}
