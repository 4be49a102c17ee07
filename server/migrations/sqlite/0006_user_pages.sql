-- The users table's pages in name order and newest first walk an index and stop after the
-- page, instead of sorting every user of the organization for each page.
CREATE INDEX users_by_name ON users(org_id, LOWER(COALESCE(name, username, invited_email, '')), id);
CREATE INDEX users_by_invited ON users(org_id, invited_at, id);
