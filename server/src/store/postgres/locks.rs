//! [`LockStore`] on PostgreSQL.

use super::*;
use crate::store::rules;

impl LockStore for PostgresStore {
    fn create_lock(&self, lock: &NewLock, audit: &Audit) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx.exec(
                "INSERT INTO locks (id, org_id, unit_id, name, mode, firmware, master_code, \
                 identity_public_key, created_at) \
                 SELECT $1, u.org_id, u.id, $4, 'vacant', $5, $6, $7, $8 \
                 FROM units u WHERE u.id = $3 AND u.org_id = $2",
                &[
                    &lock.id,
                    &lock.org_id,
                    &lock.unit_id,
                    &lock.name,
                    &lock.firmware,
                    &lock.master_code,
                    &lock.identity_public_key,
                    &audit.at,
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            let record = lock_q(tx, lock.org_id, lock.id)?;
            passcodes_for_lock(tx, &record)?;
            lock_changed(tx, lock.org_id, lock.id, audit)?;
            Ok(record)
        })
    }

    fn lock(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<LockRecord> {
        self.read(|c| lock_q(c, org_id, lock_id))
    }

    fn list_locks(
        &self,
        org_id: Uuid,
        filter: &LockFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<LockRecord>> {
        self.read(|c| locks_q(c, org_id, filter, after, Some(limit)))
    }

    fn rename_lock(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        name: &str,
        audit: &Audit,
    ) -> StoreResult<LockRecord> {
        self.write(|tx| {
            let n = tx.exec(
                "UPDATE locks SET name = $3 WHERE org_id = $1 AND id = $2",
                &[&org_id, &lock_id, &name],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            lock_changed(tx, org_id, lock_id, audit)?;
            lock_q(tx, org_id, lock_id)
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
            let n = tx.exec(
                "UPDATE locks SET mode = $3 WHERE org_id = $1 AND id = $2",
                &[&org_id, &lock_id, &mode.as_str()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            lock_changed(tx, org_id, lock_id, audit)?;
            lock_q(tx, org_id, lock_id)
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
            // The update holds the lock's row: no other code is handed out meanwhile.
            let n = tx.exec(
                "UPDATE locks SET master_code = $3 WHERE org_id = $1 AND id = $2",
                &[&org_id, &lock_id, &master_code],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            tx.exec("DELETE FROM access_codes WHERE lock_id = $1", &[&lock_id])?;
            tx.exec("DELETE FROM passcodes WHERE lock_id = $1", &[&lock_id])?;
            let record = lock_q(tx, org_id, lock_id)?;
            passcodes_for_lock(tx, &record)?;
            lock_changed(tx, org_id, lock_id, audit)?;
            Ok(record)
        })
    }

    fn master_code(&self, org_id: Uuid, lock_id: Uuid, audit: &Audit) -> StoreResult<String> {
        self.write(|tx| {
            let code: String = tx
                .one(
                    "SELECT master_code FROM locks WHERE org_id = $1 AND id = $2",
                    &[&org_id, &lock_id],
                )?
                .try_get(0)?;
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
        let rights = i64::from(rights);
        self.write(|tx| {
            let serial: i64 = tx
                .one(
                    "INSERT INTO ble_credentials (org_id, user_id, lock_id, rights, not_before, \
                     not_after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING serial",
                    &[
                        &org_id,
                        &user_id,
                        &lock_id,
                        &rights,
                        &not_before,
                        &not_after,
                    ],
                )?
                .try_get(0)?;
            Ok(serial as u64)
        })
    }

    fn lock_credentials(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<CredentialRecord>> {
        self.read(|c| {
            let rows = c.query(
                "SELECT serial, user_id, lock_id, rights, not_before, not_after \
                 FROM ble_credentials WHERE org_id = $1 AND lock_id = $2 AND not_after >= $3 \
                 ORDER BY serial",
                &[&org_id, &lock_id, &now],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(CredentialRecord {
                    serial: r.try_get::<_, i64>(0)? as u64,
                    user_id: r.try_get(1)?,
                    lock_id: r.try_get(2)?,
                    rights: u32::try_from(r.try_get::<_, i64>(3)?).unwrap_or(0),
                    not_before: r.try_get(4)?,
                    not_after: r.try_get(5)?,
                });
            }
            Ok(out)
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
            // Conditional update: of two pairings racing on two instances, the second waits
            // for the first's commit, then finds the key set and changes nothing.
            let n = tx.exec(
                "UPDATE locks SET identity_public_key = $3, firmware = COALESCE($4, firmware) \
                 WHERE org_id = $1 AND id = $2 AND identity_public_key IS NULL",
                &[&org_id, &lock_id, &identity_public_key, &firmware],
            )?;
            if n == 0 {
                lock_q(tx, org_id, lock_id)?;
                return Err(rules::already_paired().into());
            }
            lock_changed(tx, org_id, lock_id, audit)?;
            lock_q(tx, org_id, lock_id)
        })
    }
}
