-- Managing lock access is a permission any number of team members may hold: the
-- administrator flag becomes the first holder's `manage_access`.
UPDATE users SET permissions = array_append(permissions, 'manage_access')
WHERE is_admin AND NOT ('manage_access' = ANY (permissions));
ALTER TABLE users DROP COLUMN is_admin;
