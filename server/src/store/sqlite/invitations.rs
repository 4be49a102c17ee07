//! [`InvitationStore`] on SQLite: invitations, registrations and their SMS codes.

use access_domain::UserStatus;
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::tx::{change, insert_message, user_changed, user_tx};
use super::{SqliteStore, access_to_cols, perms_to_text, ts};
use crate::store::rows::{self, Columns};
use crate::store::rules::{self, PendingCode, SmsCheck};
use crate::store::{
    InvitationRecord, InvitationStore, NewInvitation, NewInvitationToken, NewMessage,
    NewRegistration, StoreResult, VerifyAttempt, VerifyOutcome,
};

pub(super) fn insert_invitation(
    tx: &Transaction<'_>,
    user_id: Uuid,
    token: &NewInvitationToken,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO invitations (id, user_id, token_hash, sent_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        token.id.to_string(),
        user_id.to_string(),
        &token.token_hash[..],
        ts(token.sent_at),
        ts(token.expires_at)
    ])?;
    Ok(())
}

impl InvitationStore for SqliteStore {
    fn create_invitation(&self, inv: &NewInvitation, mail: &NewMessage) -> StoreResult<()> {
        self.write(|tx| {
            let (access_type, unit_ids) = access_to_cols(&inv.access);
            tx.prepare_cached(
                "INSERT INTO users (id, org_id, user_type, status, invited_email, permissions, \
                 access_type, unit_ids, invited_by, invited_at, invited_phone, access_starts_at, \
                 access_ends_at, access_hours) \
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                inv.user_id.to_string(),
                inv.org_id.to_string(),
                inv.user_type.as_str(),
                inv.invited_email,
                perms_to_text(&inv.permissions),
                access_type,
                unit_ids,
                inv.invited_by.to_string(),
                ts(inv.token.sent_at),
                inv.invited_phone,
                inv.period.starts_at.map(ts),
                inv.period.ends_at.map(ts),
                inv.period.weekly_hours.as_ref().map(rows::stored_hours),
            ])?;
            insert_invitation(tx, inv.user_id, &inv.token)?;
            insert_message(tx, mail)?;
            change(tx, inv.org_id, None, Some(inv.user_id), inv.token.sent_at)?;
            Ok(())
        })
    }

    fn resend_invitation(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        token: &NewInvitationToken,
        mail: &NewMessage,
    ) -> StoreResult<()> {
        self.write(|tx| {
            rules::ensure_resendable(user_tx(tx, org_id, user_id)?.status)?;
            tx.prepare_cached("UPDATE invitations SET voided = 1 WHERE user_id = ?1")?
                .execute([user_id.to_string()])?;
            insert_invitation(tx, user_id, token)?;
            insert_message(tx, mail)?;
            Ok(())
        })
    }

    fn invitation_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<InvitationRecord>> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT i.id, i.user_id, u.org_id, u.user_type, u.status, i.expires_at, i.voided, \
                 u.invited_phone \
                 FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.token_hash = ?1",
            )?
            .query_row([&token_hash[..]], |r| rows::invitation(r))
            .optional()?)
        })
    }

    fn create_registration(&self, reg: &NewRegistration, sms: &NewMessage) -> StoreResult<()> {
        self.write(|tx| {
            let uid = reg.user_id.to_string();
            let taken: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE lower(registered_email) = lower(?1) \
                 AND id != ?2)",
                )?
                .query_row(params![&reg.email, &uid], |r| r.get(0))?;
            rules::ensure_email_free(taken)?;
            let taken: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM users o JOIN users me ON me.id = ?1 \
                 WHERE o.org_id = me.org_id AND lower(o.username) = lower(?2) AND o.id != ?1)",
                )?
                .query_row(params![&uid, &reg.username], |r| r.get(0))?;
            rules::ensure_username_free(taken)?;
            tx.prepare_cached("UPDATE users SET username = ?2 WHERE id = ?1")?
                .execute(params![&uid, &reg.username])?;
            tx.prepare_cached(
                "INSERT INTO registrations (id, invitation_id, user_id, email, phone, name, \
                 password_hash, code_hash, created_at, code_expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                reg.id.to_string(),
                reg.invitation_id.to_string(),
                reg.user_id.to_string(),
                reg.email,
                reg.phone,
                reg.name,
                reg.password_hash,
                &reg.code_hash[..],
                ts(reg.created_at),
                ts(reg.code_expires_at)
            ])?;
            insert_message(tx, sms)?;
            Ok(())
        })
    }

    fn verify_registration(&self, a: &VerifyAttempt) -> StoreResult<VerifyOutcome> {
        self.write(|tx| {
            let (user_id, org, stored, attempts, expires_at, voided, user_status, account) = tx
                .prepare_cached(
                    "SELECT r.user_id, u.org_id, r.code_hash, r.attempts, r.code_expires_at, \
                     r.completed OR i.voided, u.status, r.email, r.phone, r.name, r.password_hash \
                     FROM registrations r JOIN invitations i ON i.id = r.invitation_id \
                     JOIN users u ON u.id = r.user_id WHERE r.id = ?1",
                )?
                .query_row([a.registration_id.to_string()], |r| {
                    Ok((
                        r.uuid(0)?,
                        r.uuid(1)?,
                        r.bytes(2)?,
                        r.get::<_, u32>(3)?,
                        r.time(4)?,
                        r.flag(5)?,
                        r.parsed(6, "status", UserStatus::parse)?,
                        [r.text(7)?, r.text(8)?, r.text(9)?, r.text(10)?],
                    ))
                })?;
            let pending = PendingCode {
                code_hash: &stored,
                attempts,
                expires_at,
                voided,
                user_status,
            };
            match rules::check_sms_code(&pending, a) {
                SmsCheck::Refuse(outcome) => return Ok(outcome),
                SmsCheck::Wrong(outcome) => {
                    tx.prepare_cached(
                        "UPDATE registrations SET attempts = attempts + 1 WHERE id = ?1",
                    )?
                    .execute([a.registration_id.to_string()])?;
                    return Ok(outcome);
                }
                SmsCheck::Accept => {}
            }
            let [email, phone, name, password_hash] = account;
            tx.prepare_cached(
                "UPDATE users SET status = 'active', registered_email = ?2, phone = ?3, \
                 name = ?4, password_hash = ?5 WHERE id = ?1",
            )?
            .execute(params![
                user_id.to_string(),
                email,
                phone,
                name,
                password_hash
            ])?;
            tx.prepare_cached("UPDATE registrations SET completed = 1 WHERE id = ?1")?
                .execute([a.registration_id.to_string()])?;
            tx.prepare_cached("UPDATE invitations SET voided = 1 WHERE user_id = ?1")?
                .execute([user_id.to_string()])?;
            tx.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                &a.session.token_hash[..],
                user_id.to_string(),
                ts(a.session.created_at),
                ts(a.session.expires_at)
            ])?;
            let user = user_changed(tx, org, user_id, a.now)?;
            Ok(VerifyOutcome::Verified(Box::new(user)))
        })
    }
}
