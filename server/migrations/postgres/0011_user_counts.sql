-- The Manage Access page's counters read this index alone: users by organization and
-- status, with the type and the id the counts and the pending users' invitations need.
CREATE INDEX users_by_status ON users (org_id, status, user_type, id);
-- The users table's default order (invitation time), as SQLite's `users_by_invited`.
CREATE INDEX users_by_invited ON users (org_id, invited_at, id);
