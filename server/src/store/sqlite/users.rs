//! [`UserStore`] on SQLite: users, the Manage Access table, scope and revocation.

use access_domain::{Access, AccessPeriod, Permission, UserStatus};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::tx::{
    USER_COLS, change, codes_in_use, insert_message, insert_passcode, user_changed, user_tx,
};
use super::{SqliteStore, access_to_cols, ids_to_json, perms_to_text, ts};
use crate::store::rows::{self, Columns, PASSCODE_COLS, USER_COL_COUNT};
use crate::store::rules;
use crate::store::user_list::{UserPage, UserQuery, UserSort};
use crate::store::{
    LAST_MANAGER, NewInvitationToken, NewMessage, PasscodeRecord, StoreError, StoreResult,
    SummaryCounts, UserRecord, UserStore,
};

/// Most matches of a search whose page is read from the trigram index's candidates and
/// sorted; more, and the page walks the sort's index instead (it meets 50 matches soon).
const INDEXED_PAGE_MAX: u64 = 1_000;

/// Most users a page may visit and still run on the request's own thread.
const QUICK_PAGE_ROWS: u64 = 2_000;

/// The key of `query`'s remembered total, when the total does not depend on the time (no
/// expiry or "ending" filter).
fn total_key(org: &str, query: &UserQuery) -> Option<String> {
    if query.expired().is_some() || query.ending_between.is_some() {
        return None;
    }
    let (user_type, status) = (query.user_type.map(|t| t.as_str()), query.stored_status());
    let (pattern, within) = (
        query.like_pattern(),
        query.within_units.as_deref().map(ids_to_json),
    );
    Some(format!(
        "{org}|{user_type:?}|{status:?}|{pattern:?}|{within:?}"
    ))
}

/// Whether a page of `limit` visits few users: the indexed search sorts at most
/// [`INDEXED_PAGE_MAX`] candidates; otherwise the sort's index is walked until `limit + 1`
/// of `total` matches among `all` users, about `all / total` users a match.
fn quick_page(limit: u32, total: u64, all: u64, indexed: bool) -> bool {
    indexed
        || (u64::from(limit) + 1).saturating_mul(all)
            <= QUICK_PAGE_ROWS.saturating_mul(total.max(1))
}

impl UserStore for SqliteStore {
    fn user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<UserRecord> {
        self.with(|c| Ok(user_tx(c, org_id, user_id)?))
    }

