-- Initial schema. Ids are UUID text, times are unix seconds (UTC), hashes are SHA-256 blobs.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    signing_key BLOB NOT NULL,
    public_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    user_type TEXT NOT NULL CHECK (user_type IN ('team_member', 'resident')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    is_admin INTEGER NOT NULL DEFAULT 0,
    name TEXT,
    username TEXT,
    invited_email TEXT,
    registered_email TEXT,
    phone TEXT,
    password_hash TEXT,
    permissions TEXT NOT NULL DEFAULT '',
    access_type TEXT NOT NULL CHECK (access_type IN ('units', 'all_locks')),
    unit_ids TEXT NOT NULL DEFAULT '[]',
    invited_by TEXT REFERENCES users(id),
    invited_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_login ON users(lower(registered_email)) WHERE registered_email IS NOT NULL;
CREATE UNIQUE INDEX users_username ON users(org_id, username) WHERE username IS NOT NULL;
CREATE INDEX users_org ON users(org_id, id);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);

CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL REFERENCES users(id),
    key TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    body BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    token_hash BLOB NOT NULL UNIQUE,
    sent_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invitations_user ON invitations(user_id);

CREATE TABLE registrations (
    id TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL REFERENCES invitations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    code_hash BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    code_expires_at INTEGER NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    delivery TEXT NOT NULL DEFAULT 'queued',
    delivery_error TEXT
);
CREATE INDEX outbox_org ON outbox(org_id, seq);

CREATE TABLE properties (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL
);
CREATE INDEX properties_org ON properties(org_id);

CREATE TABLE units (
    id TEXT PRIMARY KEY,
    property_id TEXT NOT NULL REFERENCES properties(id),
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL
);
CREATE INDEX units_org ON units(org_id);

CREATE TABLE locks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    name TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('vacant', 'tour', 'resident', 'maintenance')),
    battery INTEGER,
    firmware TEXT,
    master_code TEXT NOT NULL,
    identity_public_key TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX locks_org ON locks(org_id, id);
CREATE INDEX locks_unit ON locks(unit_id);

CREATE TABLE passcodes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    lock_id TEXT NOT NULL REFERENCES locks(id),
    code TEXT NOT NULL,
    sync_state TEXT NOT NULL DEFAULT 'pending',
    failure_reason TEXT,
    UNIQUE (user_id, lock_id)
);
CREATE INDEX passcodes_lock ON passcodes(lock_id);

CREATE TABLE access_codes (
    id TEXT PRIMARY KEY,
    lock_id TEXT NOT NULL REFERENCES locks(id),
    kind TEXT NOT NULL CHECK (kind IN ('permanent', 'window', 'one_time')),
    label TEXT,
    code TEXT NOT NULL,
    starts_at INTEGER,
    ends_at INTEGER,
    sync_state TEXT NOT NULL DEFAULT 'pending',
    failure_reason TEXT,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX access_codes_lock ON access_codes(lock_id);

CREATE TABLE logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    lock_id TEXT NOT NULL REFERENCES locks(id),
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    method TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('server', 'lock')),
    user_id TEXT,
    code_id TEXT,
    detail TEXT,
    lock_seq INTEGER
);
CREATE INDEX logs_lock ON logs(lock_id, seq);
CREATE UNIQUE INDEX logs_lock_seq ON logs(lock_id, lock_seq) WHERE lock_seq IS NOT NULL;

-- The change log behind sync cursors: seq order is commit order (one writer at a time).
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL,
    lock_id TEXT,
    user_id TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX changes_org ON changes(org_id, seq);
