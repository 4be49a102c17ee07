//! The cache's tests: sync, search, edits, wipe.

use access_domain::api::{Lock, Me, Passcode, SyncResponse};
use access_domain::{Access, App, LockMode, UserStatus, UserType};
use rusqlite::Connection;
use uuid::Uuid;

use super::db::PATCH_ROWS;
use super::*;

pub(crate) fn me_fixture() -> Me {
    Me {
        id: Uuid::new_v4(),
        name: "Ann".into(),
        email: "ann@example.com".into(),
        user_type: UserType::TeamMember,
        status: UserStatus::Active,
        app: App::AccessManager,
        permissions: vec![],
        access: Access::AllLocks,
        organization_id: Uuid::new_v4(),
        period: Default::default(),
    }
}

pub(crate) fn lock_fixture(name: &str, unit: &str, property: &str) -> Lock {
    Lock {
        id: Uuid::new_v4(),
        name: name.into(),
        unit_id: Uuid::new_v4(),
        unit_name: unit.into(),
        property_id: Uuid::new_v4(),
        property_name: property.into(),
        mode: LockMode::Vacant,
        battery: Some(90),
        firmware: None,
        paired: false,
        identity_public_key: None,
    }
}

pub(crate) fn sync_fixture(full: bool, locks: Vec<Lock>, cursor: &str) -> SyncResponse {
    SyncResponse {
        cursor: cursor.into(),
        full,
        me: me_fixture(),
        locks,
        removed_lock_ids: vec![],
        access_codes: vec![],
        passcodes: vec![],
    }
}

pub(crate) fn open_temp() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("cache.sqlite")).unwrap();
    (dir, store)
}

#[test]
fn reopening_keeps_data_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    {
        let store = Store::open(&path).unwrap();
        let mut c = store.conn();
        assert_eq!(schema_version(&c).unwrap(), schema::VERSION);
        let s = sync_fixture(true, vec![lock_fixture("Front", "4B", "Oak")], "c1");
        apply_sync(&mut c, &s, &mut |_| {}).unwrap();
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
    let store = Store::open(&path).unwrap();
    let c = store.conn();
    assert_eq!(lock_count(&c).unwrap(), 1);
    assert_eq!(cursor(&c).unwrap().as_deref(), Some("c1"));
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    drop(store);
    assert!(matches!(Store::open(&path), Err(CacheError::TooNew(99))));
}

/// The schema as text, blanks folded, so the baseline and the steps can be compared.
fn schema_text(c: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = c
        .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|s| s.unwrap().split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_version_1_file_is_upgraded_to_the_baseline_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let fresh = {
        let store = Store::open(&path).unwrap();
        let c = store.conn();
        let fresh = schema_text(&c);
        // What a version-1 build made: the baseline without the tables of versions 2 and 3,
        // with the log queue and code reports of before 3.
        c.execute_batch(V1_TABLES).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        fresh
    };
    let store = Store::open(&path).unwrap();
    let c = store.conn();
    assert_eq!(schema_version(&c).unwrap(), schema::VERSION);
    assert_eq!(schema_text(&c), fresh);
}

const V1_TABLES: &str = "DROP TABLE ble_door_chains; DROP TABLE ble_contact_reports;
    DROP TABLE ble_log_pages;
    CREATE TABLE ble_log_queue (lock_id TEXT NOT NULL, lock_seq INTEGER NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (lock_id, lock_seq));
    CREATE TABLE ble_code_reports (lock_id TEXT NOT NULL, code_id TEXT NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (lock_id, code_id));";

