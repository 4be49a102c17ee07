-- The page of locks reads these indexes alone: it walks `locks_page` (every column the page
-- shows, in page order) instead of the table row by row, and finds each lock's unit and
-- property with one index search instead of two (the primary key's index, then the row).
-- The queries name them (`INDEXED BY`): SQLite's planner prefers a primary key's own index.
CREATE INDEX locks_page ON locks (org_id, id, unit_id, name, mode, battery, firmware, identity_public_key);
DROP INDEX locks_org;
CREATE INDEX units_names ON units (id, name, property_id);
CREATE INDEX properties_names ON properties (id, name);
