-- BLE: signed credentials, where each lock was last seen, session counters, revocation
-- lists to push, and log entries read from locks waiting for upload.
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
CREATE TABLE ble_log_queue (
    lock_id TEXT NOT NULL,
    lock_seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (lock_id, lock_seq)
);
CREATE TABLE ble_code_reports (
    lock_id TEXT NOT NULL,
    code_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (lock_id, code_id)
);
CREATE TABLE ble_pending_pairings (
    device_id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL,
    body TEXT NOT NULL
);
-- Version 2 (also the step in schema.rs): the newest door update fetched for each lock,
-- carried to it at the next contact, and the last contact report waiting for the server
-- (a state, not an event: a newer one replaces it).
CREATE TABLE ble_door_updates (
    lock_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE ble_contact_reports (
    lock_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
