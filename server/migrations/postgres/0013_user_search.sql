-- The users table's search through a trigram index (pg_trgm, a trusted extension): over
-- the expression the search's LIKE reads (the four searched fields joined by U+001F, folded
-- as the SQLite store folds them), so a search of three characters or more reads the few
-- users whose text holds its trigrams instead of every user of the organization.
-- The extension is the database's, not a schema's: it goes to `public` whatever the
-- search path, under a lock of its own, since servers on other schemas of the same
-- database may create it at the same moment.
SELECT pg_advisory_xact_lock(7308291455103917811);
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX users_search_trgm ON users USING gin (
    (LOWER((COALESCE(name, '') || chr(31) || COALESCE(username, '') || chr(31)
        || COALESCE(invited_email, '') || chr(31) || COALESCE(registered_email, ''))
        COLLATE "C")) public.gin_trgm_ops
);
