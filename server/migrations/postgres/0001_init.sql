-- Initial schema, the PostgreSQL twin of migrations/sqlite/0001_init.sql: the same tables
-- and rules in native types (uuid, bytea, timestamptz, arrays). Hashes are SHA-256.
CREATE TABLE organizations (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    signing_key bytea NOT NULL,
    public_key bytea NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organizations(id),
    user_type text NOT NULL CHECK (user_type IN ('team_member', 'resident')),
    status text NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    is_admin boolean NOT NULL DEFAULT false,
    name text,
    username text,
    invited_email text,
    registered_email text,
    phone text,
    password_hash text,
    permissions text[] NOT NULL DEFAULT '{}',
    access_type text NOT NULL CHECK (access_type IN ('units', 'all_locks')),
    unit_ids uuid[] NOT NULL DEFAULT '{}',
    invited_by uuid REFERENCES users(id),
    invited_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_login ON users (lower(registered_email)) WHERE registered_email IS NOT NULL;
CREATE UNIQUE INDEX users_username ON users (org_id, username) WHERE username IS NOT NULL;
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    key text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);

CREATE TABLE idempotency_keys (
    user_id uuid NOT NULL REFERENCES users(id),
    key text NOT NULL,
    fingerprint bytea NOT NULL,
    status integer NOT NULL DEFAULT 0,
    body bytea,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE invitations (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id),
    token_hash bytea NOT NULL UNIQUE,
    sent_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    voided boolean NOT NULL DEFAULT false
);
CREATE INDEX invitations_user ON invitations (user_id);

CREATE TABLE registrations (
    id uuid PRIMARY KEY,
    invitation_id uuid NOT NULL REFERENCES invitations(id),
    user_id uuid NOT NULL REFERENCES users(id),
    email text NOT NULL,
    phone text NOT NULL,
    name text NOT NULL,
    password_hash text NOT NULL,
    code_hash bytea NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    code_expires_at timestamptz NOT NULL,
    completed boolean NOT NULL DEFAULT false
);
CREATE INDEX registrations_user ON registrations (user_id);

CREATE TABLE outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    org_id uuid NOT NULL REFERENCES organizations(id),
    channel text NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient text NOT NULL,
    subject text,
    body text NOT NULL,
    created_at timestamptz NOT NULL,
    delivery text NOT NULL DEFAULT 'queued',
    delivery_error text
);
CREATE INDEX outbox_org ON outbox (org_id, seq);

CREATE TABLE properties (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organizations(id),
    name text NOT NULL
);
CREATE INDEX properties_org ON properties (org_id);

CREATE TABLE units (
    id uuid PRIMARY KEY,
    property_id uuid NOT NULL REFERENCES properties(id),
    org_id uuid NOT NULL REFERENCES organizations(id),
    name text NOT NULL
);
CREATE INDEX units_org ON units (org_id);
CREATE INDEX units_property ON units (property_id);

CREATE TABLE locks (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organizations(id),
    unit_id uuid NOT NULL REFERENCES units(id),
    name text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('vacant', 'tour', 'resident', 'maintenance')),
    battery smallint CHECK (battery BETWEEN 0 AND 255),
    firmware text,
    master_code text NOT NULL,
    identity_public_key text,
    created_at timestamptz NOT NULL
);
CREATE INDEX locks_org ON locks (org_id, id);
CREATE INDEX locks_unit ON locks (unit_id);

CREATE TABLE passcodes (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id),
    lock_id uuid NOT NULL REFERENCES locks(id),
    code text NOT NULL,
    sync_state text NOT NULL DEFAULT 'pending',
    failure_reason text,
    UNIQUE (user_id, lock_id)
);
CREATE INDEX passcodes_lock ON passcodes (lock_id);

CREATE TABLE access_codes (
    id uuid PRIMARY KEY,
    lock_id uuid NOT NULL REFERENCES locks(id),
    kind text NOT NULL CHECK (kind IN ('permanent', 'window', 'one_time')),
    label text,
    code text NOT NULL,
    starts_at timestamptz,
    ends_at timestamptz,
    sync_state text NOT NULL DEFAULT 'pending',
    failure_reason text,
    created_by uuid NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL
);
CREATE INDEX access_codes_lock ON access_codes (lock_id);

CREATE TABLE logs (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    lock_id uuid NOT NULL REFERENCES locks(id),
    at timestamptz NOT NULL,
    action text NOT NULL,
    method text NOT NULL,
    source text NOT NULL CHECK (source IN ('server', 'lock')),
    user_id uuid,
    code_id uuid,
    detail text,
    lock_seq bigint
);
CREATE INDEX logs_lock ON logs (lock_id, seq);
CREATE UNIQUE INDEX logs_lock_seq ON logs (lock_id, lock_seq) WHERE lock_seq IS NOT NULL;

-- The change log behind sync cursors. Writers take the organization's transaction-scoped
-- advisory lock before inserting here (see store/postgres.rs), so within an organization
-- seq order is commit order even with writers on several instances.
CREATE TABLE changes (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id uuid NOT NULL,
    lock_id uuid,
    user_id uuid,
    at timestamptz NOT NULL
);
CREATE INDEX changes_org ON changes (org_id, seq);
