//! [`UserStore`] on PostgreSQL.

use super::*;
use access_domain::AccessPeriod;

impl UserStore for PostgresStore {
    fn user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<UserRecord> {
        self.read(|c| user_q(c, org_id, user_id))
    }

    fn user_by_username(&self, org_id: Uuid, username: &str) -> StoreResult<Option<UserRecord>> {
        self.read(|c| {
            let sql =
                format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND lower(u.username) = lower($2)");
            c.opt(&sql, &[&org_id, &username])?
                .map(|r| rows::user(&r))
                .transpose()
        })
    }

    fn list_users(
        &self,
        org_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.id > $2 \
                 ORDER BY u.id LIMIT $3"
            );
            let found = c.query(
                &sql,
                &[&org_id, &after.unwrap_or(BEFORE_ALL), &i64::from(limit)],
            )?;
            all(found, rows::user)
        })
    }

    fn user_page(
        &self,
        org_id: Uuid,
        query: &user_list::UserQuery,
    ) -> StoreResult<user_list::UserPage> {
        use user_list::UserSort;
        // The SQLite store's keys, to the byte (see `user_list`): `COLLATE "C"` compares bytes
        // and makes LOWER fold ASCII only, as SQLite's does.
        let key = match query.sort {
            UserSort::Name => {
                "LOWER(COALESCE(u.name, u.username, u.invited_email, '') COLLATE \"C\")"
            }
            UserSort::Type => "u.user_type",
            UserSort::Status => "u.status",
            UserSort::AccessType => "u.access_type",
            UserSort::Email if query.descending => {
                "CASE WHEN u.registered_email IS NULL THEN '0' \
                 ELSE '1' || LOWER(u.registered_email COLLATE \"C\") END"
            }
            UserSort::Email => {
                "CASE WHEN u.registered_email IS NULL THEN '1' \
                 ELSE '0' || LOWER(u.registered_email COLLATE \"C\") END"
            }
            UserSort::InvitedAt => {
                "lpad(floor(extract(epoch FROM u.invited_at))::bigint::text, 20, '0') \
                 || COALESCE('.' || NULLIF(to_char(u.invited_at, 'US'), '000000'), '')"
            }
        };
        let (cmp, dir) = if query.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        // The search reads the trigram index on this expression (`0013_user_search.sql`);
        // only a statement that always searches can use it in every plan.
        let search = if query.like_pattern().is_some() {
            "LOWER((COALESCE(u.name, '') || chr(31) || COALESCE(u.username, '') || chr(31) \
             || COALESCE(u.invited_email, '') || chr(31) || COALESCE(u.registered_email, '')) \
             COLLATE \"C\") LIKE $4 ESCAPE '\\'"
        } else {
            "$4::text IS NULL"
        };
        let filter = format!(
            "u.org_id = $1 AND ($2::text IS NULL OR u.user_type = $2) \
             AND ($3::text IS NULL OR u.status = $3) \
             AND {search} \
             AND ($5::uuid[] IS NULL OR (u.access_type = 'units' AND u.unit_ids <@ $5)) \
             AND ($6::timestamptz IS NULL OR (u.access_ends_at >= $6 AND u.access_ends_at < $7)) \
             AND ($8::boolean IS NULL OR (COALESCE((SELECT MAX(i.expires_at) FROM invitations i \
                  WHERE i.user_id = u.id AND NOT i.voided), 'epoch'::timestamptz) <= $9) = $8)"
        );
        let count_sql = format!("SELECT COUNT(*) FROM users u WHERE {filter}");
        // The same order as the key, on what an index holds (`users_by_invited`,
        // `0011_user_counts.sql`): the default sort walks the index and stops, where sorting
        // by the text key sorted every user (390 ms for 200,000).
        let order = match query.sort {
            UserSort::InvitedAt => "s.invited_at",
            _ => "s.sort_key COLLATE \"C\"",
        };
        let page_sql = format!(
            "SELECT * FROM (SELECT {USER_COLS}, {key} AS sort_key FROM users u WHERE {filter}) s \
             WHERE ($10::text IS NULL OR s.sort_key COLLATE \"C\" {cmp} $10 \
                    OR (s.sort_key COLLATE \"C\" = $10 AND s.id {cmp} $11)) \
             ORDER BY {order} {dir}, s.id {dir} LIMIT $12"
        );
        let pattern = query.like_pattern();
        let user_type = query.user_type.map(|t| t.as_str());
        let status = query.stored_status();
        let (expired, now) = (query.expired(), query.at());
        let after_key = query.after.as_ref().map(|c| c.key.as_str());
        let after_id = query.after.as_ref().map(|c| c.id);
        let within = query.within_units.as_deref();
        let limit = query.limit.max(1);
        let ends_from = query.ending_between.map(|(from, _)| from);
        let ends_before = query.ending_between.map(|(_, before)| before);
        self.read(|c| {
            let total = rows::count(
                &c.one(
                    &count_sql,
                    &[
                        &org_id,
                        &user_type,
                        &status,
                        &pattern,
                        &within,
                        &ends_from,
                        &ends_before,
                        &expired,
                        &now,
                    ],
                )?,
                0,
            )?;
            let found = c.query(
                &page_sql,
                &[
                    &org_id,
                    &user_type,
                    &status,
                    &pattern,
                    &within,
                    &ends_from,
                    &ends_before,
                    &expired,
                    &now,
                    &after_key,
                    &after_id,
                    &(i64::from(limit) + 1),
                ],
            )?;
            // The key is the last column, after the user's.
            let rows = all(found, |r| Ok((rows::user(r)?, r.try_get(r.len() - 1)?)))?;
            Ok(user_list::UserPage::from_rows(rows, limit, total))
        })
    }

    fn summary(
        &self,
        org_id: Uuid,
        within_units: Option<&[Uuid]>,
        now: OffsetDateTime,
    ) -> StoreResult<SummaryCounts> {
        self.read(|c| {
            let r = c.one(
                "SELECT COUNT(*), \
                 COUNT(*) FILTER (WHERE user_type = 'team_member'), \
                 COUNT(*) FILTER (WHERE user_type = 'resident'), \
                 COUNT(*) FILTER (WHERE status = 'pending' AND expires_at > $3), \
                 COUNT(*) FILTER (WHERE status = 'pending' AND expires_at <= $3) \
                 FROM (SELECT user_type, status, CASE WHEN status = 'pending' THEN \
                       COALESCE((SELECT MAX(i.expires_at) FROM invitations i \
                                 WHERE i.user_id = u.id AND NOT i.voided), 'epoch'::timestamptz) \
                       END AS expires_at \
                       FROM users u WHERE org_id = $1 AND status != 'revoked' \
                       AND ($2::uuid[] IS NULL OR (u.access_type = 'units' AND u.unit_ids <@ $2))) s",
                &[&org_id, &within_units, &now],
            )?;
            Ok(SummaryCounts {
                total_users: rows::count(&r, 0)?,
                team_members: rows::count(&r, 1)?,
                residents: rows::count(&r, 2)?,
                pending_invites: rows::count(&r, 3)?,
                expired_invites: rows::count(&r, 4)?,
            })
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
            lock_organization(tx, org_id)?;
            let n = tx.exec(
                "UPDATE users SET permissions = $3 WHERE org_id = $1 AND id = $2",
                &[&org_id, &user_id, &perms_to_vec(permissions)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            keep_a_manager(tx, org_id)?;
            tx.change(org_id, None, Some(user_id), now);
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
            let n = tx.exec(
                "UPDATE users SET access_starts_at = $3, access_ends_at = $4, access_hours = $5 \
                 WHERE org_id = $1 AND id = $2",
                &[
                    &org_id,
                    &user_id,
                    &period.starts_at,
                    &period.ends_at,
                    &period.weekly_hours.as_ref().map(rows::stored_hours),
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            tx.change(org_id, None, Some(user_id), now);
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
            let n = tx.exec(
                "UPDATE users SET access_type = $3, unit_ids = $4 WHERE org_id = $1 AND id = $2",
                &[&org_id, &user_id, &access_type, &unit_ids],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            let user = user_q(tx, org_id, user_id)?;
            refresh_user_passcodes(tx, &user, now)?;
            tx.change(org_id, None, Some(user_id), now);
            Ok(())
        })
    }

    fn revoke_user(&self, org_id: Uuid, user_id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.write(|tx| {
            lock_organization(tx, org_id)?;
            let n = tx.exec(
                "UPDATE users SET status = 'revoked' WHERE org_id = $1 AND id = $2",
                &[&org_id, &user_id],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            keep_a_manager(tx, org_id)?;
            tx.exec(
                "UPDATE sessions SET revoked = true WHERE user_id = $1",
                &[&user_id],
            )?;
            tx.exec(
                "UPDATE invitations SET voided = true WHERE user_id = $1",
                &[&user_id],
            )?;
            let user = user_q(tx, org_id, user_id)?;
            refresh_user_passcodes(tx, &user, now)?;
            tx.change(org_id, None, Some(user_id), now);
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
            user_q(tx, org_id, user_id)?;
            // The lock's row first, as every writer of its codes takes it.
            hold_lock_row(tx, org_id, lock_id)?;
            // Read before the old one goes, so the new digits differ from it too.
            let mut used = codes_in_use(tx, lock_id)?;
            let n = tx.exec(
                "DELETE FROM passcodes WHERE user_id = $1 AND lock_id = $2",
                &[&user_id, &lock_id],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            insert_passcode(tx, user_id, lock_id, &mut used)?;
            tx.change(org_id, Some(lock_id), Some(user_id), now);
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
            tx.one(
                "SELECT 1 FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE",
                &[&org_id, &user_id],
            )?;
            let user = user_q(tx, org_id, user_id)?;
            if user.status == UserStatus::Revoked {
                return Err(
                    StoreError::Conflict("This user's access has been revoked.".into()).into(),
                );
            }
            let (perms, access) =
                rules::union_access((&user.permissions, &user.access), (permissions, access));
            let (access_type, unit_ids) = access_to_cols(&access);
            tx.exec(
                "UPDATE users SET permissions = $3, access_type = $4, unit_ids = $5 \
                 WHERE org_id = $1 AND id = $2",
                &[
                    &org_id,
                    &user_id,
                    &perms_to_vec(&perms),
                    &access_type,
                    &unit_ids,
                ],
            )?;
            insert_message(tx, mail)?;
            let user = user_q(tx, org_id, user_id)?;
            refresh_user_passcodes(tx, &user, now)?;
            tx.change(org_id, None, Some(user_id), now);
            Ok(user)
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
            let status = tx
                .one(
                    "SELECT status FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE",
                    &[&org_id, &user_id],
                )?
                .parsed(0, "status", UserStatus::parse)?;
            rules::ensure_reinstatable(status)?;
            tx.exec(
                "UPDATE users SET status = 'pending', password_hash = NULL, \
                 registered_email = NULL, invited_email = COALESCE(registered_email, invited_email) \
                 WHERE id = $1",
                &[&user_id],
            )?;
            if let Some((perms, access)) = grant {
                let (access_type, unit_ids) = access_to_cols(access);
                tx.exec(
                    "UPDATE users SET permissions = $2, access_type = $3, unit_ids = $4 \
                     WHERE id = $1",
                    &[&user_id, &perms_to_vec(perms), &access_type, &unit_ids],
                )?;
            }
            tx.exec(
                "UPDATE sessions SET revoked = true WHERE user_id = $1",
                &[&user_id],
            )?;
            tx.exec(
                "UPDATE invitations SET voided = true WHERE user_id = $1",
                &[&user_id],
            )?;
            insert_invitation(tx, user_id, token)?;
            insert_message(tx, mail)?;
            let user = user_q(tx, org_id, user_id)?;
            refresh_user_passcodes(tx, &user, now)?;
            tx.change(org_id, None, Some(user_id), now);
            Ok(())
        })
    }

    fn user_passcodes(&self, user_id: Uuid) -> StoreResult<Vec<PasscodeRecord>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {PASSCODE_COLS} WHERE pc.user_id = $1 ORDER BY l.name COLLATE \"C\""
            );
            all(c.query(&sql, &[&user_id])?, rows::passcode)
        })
    }
}

/// Holds the organization's row until the transaction ends, so changes to who manages
/// access in one organization run one at a time and [`keep_a_manager`] sees the others'.
fn lock_organization(tx: &mut Cx<'_, pg::Transaction<'_>>, org_id: Uuid) -> PResult<()> {
    tx.one(
        "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE",
        &[&org_id],
    )?;
    Ok(())
}

/// Refuses a change that leaves `org_id` with no active holder of `manage_access`.
fn keep_a_manager(tx: &mut Cx<'_, pg::Transaction<'_>>, org_id: Uuid) -> PResult<()> {
    let r = tx.one(
        "SELECT COUNT(*) FROM users WHERE org_id = $1 AND status = 'active' \
         AND user_type = 'team_member' AND 'manage_access' = ANY (permissions)",
        &[&org_id],
    )?;
    if rows::count(&r, 0)? == 0 {
        return Err(StoreError::Conflict(crate::store::LAST_MANAGER.into()).into());
    }
    Ok(())
}
