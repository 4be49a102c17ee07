//! The state file: reopening gives the identical lock, writes are atomic, and the lock
//! holds 1,000+ codes.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use access_domain::{AccessCodeKind, CodeClass, LockMode, Permission, UserType};
use common::*;
use lock_protocol::command::{AccessCode, Command, Event, Response};
use lock_protocol::door::PlainUpdate;
use virtual_lock::clock::ManualClock;
use virtual_lock::{FactorySettings, KeypadOutcome, LockError, VirtualLock};

#[test]
fn reopening_from_the_file_gives_the_identical_lock() {
    let mut b = Bench::paired();
    let admin = b.staff(&Permission::ALL);
    b.run(&admin, Command::SetMode(LockMode::Maintenance));
    b.run(&admin, Command::Rename("Pool gate".into()));
    b.lock.keypad("0000");
    let before = b.lock.state().clone();
    let public = b.lock.static_public();
    // Reopen as after a kill: nothing but the file survives.
    let reopened = open_lock(&b.state_path(), &b.clock);
    b.lock = reopened;
    assert_eq!(b.lock.state(), &before);
    assert_eq!(b.lock.static_public(), public);
    // The reopened lock still talks to the same phone, and remembers replay marks.
    assert_eq!(b.run(&admin, Command::Unlock), Response::Unlocked);
    assert!(!b.state_path().with_extension("tmp").exists());
}

#[test]
fn a_fresh_lock_prints_a_random_code_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lock.state");
    let a = VirtualLock::open(&path, FactorySettings::new("VL-9")).unwrap();
    let code = a.state().identity.pairing_code.clone();
    assert_eq!(code.len(), 10);
    assert!(code.bytes().all(|c| c.is_ascii_digit()));
    drop(a);
    let again = VirtualLock::open(&path, FactorySettings::new("ignored")).unwrap();
    assert_eq!(again.state().identity.pairing_code, code);
    assert_eq!(again.state().identity.factory_serial, "VL-9");
    let other =
        VirtualLock::open(&dir.path().join("b.state"), FactorySettings::new("VL-9")).unwrap();
    assert_ne!(other.static_public(), again.static_public());
}

#[test]
fn a_corrupt_file_is_an_error_not_a_fresh_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lock.state");
    std::fs::write(&path, b"VLK\x01garbage").unwrap();
    assert!(matches!(
        VirtualLock::open(&path, FactorySettings::new("x")),
        Err(LockError::Corrupt(_))
    ));
    std::fs::write(&path, b"not a lock").unwrap();
    assert!(matches!(
        VirtualLock::open(&path, FactorySettings::new("x")),
        Err(LockError::Corrupt(_))
    ));
}

#[test]
fn factory_reset_unpairs_and_changes_the_identity_key() {
    let mut b = Bench::paired();
    let admin = b.staff(&Permission::ALL);
    let old_public = b.lock.static_public();
    assert_eq!(b.run(&admin, Command::FactoryReset), Response::FactoryReset);
    let s = b.lock.state();
    assert!(s.pairing.is_none() && s.codes.is_empty() && s.master_code.is_none());
    assert_ne!(b.lock.static_public(), old_public);
    assert!(!b.lock.advertisement().paired);
    let reopened = open_lock(&b.state_path(), &b.clock);
    assert_eq!(reopened.static_public(), b.lock.static_public());
    // Pairable again, by whoever holds the printed code.
    let mut link = Link::new(23);
    pair(&mut b.lock, &mut link, CODE, install(&b.org, b.lock_id)).unwrap();
}

#[test]
fn holds_a_thousand_codes_across_a_reopen() {
    let mut b = Bench::paired();
    let admin = b.staff(&Permission::ALL);
    b.run(&admin, Command::SetMode(LockMode::Vacant));
    let mut link = Link::new(185);
    let (mut session, _) = b.open(&mut link, &admin, &Command::ReadStatus).unwrap();
    for id in 0..1_000u64 {
        let code = AccessCode {
            code_id: id,
            digits: format!("{:06}", 100_000 + id),
            kind: AccessCodeKind::Permanent,
            window: None,
            class: CodeClass::Guest,
            owner: None,
        };
        let r = b
            .more(&mut link, &mut session, &Command::AddAccessCode(code))
            .unwrap();
        assert_eq!(r, Response::CodeInstalled { code_id: id });
    }
    assert_eq!(b.lock.state().codes.len(), 1_000);
    assert!(matches!(
        b.lock.keypad("100999"),
        KeypadOutcome::Opened { .. }
    ));
    // The log ring's capacity is covered by the state unit tests (10,000 saves of the
    // whole file would dominate this suite); here it survives a reopen.
    let log = &b.lock.state().log;
    assert_eq!(log.since(0, 100).first().map(|e| e.seq), Some(1));
    let head = log.head;
    let reopened = open_lock(&b.state_path(), &b.clock);
    assert_eq!(reopened.state().log.head, head);
    assert_eq!(reopened.state().codes.len(), 1_000);
}

