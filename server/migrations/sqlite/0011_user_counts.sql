-- The Manage Access page's counters read this index alone: users by organization and
-- status, with the type and the id the counts and the pending users' invitations need.
CREATE INDEX users_by_status ON users (org_id, status, user_type, id);
