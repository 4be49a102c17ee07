//! [`SyncStore`] on SQLite: the change log read by lock and app sync.

use super::tx::*;
use super::*;
use crate::store::rows::CODE_COLS;
use crate::store::rows::{self, Columns};
use crate::store::rules;
use crate::store::rules::SyncStart;
use crate::store::*;
use access_domain::LockMode;
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

impl SyncStore for SqliteStore {
    fn sync(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        filter: &LockFilter,
        since: Option<i64>,
    ) -> StoreResult<SyncData> {
        /// Every lock of the organization with its unit and property: units and properties
        /// read once into a map (a thousand rows) instead of joined per lock, which made two
        /// more index lookups and page reads for each of 10,000 locks.
        fn all_locks(tx: &Connection, org: &str) -> rusqlite::Result<Vec<LockRecord>> {
            let mut units: HashMap<Uuid, (String, Uuid, String)> = HashMap::new();
            let mut stmt = tx.prepare_cached(
                "SELECT u.id, u.name, p.id, p.name FROM units u \
                 JOIN properties p ON p.id = u.property_id WHERE u.org_id = ?1",
            )?;
            let mut rows = stmt.query([org])?;
            while let Some(r) = rows.next()? {
                units.insert(r.uuid(0)?, (r.get(1)?, r.uuid(2)?, r.get(3)?));
            }
            let org_id = Uuid::parse_str(org).map_err(|_| bad(0, "uuid"))?;
            let mut stmt = tx.prepare_cached(
                "SELECT l.id, l.unit_id, l.name, l.mode, l.battery, l.firmware, \
                 l.identity_public_key FROM locks l WHERE l.org_id = ?1 ORDER BY l.id",
            )?;
            let mut rows = stmt.query([org])?;
            let mut locks = Vec::new();
            while let Some(r) = rows.next()? {
                let unit_id = r.uuid(1)?;
                let (unit_name, property_id, property_name) =
                    units.get(&unit_id).ok_or_else(|| bad(1, "unit"))?;
                let mode = r.get_ref(3)?.as_str()?;
                locks.push(LockRecord {
                    id: r.uuid(0)?,
                    org_id,
                    name: r.get(2)?,
                    unit_id,
                    unit_name: unit_name.clone(),
                    property_id: *property_id,
                    property_name: property_name.clone(),
                    mode: LockMode::parse(mode).ok_or_else(|| bad(3, "mode"))?,
                    battery: r.get(4)?,
                    firmware: r.get(5)?,
                    identity_public_key: r.get(6)?,
                });
            }
            Ok(locks)
        }

        self.with(|conn| {
            // One read transaction: the cursor and the data come from the same snapshot.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let cursor: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM changes")?
                .query_row([], |r| r.get(0))?;
            let org = org_id.to_string();
            let mut data = SyncData {
                cursor,
                ..SyncData::default()
            };
            let every_lock = |tx: &Connection| match filter {
                LockFilter::All => all_locks(tx, &org),
                LockFilter::Units(_) => locks_tx(tx, org_id, filter, None, None),
            };
            match rules::sync_start(since, cursor) {
                SyncStart::Everything { me_changed } => {
                    data.me_changed = me_changed;
                    data.locks = every_lock(&tx)?;
                }
                SyncStart::Since(since) => {
                    data.me_changed = tx
                        .prepare_cached(
                            "SELECT EXISTS (SELECT 1 FROM changes WHERE org_id = ?1 AND seq > ?2 \
                         AND seq <= ?3 AND user_id = ?4 AND lock_id IS NULL)",
                        )?
                        .query_row(params![org, since, cursor, user_id.to_string()], |r| {
                            r.get(0)
                        })?;
                    if data.me_changed {
                        data.locks = every_lock(&tx)?;
                    } else {
                        let changed: Vec<Uuid> = {
                            let mut stmt = tx.prepare_cached(
                                "SELECT DISTINCT lock_id FROM changes WHERE org_id = ?1 \
                                 AND seq > ?2 AND seq <= ?3 AND lock_id IS NOT NULL",
                            )?;
                            let rows =
                                stmt.query_map(params![org, since, cursor], |r| r.uuid(0))?;
                            rows.collect::<rusqlite::Result<_>>()?
                        };
                        for id in changed {
                            match lock_tx(&tx, org_id, id).optional()? {
                                Some(l) if filter.covers(l.unit_id) => data.locks.push(l),
                                _ => data.removed_lock_ids.push(id),
                            }
                        }
                    }
                }
            }
            // The codes of the locks sent, none when none is: a sync with nothing new used to
            // read all of the user's passcodes (10,000 here) only to drop them.
            let names: HashMap<Uuid, &str> =
                data.locks.iter().map(|l| (l.id, l.name.as_str())).collect();
            let (mut codes, mut passcodes) = (Vec::new(), Vec::new());
            // The lock's name comes from the rows above (same snapshot), not from a join.
            let pass_cols = "SELECT pc.id, pc.user_id, pc.lock_id, '', pc.code, pc.sync_state, \
                             pc.failure_reason FROM passcodes pc WHERE pc.user_id = ?1";
            let uid = user_id.to_string();
            // A few locks: their codes through the lock_id indexes; many: one pass over all.
            if names.len() <= 64 {
                let mut by_lock =
                    tx.prepare_cached(&format!("SELECT {CODE_COLS} WHERE c.lock_id = ?1"))?;
                let mut pass = tx.prepare_cached(&format!("{pass_cols} AND pc.lock_id = ?2"))?;
                let mut buf = Uuid::encode_buffer();
                for l in &data.locks {
                    let id = &*l.id.hyphenated().encode_lower(&mut buf);
                    for code in by_lock.query_map([id], |r| rows::access_code(r))? {
                        codes.push(code?);
                    }
                    for pc in pass.query_map([&uid, id], |r| rows::passcode(r))? {
                        passcodes.push(pc?);
                    }
                }
            } else {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {CODE_COLS} JOIN locks l ON l.id = c.lock_id WHERE l.org_id = ?1"
                ))?;
                for code in stmt.query_map([&org], |r| rows::access_code(r))? {
                    let code = code?;
                    if names.contains_key(&code.lock_id) {
                        codes.push(code);
                    }
                }
                let mut stmt = tx.prepare_cached(pass_cols)?;
                for pc in stmt.query_map([&uid], |r| rows::passcode(r))? {
                    let pc = pc?;
                    if names.contains_key(&pc.lock_id) {
                        passcodes.push(pc);
                    }
                }
            }
            for pc in &mut passcodes {
                pc.lock_name = names
                    .get(&pc.lock_id)
                    .copied()
                    .unwrap_or_default()
                    .to_owned();
            }
            drop(names);
            (data.access_codes, data.passcodes) = (codes, passcodes);
            tx.commit()?;
            Ok(data)
        })
    }
}
