-- Accounts: every user has a username, unique per organization whatever its case (stored
-- lower case); users without one get their email's local part (made unique); password
-- resets (hashed link token and SMS code, single use, attempts counted).
UPDATE users SET username = lower(username) WHERE username IS NOT NULL;

WITH candidates AS (
    SELECT id, org_id,
           left(regexp_replace(lower(split_part(COALESCE(registered_email, invited_email, ''), '@', 1)),
                               '[^a-z0-9._-]+', '.', 'g'), 25) AS name
    FROM users WHERE username IS NULL
), ranked AS (
    SELECT c.*, row_number() OVER (PARTITION BY org_id, name ORDER BY id) AS rn FROM candidates c
)
UPDATE users u SET username = CASE
        WHEN length(r.name) < 3 OR r.rn > 1
          OR EXISTS (SELECT 1 FROM users o WHERE o.org_id = r.org_id AND o.username = r.name)
        THEN r.name || CASE WHEN r.name = '' THEN 'user-' ELSE '-' END
             || left(replace(r.id::text, '-', ''), 6)
        ELSE r.name END
FROM ranked r WHERE r.id = u.id;

DROP INDEX users_username;
CREATE UNIQUE INDEX users_username ON users (org_id, lower(username)) WHERE username IS NOT NULL;

CREATE TABLE password_resets (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id),
    token_hash bytea NOT NULL UNIQUE,
    code_hash bytea NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used boolean NOT NULL DEFAULT false
);
CREATE INDEX password_resets_user ON password_resets (user_id);
