-- Managing lock access is a permission any number of team members may hold: the
-- administrator flag becomes the first holder's `manage_access`.
UPDATE users SET permissions = CASE WHEN permissions = '' THEN 'manage_access'
    ELSE permissions || ',manage_access' END
WHERE is_admin = 1 AND (',' || permissions || ',') NOT LIKE '%,manage_access,%';
ALTER TABLE users DROP COLUMN is_admin;
