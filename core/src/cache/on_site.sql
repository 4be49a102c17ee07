-- BLE: signed credentials, where each lock was last seen, session counters, and pages of
-- locks' logs waiting for upload. `ble_revocations` is written by nothing (a lock's
-- revocation list reaches it only in door updates); the table stays so that no cache
-- needs a schema step, and signing out empties it.
CREATE TABLE ble_credentials (
    lock_id TEXT PRIMARY KEY,
    credential BLOB NOT NULL,
    lock_public_key BLOB NOT NULL,
    serial INTEGER NOT NULL,
    not_after INTEGER NOT NULL
);
CREATE TABLE ble_devices (
    lock_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL
);
CREATE TABLE ble_counters (
    lock_id TEXT PRIMARY KEY,
    counter INTEGER NOT NULL
);
CREATE TABLE ble_revocations (
    lock_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    pushed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE ble_log_cursor (
    lock_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
CREATE TABLE ble_pending_pairings (
    device_id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL,
    body TEXT NOT NULL
);
-- Version 4 (also the step in schema.rs): the newest door updates fetched for each lock, a
-- chain each built on the one before, carried to it at the next contact. Version 2: the last
-- contact report waiting for the server (a state, not an event: a newer one replaces it).
CREATE TABLE ble_door_chains (
    lock_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (lock_id, version)
);
CREATE TABLE ble_contact_reports (
    lock_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
-- Version 3 (also the step in schema.rs): pages of a lock's log as the lock sent them (its
-- MAC over the encoded entries), uploaded unchanged.
CREATE TABLE ble_log_pages (
    lock_id TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    body BLOB NOT NULL,
    mac BLOB NOT NULL,
    PRIMARY KEY (lock_id, last_seq)
);
