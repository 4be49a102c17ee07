//! [`InvitationStore`] on PostgreSQL.

use super::*;
use crate::store::rules;
use crate::store::rules::{PendingCode, SmsCheck};

impl InvitationStore for PostgresStore {
    fn create_invitation(&self, inv: &NewInvitation, mail: &NewMessage) -> StoreResult<()> {
        self.write(|tx| {
            let (access_type, unit_ids) = access_to_cols(&inv.access);
            tx.exec(
                "INSERT INTO users (id, org_id, user_type, status, invited_email, \
                 permissions, access_type, unit_ids, invited_by, invited_at, invited_phone, \
                 access_starts_at, access_ends_at, access_hours) \
                 VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                &[
                    &inv.user_id,
                    &inv.org_id,
                    &inv.user_type.as_str(),
                    &inv.invited_email,
                    &perms_to_vec(&inv.permissions),
                    &access_type,
                    &unit_ids,
                    &inv.invited_by,
                    &inv.token.sent_at,
                    &inv.invited_phone,
                    &inv.period.starts_at,
                    &inv.period.ends_at,
                    &inv.period.weekly_hours.as_ref().map(rows::stored_hours),
                ],
            )?;
            insert_invitation(tx, inv.user_id, &inv.token)?;
            insert_message(tx, mail)?;
            tx.change(inv.org_id, None, Some(inv.user_id), inv.token.sent_at);
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
            // Hold the user so a verify or revoke on another instance cannot interleave.
            let status = tx
                .one(
                    "SELECT status FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE",
                    &[&org_id, &user_id],
                )?
                .parsed(0, "status", UserStatus::parse)?;
            rules::ensure_resendable(status)?;
            tx.exec(
                "UPDATE invitations SET voided = true WHERE user_id = $1",
                &[&user_id],
            )?;
            insert_invitation(tx, user_id, token)?;
            insert_message(tx, mail)?;
            Ok(())
        })
    }

    fn invitation_by_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<InvitationRecord>> {
        self.read(|c| {
            c.opt(
                "SELECT i.id, i.user_id, u.org_id, u.user_type, u.status, i.expires_at, i.voided, \
                 u.invited_phone \
                 FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.token_hash = $1",
                &[&&token_hash[..]],
            )?
            .map(|r| rows::invitation(&r))
            .transpose()
        })
    }

    fn create_registration(&self, reg: &NewRegistration, sms: &NewMessage) -> StoreResult<()> {
        self.write(|tx| {
            let taken: bool = tx
                .one(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE lower(registered_email) = lower($1) \
                     AND id != $2)",
                    &[&reg.email, &reg.user_id],
                )?
                .try_get(0)?;
            rules::ensure_email_free(taken)?;
            // Two registrations choosing one username queue here: the second sees the
            // first's and is refused with the rule's message (not the index's).
            let org: Uuid = tx
                .one("SELECT org_id FROM users WHERE id = $1", &[&reg.user_id])?
                .try_get(0)?;
            tx.exec(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&format!("username:{org}:{}", reg.username)],
            )?;
            let taken: bool = tx
                .one(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 \
                     AND lower(username) = lower($2) AND id != $3)",
                    &[&org, &reg.username, &reg.user_id],
                )?
                .try_get(0)?;
            rules::ensure_username_free(taken)?;
            tx.exec(
                "UPDATE users SET username = $2 WHERE id = $1",
                &[&reg.user_id, &reg.username],
            )?;
            tx.exec(
                "INSERT INTO registrations (id, invitation_id, user_id, email, phone, name, \
                 password_hash, code_hash, created_at, code_expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &reg.id,
                    &reg.invitation_id,
                    &reg.user_id,
                    &reg.email,
                    &reg.phone,
                    &reg.name,
                    &reg.password_hash,
                    &&reg.code_hash[..],
                    &reg.created_at,
                    &reg.code_expires_at,
                ],
            )?;
            insert_message(tx, sms)?;
            Ok(())
        })
    }

    fn verify_registration(&self, a: &VerifyAttempt) -> StoreResult<VerifyOutcome> {
        self.write(|tx| {
            // Row locks on the registration and the user: attempts are counted exactly
            // and a resend or revoke elsewhere waits for this answer.
            let r = tx.one(
                "SELECT r.user_id, r.code_hash, r.attempts, r.code_expires_at, \
                 r.completed OR i.voided, u.status, u.org_id, r.email, r.phone, r.name, \
                 r.password_hash FROM registrations r \
                 JOIN invitations i ON i.id = r.invitation_id \
                 JOIN users u ON u.id = r.user_id WHERE r.id = $1 FOR UPDATE OF r, u",
                &[&a.registration_id],
            )?;
            let user_id = r.uuid(0)?;
            let stored = r.bytes(1)?;
            let pending = PendingCode {
                code_hash: &stored,
                attempts: u32::try_from(r.int(2)?).unwrap_or(0),
                expires_at: r.time(3)?,
                voided: r.flag(4)?,
                user_status: r.parsed(5, "status", UserStatus::parse)?,
            };
            let org = r.uuid(6)?;
            let (email, phone, name, pw) = (r.text(7)?, r.text(8)?, r.text(9)?, r.text(10)?);
            match rules::check_sms_code(&pending, a) {
                SmsCheck::Refuse(outcome) => return Ok(outcome),
                SmsCheck::Wrong(outcome) => {
                    tx.exec(
                        "UPDATE registrations SET attempts = attempts + 1 WHERE id = $1",
                        &[&a.registration_id],
                    )?;
                    return Ok(outcome);
                }
                SmsCheck::Accept => {}
            }
            tx.exec(
                "UPDATE users SET status = 'active', registered_email = $2, phone = $3, \
                 name = $4, password_hash = $5 WHERE id = $1",
                &[&user_id, &email, &phone, &name, &pw],
            )?;
            tx.exec(
                "UPDATE registrations SET completed = true WHERE id = $1",
                &[&a.registration_id],
            )?;
            tx.exec(
                "UPDATE invitations SET voided = true WHERE user_id = $1",
                &[&user_id],
            )?;
            tx.exec(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
                &[
                    &&a.session.token_hash[..],
                    &user_id,
                    &a.session.created_at,
                    &a.session.expires_at,
                ],
            )?;
            let user = user_q(tx, org, user_id)?;
            refresh_user_passcodes(tx, &user, a.now)?;
            tx.change(org, None, Some(user_id), a.now);
            Ok(VerifyOutcome::Verified(Box::new(user)))
        })
    }
}