#[test]
fn entries_converted_by_a_version_2_build_are_read_again_as_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    {
        let store = Store::open(&path).unwrap();
        let c = store.conn();
        c.execute_batch(
            "DROP TABLE ble_log_pages;
             DROP TABLE ble_door_chains;
             CREATE TABLE ble_door_updates (lock_id TEXT PRIMARY KEY, version INTEGER NOT NULL,
                 body BLOB NOT NULL);
             CREATE TABLE ble_log_queue (lock_id TEXT NOT NULL, lock_seq INTEGER NOT NULL,
                 body TEXT NOT NULL, PRIMARY KEY (lock_id, lock_seq));
             CREATE TABLE ble_code_reports (lock_id TEXT NOT NULL, code_id TEXT NOT NULL,
                 body TEXT NOT NULL, PRIMARY KEY (lock_id, code_id));",
        )
        .unwrap();
        for (lock, cursor) in [(a, 9), (b, 4)] {
            c.execute(
                "INSERT INTO ble_log_cursor (lock_id, last_seq) VALUES (?1, ?2)",
                rusqlite::params![lock.to_string(), cursor],
            )
            .unwrap();
        }
        for seq in [6, 7, 9] {
            c.execute(
                "INSERT INTO ble_log_queue (lock_id, lock_seq, body) VALUES (?1, ?2, '{}')",
                rusqlite::params![a.to_string(), seq],
            )
            .unwrap();
        }
        c.pragma_update(None, "user_version", 2).unwrap();
    }
    let store = Store::open(&path).unwrap();
    let c = store.conn();
    assert_eq!(schema_version(&c).unwrap(), schema::VERSION);
    // Lock a's queued entries (6 to 9) are read again; lock b had none waiting.
    assert_eq!(crate::cache::on_site::log_cursor(&c, a).unwrap(), 5);
    assert_eq!(crate::cache::on_site::log_cursor(&c, b).unwrap(), 4);
    assert_eq!(crate::cache::on_site::queued_log_count(&c).unwrap(), 0);
}

#[test]
fn a_door_update_cached_by_a_version_3_build_is_still_carried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let lock = uuid::Uuid::new_v4();
    {
        let store = Store::open(&path).unwrap();
        let c = store.conn();
        c.execute_batch(
            "DROP TABLE ble_door_chains;
             CREATE TABLE ble_door_updates (lock_id TEXT PRIMARY KEY, version INTEGER NOT NULL,
                 body BLOB NOT NULL);",
        )
        .unwrap();
        c.execute(
            "INSERT INTO ble_door_updates (lock_id, version, body) VALUES (?1, 42, x'0102')",
            [lock.to_string()],
        )
        .unwrap();
        c.pragma_update(None, "user_version", 3).unwrap();
    }
    let store = Store::open(&path).unwrap();
    let c = store.conn();
    assert_eq!(
        crate::cache::on_site::door_updates(&c, lock).unwrap(),
        vec![(42, vec![1, 2])]
    );
}

