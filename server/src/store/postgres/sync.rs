//! [`SyncStore`] on PostgreSQL.

use super::*;
use crate::store::rules;
use crate::store::rules::SyncStart;

impl SyncStore for PostgresStore {
    fn sync(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        filter: &LockFilter,
        since: Option<i64>,
    ) -> StoreResult<SyncData> {
        // One snapshot: the cursor and the data agree (see the module docs).
        self.transact(IsolationLevel::RepeatableRead, true, |tx| {
            let cursor: i64 = tx
                .one(
                    "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE org_id = $1",
                    &[&org_id],
                )?
                .try_get(0)?;
            let mut data = SyncData {
                cursor,
                ..SyncData::default()
            };
            match rules::sync_start(since, cursor) {
                SyncStart::Everything { me_changed } => {
                    data.me_changed = me_changed;
                    data.locks = locks_q(tx, org_id, filter, None, None)?;
                }
                SyncStart::Since(since) => {
                    data.me_changed = tx
                        .one(
                            "SELECT EXISTS (SELECT 1 FROM changes WHERE org_id = $1 AND seq > $2 \
                             AND seq <= $3 AND user_id = $4 AND lock_id IS NULL)",
                            &[&org_id, &since, &cursor, &user_id],
                        )?
                        .try_get(0)?;
                    if data.me_changed {
                        data.locks = locks_q(tx, org_id, filter, None, None)?;
                    } else {
                        let changed: Vec<Uuid> = tx
                            .query(
                                "SELECT DISTINCT lock_id FROM changes WHERE org_id = $1 \
                                 AND seq > $2 AND seq <= $3 AND lock_id IS NOT NULL",
                                &[&org_id, &since, &cursor],
                            )?
                            .iter()
                            .map(|r| r.try_get(0))
                            .collect::<Result<_, _>>()?;
                        for id in changed {
                            match lock_q(tx, org_id, id) {
                                Ok(l) if filter.covers(l.unit_id) => data.locks.push(l),
                                Ok(_) | Err(Fail::Store(StoreError::NotFound)) => {
                                    data.removed_lock_ids.push(id)
                                }
                                Err(e) => return Err(e),
                            }
                        }
                    }
                }
            }
            let ids: Vec<Uuid> = data.locks.iter().map(|l| l.id).collect();
            if !ids.is_empty() {
                let sql = format!("SELECT {CODE_COLS} WHERE c.lock_id = ANY($1)");
                data.access_codes = all(tx.query(&sql, &[&ids])?, rows::access_code)?;
                let sql = format!(
                    "SELECT {PASSCODE_COLS} WHERE pc.user_id = $1 AND pc.lock_id = ANY($2)"
                );
                data.passcodes = all(tx.query(&sql, &[&user_id, &ids])?, rows::passcode)?;
            }
            Ok(data)
        })
    }
}
