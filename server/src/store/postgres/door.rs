//! [`DoorStore`] on PostgreSQL.

use super::*;
use crate::store::rows::{self, DOOR_UPDATE_COLS, stored_version};
use crate::store::rules;

fn status<C: GenericClient>(cx: &mut Cx<'_, C>, org: Uuid, lock: Uuid) -> PResult<DoorStatus> {
    let r = cx.one(
        "SELECT l.door_confirmed, l.last_contact_at, l.last_contact_app, \
         (SELECT MAX(version) FROM door_updates d WHERE d.lock_id = l.id) \
         FROM locks l WHERE l.org_id = $1 AND l.id = $2",
        &[&org, &lock],
    )?;
    Ok(DoorStatus {
        confirmed: r.try_get::<_, i64>(0)?.max(0) as u64,
        last_contact_at: r.try_get(1)?,
        last_contact_app: r.try_get(2)?,
        latest: r.try_get::<_, Option<i64>>(3)?.unwrap_or(0).max(0) as u64,
    })
}

impl DoorStore for PostgresStore {
    fn door_update(&self, lock_id: Uuid, version: u64) -> StoreResult<Option<DoorUpdateRecord>> {
        self.read(|c| {
            c.opt(
                &format!(
                    "SELECT {DOOR_UPDATE_COLS} FROM door_updates WHERE lock_id = $1 AND version = $2"
                ),
                &[&lock_id, &stored_version(version)],
            )?
            .map(|r| rows::door_update(&r))
            .transpose()
        })
    }

    fn door_updates_from(&self, lock_id: Uuid, from: u64) -> StoreResult<Vec<DoorUpdateRecord>> {
        self.read(|c| {
            let found = c.query(
                &format!(
                    "SELECT {DOOR_UPDATE_COLS} FROM door_updates WHERE lock_id = $1 AND version >= $2 \
                     ORDER BY version"
                ),
                &[&lock_id, &stored_version(from)],
            )?;
            all(found, rows::door_update)
        })
    }

    fn record_door_chain(&self, org_id: Uuid, chain: &[DoorUpdateRecord]) -> StoreResult<bool> {
        let Some(first) = chain.first() else {
            return Ok(true);
        };
        let lock_id = first.lock_id;
        let held = chain
            .iter()
            .map(|u| rows::stored_held(u.held.as_ref()))
            .collect::<StoreResult<Vec<_>>>()?;
        self.write(|tx| {
            hold_lock_row(tx, org_id, lock_id)?;
            let taken: bool = tx
                .one(
                    "SELECT EXISTS (SELECT 1 FROM door_updates WHERE lock_id = $1 AND version >= $2)",
                    &[&lock_id, &stored_version(first.version)],
                )?
                .try_get(0)?;
            if taken {
                return Ok(false);
            }
            for (u, held) in chain.iter().zip(&held) {
                tx.exec(
                    &format!(
                        "INSERT INTO door_updates ({DOOR_UPDATE_COLS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    ),
                    &[
                        &lock_id,
                        &stored_version(u.version),
                        &&u.digest[..],
                        &u.code_ids,
                        &u.body,
                        &u.created_at,
                        &stored_version(u.base_version),
                        held,
                    ],
                )?;
            }
            // The confirmed update stays (it is what the lock holds); older ones go.
            tx.exec(
                "DELETE FROM door_updates WHERE lock_id = $1 AND version < \
                 (SELECT door_confirmed FROM locks WHERE id = $1)",
                &[&lock_id],
            )?;
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
            hold_lock_row(tx, org_id, lock_id)?;
            let before = status(tx, org_id, lock_id)?;
            let reported = stored_version(contact.door_version);
            let carried: Option<Vec<Uuid>> = tx
                .opt(
                    "SELECT code_ids FROM door_updates WHERE lock_id = $1 AND version = $2",
                    &[&lock_id, &reported],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let moved =
                rules::confirmed_after(before.confirmed, contact.door_version, carried.is_some())?;
            if let (Some(version), Some(ids)) = (moved, carried) {
                for table in ["access_codes", "passcodes"] {
                    tx.exec(
                        &format!(
                            "UPDATE {table} SET sync_state = 'installed', failure_reason = NULL \
                             WHERE id = ANY($1) AND lock_id = $2 AND sync_state = 'pending'"
                        ),
                        &[&ids, &lock_id],
                    )?;
                }
                let v = stored_version(version);
                tx.exec(
                    "UPDATE locks SET door_confirmed = $2 WHERE id = $1",
                    &[&lock_id, &v],
                )?;
                tx.exec(
                    "DELETE FROM door_updates WHERE lock_id = $1 AND version < $2",
                    &[&lock_id, &v],
                )?;
            }
            // `battery` is a smallint.
            let battery = contact.battery.map(i16::from);
            tx.exec(
                "UPDATE locks SET battery = COALESCE($2, battery), firmware = COALESCE($3, firmware), \
                 last_contact_at = $4, last_contact_app = $5 WHERE id = $1",
                &[
                    &lock_id,
                    &battery,
                    &contact.firmware,
                    &contact.at,
                    &contact.app.display_name(),
                ],
            )?;
            tx.change(org_id, Some(lock_id), None, contact.at);
            status(tx, org_id, lock_id)
        })
    }

    fn door_status(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<DoorStatus> {
        self.read(|c| status(c, org_id, lock_id))
    }

    fn door_master_code(&self, org_id: Uuid, lock_id: Uuid) -> StoreResult<String> {
        self.read(|c| {
            let r = c.one(
                "SELECT master_code FROM locks WHERE org_id = $1 AND id = $2",
                &[&org_id, &lock_id],
            )?;
            Ok(r.try_get(0)?)
        })
    }
}
