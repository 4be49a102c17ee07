-- The users table's pages in name order walk an index and stop after the page (the same
-- expression as the store's sort key, byte order).
CREATE INDEX users_by_name ON users(org_id, LOWER(COALESCE(name, username, invited_email, '') COLLATE "C"), id);
