-- Attempts counted against limits: failed sign-ins, registrations, SMS sent.
ALTER TABLE login_failures RENAME TO attempts;
-- Expired idempotency answers are deleted by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
-- The phone an invitation expects (E.164); NULL: any phone.
ALTER TABLE users ADD COLUMN invited_phone TEXT;
