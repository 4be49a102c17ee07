//! The durable action queue, in the cache's SQLite file.
//!
//! An action gets its idempotency key and its row in the same transaction that applies it
//! to the cache, before anything is sent; it is replayed in order and marked done only after
//! the server's answer. A process killed at any point either never created the action (the
//! call did not return) or finds it on the next start with the same key, which the server
//! uses to apply it once.

use access_domain::LockMode;
use access_domain::api::AccessCodeRequest;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cache::{self, CacheError};

/// An action that must reach the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Rename { name: String },
    ChangeMode { mode: LockMode },
    GiveAccess { request: AccessCodeRequest },
    RevokeCode { code_id: Uuid },
}

impl Action {
    /// A short stable name: `rename`, `change_mode`, `give_access`, `revoke_code`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Rename { .. } => "rename",
            Action::ChangeMode { .. } => "change_mode",
            Action::GiveAccess { .. } => "give_access",
            Action::RevokeCode { .. } => "revoke_code",
        }
    }

    /// What the action does, for lists shown to people.
    pub fn describe(&self) -> String {
        match self {
            Action::Rename { name } => format!("Rename to \"{name}\""),
            Action::ChangeMode { mode } => format!("Change mode to {}", mode.as_str()),
            Action::GiveAccess { request } => format!(
                "Give a {} code{}",
                request.kind.as_str(),
                request
                    .label
                    .as_deref()
                    .map(|l| format!(" \"{l}\""))
                    .unwrap_or_default()
            ),
            Action::RevokeCode { code_id } => format!("Revoke code {code_id}"),
        }
    }
}

/// Where a queued action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Done,
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Done => "done",
            State::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<State> {
        match s {
            "pending" => Some(State::Pending),
            "done" => Some(State::Done),
            "failed" => Some(State::Failed),
            _ => None,
        }
    }
}

/// One row of the queue.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: i64,
    /// Also the `Idempotency-Key` header.
    pub key: String,
    pub lock_id: Uuid,
    pub action: Action,
    pub state: State,
    /// Send attempts begun (counted before each send).
    pub attempts: u32,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The server's answer body, for done actions.
    pub result: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Records `action` on `lock_id` and applies its expected effect to the cache, in one
/// transaction. Returns the new row.
pub fn enqueue(conn: &mut Connection, lock_id: Uuid, action: Action) -> Result<Queued, CacheError> {
    let key = Uuid::new_v4().to_string();
    let body = serde_json::to_string(&action).map_err(|e| CacheError::Corrupt(e.to_string()))?;
    let tx = conn.transaction()?;
    match &action {
        Action::Rename { name } => cache::set_lock_name(&tx, lock_id, name)?,
        Action::ChangeMode { mode } => cache::set_lock_mode(&tx, lock_id, *mode)?,
        // The code itself comes from the server; until then the action list shows it.
        Action::GiveAccess { .. } => {}
        Action::RevokeCode { code_id } => cache::set_code_revoked(&tx, *code_id, now())?,
    }
    let t = now();
    tx.execute(
        "INSERT INTO queue (idempotency_key, lock_id, action, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![key, lock_id.to_string(), body, t],
    )?;
    let seq = tx.last_insert_rowid();
    tx.commit()?;
    get(conn, seq)
}

const COLUMNS: &str = "seq, idempotency_key, lock_id, action, state, attempts, error_code, \
                       error_message, result, created_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Queued> {
    let bad = |i: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    let lock_id: String = r.get(2)?;
    let action: String = r.get(3)?;
    let state: String = r.get(4)?;
    Ok(Queued {
        seq: r.get(0)?,
        key: r.get(1)?,
        lock_id: Uuid::parse_str(&lock_id).map_err(|e| bad(2, Box::new(e)))?,
        action: serde_json::from_slice(action.as_bytes()).map_err(|e| bad(3, Box::new(e)))?,
        state: State::parse(&state).ok_or_else(|| bad(4, format!("state {state}").into()))?,
        attempts: r.get(5)?,
        error_code: r.get(6)?,
        error_message: r.get(7)?,
        result: r.get(8)?,
        created_at: r.get(9)?,
    })
}

/// One row by sequence number.
pub fn get(conn: &Connection, seq: i64) -> Result<Queued, CacheError> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM queue WHERE seq = ?1"))?;
    st.query_row([seq], row)
        .optional()?
        .ok_or(CacheError::NotFound)
}

/// One row by idempotency key.
pub fn get_by_key(conn: &Connection, key: &str) -> Result<Queued, CacheError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM queue WHERE idempotency_key = ?1"
    ))?;
    st.query_row([key], row)
        .optional()?
        .ok_or(CacheError::NotFound)
}

/// The oldest pending action, the next to send.
pub fn next_pending(conn: &Connection) -> Result<Option<Queued>, CacheError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM queue WHERE state = 'pending' ORDER BY seq LIMIT 1"
    ))?;
    Ok(st.query_row([], row).optional()?)
}

