-- Accounts: every user has a username, unique per organization whatever its case (stored
-- lower case); users without one get their email's local part (made unique); password
-- resets (hashed link token and SMS code, single use, attempts counted).
UPDATE users SET username = lower(username) WHERE username IS NOT NULL;

CREATE TEMP TABLE username_candidates AS
SELECT id, org_id,
       substr(lower(
         replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           replace(replace(replace(replace(replace(
             substr(e, 1, CASE WHEN instr(e, '@') > 0 THEN instr(e, '@') - 1 ELSE length(e) END),
           '+', '.'), ' ', '.'), '''', ''), '!', ''), '#', ''), '$', ''), '%', ''), '&', ''),
           '*', ''), '/', ''), '=', ''), '?', ''), '^', ''), '`', ''), '~', '')
       ), 1, 25) AS name
FROM (SELECT id, org_id, COALESCE(registered_email, invited_email, '') AS e
      FROM users WHERE username IS NULL);
CREATE INDEX temp.username_candidates_name ON username_candidates(org_id, name);

UPDATE users SET username = (
    SELECT CASE
        WHEN length(c.name) < 3
          OR EXISTS (SELECT 1 FROM users o WHERE o.org_id = c.org_id AND o.username = c.name)
          OR EXISTS (SELECT 1 FROM username_candidates d
                     WHERE d.org_id = c.org_id AND d.name = c.name AND d.id < c.id)
        THEN c.name || CASE WHEN c.name = '' THEN 'user-' ELSE '-' END
             || substr(replace(c.id, '-', ''), 1, 6)
        ELSE c.name END
    FROM username_candidates c WHERE c.id = users.id)
WHERE username IS NULL;
DROP TABLE username_candidates;

DROP INDEX users_username;
CREATE UNIQUE INDEX users_username ON users(org_id, lower(username)) WHERE username IS NOT NULL;

CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    token_hash BLOB NOT NULL UNIQUE,
    code_hash BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX password_resets_user ON password_resets(user_id);
