-- BLE credentials signed by the server, kept until they expire for revocation lists.
CREATE TABLE ble_credentials (
    serial bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organizations(id),
    user_id uuid NOT NULL REFERENCES users(id),
    lock_id uuid NOT NULL REFERENCES locks(id),
    rights bigint NOT NULL,
    not_before timestamptz NOT NULL,
    not_after timestamptz NOT NULL
);
CREATE INDEX ble_credentials_lock ON ble_credentials (lock_id, not_after);
