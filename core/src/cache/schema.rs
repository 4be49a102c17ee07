//! The cache's schema: one baseline, versioned with `PRAGMA user_version`.

use rusqlite::Connection;

use super::CacheError;

/// The schema version this build writes.
pub const VERSION: i64 = 4;

/// Steps from version `n` to `n + 1`, applied in order to an older file. Each also stands
/// in the baseline (the tests check that both give the same schema).
const STEPS: &[&str] = &[
    // 1 -> 2: door updates carried to locks, contact reports waiting for the server.
    "CREATE TABLE ble_door_updates (
        lock_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        body BLOB NOT NULL
    );
    CREATE TABLE ble_contact_reports (
        lock_id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );",
    // 2 -> 3: log pages as the locks sent them replace entries converted on the phone (the
    // server takes only pages a lock MACed), and code reports go (a code's state comes from
    // the lock). Entries still queued are read again: the cursor goes back before them.
    "UPDATE ble_log_cursor SET last_seq = (
        SELECT MIN(q.lock_seq) - 1 FROM ble_log_queue q WHERE q.lock_id = ble_log_cursor.lock_id
    ) WHERE lock_id IN (SELECT lock_id FROM ble_log_queue);
    DROP TABLE ble_log_queue;
    DROP TABLE ble_code_reports;
    CREATE TABLE ble_log_pages (
        lock_id TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        body BLOB NOT NULL,
        mac BLOB NOT NULL,
        PRIMARY KEY (lock_id, last_seq)
    );",
    // 3 -> 4: a lock's door updates as a chain (each built on the one before), one row each.
    "CREATE TABLE ble_door_chains (
        lock_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (lock_id, version)
    );
    INSERT INTO ble_door_chains (lock_id, version, body)
        SELECT lock_id, version, body FROM ble_door_updates;
    DROP TABLE ble_door_updates;",
];

/// The schema, created whole in a new file at [`VERSION`]; a change adds a step to
/// [`STEPS`], the same tables here, and bumps [`VERSION`].
const BASELINE: &str = concat!(
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE locks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        unit_name TEXT NOT NULL,
        property_id TEXT NOT NULL,
        property_name TEXT NOT NULL,
        mode TEXT NOT NULL,
        battery INTEGER,
        firmware TEXT,
        paired INTEGER NOT NULL,
        identity_public_key TEXT
    );
    CREATE INDEX locks_by_name ON locks (name COLLATE NOCASE, id);
    CREATE TABLE access_codes (
        id TEXT PRIMARY KEY,
        lock_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX access_codes_by_lock ON access_codes (lock_id);
    CREATE TABLE "passcodes" (lock_id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE queue (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        lock_id TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        result TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX queue_by_state ON queue (state, seq);
    "#,
    include_str!("on_site.sql")
);

/// Creates the schema in a new file, upgrades an older one, refuses a newer one.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), CacheError> {
    let version = schema_version(conn)?;
    if version > VERSION {
        return Err(CacheError::TooNew(version));
    }
    let tx = conn.transaction()?;
    if version == 0 {
        tx.execute_batch(BASELINE)?;
    } else {
        for step in STEPS.iter().skip(version as usize - 1) {
            tx.execute_batch(step)?;
        }
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

/// The current schema version of an open database.
pub fn schema_version(conn: &Connection) -> Result<i64, CacheError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}
