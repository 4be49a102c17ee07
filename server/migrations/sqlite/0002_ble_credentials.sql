-- BLE credentials signed by the server, kept until they expire for revocation lists.
CREATE TABLE ble_credentials (
    serial INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    lock_id TEXT NOT NULL REFERENCES locks(id),
    rights INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL
);
CREATE INDEX ble_credentials_lock ON ble_credentials(lock_id, not_after);