/// The path of this crate's example `name`, built if needed.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples").join(name))
        .unwrap();
    if !path.exists() {
        // `cargo test` builds examples, but not when filtered to one test target.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = Process::new(cargo)
            .args(["build", "-p", "virtual-lock", "--example", name])
            .status()
            .unwrap();
        assert!(built.success());
    }
    assert!(path.exists(), "{}", path.display());
    path
}

/// Runs `program ARGS` until it has printed `lines` lines, kills it with SIGKILL (mid-write
/// more often than not) and returns the last number it printed.
fn kill_after(program: &Path, args: &[&Path], lines: usize) -> u64 {
    let mut child = Process::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut last = 0u64;
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        last = line.trim().parse().unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    last
}

#[test]
fn the_state_file_survives_kill_9_at_any_moment() {
    let churn = example("keypad_churn");
    let b = Bench::paired();
    let path = b.state_path();
    drop(b.lock);
    for (round, lines) in [7usize, 31, 113].into_iter().enumerate() {
        let last_saved = kill_after(&churn, &[&path, Path::new(MASTER)], lines);
        let reopened = open_lock(&path, &b.clock);
        let head = reopened.state().log.head;
        assert!(
            head >= last_saved,
            "round {round}: head {head} < {last_saved}"
        );
        assert_eq!(reopened.state().master_code.as_deref(), Some(MASTER));
    }
}

#[test]
fn the_lock_saves_before_it_acts_and_does_nothing_when_it_cannot_save() {
    use lock_protocol::command::RefusalReason;
    use lock_protocol::session::PhoneSession;
    let storage_failed = RefusalReason::StorageFailed;
    let mut b = Bench::paired();
    let staff = b.staff(&[]);
    // An unlock that opened the door, recorded by a listener on the radio.
    let mut link = Link::new(185);
    b.lock.on_connect(185);
    let counter = b.next_counter();
    let (request, pending) =
        PhoneSession::start(&b.lock_public, &staff.bytes, &Command::Unlock, counter).unwrap();
    let answer = link.exchange(&mut b.lock, &request);
    assert_eq!(
        pending.open_response(&answer).unwrap().1,
        Response::Unlocked
    );
    b.lock.on_disconnect();

    // From now on saving fails (a worn-out flash): nothing opens and nothing changes.
    b.lock.fail_saves_after(Some(0));
    let before = b.lock.state().clone();
    assert_eq!(
        b.run(&staff, Command::Unlock),
        Response::Refused {
            reason: storage_failed
        }
    );
    assert_eq!(
        b.lock.keypad(MASTER),
        KeypadOutcome::Refused {
            reason: storage_failed
        }
    );
    assert_eq!(b.lock.state(), &before);

    // Power cut, restart from the file: the door's opening was saved with its replay mark,
    // so the recorded message opens nothing.
    b.lock = open_lock(&b.state_path(), &b.clock);
    assert_eq!(b.lock.state(), &before);
    b.lock.on_connect(185);
    Link::raw(&mut b.lock, &link.written, 185);
    b.lock.on_disconnect();
    assert_eq!(b.lock.state().replay, before.replay);
    let (request, pending) =
        PhoneSession::start(&b.lock_public, &staff.bytes, &Command::Unlock, counter).unwrap();
    b.lock.on_connect(185);
    let answer = Link::new(185).exchange(&mut b.lock, &request);
    assert_eq!(
        pending.open_response(&answer).unwrap().1,
        Response::Refused {
            reason: RefusalReason::Replay
        }
    );
    b.lock.on_disconnect();
    // With its storage back, the lock acts again.
    assert_eq!(b.run(&staff, Command::Unlock), Response::Unlocked);
}

/// The code version `v` of the churned updates holds.
fn churn_code(v: u64) -> AccessCode {
    AccessCode {
        code_id: v,
        digits: format!("{:06}", 100_000 + v),
        kind: AccessCodeKind::Permanent,
        window: None,
        class: CodeClass::Guest,
        owner: None,
    }
}

