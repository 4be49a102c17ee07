-- Access with dates: when each user's access starts and ends (move-in and move-out, a
-- vendor's contract), and optional weekly hours as `days,from_minute,to_minute,utc_offset`
-- (see access_domain::period). NULL: no bound.
ALTER TABLE users ADD COLUMN access_starts_at INTEGER;
ALTER TABLE users ADD COLUMN access_ends_at INTEGER;
ALTER TABLE users ADD COLUMN access_hours TEXT;
-- The users table's "ending this week" filter.
CREATE INDEX users_by_access_end ON users(org_id, access_ends_at) WHERE access_ends_at IS NOT NULL;
