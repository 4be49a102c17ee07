//! Offline codes on the keypad: computed by the "server" with the code secret the
//! lock got at pairing, checked by the lock with no list, against its clock, mode table,
//! revocation list and used one-time codes; and a scripted guesser against the lockout.

mod common;

use access_domain::{AccessCodeKind, CodeClass, LockMode, Permission};
use common::{Bench, MASTER, T0};
use lock_protocol::command::{Actor, Command, Event, RefusalReason, Response, Revocation, Via};
use lock_protocol::door::PlainUpdate;
use lock_protocol::offline_code::{self, Grant, HOUR, TOLERANCE_SECS};
use virtual_lock::{
    KEYPAD_FORGIVE_SECS, KEYPAD_LOCKOUT_MAX_SECS, KeypadOutcome, keypad_lockout_secs,
};

/// The code secret `common::install` puts in the lock.
const SECRET: [u8; 32] = [7; 32];

fn grant(start: u64, hours: u64, kind: AccessCodeKind, class: CodeClass, nonce: u8) -> Grant {
    Grant::for_window(start, start + hours * HOUR, kind, class, nonce).unwrap()
}

fn opened(o: KeypadOutcome) -> bool {
    matches!(o, KeypadOutcome::Opened { .. })
}

fn refused(reason: RefusalReason) -> KeypadOutcome {
    KeypadOutcome::Refused { reason }
}

fn set_mode(b: &mut Bench, mode: LockMode) {
    let staff = b.staff(&[Permission::ChangeModes]);
    assert_eq!(
        b.run(&staff, Command::SetMode(mode)),
        Response::ModeSet(mode)
    );
}

#[test]
fn a_window_code_opens_inside_its_window_only_and_in_the_right_mode() {
    let mut b = Bench::paired(); // tour mode
    let start = T0 + 2 * HOUR;
    let tour = grant(start, 2, AccessCodeKind::Window, CodeClass::Tour, 0);
    let code = offline_code::issue(&SECRET, b.lock_id, &tour);
    let end = tour.ends_at();

    // One minute before the tolerance: refused, and counted like a guess (a genuine code
    // that does not open now gives no free try).
    b.clock.set(start - TOLERANCE_SECS - 60);
    assert_eq!(
        b.lock.keypad(&code),
        refused(RefusalReason::CodeNotValidNow)
    );
    assert_eq!(b.lock.state().keypad_guard.failures, 1);
    b.clock.set(start - TOLERANCE_SECS);
    assert!(opened(b.lock.keypad(&code)));
    b.clock.set(start + HOUR);
    assert!(opened(b.lock.keypad(&code)));
    b.clock.set(end + TOLERANCE_SECS - 1);
    assert!(opened(b.lock.keypad(&code)));
    b.clock.set(end + TOLERANCE_SECS + 60);
    assert_eq!(
        b.lock.keypad(&code),
        refused(RefusalReason::CodeNotValidNow)
    );

    // A tour code does not open outside tour mode; a guest code opens in vacant only.
    let guest = grant(start, 2, AccessCodeKind::Window, CodeClass::Guest, 0);
    let guest_code = offline_code::issue(&SECRET, b.lock_id, &guest);
    assert_ne!(guest_code, code);
    b.clock.set(start + 30 * 60);
    assert_eq!(
        b.lock.keypad(&guest_code),
        refused(RefusalReason::ModeForbids)
    );
    for (mode, tour_opens, guest_opens) in [
        (LockMode::Vacant, false, true),
        (LockMode::Resident, false, false),
        (LockMode::Maintenance, false, true),
        (LockMode::Tour, true, false),
    ] {
        set_mode(&mut b, mode);
        // Staff's master code clears the count the refusals here add up.
        assert!(opened(b.lock.keypad(MASTER)));
        assert_eq!(opened(b.lock.keypad(&code)), tour_opens, "{mode:?} tour");
        assert_eq!(
            opened(b.lock.keypad(&guest_code)),
            guest_opens,
            "{mode:?} guest"
        );
    }
}

