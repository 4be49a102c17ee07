-- The door: the door-update version each lock last confirmed holding, and its last contact.
ALTER TABLE locks ADD COLUMN door_confirmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE locks ADD COLUMN last_contact_at INTEGER;
ALTER TABLE locks ADD COLUMN last_contact_app TEXT;
-- Door updates issued: a digest of the state each carried (an unchanged state reuses the
-- newest), the codes it carried (marked installed when the lock confirms the version), and
-- the signed bytes (secrets sealed to the lock's key).
CREATE TABLE door_updates (
    lock_id TEXT NOT NULL REFERENCES locks(id),
    version INTEGER NOT NULL,
    digest BLOB NOT NULL,
    code_ids TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (lock_id, version)
);
