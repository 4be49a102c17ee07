-- The users table's search through a trigram index: FTS5's trigram tokenizer over the four
-- searched fields joined by U+001F (as the search's LIKE reads them), so a search of three
-- characters or more reads the few users whose text holds its trigrams instead of every
-- user of the organization; the LIKE then checks each candidate exactly.
-- The index's rowids come from `user_search_keys` (an INTEGER PRIMARY KEY, which VACUUM and
-- backups keep), not from the users table's implicit rowid, which they may renumber.
CREATE TABLE user_search_keys (
    key INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES users(id)
);
CREATE VIRTUAL TABLE users_search USING fts5(text, tokenize = 'trigram');
INSERT INTO user_search_keys (user_id) SELECT id FROM users ORDER BY id;
INSERT INTO users_search (rowid, text)
    SELECT k.key, COALESCE(u.name, '') || char(31) || COALESCE(u.username, '') || char(31)
        || COALESCE(u.invited_email, '') || char(31) || COALESCE(u.registered_email, '')
    FROM user_search_keys k JOIN users u ON u.id = k.user_id;
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_search_keys (user_id) VALUES (new.id);
    INSERT INTO users_search (rowid, text) VALUES (last_insert_rowid(),
        COALESCE(new.name, '') || char(31) || COALESCE(new.username, '') || char(31)
        || COALESCE(new.invited_email, '') || char(31) || COALESCE(new.registered_email, ''));
END;
CREATE TRIGGER users_search_update
AFTER UPDATE OF name, username, invited_email, registered_email ON users BEGIN
    UPDATE users_search SET text = COALESCE(new.name, '') || char(31)
        || COALESCE(new.username, '') || char(31) || COALESCE(new.invited_email, '')
        || char(31) || COALESCE(new.registered_email, '')
    WHERE rowid = (SELECT key FROM user_search_keys WHERE user_id = new.id);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search
    WHERE rowid = (SELECT key FROM user_search_keys WHERE user_id = old.id);
    DELETE FROM user_search_keys WHERE user_id = old.id;
END;