#[test]
fn a_one_time_code_opens_once_and_each_use_names_the_grant() {
    let mut b = Bench::paired();
    let start = T0;
    let g = grant(start, 24, AccessCodeKind::OneTime, CodeClass::Tour, 3);
    let code = offline_code::issue(&SECRET, b.lock_id, &g);
    b.clock.set(start + 10 * 60);
    let KeypadOutcome::Opened { actor, via } = b.lock.keypad(&code) else {
        panic!("the one-time code did not open");
    };
    assert_eq!(via, Via::Keypad);
    let Actor::Code {
        code_id,
        kind,
        class,
        owner,
    } = actor
    else {
        panic!("{actor:?}")
    };
    // The server maps the logged id back to the grant (and so to its label and issuer).
    assert_eq!(Grant::from_reference(code_id), Some(g));
    assert_eq!(
        (kind, class, owner),
        (AccessCodeKind::OneTime, CodeClass::Tour, None)
    );
    let last = b.lock.state().log.entries.back().unwrap().clone();
    assert_eq!((last.actor, last.event), (actor, Event::Unlocked));

    b.clock.advance(60);
    assert_eq!(
        b.lock.keypad(&code),
        refused(RefusalReason::CodeNotValidNow)
    );
    // The lock remembers it across a restart.
    let path = b.state_path();
    b.lock = common::open_lock(&path, &b.clock);
    assert_eq!(
        b.lock.keypad(&code),
        refused(RefusalReason::CodeNotValidNow)
    );
    // Another one-time grant for the same window (another nonce) still opens.
    let other = grant(start, 24, AccessCodeKind::OneTime, CodeClass::Tour, 4);
    assert!(opened(
        b.lock
            .keypad(&offline_code::issue(&SECRET, b.lock_id, &other))
    ));
}

#[test]
fn a_code_for_lock_a_fails_on_lock_b() {
    let mut a = Bench::paired();
    let mut lock_b = Bench::paired();
    let g = grant(T0, 4, AccessCodeKind::Window, CodeClass::Tour, 0);
    let code_a = offline_code::issue(&SECRET, a.lock_id, &g);
    a.clock.set(T0 + 60);
    lock_b.clock.set(T0 + 60);
    assert!(opened(a.lock.keypad(&code_a)));
    // Same secret bytes even (the test installs [7; 32] in both): the lock id is under the MAC.
    assert_eq!(
        lock_b.lock.keypad(&code_a),
        refused(RefusalReason::WrongCode)
    );
    assert_eq!(lock_b.lock.state().keypad_guard.failures, 1);
}

#[test]
fn after_reset_codes_old_codes_fail_and_new_ones_use_the_new_secret() {
    let mut b = Bench::paired();
    let g = grant(T0, 8, AccessCodeKind::Window, CodeClass::Tour, 0);
    let old = offline_code::issue(&SECRET, b.lock_id, &g);
    b.clock.set(T0 + 60);
    assert!(opened(b.lock.keypad(&old)));
    let new_secret = [42u8; 32];
    let mut reset = PlainUpdate::empty(b.lock_id, 2, 0, T0);
    reset.name = Some(b.lock.state().name.clone());
    reset.mode = Some(b.lock.state().mode);
    reset.master_code = Some("13572468".into());
    reset.code_secret = Some(new_secret);
    let r = b.apply(&reset);
    assert!(matches!(r, Response::UpdateApplied { .. }), "{r:?}");
    assert_eq!(b.lock.keypad(&old), refused(RefusalReason::WrongCode));
    let new = offline_code::issue(&new_secret, b.lock_id, &g);
    assert_ne!(new, old);
    assert!(opened(b.lock.keypad(&new)));
}

#[test]
fn a_revocation_in_an_update_stops_a_code_before_its_window_ends() {
    let mut b = Bench::paired();
    let g = grant(T0, 72, AccessCodeKind::Window, CodeClass::Tour, 1);
    let code = offline_code::issue(&SECRET, b.lock_id, &g);
    b.clock.set(T0 + HOUR);
    assert!(opened(b.lock.keypad(&code)));
    let held = b.lock.state().door_version;
    let mut update = PlainUpdate::empty(b.lock_id, held + 1, held, T0);
    update.add_revocations = vec![Revocation {
        serial: g.reference(),
        expires_at: g.ends_at(),
    }];
    let r = b.apply(&update);
    assert!(matches!(r, Response::UpdateApplied { .. }), "{r:?}");
    assert_eq!(b.lock.keypad(&code), refused(RefusalReason::Revoked));
    // Other grants are untouched; the revoked code counted like a guess.
    let other = grant(T0, 72, AccessCodeKind::Window, CodeClass::Tour, 2);
    assert!(opened(
        b.lock
            .keypad(&offline_code::issue(&SECRET, b.lock_id, &other))
    ));
    assert_eq!(b.lock.state().keypad_guard.failures, 1);
}

