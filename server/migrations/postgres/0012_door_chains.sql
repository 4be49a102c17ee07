-- Door updates in chains: a lock whose state does not fit one update (more than 100 codes,
-- 200 removals or 128 revocations) gets several, each built on the version before it
-- (`base_version`; 0 for a whole state). `held` is what the lock holds once it applied the
-- update (each code's fingerprint, the revocations, name, mode and a digest of its secrets),
-- so the next update carries only the difference. Older rows have none: the next update
-- for such a lock is a whole state.
ALTER TABLE door_updates ADD COLUMN base_version bigint NOT NULL DEFAULT 0;
ALTER TABLE door_updates ADD COLUMN held text;
