//! The statements several aggregates share: audit entries, outbox messages, reading a user
//! or a lock, and handing out passcodes ([`rules`]) under the lock's row lock.

use super::*;

pub(super) fn write_audit<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    lock: Uuid,
    audit: &Audit,
) -> PResult<()> {
    cx.exec(
        "INSERT INTO logs (id, lock_id, at, action, method, source, user_id, detail) \
         VALUES ($1, $2, $3, $4, 'admin', 'server', $5, $6)",
        &[
            &Uuid::new_v4(),
            &lock,
            &audit.at,
            &audit.action,
            &audit.user_id,
            &audit.detail,
        ],
    )?;
    Ok(())
}

/// A user's new invitation link (the token's hash and validity).
pub(super) fn insert_invitation<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    user_id: Uuid,
    token: &NewInvitationToken,
) -> PResult<()> {
    cx.exec(
        "INSERT INTO invitations (id, user_id, token_hash, sent_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &token.id,
            &user_id,
            &&token.token_hash[..],
            &token.sent_at,
            &token.expires_at,
        ],
    )?;
    Ok(())
}

pub(super) fn insert_message<C: GenericClient>(cx: &mut Cx<'_, C>, m: &NewMessage) -> PResult<()> {
    cx.exec(
        "INSERT INTO outbox (id, org_id, channel, recipient, subject, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &m.id,
            &m.org_id,
            &m.channel.as_str(),
            &m.to,
            &m.subject,
            &m.body,
            &m.created_at,
        ],
    )?;
    Ok(())
}

pub(super) fn user_q<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    org: Uuid,
    id: Uuid,
) -> PResult<UserRecord> {
    let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.id = $2");
    rows::user(&cx.one(&sql, &[&org, &id])?)
}

pub(super) fn lock_q<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    org: Uuid,
    id: Uuid,
) -> PResult<LockRecord> {
    let sql = format!("SELECT {LOCK_COLS} WHERE l.org_id = $1 AND l.id = $2");
    rows::lock(&cx.one(&sql, &[&org, &id])?)
}

/// Locks the lock's row so codes on it are handed out one writer at a time, on any instance.
pub(super) fn hold_lock_row<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    org: Uuid,
    lock: Uuid,
) -> PResult<()> {
    cx.one(
        "SELECT 1 FROM locks WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE",
        &[&org, &lock],
    )?;
    Ok(())
}

/// Every code in use on a lock, so a new one never collides on the keypad.
pub(super) fn codes_in_use<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    lock: Uuid,
) -> PResult<CodesInUse> {
    let found = cx.query(
        "SELECT master_code FROM locks WHERE id = $1 \
         UNION ALL SELECT code FROM passcodes WHERE lock_id = $1 \
         UNION ALL SELECT code FROM access_codes WHERE lock_id = $1",
        &[&lock],
    )?;
    found.iter().map(|r| r.text(0)).collect()
}

pub(super) fn insert_passcode<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    user: Uuid,
    lock: Uuid,
    used: &mut CodesInUse,
) -> PResult<()> {
    cx.exec(
        "INSERT INTO passcodes (id, user_id, lock_id, code) VALUES ($1, $2, $3, $4)",
        &[&Uuid::new_v4(), &user, &lock, &used.fresh_passcode()],
    )?;
    Ok(())
}

/// Brings a user's passcodes in line with their status and scope
/// ([`rules::passcode_changes`]).
pub(super) fn refresh_user_passcodes<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    user: &UserRecord,
    now: OffsetDateTime,
) -> PResult<()> {
    let locks = cx
        .query(
            "SELECT id, unit_id FROM locks WHERE org_id = $1 ORDER BY id",
            &[&user.org_id],
        )?
        .iter()
        .map(|r| Ok((r.uuid(0)?, r.uuid(1)?)))
        .collect::<PResult<Vec<_>>>()?;
    let holds = cx
        .query(
            "SELECT lock_id FROM passcodes WHERE user_id = $1 ORDER BY lock_id",
            &[&user.id],
        )?
        .iter()
        .map(|r| r.uuid(0))
        .collect::<PResult<Vec<_>>>()?;
    let changes = rules::passcode_changes(user, &locks, &holds);
    for lock in changes.remove {
        cx.exec(
            "DELETE FROM passcodes WHERE user_id = $1 AND lock_id = $2",
            &[&user.id, &lock],
        )?;
        cx.change(user.org_id, Some(lock), Some(user.id), now);
    }
    // In id order, so two writers that both hold several lock rows cannot deadlock.
    for lock in changes.add {
        hold_lock_row(cx, user.org_id, lock)?;
        let mut used = codes_in_use(cx, lock)?;
        insert_passcode(cx, user.id, lock, &mut used)?;
        cx.change(user.org_id, Some(lock), Some(user.id), now);
    }
    Ok(())
}

/// Gives every active user who may open a lock (new or reset) their passcode on it
/// ([`rules::passcode_holders`]). The caller holds the lock's row.
pub(super) fn passcodes_for_lock<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    lock: &LockRecord,
) -> PResult<()> {
    let sql =
        format!("SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.status = 'active'");
    let users = all(cx.query(&sql, &[&lock.org_id])?, rows::user)?;
    let mut used = codes_in_use(cx, lock.id)?;
    for user in rules::passcode_holders(&users, lock.unit_id) {
        insert_passcode(cx, user.id, lock.id, &mut used)?;
    }
    Ok(())
}

pub(super) fn locks_q<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    org: Uuid,
    filter: &LockFilter,
    after: Option<Uuid>,
    limit: Option<u32>,
) -> PResult<Vec<LockRecord>> {
    let units: Option<&Vec<Uuid>> = match filter {
        LockFilter::All => None,
        LockFilter::Units(u) => Some(u),
    };
    let sql = format!(
        "SELECT {LOCK_COLS} WHERE l.org_id = $1 AND l.id > $2 \
         AND ($3::uuid[] IS NULL OR l.unit_id = ANY($3)) \
         ORDER BY l.id LIMIT $4"
    );
    let found = cx.query(
        &sql,
        &[
            &org,
            &after.unwrap_or(BEFORE_ALL),
            &units,
            &limit.map(i64::from),
        ],
    )?;
    all(found, rows::lock)
}

/// What every change to a lock or its codes ends with: the audit entry and the change
/// clients sync.
pub(super) fn lock_changed<C: GenericClient>(
    cx: &mut Cx<'_, C>,
    org: Uuid,
    lock: Uuid,
    audit: &Audit,
) -> PResult<()> {
    write_audit(cx, lock, audit)?;
    cx.change(org, Some(lock), None, audit.at);
    Ok(())
}