#[test]
fn door_updates_survive_kill_9_at_any_moment() {
    const UPDATES: u64 = 400;
    let churn = example("update_churn");
    let mut b = Bench::paired();
    let path = b.state_path();
    let updates = tempfile::tempdir().unwrap();
    // The churn runs on the system clock; an update needs no current credential anyway.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let resident = b.org.credential(b.lock_id, UserType::Resident, &[], now);
    std::fs::write(updates.path().join("credential"), &resident.bytes).unwrap();
    // Each version names the lock after itself and holds exactly its own code, so a
    // half-applied update would show.
    for v in 1..=UPDATES {
        let mut p = PlainUpdate::empty(b.lock_id, v, v - 1, 0);
        if v == 1 {
            p.mode = Some(LockMode::Vacant);
            p.master_code = Some(MASTER.into());
            p.code_secret = Some([7; 32]);
        } else {
            p.remove_codes = vec![v - 1];
        }
        p.name = Some(format!("Door v{v}"));
        p.put_codes = vec![churn_code(v)];
        let bytes = b.org.update(&p, &b.lock_public);
        std::fs::write(updates.path().join(v.to_string()), bytes).unwrap();
    }
    drop(b.lock);
    let mut held = 0;
    for (round, lines) in [7usize, 31, 113].into_iter().enumerate() {
        let last_saved = kill_after(&churn, &[&path, updates.path()], lines);
        let reopened = open_lock(&path, &b.clock);
        let s = reopened.state();
        let v = s.door_version;
        assert!(
            v >= last_saved && v >= held,
            "round {round}: {v} < {last_saved}"
        );
        held = v;
        assert_eq!(s.name, format!("Door v{v}"), "round {round}");
        assert_eq!(
            s.codes.values().cloned().collect::<Vec<_>>(),
            vec![churn_code(v)],
            "round {round}"
        );
        let logged = s.log.entries.iter().rev().find_map(|e| match e.event {
            Event::UpdateApplied { version } => Some(version),
            _ => None,
        });
        assert_eq!(logged, Some(v), "round {round}");
    }
    assert!(held > 0);
}

#[test]
fn a_state_file_of_layout_2_still_opens_without_a_report_key() {
    // Layout 2 is layout 1 followed by the door version (postcard varint).
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let v1 = std::fs::read(fixtures.join("state-v1.bin")).unwrap();
    let mut v2 = b"VLK\x02".to_vec();
    v2.extend_from_slice(&v1[4..]);
    v2.push(7);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lock.state");
    std::fs::write(&path, &v2).unwrap();
    let clock = ManualClock::new(T0);
    let lock = open_lock(&path, &clock);
    let s = lock.state();
    assert_eq!((s.door_version, s.report_key), (7, None));
    assert_eq!(s.master_code.as_deref(), Some(MASTER));
}

#[test]
fn a_state_file_of_the_previous_layout_still_opens() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lock.state");
    std::fs::copy(fixtures.join("state-v1.bin"), &path).unwrap();
    let old = std::fs::read(&path).unwrap();
    assert_eq!(&old[..4], b"VLK\x01");
    // Written by the lock before door updates: paired at T0 in vacant mode, two codes (the
    // one-time one used), a revocation, the keypad's last wrong entry.
    let clock = ManualClock::new(T0);
    let mut lock = open_lock(&path, &clock);
    let s = lock.state().clone();
    assert_eq!(s.door_version, 0);
    // Its code secret came with pairing then, and stays.
    assert!(s.pairing.as_ref().unwrap().code_secret.is_some());
    assert_eq!(
        (s.mode, s.master_code.as_deref()),
        (LockMode::Vacant, Some(MASTER))
    );
    assert_eq!(s.codes.keys().copied().collect::<Vec<_>>(), vec![11]);
    assert!(s.used_codes.contains_key(&12));
    assert!(s.revoked.contains_key(&999));
    assert_eq!(s.keypad_guard.failures, 1);
    assert!(matches!(
        lock.keypad("135790"),
        KeypadOutcome::Opened { .. }
    ));
    // Saved in the new layout from the first change, and it reopens the same.
    let now = std::fs::read(&path).unwrap();
    assert_eq!(&now[..4], b"VLK\x03");
    assert_eq!(s.report_key, None);
    let state = lock.state().clone();
    drop(lock);
    assert_eq!(open_lock(&path, &clock).state(), &state);

    // The organization that paired it signs the lock's first door update.
    let pkcs8 = std::fs::read(fixtures.join("state-v1.org.pk8")).unwrap();
    let lock_id = state.pairing.as_ref().unwrap().lock_id;
    let mut b = Bench::fresh();
    b.org = Org::from_pkcs8(&pkcs8);
    b.lock_id = lock_id;
    b.clock = clock;
    b.lock = open_lock(&path, &b.clock);
    b.lock_public = b.lock.static_public();
    b.dir = dir;
    let mut p = PlainUpdate::empty(lock_id, 1, 0, T0);
    p.name = Some("Migrated".into());
    p.mode = Some(LockMode::Vacant);
    p.master_code = Some(MASTER.into());
    p.code_secret = Some([1; 32]);
    p.put_codes = vec![churn_code(5)];
    let update = Command::ApplyUpdate(b.org.update(&p, &b.lock_public));
    // A serial above those whose counters the old file remembers.
    let claims = b.resident().claims;
    let resident = b.org.sign(lock_protocol::credential::Claims {
        serial: 1_000,
        ..claims
    });
    assert_eq!(
        b.run(&resident, update),
        Response::UpdateApplied { version: 1 }
    );
    assert!(matches!(
        b.lock.keypad("100005"),
        KeypadOutcome::Opened { .. }
    ));
}