/// A scripted guesser types random 14-digit codes whenever the keypad takes input, for a
/// simulated week. It hits the lockout after 5 tries, then gets about one try an hour; it
/// never opens (each try has a 10^-7 chance), and every try and refusal is in the log.
#[test]
fn a_scripted_guesser_hits_the_lockout() {
    let mut b = Bench::paired();
    let rng = ring::rand::SystemRandom::new();
    let mut tries = 0u64;
    let mut locked_out_answers = 0u64;
    let mut first_lockout_after = None;
    let week = 7 * 24 * HOUR;
    let started = T0;
    while b.lock.now() < started + week {
        let mut bytes = [0u8; 14];
        ring::rand::SecureRandom::fill(&rng, &mut bytes).unwrap();
        let guess: String = bytes.iter().map(|x| char::from(b'0' + x % 10)).collect();
        match b.lock.keypad(&guess) {
            KeypadOutcome::Opened { .. } => panic!("a random guess opened the door"),
            KeypadOutcome::Refused { reason } => {
                assert_eq!(reason, RefusalReason::WrongCode);
                tries += 1;
                b.clock.advance(5); // typing time
            }
            KeypadOutcome::LockedOut { retry_after_secs } => {
                first_lockout_after.get_or_insert(tries);
                locked_out_answers += 1;
                assert!(retry_after_secs <= KEYPAD_LOCKOUT_MAX_SECS);
                b.clock.advance(retry_after_secs);
            }
        }
    }
    assert_eq!(first_lockout_after, Some(5));
    // 5 free, 6 while the wait doubles from 1 min to 32 min, then 1 an hour.
    let expected = 5 + 6 + (week - (60 + 120 + 240 + 480 + 960 + 1920)) / 3_600;
    assert!(
        (expected - 2..=expected + 2).contains(&tries),
        "{tries} tries in a week, expected about {expected}"
    );
    assert_eq!(keypad_lockout_secs(20), KEYPAD_LOCKOUT_MAX_SECS);
    let log = &b.lock.state().log.entries;
    let refusals = log
        .iter()
        .filter(|e| matches!(e.event, Event::KeypadRefused { .. }))
        .count() as u64;
    let lockouts = log
        .iter()
        .filter(|e| matches!(e.event, Event::KeypadLockedOut { .. }))
        .count() as u64;
    assert_eq!((refusals, lockouts), (tries, locked_out_answers));
    // At that rate, the expected time to hit one of 10^7 MAC values is 10^7 hours.
    let years = 10f64.powi(7) / (24.0 * 365.25);
    assert!(years > 1_000.0, "{years}");
}

/// A visitor with a valid code cannot use it to clear the count between guesses: only the
/// master code clears it; otherwise quiet time forgives one entry an hour.
#[test]
fn a_valid_code_does_not_reset_the_lockout_of_a_guesser() {
    let mut b = Bench::paired();
    let g = grant(T0, 24, AccessCodeKind::Window, CodeClass::Tour, 0);
    let code = offline_code::issue(&SECRET, b.lock_id, &g);
    b.clock.set(T0 + 60);
    for _ in 0..4 {
        assert_eq!(
            b.lock.keypad("00000000000000"),
            refused(RefusalReason::WrongCode)
        );
    }
    assert!(opened(b.lock.keypad(&code)));
    assert_eq!(
        b.lock.keypad("00000000000000"),
        refused(RefusalReason::WrongCode)
    );
    assert_eq!(
        b.lock.keypad(&code),
        KeypadOutcome::LockedOut {
            retry_after_secs: 60
        }
    );
    // An hour after the last wrong entry a success still leaves the count; the hour
    // forgave one entry of it.
    b.clock.advance(KEYPAD_FORGIVE_SECS);
    assert!(opened(b.lock.keypad(&code)));
    let guard = b.lock.state().keypad_guard;
    assert_eq!(guard.failures, 5);
    assert_eq!(guard.keypad_failures_at(b.lock.now()), 4);
}
