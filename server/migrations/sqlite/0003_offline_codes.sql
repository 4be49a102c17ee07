-- Offline codes live in access_codes; a revoked one stays listed with when and by
-- whom, and goes into the lock's revocation list until its window is over.
ALTER TABLE access_codes ADD COLUMN revoked_at INTEGER;
ALTER TABLE access_codes ADD COLUMN revoked_by TEXT REFERENCES users(id);
