//! The BLE part of the offline cache: credentials, device ids, session counters, door
//! updates to carry, and what waits for the server (pages of locks'
//! logs as the locks sent them, and contact reports).

use access_domain::api::LockContactReport;
use lock_protocol::report::LogPage;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::cache::CacheError;

/// A credential as the phone keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub credential: Vec<u8>,
    pub lock_public_key: [u8; 32],
    pub serial: u64,
    /// Unix seconds.
    pub not_after: u64,
}

pub fn credential(c: &Connection, lock: Uuid) -> Result<Option<StoredCredential>, CacheError> {
    let row = c
        .query_row(
            "SELECT credential, lock_public_key, serial, not_after FROM ble_credentials \
             WHERE lock_id = ?1",
            [lock.to_string()],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    row.map(|(credential, key, serial, not_after)| {
        let lock_public_key = key
            .try_into()
            .map_err(|_| CacheError::Corrupt("lock key is not 32 bytes".into()))?;
        Ok(StoredCredential {
            credential,
            lock_public_key,
            serial: serial as u64,
            not_after: not_after as u64,
        })
    })
    .transpose()
}

pub fn put_credential(c: &Connection, lock: Uuid, s: &StoredCredential) -> Result<(), CacheError> {
    c.execute(
        "INSERT INTO ble_credentials (lock_id, credential, lock_public_key, serial, not_after) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (lock_id) DO UPDATE SET \
         credential = excluded.credential, lock_public_key = excluded.lock_public_key, \
         serial = excluded.serial, not_after = excluded.not_after",
        params![
            lock.to_string(),
            s.credential,
            s.lock_public_key.as_slice(),
            s.serial as i64,
            s.not_after as i64
        ],
    )?;
    Ok(())
}

pub fn device(c: &Connection, lock: Uuid) -> Result<Option<String>, CacheError> {
    Ok(c.query_row(
        "SELECT device_id FROM ble_devices WHERE lock_id = ?1",
        [lock.to_string()],
        |r| r.get(0),
    )
    .optional()?)
}

/// The lock this phone paired on `device`, if it paired one there.
pub fn lock_of_device(c: &Connection, device: &str) -> Result<Option<Uuid>, CacheError> {
    let id: Option<String> = c
        .query_row(
            "SELECT lock_id FROM ble_devices WHERE device_id = ?1",
            [device],
            |r| r.get(0),
        )
        .optional()?;
    Ok(id.and_then(|id| Uuid::parse_str(&id).ok()))
}

pub fn put_device(c: &Connection, lock: Uuid, device: &str) -> Result<(), CacheError> {
    c.execute(
        "INSERT INTO ble_devices (lock_id, device_id) VALUES (?1, ?2) \
         ON CONFLICT (lock_id) DO UPDATE SET device_id = excluded.device_id",
        params![lock.to_string(), device],
    )?;
    Ok(())
}

/// Takes the next session counter for the lock (stored before use, so a crash never
/// reuses one).
pub fn next_counter(c: &Connection, lock: Uuid, unix_millis: u64) -> Result<u64, CacheError> {
    let last: Option<i64> = c
        .query_row(
            "SELECT counter FROM ble_counters WHERE lock_id = ?1",
            [lock.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let next = lock_protocol::session::next_counter(last.map(|l| l as u64), unix_millis);
    c.execute(
        "INSERT INTO ble_counters (lock_id, counter) VALUES (?1, ?2) \
         ON CONFLICT (lock_id) DO UPDATE SET counter = excluded.counter",
        params![lock.to_string(), next as i64],
    )?;
    Ok(next)
}

/// The highest log sequence number read from the lock (0: none).
pub fn log_cursor(c: &Connection, lock: Uuid) -> Result<u64, CacheError> {
    let v: Option<i64> = c
        .query_row(
            "SELECT last_seq FROM ble_log_cursor WHERE lock_id = ?1",
            [lock.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.unwrap_or(0) as u64)
}

/// Moves the lock's log cursor up to `seq` (never down): the server already holds the
/// entries up to there, brought by any phone.
pub fn raise_log_cursor(c: &Connection, lock: Uuid, seq: u64) -> Result<(), CacheError> {
    c.execute(
        "INSERT INTO ble_log_cursor (lock_id, last_seq) VALUES (?1, ?2) \
         ON CONFLICT (lock_id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
        params![lock.to_string(), i64::try_from(seq).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

/// A page of a lock's log waiting for the server, as the lock sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedPage {
    /// Sequence number of the page's last entry.
    pub last_seq: u64,
    /// How many entries it holds.
    pub entries: u64,
    pub page: LogPage,
}

/// Queues a page read from the lock, unchanged (a second read of a page ending at the same
/// sequence number is ignored), and moves the cursor to `cursor`, in one transaction;
/// whether it was new.
pub fn queue_log_page(
    c: &mut Connection,
    lock: Uuid,
    page: &QueuedPage,
    cursor: u64,
) -> Result<bool, CacheError> {
    let tx = c.transaction()?;
    let added = tx.execute(
        "INSERT OR IGNORE INTO ble_log_pages (lock_id, last_seq, entries, body, mac) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            lock.to_string(),
            page.last_seq as i64,
            page.entries as i64,
            page.page.entries,
            page.page.mac.as_slice()
        ],
    )?;
    tx.execute(
        "INSERT INTO ble_log_cursor (lock_id, last_seq) VALUES (?1, ?2) \
         ON CONFLICT (lock_id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
        params![lock.to_string(), cursor as i64],
    )?;
    tx.commit()?;
    Ok(added == 1)
}

/// Locks with pages waiting for upload.
pub fn log_locks(c: &Connection) -> Result<Vec<Uuid>, CacheError> {
    let mut stmt = c.prepare("SELECT DISTINCT lock_id FROM ble_log_pages ORDER BY lock_id")?;
    let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for id in ids {
        out.push(Uuid::parse_str(&id?).map_err(|e| CacheError::Corrupt(e.to_string()))?);
    }
    Ok(out)
}

/// Up to `limit` queued pages of a lock, oldest first.
pub fn queued_pages(c: &Connection, lock: Uuid, limit: u32) -> Result<Vec<QueuedPage>, CacheError> {
    let mut stmt = c.prepare_cached(
        "SELECT last_seq, entries, body, mac FROM ble_log_pages WHERE lock_id = ?1 \
         ORDER BY last_seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![lock.to_string(), limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (last_seq, entries, body, mac) = row?;
        let mac = <[u8; 32]>::try_from(mac)
            .map_err(|_| CacheError::Corrupt("a queued page's mac is not 32 bytes".into()))?;
        out.push(QueuedPage {
            last_seq: last_seq as u64,
            entries: entries as u64,
            page: LogPage { entries: body, mac },
        });
    }
    Ok(out)
}

/// Drops pages the server has (acknowledged by an upload) or refused for good.
pub fn drop_pages(c: &Connection, lock: Uuid, up_to_seq: u64) -> Result<(), CacheError> {
    c.execute(
        "DELETE FROM ble_log_pages WHERE lock_id = ?1 AND last_seq <= ?2",
        params![lock.to_string(), up_to_seq as i64],
    )?;
    Ok(())
}

/// Entries waiting for upload, all locks.
pub fn queued_log_count(c: &Connection) -> Result<u64, CacheError> {
    Ok(c.query_row(
        "SELECT COALESCE(SUM(entries), 0) FROM ble_log_pages",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// The lock's cached door updates, oldest first: (version, signed bytes) of each, every
/// one built on the one before.
pub fn door_updates(c: &Connection, lock: Uuid) -> Result<Vec<(u64, Vec<u8>)>, CacheError> {
    let mut stmt = c.prepare_cached(
        "SELECT version, body FROM ble_door_chains WHERE lock_id = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map([lock.to_string()], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Caches a fetched chain of updates (oldest first) in place of the lock's cached one,
/// unless that one already reaches as far (fetches may race).
pub fn put_door_updates(
    c: &Connection,
    lock: Uuid,
    chain: &[(u64, Vec<u8>)],
) -> Result<(), CacheError> {
    let Some(&(last, _)) = chain.last() else {
        return Ok(());
    };
    let tx = c.unchecked_transaction()?;
    let cached: Option<i64> = tx.query_row(
        "SELECT MAX(version) FROM ble_door_chains WHERE lock_id = ?1",
        [lock.to_string()],
        |r| r.get(0),
    )?;
    if cached.is_some_and(|v| v as u64 > last) {
        return Ok(());
    }
    tx.execute(
        "DELETE FROM ble_door_chains WHERE lock_id = ?1",
        [lock.to_string()],
    )?;
    for (version, body) in chain {
        tx.execute(
            "INSERT INTO ble_door_chains (lock_id, version, body) VALUES (?1, ?2, ?3)",
            params![lock.to_string(), *version as i64, body],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Forgets the lock's cached updates: this phone changed the lock directly since they were
/// fetched, and carrying them would undo that change.
pub fn drop_door_updates(c: &Connection, lock: Uuid) -> Result<(), CacheError> {
    c.execute(
        "DELETE FROM ble_door_chains WHERE lock_id = ?1",
        [lock.to_string()],
    )?;
    Ok(())
}

/// Queues what the lock reported at a contact, replacing an older report of the same lock.
pub fn put_contact_report(
    c: &Connection,
    lock: Uuid,
    report: &LockContactReport,
) -> Result<(), CacheError> {
    let body = serde_json::to_string(report).map_err(|e| CacheError::Corrupt(e.to_string()))?;
    c.execute(
        "INSERT INTO ble_contact_reports (lock_id, body) VALUES (?1, ?2) \
         ON CONFLICT (lock_id) DO UPDATE SET body = excluded.body",
        params![lock.to_string(), body],
    )?;
    Ok(())
}

/// Every waiting contact report: (lock, report).
pub fn contact_reports(c: &Connection) -> Result<Vec<(Uuid, LockContactReport)>, CacheError> {
    let mut stmt = c.prepare("SELECT lock_id, body FROM ble_contact_reports ORDER BY lock_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (l, b) = row?;
        let bad = |e: String| CacheError::Corrupt(e);
        out.push((
            Uuid::parse_str(&l).map_err(|e| bad(e.to_string()))?,
            serde_json::from_slice(b.as_bytes()).map_err(|e| bad(e.to_string()))?,
        ));
    }
    Ok(out)
}

/// Drops the report that was sent, but not a newer one queued meanwhile.
pub fn drop_contact_report(
    c: &Connection,
    lock: Uuid,
    sent: &LockContactReport,
) -> Result<(), CacheError> {
    let body = serde_json::to_string(sent).map_err(|e| CacheError::Corrupt(e.to_string()))?;
    c.execute(
        "DELETE FROM ble_contact_reports WHERE lock_id = ?1 AND body = ?2",
        params![lock.to_string(), body],
    )?;
    Ok(())
}

/// A registration made for pairing `device` that did not finish (e.g. a wrong code), so a
/// retry pairs under the same lock record instead of registering another.
pub fn pending_pairing(
    c: &Connection,
    device: &str,
    unit: Uuid,
) -> Result<Option<String>, CacheError> {
    Ok(c.query_row(
        "SELECT body FROM ble_pending_pairings WHERE device_id = ?1 AND unit_id = ?2",
        params![device, unit.to_string()],
        |r| r.get(0),
    )
    .optional()?)
}

pub fn put_pending_pairing(
    c: &Connection,
    device: &str,
    unit: Uuid,
    body: &str,
) -> Result<(), CacheError> {
    c.execute(
        "INSERT INTO ble_pending_pairings (device_id, unit_id, body) VALUES (?1, ?2, ?3) \
         ON CONFLICT (device_id) DO UPDATE SET unit_id = excluded.unit_id, body = excluded.body",
        params![device, unit.to_string(), body],
    )?;
    Ok(())
}

pub fn drop_pending_pairing(c: &Connection, device: &str) -> Result<(), CacheError> {
    c.execute(
        "DELETE FROM ble_pending_pairings WHERE device_id = ?1",
        [device],
    )?;
    Ok(())
}

/// Forgets what belongs to the signed-in account (credentials, door
/// updates, devices and pending pairings) when it signs out or is revoked. Log pages and
/// contact reports read from locks stay queued (they are facts about the locks, MACed by
/// them) and so do session counters (they must only grow).
pub fn wipe(c: &Connection) -> Result<(), CacheError> {
    c.execute_batch(
        "DELETE FROM ble_credentials; DELETE FROM ble_revocations; DELETE FROM ble_devices;
         DELETE FROM ble_pending_pairings; DELETE FROM ble_door_chains;",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(last_seq: u64, entries: u64) -> QueuedPage {
        QueuedPage {
            last_seq,
            entries,
            page: LogPage {
                entries: vec![last_seq as u8; 3],
                mac: [last_seq as u8; 32],
            },
        }
    }

    #[test]
    fn log_pages_queue_once_by_lock_and_last_sequence_and_counters_grow() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::cache::Store::open(&dir.path().join("c.sqlite")).unwrap();
        let mut c = store.conn();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(queue_log_page(&mut c, a, &page(2, 2), 2).unwrap());
        assert!(!queue_log_page(&mut c, a, &page(2, 2), 2).unwrap());
        assert!(queue_log_page(&mut c, a, &page(5, 3), 5).unwrap());
        assert!(queue_log_page(&mut c, b, &page(2, 2), 2).unwrap());
        assert_eq!(log_cursor(&c, a).unwrap(), 5);
        // The cursor never goes back.
        queue_log_page(&mut c, a, &page(1, 1), 1).unwrap();
        assert_eq!(log_cursor(&c, a).unwrap(), 5);
        assert_eq!(queued_log_count(&c).unwrap(), 8);
        drop_pages(&c, a, 2).unwrap();
        let left = queued_pages(&c, a, 10).unwrap();
        assert_eq!(left, vec![page(5, 3)]);
        assert_eq!(log_locks(&c).unwrap().len(), 2);
        let first = next_counter(&c, a, 5).unwrap();
        assert_eq!(first, 5);
        assert_eq!(next_counter(&c, a, 5).unwrap(), 6);
        assert_eq!(next_counter(&c, a, 100).unwrap(), 100);
    }

    #[test]
    fn door_updates_keep_the_newest_and_contact_reports_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::cache::Store::open(&dir.path().join("c.sqlite")).unwrap();
        let c = store.conn();
        let lock = Uuid::new_v4();
        let chain = |versions: &[u64]| -> Vec<(u64, Vec<u8>)> {
            versions.iter().map(|&v| (v, vec![v as u8])).collect()
        };
        put_door_updates(&c, lock, &chain(&[3])).unwrap();
        put_door_updates(&c, lock, &chain(&[2])).unwrap();
        assert_eq!(door_updates(&c, lock).unwrap(), chain(&[3]));
        // A chain replaces the cached one whole, and is read back in order.
        put_door_updates(&c, lock, &chain(&[4, 5, 6])).unwrap();
        assert_eq!(door_updates(&c, lock).unwrap(), chain(&[4, 5, 6]));
        // One that ends before the cached one's end is older: it does not replace it.
        put_door_updates(&c, lock, &chain(&[5])).unwrap();
        assert_eq!(door_updates(&c, lock).unwrap(), chain(&[4, 5, 6]));
        drop_door_updates(&c, lock).unwrap();
        assert!(door_updates(&c, lock).unwrap().is_empty());

        let report = |v| LockContactReport {
            door_version: v,
            battery: 80,
            clock: 1_800_000_000,
            firmware: "vlock-1".into(),
            receipt: "AAAA".into(),
        };
        put_contact_report(&c, lock, &report(1)).unwrap();
        put_contact_report(&c, lock, &report(2)).unwrap();
        assert_eq!(contact_reports(&c).unwrap(), vec![(lock, report(2))]);
        // A report sent while a newer one was queued leaves the newer one.
        drop_contact_report(&c, lock, &report(1)).unwrap();
        assert_eq!(contact_reports(&c).unwrap().len(), 1);
        put_door_updates(&c, lock, &chain(&[7])).unwrap();
        // Signing out forgets the updates (the account's), not what the lock said.
        crate::cache::wipe(&c).unwrap();
        assert!(door_updates(&c, lock).unwrap().is_empty());
        drop_contact_report(&c, lock, &report(2)).unwrap();
        assert!(contact_reports(&c).unwrap().is_empty());
    }
}
