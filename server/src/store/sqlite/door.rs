//! [`DoorStore`] on SQLite: issued door updates and what each lock confirmed.

use rusqlite::{OptionalExtension, params};

use super::tx::*;
use super::*;
use crate::store::rows::{self, Columns, DOOR_UPDATE_COLS, stored_version};
use crate::store::rules;
use crate::store::*;

fn status(c: &rusqlite::Connection, org: Uuid, lock: Uuid) -> rusqlite::Result<DoorStatus> {
    c.prepare_cached(
        "SELECT l.door_confirmed, l.last_contact_at, l.last_contact_app, \
         (SELECT MAX(version) FROM door_updates d WHERE d.lock_id = l.id) \
         FROM locks l WHERE l.org_id = ?1 AND l.id = ?2",
    )?
    .query_row(params![org.to_string(), lock.to_string()], |r| {
        Ok(DoorStatus {
            confirmed: r.int(0)?.max(0) as u64,
            last_contact_at: r.opt_time(1)?,
            last_contact_app: r.opt_text(2)?,
            latest: r.opt_int(3)?.unwrap_or(0).max(0) as u64,
        })
    })
}

impl DoorStore for SqliteStore {
    fn door_update(&self, lock_id: Uuid, version: u64) -> StoreResult<Option<DoorUpdateRecord>> {
        self.with(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {DOOR_UPDATE_COLS} FROM door_updates WHERE lock_id = ?1 AND version = ?2"
            ))?
            .query_row(params![lock_id.to_string(), stored_version(version)], |r| {
                rows::door_update(r)
            })
            .optional()?)
        })
    }

    fn door_updates_from(&self, lock_id: Uuid, from: u64) -> StoreResult<Vec<DoorUpdateRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {DOOR_UPDATE_COLS} FROM door_updates WHERE lock_id = ?1 AND version >= ?2 \
                 ORDER BY version"
            ))?;
            let found = stmt
                .query_map(params![lock_id.to_string(), stored_version(from)], |r| {
                    rows::door_update(r)
                })?;
            Ok(found.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn record_door_chain(&self, org_id: Uuid, chain: &[DoorUpdateRecord]) -> StoreResult<bool> {
        let Some(first) = chain.first() else {
            return Ok(true);
        };
        let lock_id = first.lock_id;
        let mut stored = Vec::with_capacity(chain.len());
        for u in chain {
            stored.push((
                ids_to_json(&u.code_ids),
                rows::stored_held(u.held.as_ref())?,
            ));
        }
        self.write(|tx| {
            lock_tx(tx, org_id, lock_id)?;
            let taken: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM door_updates \
                     WHERE lock_id = ?1 AND version >= ?2)",
                )?
                .query_row(
                    params![lock_id.to_string(), stored_version(first.version)],
                    |r| r.get(0),
                )?;
            if taken {
                return Ok(false);
            }
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO door_updates ({DOOR_UPDATE_COLS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?;
            for (u, (ids, held)) in chain.iter().zip(&stored) {
                insert.execute(params![
                    lock_id.to_string(),
                    stored_version(u.version),
                    &u.digest[..],
                    ids,
                    u.body,
                    ts(u.created_at),
                    stored_version(u.base_version),
                    held,
                ])?;
            }
            // The confirmed update stays (it is what the lock holds); older ones go.
            tx.prepare_cached(
                "DELETE FROM door_updates WHERE lock_id = ?1 AND version < \
                 (SELECT door_confirmed FROM locks WHERE id = ?1)",
            )?
            .execute([lock_id.to_string()])?;
            Ok(true)
        })
    }

    fn record_contact(
        &self,
        org_id: Uuid,
        lock_id: Uuid,
        contact: &LockContact,
    ) -> StoreResult<DoorStatus> {
        self.write(|tx| {
            let before = status(tx, org_id, lock_id)?;
            let reported = stored_version(contact.door_version);
            let carried: Option<String> = tx
                .prepare_cached(
                    "SELECT code_ids FROM door_updates WHERE lock_id = ?1 AND version = ?2",
                )?
                .query_row(params![lock_id.to_string(), reported], |r| r.text(0))
                .optional()?;
            let moved =
                rules::confirmed_after(before.confirmed, contact.door_version, carried.is_some())?;
            if let (Some(version), Some(ids)) = (moved, carried) {
                let ids: Vec<uuid::Uuid> = serde_json::from_slice(ids.as_bytes())
                    .map_err(|e| StoreError::Backend(format!("door update code ids: {e}")))?;
                for id in ids {
                    for table in ["access_codes", "passcodes"] {
                        tx.prepare_cached(&format!(
                            "UPDATE {table} SET sync_state = 'installed', \
                             failure_reason = NULL WHERE id = ?1 AND lock_id = ?2 \
                             AND sync_state = 'pending'"
                        ))?
                        .execute(params![id.to_string(), lock_id.to_string()])?;
                    }
                }
                tx.prepare_cached("UPDATE locks SET door_confirmed = ?2 WHERE id = ?1")?
                    .execute(params![lock_id.to_string(), stored_version(version)])?;
                tx.prepare_cached("DELETE FROM door_updates WHERE lock_id = ?1 AND version < ?2")?
                    .execute(params![lock_id.to_string(), stored_version(version)])?;
            }
            tx.prepare_cached(
                "UPDATE locks SET battery = COALESCE(?2, battery), \
                 firmware = COALESCE(?3, firmware), last_contact_at = ?4, \
                 last_contact_app = ?5 WHERE id = ?1",
            )?
            .execute(params![
                lock_id.to_string(),
                contact.battery,
                contact.firmware,
                ts(contact.at),
                contact.app.display_name()
            ])?;
            change(tx, org_id, Some(lock_id), None, contact.at)?;
            Ok(status(tx, org_id, lock_id)?)
        })
    }

    fn door_status(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<DoorStatus> {
        self.with(|c| Ok(status(c, org_id, lock_id)?))
    }

    fn door_master_code(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<String> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT master_code FROM locks WHERE org_id = ?1 AND id = ?2")?
                    .query_row(params![org_id.to_string(), lock_id.to_string()], |r| {
                        r.text(0)
                    })?,
            )
        })
    }
}