#[test]
fn full_sync_replaces_and_delta_merges() {
    let (_d, store) = open_temp();
    let mut c = store.conn();
    let a = lock_fixture("Alpha", "1A", "Oak");
    let b = lock_fixture("Beta", "2B", "Oak");
    apply_sync(
        &mut c,
        &sync_fixture(true, vec![a.clone(), b.clone()], "1"),
        &mut |_| {},
    )
    .unwrap();
    let mut a2 = a.clone();
    a2.name = "Alpha Renamed".into();
    let mut delta = sync_fixture(false, vec![a2.clone()], "2");
    delta.removed_lock_ids = vec![b.id];
    let applied = apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
    assert_eq!((applied.locks_upserted, applied.locks_removed), (1, 1));
    assert_eq!(list_locks(&c).unwrap(), vec![a2.clone()]);
    assert_eq!(search_locks(&mut c, "renamed", 10).unwrap(), vec![a2]);
    assert!(search_locks(&mut c, "Beta", 10).unwrap().is_empty());
    let c3 = lock_fixture("Gamma", "3C", "Elm");
    apply_sync(
        &mut c,
        &sync_fixture(true, vec![c3.clone()], "3"),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(list_locks(&c).unwrap(), vec![c3]);
    assert_eq!(cursor(&c).unwrap().as_deref(), Some("3"));
}

#[test]
fn search_matches_any_part_of_name_unit_or_property() {
    let (_d, store) = open_temp();
    let mut c = store.conn();
    let locks = vec![
        lock_fixture("Front Door", "Unit 4B", "Oakwood Apartments"),
        lock_fixture("Garage", "Unit 12", "Maple Court"),
        lock_fixture("Pool Gate", "Common", "Oakwood Apartments"),
    ];
    apply_sync(&mut c, &sync_fixture(true, locks, "1"), &mut |_| {}).unwrap();
    let mut names = |q: &str| -> Vec<String> {
        search_locks(&mut c, q, 50)
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect()
    };
    assert_eq!(names("wood"), ["Front Door", "Pool Gate"]);
    assert_eq!(names("OAKWOOD gate"), ["Pool Gate"]);
    assert_eq!(names("4B"), ["Front Door"]);
    assert_eq!(names("aple"), ["Garage"]);
    assert_eq!(names("ron"), ["Front Door"]);
    assert!(names("zzz").is_empty());
    // Query syntax and LIKE wildcards are taken literally.
    assert!(names("\"OR*").is_empty());
    assert!(names("%").is_empty());
    assert!(names("a_").is_empty());
    assert_eq!(names("  ").len(), 3);
}

#[test]
fn optimistic_edits_update_the_index_and_wipe_clears_all() {
    let (_d, store) = open_temp();
    let mut c = store.conn();
    let a = lock_fixture("Alpha", "1A", "Oak");
    apply_sync(
        &mut c,
        &sync_fixture(true, vec![a.clone()], "1"),
        &mut |_| {},
    )
    .unwrap();
    set_lock_name(&c, a.id, "Lobby").unwrap();
    set_lock_mode(&c, a.id, LockMode::Tour).unwrap();
    let got = lock(&c, a.id).unwrap();
    assert_eq!((got.name.as_str(), got.mode), ("Lobby", LockMode::Tour));
    assert_eq!(search_locks(&mut c, "lobby", 5).unwrap().len(), 1);
    assert!(search_locks(&mut c, "alpha", 5).unwrap().is_empty());
    wipe(&c).unwrap();
    assert_eq!(lock_count(&c).unwrap(), 0);
    assert!(me(&c).unwrap().is_none());
    assert!(cursor(&c).unwrap().is_none());
    assert!(matches!(lock(&c, a.id), Err(CacheError::NotFound)));
    assert!(search_locks(&mut c, "lobby", 5).unwrap().is_empty());
}

fn names(c: &mut Db, q: &str) -> Vec<String> {
    search_locks(c, q, 1000)
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect()
}

/// What a search must answer, by brute force over every cached lock: each word (as the
/// user typed it, lowercased) in one of the three parts, lowercased; in list order.
fn brute_force(c: &Connection, q: &str, limit: usize) -> Vec<Uuid> {
    let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    let mut hits: Vec<Lock> = list_locks(c)
        .unwrap()
        .into_iter()
        .filter(|l| {
            let fields = [&l.name, &l.unit_name, &l.property_name].map(|f| f.to_lowercase());
            words
                .iter()
                .all(|w| fields.iter().any(|f| f.contains(w.as_str())))
        })
        .collect();
    hits.sort_by_key(|l| (l.name.to_ascii_lowercase(), l.id.to_string()));
    hits.into_iter().take(limit).map(|l| l.id).collect()
}

fn searched(c: &mut Db, q: &str, limit: usize) -> Vec<Uuid> {
    search_locks(c, q, limit as u32)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect()
}

const QUERIES: [&str; 21] = [
    "door",
    "apartments",
    "DOOR 1",
    "oak",
    "lobby 7",
    "7c",
    "c",
    "9",
    "roof 71",
    "garage maple unit",
    "back door 70",
    "unit 3c birch",
    "zzz",
    "door zz",
    "ck d",
    "ÖLMÜHLE",
    "öl",
    "MÜH door",
    "TOR 1",
    "cellar",
    "annex 1",
];

fn check_all_queries(c: &mut Db, when: &str) {
    for q in QUERIES {
        for limit in [1, 5, 50, 1000] {
            assert_eq!(
                searched(c, q, limit),
                brute_force(c, q, limit),
                "{when}: {q:?} limit {limit}"
            );
        }
    }
}

fn many_locks(n: usize) -> Vec<Lock> {
    let places = ["Front", "back", "Garage", "Pool", "Lobby", "Roof"];
    let streets = ["Oakwood", "Maple", "Cedar", "Birch"];
    (0..n)
        .map(|i| {
            let place = if i % 50 == 0 {
                "Ölmühle Tor"
            } else {
                places[i % places.len()]
            };
            lock_fixture(
                &format!("{place} Door {i}"),
                &format!("Unit {}{}", i % 9 + 1, ["A", "B", "C"][i % 3]),
                &format!("{} Apartments", streets[(i / 7) % streets.len()]),
            )
        })
        .collect()
}

#[test]
fn search_answers_as_brute_force_does_after_every_kind_of_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    let store = Store::open(&path).unwrap();
    let mut c = store.conn();
    let locks = many_locks(720);
    apply_sync(&mut c, &sync_fixture(true, locks.clone(), "1"), &mut |_| {}).unwrap();
    check_all_queries(&mut c, "after a full sync");
    assert_eq!(brute_force(&c, "door", 1000).len(), 720);
    assert_eq!(brute_force(&c, "ÖLMÜHLE", 1000).len(), 15);
    assert!(brute_force(&c, "roof 71", 1000).len() < 20);

    // A small delta (patched in): a rename, a new lock, a removal.
    let mut renamed = locks[7].clone();
    renamed.name = "Cellar Hatch".into();
    let mut delta = sync_fixture(false, vec![renamed, lock_fixture("Annex 1", "U", "E")], "2");
    delta.removed_lock_ids = vec![locks[8].id, locks[0].id];
    apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
    check_all_queries(&mut c, "after a small delta");
    assert_eq!(names(&mut c, "cellar"), ["Cellar Hatch"]);

    // A large delta (more rows than a patch takes: read again whole).
    let mut big: Vec<Lock> = locks[10..10 + 3 * PATCH_ROWS].to_vec();
    for (i, l) in big.iter_mut().enumerate() {
        l.unit_name = format!("Annex {i}");
    }
    let mut delta = sync_fixture(false, big, "3");
    delta.removed_lock_ids = vec![locks[9].id];
    apply_sync(&mut c, &delta, &mut |_| {}).unwrap();
    check_all_queries(&mut c, "after a large delta");

    // Optimistic edits and the server's own lock, through the cache's functions.
    set_lock_name(&c, locks[11].id, "Door Cellar Two").unwrap();
    let mut l = locks[12].clone();
    l.property_name = "Cedar Annex".into();
    upsert_lock(&c, &l).unwrap();
    check_all_queries(&mut c, "after optimistic edits");

    // A write that went around the cache's functions, then a rolled-back one.
    c.execute(
        "UPDATE locks SET unit_name = 'Roof 71' WHERE id = ?1",
        [locks[13].id.to_string()],
    )
    .unwrap();
    {
        let tx = c.transaction().unwrap();
        set_lock_name(&tx, locks[14].id, "Ghost").unwrap();
        tx.execute(
            "DELETE FROM locks WHERE id = ?1",
            [locks[15].id.to_string()],
        )
        .unwrap();
    }
    check_all_queries(&mut c, "after a raw write and a rollback");
    assert!(names(&mut c, "ghost").is_empty());

    // Another connection (a second process) renames and removes.
    {
        let other = Store::open(&path).unwrap();
        let o = other.conn();
        set_lock_name(&o, locks[16].id, "Cellar Three").unwrap();
        o.execute(
            "DELETE FROM locks WHERE id = ?1",
            [locks[17].id.to_string()],
        )
        .unwrap();
    }
    check_all_queries(&mut c, "after another connection's writes");
    assert_eq!(names(&mut c, "cellar").len(), 3);

    // A reset: a full sync into the filled cache, then a wipe.
    let fresh = many_locks(60);
    apply_sync(&mut c, &sync_fixture(true, fresh, "4"), &mut |_| {}).unwrap();
    check_all_queries(&mut c, "after a full sync into a filled cache");
    assert!(names(&mut c, "cellar").is_empty());
    wipe(&c).unwrap();
    // The wipe deleted row by row, so the index heard of it: no stale rowid is left to
    // take a place on a page once new rows reuse the numbers.
    assert!(c.search_index().unwrap().is_empty());
    check_all_queries(&mut c, "after a wipe");
    assert!(names(&mut c, "door").is_empty());
}