/// Rows in `state`, oldest first.
pub fn list(conn: &Connection, state: State) -> Result<Vec<Queued>, CacheError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM queue WHERE state = ?1 ORDER BY seq"
    ))?;
    let rows = st.query_map([state.as_str()], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Counts an attempt before the request goes out, so a crash mid-send is visible.
pub fn begin_attempt(conn: &Connection, seq: i64) -> Result<(), CacheError> {
    conn.execute(
        "UPDATE queue SET attempts = attempts + 1, updated_at = ?2 WHERE seq = ?1",
        params![seq, now()],
    )?;
    Ok(())
}

/// The server applied the action; `result` is its answer body.
pub fn mark_done(conn: &Connection, seq: i64, result: Option<&str>) -> Result<(), CacheError> {
    conn.execute(
        "UPDATE queue SET state = 'done', result = ?2, error_code = NULL, error_message = NULL,
                          updated_at = ?3
         WHERE seq = ?1",
        params![seq, result, now()],
    )?;
    Ok(())
}

/// The server refused the action for good.
pub fn mark_failed(
    conn: &Connection,
    seq: i64,
    code: &str,
    message: &str,
) -> Result<(), CacheError> {
    conn.execute(
        "UPDATE queue SET state = 'failed', error_code = ?2, error_message = ?3, updated_at = ?4
         WHERE seq = ?1",
        params![seq, code, message, now()],
    )?;
    Ok(())
}

/// A transient failure: stays pending, with the last error shown.
pub fn note_error(conn: &Connection, seq: i64, message: &str) -> Result<(), CacheError> {
    conn.execute(
        "UPDATE queue SET error_message = ?2, updated_at = ?3 WHERE seq = ?1 AND state = 'pending'",
        params![seq, message, now()],
    )?;
    Ok(())
}

/// Removes a row (a failed action the user has seen, or one refused while they waited).
pub fn remove(conn: &Connection, seq: i64) -> Result<bool, CacheError> {
    Ok(conn.execute("DELETE FROM queue WHERE seq = ?1", [seq])? > 0)
}

/// Keeps the newest `keep` done rows, drops older ones.
pub fn prune_done(conn: &Connection, keep: u32) -> Result<(), CacheError> {
    conn.execute(
        "DELETE FROM queue WHERE state = 'done' AND seq NOT IN
           (SELECT seq FROM queue WHERE state = 'done' ORDER BY seq DESC LIMIT ?1)",
        [keep],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{lock_fixture, open_temp, sync_fixture};

    #[test]
    fn enqueue_applies_to_the_cache_and_keeps_order() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let l = lock_fixture("Alpha", "1A", "Oak");
        cache::apply_sync(
            &mut c,
            &sync_fixture(true, vec![l.clone()], "1"),
            &mut |_| {},
        )
        .unwrap();
        let a = enqueue(
            &mut c,
            l.id,
            Action::Rename {
                name: "Lobby".into(),
            },
        )
        .unwrap();
        let b = enqueue(
            &mut c,
            l.id,
            Action::ChangeMode {
                mode: LockMode::Tour,
            },
        )
        .unwrap();
        assert!(a.seq < b.seq);
        assert_ne!(a.key, b.key);
        assert_eq!(a.state, State::Pending);
        let cached = cache::lock(&c, l.id).unwrap();
        assert_eq!(
            (cached.name.as_str(), cached.mode),
            ("Lobby", LockMode::Tour)
        );

        assert_eq!(next_pending(&c).unwrap().unwrap().seq, a.seq);
        begin_attempt(&c, a.seq).unwrap();
        mark_done(&c, a.seq, Some("{}")).unwrap();
        assert_eq!(next_pending(&c).unwrap().unwrap().seq, b.seq);
        mark_failed(&c, b.seq, "missing_permission", "no").unwrap();
        assert!(next_pending(&c).unwrap().is_none());
        let failed = list(&c, State::Failed).unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].error_code.as_deref(), Some("missing_permission"));
        assert!(matches!(
            failed[0].action,
            Action::ChangeMode {
                mode: LockMode::Tour
            }
        ));
        let done = get_by_key(&c, &a.key).unwrap();
        assert_eq!((done.state, done.attempts), (State::Done, 1));
        assert!(remove(&c, b.seq).unwrap());
        assert!(list(&c, State::Failed).unwrap().is_empty());
    }

    #[test]
    fn queued_actions_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.sqlite");
        let lock_id = Uuid::new_v4();
        let key = {
            let store = crate::cache::Store::open(&path).unwrap();
            let mut c = store.conn();
            let req = AccessCodeRequest {
                kind: access_domain::AccessCodeKind::OneTime,
                label: Some("Plumber".into()),
                starts_at: None,
                ends_at: None,
            };
            enqueue(&mut c, lock_id, Action::GiveAccess { request: req })
                .unwrap()
                .key
        };
        let store = crate::cache::Store::open(&path).unwrap();
        let c = store.conn();
        let q = next_pending(&c).unwrap().unwrap();
        assert_eq!((q.key.as_str(), q.lock_id), (key.as_str(), lock_id));
        assert_eq!(q.action.describe(), "Give a one_time code \"Plumber\"");
    }

    #[test]
    fn pruning_keeps_the_newest_done_rows_only() {
        let (_d, store) = open_temp();
        let mut c = store.conn();
        let id = Uuid::new_v4();
        let mut seqs = vec![];
        for i in 0..5 {
            let q = enqueue(
                &mut c,
                id,
                Action::Rename {
                    name: format!("n{i}"),
                },
            )
            .unwrap();
            seqs.push(q.seq);
        }
        for s in &seqs[..4] {
            mark_done(&c, *s, None).unwrap();
        }
        prune_done(&c, 2).unwrap();
        let done: Vec<i64> = list(&c, State::Done)
            .unwrap()
            .iter()
            .map(|q| q.seq)
            .collect();
        assert_eq!(done, seqs[2..4]);
        assert_eq!(list(&c, State::Pending).unwrap().len(), 1);
    }
}
