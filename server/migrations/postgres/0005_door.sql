-- The door: the door-update version each lock last confirmed holding, and its last contact.
ALTER TABLE locks ADD COLUMN door_confirmed bigint NOT NULL DEFAULT 0;
ALTER TABLE locks ADD COLUMN last_contact_at timestamptz;
ALTER TABLE locks ADD COLUMN last_contact_app text;
-- Door updates issued: a digest of the state each carried (an unchanged state reuses the
-- newest), the codes it carried (marked installed when the lock confirms the version), and
-- the signed bytes (secrets sealed to the lock's key).
CREATE TABLE door_updates (
    lock_id uuid NOT NULL REFERENCES locks(id),
    version bigint NOT NULL,
    digest bytea NOT NULL,
    code_ids uuid[] NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (lock_id, version)
);