    fn user_by_username(&self, org_id: Uuid, username: &str) -> StoreResult<Option<UserRecord>> {
        self.with(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users u \
                 WHERE u.org_id = ?1 AND lower(u.username) = lower(?2)"
            ))?
            .query_row(params![org_id.to_string(), username], |r| rows::user(r))
            .optional()?)
        })
    }

    fn list_users(
        &self,
        org_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<UserRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users u WHERE u.org_id = ?1 AND u.id > ?2 \
                 ORDER BY u.id LIMIT ?3"
            ))?;
            let found = stmt.query_map(
                params![
                    org_id.to_string(),
                    after.map(|a| a.to_string()).unwrap_or_default(),
                    limit
                ],
                |r| rows::user(r),
            )?;
            Ok(found.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn user_page(&self, org_id: Uuid, query: &UserQuery) -> StoreResult<UserPage> {
        // Sort keys as text, so the cursor can carry any of them; the `email` prefixes
        // put rows without a registered email last in both orders.
        let key = match query.sort {
            UserSort::Name => "LOWER(COALESCE(u.name, u.username, u.invited_email, ''))",
            UserSort::Type => "u.user_type",
            UserSort::Status => "u.status",
            UserSort::AccessType => "u.access_type",
            UserSort::Email if query.descending => {
                "CASE WHEN u.registered_email IS NULL THEN '0' \
                 ELSE '1' || LOWER(u.registered_email) END"
            }
            UserSort::Email => {
                "CASE WHEN u.registered_email IS NULL THEN '1' \
                 ELSE '0' || LOWER(u.registered_email) END"
            }
            UserSort::InvitedAt => "printf('%020d', u.invited_at)",
        };
        // The same order as the key, on what an index holds (`0006_user_pages.sql`): the
        // page walks the index and stops, where sorting by the text key sorted every user.
        let order = match query.sort {
            UserSort::InvitedAt => "u.invited_at",
            _ => key,
        };
        let (cmp, dir) = query.keyset_order();
        // SQLite's LOWER folds ASCII only; LIKE is ASCII case-insensitive too. The four
        // searched fields in one string, joined by U+001F, a control character no search
        // keeps (`UserQuery::like_pattern`), so no match spans two fields: one LIKE a row.
        // A search of three characters or more counts its matches from the trigram index's
        // candidates (`0013_user_search.sql`), where it read every user of the organization;
        // the page does too when they are few (sorting them is cheap), and otherwise walks
        // the sort's index, where 50 matches come soon.
        let filter = |indexed: bool| {
            let candidates = if indexed {
                "u.id IN (SELECT k.user_id FROM users_search s \
                 JOIN user_search_keys k ON k.key = s.rowid WHERE users_search MATCH ?10)"
            } else {
                "?10 IS NULL"
            };
            format!(
                "u.org_id = ?1 AND (?2 IS NULL OR u.user_type = ?2) \
             AND (?3 IS NULL OR u.status = ?3) \
             AND (?4 IS NULL OR LOWER(COALESCE(u.name, '') || char(31) || COALESCE(u.username, '') \
                  || char(31) || COALESCE(u.invited_email, '') || char(31) \
                  || COALESCE(u.registered_email, '')) LIKE ?4 ESCAPE '\\') \
             AND {candidates} \
             AND (?5 IS NULL OR (u.access_type = 'units' AND NOT EXISTS \
                  (SELECT 1 FROM json_each(u.unit_ids) j \
                   WHERE j.value NOT IN (SELECT value FROM json_each(?5))))) \
             AND (?6 IS NULL OR (u.access_ends_at >= ?6 AND u.access_ends_at < ?7)) \
             AND (?8 IS NULL OR (COALESCE((SELECT MAX(i.expires_at) FROM invitations i \
                  WHERE i.user_id = u.id AND i.voided = 0), 0) <= ?9) = ?8)"
            )
        };
        let pattern = query.like_pattern();
        let phrase = query.trigram_phrase();
        let org = org_id.to_string();
        let user_type = query.user_type.map(|t| t.as_str());
        let status = query.stored_status();
        let (expired, now) = (query.expired(), super::ts(query.at()));
        let (after_key, after_id) = match &query.after {
            Some(c) => (Some(c.key.clone()), Some(c.id.to_string())),
            None => (None, None),
        };
        let within = query.within_units.as_deref().map(ids_to_json);
        let limit = query.limit.max(1);
        let (ends_from, ends_before) = match query.ending_between {
            Some((from, before)) => (Some(ts(from)), Some(ts(before))),
            None => (None, None),
        };
        self.with(|c| {
            let count = || {
                c.prepare_cached(&format!(
                    "SELECT COUNT(*) FROM users u WHERE {}",
                    filter(phrase.is_some())
                ))?
                .query_row(
                    params![
                        org,
                        user_type,
                        status,
                        pattern,
                        within,
                        ends_from,
                        ends_before,
                        expired,
                        now,
                        phrase
                    ],
                    |r| rows::count(r, 0),
                )
            };
            // Counting visits every matching user while the page reads one index range, so
            // a total that does not depend on the time (no expiry or "ending" filter) is
            // remembered per database generation: paging and reloads count once, and any
            // write, from any process, counts again.
            let total = match total_key(&org, query) {
                Some(key) => self.user_totals.get_or_read(&self.generation, key, count)?,
                None => count()?,
            };
            // The organization's own total, so `user_page_is_quick` can tell a short walk.
            let all = total_key(&org, &UserQuery::default()).expect("no time filter");
            self.user_totals.get_or_read(&self.generation, all, || {
                c.prepare_cached("SELECT COUNT(*) FROM users WHERE org_id = ?1")?
                    .query_row([&org], |r| rows::count(r, 0))
            })?;
            let indexed = phrase.is_some() && total <= INDEXED_PAGE_MAX;
            let page_phrase = phrase.as_ref().filter(|_| indexed);
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {USER_COLS}, {key} FROM users u WHERE {} \
                 AND (?11 IS NULL OR {key} {cmp} ?11 OR ({key} = ?11 AND u.id {cmp} ?12)) \
                 ORDER BY {}{order} {dir}, u.id {dir} LIMIT ?13",
                filter(indexed),
                // `+`: the few candidates are sorted, rather than the whole order's index
                // walked and each user checked against them.
                if indexed { "+" } else { "" }
            ))?;
            let found = stmt
                .query_map(
                    params![
                        org,
                        user_type,
                        status,
                        pattern,
                        within,
                        ends_from,
                        ends_before,
                        expired,
                        now,
                        page_phrase,
                        after_key,
                        after_id,
                        limit + 1
                    ],
                    |r| Ok((rows::user(r)?, r.text(USER_COL_COUNT)?)),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(UserPage::from_rows(found, limit, total))
        })
    }

    fn user_page_is_quick(&self, org_id: Uuid, query: &UserQuery) -> bool {
        let org = org_id.to_string();
        let at = self.generation.current();
        let remembered =
            |q: &UserQuery| total_key(&org, q).and_then(|key| self.user_totals.get(&key, at));
        match (remembered(query), remembered(&UserQuery::default())) {
            (Some(total), Some(all)) => quick_page(
                query.limit.max(1),
                total,
                all,
                query.trigram_phrase().is_some() && total <= INDEXED_PAGE_MAX,
            ),
            _ => false,
        }
    }

    fn summary(
        &self,
        org_id: Uuid,
        within_units: Option<&[Uuid]>,
        now: OffsetDateTime,
    ) -> StoreResult<SummaryCounts> {
        // A manager of all locks counts from `users_by_status` alone (`0011_user_counts.sql`),
        // and reads invitations only for the pending users: the one query below walked the
        // organization's users in id order, one table lookup each (481 ms for 200,000).
        if within_units.is_none() {
            return self.with(|c| {
                Ok(c.prepare_cached(
                    "SELECT t.n, t.team, t.residents, p.live, p.pending - p.live FROM \
                     (SELECT COUNT(*) AS n, COALESCE(SUM(user_type = 'team_member'), 0) AS team, \
                             COALESCE(SUM(user_type = 'resident'), 0) AS residents \
                      FROM users WHERE org_id = ?1 AND status IN ('pending', 'active')) t, \
                     (SELECT COUNT(*) AS pending, COALESCE(SUM(e > ?2), 0) AS live \
                      FROM (SELECT COALESCE((SELECT MAX(i.expires_at) FROM invitations i \
                                             WHERE i.user_id = u.id AND i.voided = 0), 0) AS e \
                            FROM users u WHERE u.org_id = ?1 AND u.status = 'pending')) p",
                )?
                .query_row(params![org_id.to_string(), ts(now)], |r| rows::summary(r))?)
            });
        }
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT COUNT(*), \
                 COALESCE(SUM(user_type = 'team_member'), 0), \
                 COALESCE(SUM(user_type = 'resident'), 0), \
                 COALESCE(SUM(status = 'pending' AND expires_at > ?3), 0), \
                 COALESCE(SUM(status = 'pending' AND expires_at <= ?3), 0) \
                 FROM (SELECT u.user_type, u.status, CASE WHEN u.status = 'pending' THEN \
                       COALESCE((SELECT MAX(i.expires_at) FROM invitations i \
                                 WHERE i.user_id = u.id AND i.voided = 0), 0) END AS expires_at \
                       FROM users u WHERE u.org_id = ?1 AND u.status != 'revoked' \
                       AND (?2 IS NULL OR (u.access_type = 'units' AND NOT EXISTS \
                            (SELECT 1 FROM json_each(u.unit_ids) j \
                             WHERE j.value NOT IN (SELECT value FROM json_each(?2))))))",
            )?
            .query_row(
                params![org_id.to_string(), within_units.map(ids_to_json), ts(now)],
                |r| rows::summary(r),
            )?)
        })
    }

    fn set_permissions(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        permissions: &[Permission],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("UPDATE users SET permissions = ?3 WHERE org_id = ?1 AND id = ?2")?
                .execute(params![
                    org_id.to_string(),
                    user_id.to_string(),
                    perms_to_text(permissions)
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            keep_a_manager(tx, org_id)?;
            change(tx, org_id, None, Some(user_id), now)?;
            Ok(())
        })
    }

    fn set_period(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        period: &AccessPeriod,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE users SET access_starts_at = ?3, access_ends_at = ?4, \
                     access_hours = ?5 WHERE org_id = ?1 AND id = ?2",
                )?
                .execute(params![
                    org_id.to_string(),
                    user_id.to_string(),
                    period.starts_at.map(ts),
                    period.ends_at.map(ts),
                    period.weekly_hours.as_ref().map(rows::stored_hours),
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            change(tx, org_id, None, Some(user_id), now)?;
            Ok(())
        })
    }

    fn set_access(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        access: &Access,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            let (access_type, unit_ids) = access_to_cols(access);
            let n = tx
                .prepare_cached(
                    "UPDATE users SET access_type = ?3, unit_ids = ?4 \
                     WHERE org_id = ?1 AND id = ?2",
                )?
                .execute(params![
                    org_id.to_string(),
                    user_id.to_string(),
                    access_type,
                    unit_ids
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            user_changed(tx, org_id, user_id, now)?;
            Ok(())
        })
    }

    fn revoke_user(&self, org_id: Uuid, user_id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE users SET status = 'revoked' WHERE org_id = ?1 AND id = ?2",
                )?
                .execute(params![org_id.to_string(), user_id.to_string()])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            keep_a_manager(tx, org_id)?;
            let uid = user_id.to_string();
            tx.prepare_cached("UPDATE sessions SET revoked = 1 WHERE user_id = ?1")?
                .execute([&uid])?;
            tx.prepare_cached("UPDATE invitations SET voided = 1 WHERE user_id = ?1")?
                .execute([&uid])?;
            user_changed(tx, org_id, user_id, now)?;
            Ok(())
        })
    }

    fn renew_passcode(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        lock_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            // Of this organization's user only.
            user_tx(tx, org_id, user_id)?;
            // Read before the old one goes, so the new digits differ from it too.
            let mut used = codes_in_use(tx, lock_id)?;
            let n = tx
                .prepare_cached("DELETE FROM passcodes WHERE user_id = ?1 AND lock_id = ?2")?
                .execute(params![user_id.to_string(), lock_id.to_string()])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_passcode(tx, user_id, lock_id, &mut used)?;
            change(tx, org_id, Some(lock_id), Some(user_id), now)?;
            Ok(())
        })
    }

    fn link_access(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        permissions: &[Permission],
        access: &Access,
        mail: &NewMessage,
        now: OffsetDateTime,
    ) -> StoreResult<UserRecord> {
        self.write(|tx| {
            let user = user_tx(tx, org_id, user_id)?;
            if user.status == UserStatus::Revoked {
                return Err(StoreError::Conflict(
                    "This user's access has been revoked.".into(),
                ));
            }
            let (perms, access) =
                rules::union_access((&user.permissions, &user.access), (permissions, access));
            let (access_type, unit_ids) = access_to_cols(&access);
            tx.prepare_cached(
                "UPDATE users SET permissions = ?3, access_type = ?4, unit_ids = ?5 \
                 WHERE org_id = ?1 AND id = ?2",
            )?
            .execute(params![
                org_id.to_string(),
                user_id.to_string(),
                perms_to_text(&perms),
                access_type,
                unit_ids
            ])?;
            insert_message(tx, mail)?;
            Ok(user_changed(tx, org_id, user_id, now)?)
        })
    }

    fn reinstate_user(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        grant: Option<(&[Permission], &Access)>,
        token: &NewInvitationToken,
        mail: &NewMessage,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(|tx| {
            rules::ensure_reinstatable(user_tx(tx, org_id, user_id)?.status)?;
            let uid = user_id.to_string();
            tx.prepare_cached(
                "UPDATE users SET status = 'pending', password_hash = NULL, \
                 registered_email = NULL, \
                 invited_email = COALESCE(registered_email, invited_email) \
                 WHERE id = ?1",
            )?
            .execute([&uid])?;
            if let Some((perms, access)) = grant {
                let (access_type, unit_ids) = access_to_cols(access);
                tx.prepare_cached(
                    "UPDATE users SET permissions = ?2, access_type = ?3, unit_ids = ?4 \
                     WHERE id = ?1",
                )?
                .execute(params![
                    uid,
                    perms_to_text(perms),
                    access_type,
                    unit_ids
                ])?;
            }
            tx.prepare_cached("UPDATE sessions SET revoked = 1 WHERE user_id = ?1")?
                .execute([&uid])?;
            tx.prepare_cached("UPDATE invitations SET voided = 1 WHERE user_id = ?1")?
                .execute([&uid])?;
            super::invitations::insert_invitation(tx, user_id, token)?;
            insert_message(tx, mail)?;
            user_changed(tx, org_id, user_id, now)?;
            Ok(())
        })
    }

    fn user_passcodes(&self, user_id: Uuid) -> StoreResult<Vec<PasscodeRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PASSCODE_COLS} WHERE pc.user_id = ?1 ORDER BY l.name"
            ))?;
            let found = stmt.query_map([user_id.to_string()], |r| rows::passcode(r))?;
            Ok(found.collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// Refuses a change that leaves `org_id` with no active holder of `manage_access`. Called
/// inside the write, after the change: writes run one at a time (`BEGIN IMMEDIATE`), so two
/// managers removing each other at once cannot both pass.
fn keep_a_manager(tx: &rusqlite::Transaction<'_>, org_id: Uuid) -> StoreResult<()> {
    let holders: i64 = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM users WHERE org_id = ?1 AND status = 'active' \
         AND user_type = 'team_member' AND (',' || permissions || ',') LIKE '%,manage_access,%'",
        )?
        .query_row([org_id.to_string()], |r| r.get(0))?;
    if holders == 0 {
        return Err(StoreError::Conflict(LAST_MANAGER.into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::quick_page;

    #[test]
    fn only_a_short_walk_runs_on_the_requests_thread() {
        // A search sorted from the trigram index's few candidates.
        assert!(quick_page(50, 1_000, 200_000, true));
        // Two thirds of 10,000 users match: the walk meets 51 in about 77 rows.
        assert!(quick_page(50, 6_667, 10_000, false));
        // 10 of 200,000 match: the walk may read every user.
        assert!(!quick_page(50, 10, 200_000, false));
        // Nothing matches: every user is read.
        assert!(!quick_page(50, 0, 10_000, false));
    }
}