#[test]
fn a_reopened_cache_is_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    {
        let store = Store::open(&path).unwrap();
        let mut c = store.conn();
        apply_sync(
            &mut c,
            &sync_fixture(true, many_locks(200), "1"),
            &mut |_| {},
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let mut c = store.conn();
    check_all_queries(&mut c, "after reopening");
}

#[test]
fn a_full_answer_holding_an_id_twice_is_searched_as_stored() {
    let (_d, store) = open_temp();
    let mut c = store.conn();
    let a = lock_fixture("Alpha", "1", "Oak");
    let mut a2 = a.clone();
    a2.name = "Omega".into();
    let b = lock_fixture("Beta", "2", "Elm");
    let s = sync_fixture(true, vec![a, b, a2], "1");
    apply_sync(&mut c, &s, &mut |_| {}).unwrap();
    assert_eq!(names(&mut c, "a"), ["Beta", "Omega"]);
    assert!(names(&mut c, "alpha").is_empty());
}

#[test]
fn search_folds_unicode_case_and_keeps_the_parts_apart() {
    let (_d, store) = open_temp();
    let mut c = store.conn();
    let locks = vec![
        lock_fixture("Ölmühle Tür", "ÄRGER 1", "Straße"),
        lock_fixture("Two\nLines", "Unit 2", "Elm"),
    ];
    apply_sync(&mut c, &sync_fixture(true, locks, "1"), &mut |_| {}).unwrap();
    assert_eq!(names(&mut c, "ÖLMÜHLE"), ["Ölmühle Tür"]);
    assert_eq!(names(&mut c, "tür"), ["Ölmühle Tür"]);
    assert_eq!(names(&mut c, "äR"), ["Ölmühle Tür"]);
    assert!(
        names(&mut c, "STRASSE").is_empty(),
        "folding is case only, not spelling"
    );
    assert_eq!(names(&mut c, "straße ärger"), ["Ölmühle Tür"]);
    assert_eq!(names(&mut c, "two lines"), ["Two\nLines"]);
    // A word never spans two parts (name / unit / property).
    assert!(names(&mut c, "türärger").is_empty());
    assert!(names(&mut c, "linesunit").is_empty());
    let two = search_locks(&mut c, "two", 1).unwrap()[0].id;
    set_lock_name(&c, two, "ÜBER").unwrap();
    assert_eq!(names(&mut c, "übe"), ["ÜBER"]);
    assert!(names(&mut c, "lines").is_empty());
}

#[test]
fn a_failed_sync_leaves_the_cache_as_it_was() {
    let (_d, store) = open_temp();
    let mut c = store.conn();
    let a = lock_fixture("Alpha", "1A", "Oak");
    apply_sync(
        &mut c,
        &sync_fixture(true, vec![a.clone()], "1"),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(search_locks(&mut c, "alpha", 5).unwrap(), vec![a.clone()]);
    // A trigger that fails halfway through the second sync.
    c.execute_batch(
        "CREATE TEMP TRIGGER boom BEFORE INSERT ON passcodes BEGIN SELECT RAISE(ABORT, 'boom'); END;",
    )
    .unwrap();
    let mut s = sync_fixture(true, vec![lock_fixture("Beta", "2", "Elm")], "2");
    s.passcodes = vec![Passcode {
        lock_id: a.id,
        lock_name: "Alpha".into(),
        code: "1234".into(),
        sync_state: access_domain::CodeSyncState::Installed,
        failure_reason: None,
    }];
    assert!(apply_sync(&mut c, &s, &mut |_| {}).is_err());
    assert_eq!(list_locks(&c).unwrap(), vec![a.clone()]);
    assert_eq!(cursor(&c).unwrap().as_deref(), Some("1"));
    // The search index still describes the rows that are there.
    assert_eq!(search_locks(&mut c, "alpha", 5).unwrap(), vec![a.clone()]);
    assert!(search_locks(&mut c, "beta", 5).unwrap().is_empty());
    set_lock_name(&c, a.id, "Lobby").unwrap();
    assert_eq!(search_locks(&mut c, "lobby", 5).unwrap().len(), 1);
}
