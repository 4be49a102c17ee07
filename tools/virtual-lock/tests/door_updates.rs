//! Door updates carried by any phone: applied as a whole or refused with the lock's state
//! unchanged, the clock moved forward only, and no phone's word on the clock or the
//! revocation list.

mod common;

use access_domain::{AccessCodeKind, CodeClass, LockMode, Permission};
use common::*;
use lock_protocol::command::{
    AccessCode, Actor, Command, Event, RefusalReason, Response, Revocation, Window,
};
use lock_protocol::credential::CLOCK_SKEW_SECS;
use lock_protocol::door::{MAX_ADD_REVOCATIONS, MAX_PUT_CODES, PlainUpdate};
use lock_protocol::session::{PhoneSession, SessionError};
use lock_protocol::wire::Rejection;
use uuid::Uuid;
use virtual_lock::{KeypadOutcome, LockState};

const NEW_MASTER: &str = "97531086";
const DAY: u64 = 86_400;

fn code(code_id: u64, digits: &str) -> AccessCode {
    AccessCode {
        code_id,
        digits: digits.into(),
        kind: AccessCodeKind::Permanent,
        window: None,
        class: CodeClass::Guest,
        owner: None,
    }
}

/// A whole state at `version`: vacant (guest codes open), a new master code and secret.
fn whole(b: &Bench, version: u64, codes: Vec<AccessCode>) -> PlainUpdate {
    let mut p = PlainUpdate::empty(b.lock_id, version, 0, T0);
    p.name = Some(format!("Door v{version}"));
    p.mode = Some(LockMode::Vacant);
    p.master_code = Some(NEW_MASTER.into());
    p.code_secret = Some([8; 32]);
    p.put_codes = codes;
    p
}

fn delta(b: &Bench, version: u64, base: u64) -> PlainUpdate {
    PlainUpdate::empty(b.lock_id, version, base, T0)
}

fn sealed(b: &Bench, plain: &PlainUpdate) -> Command {
    Command::ApplyUpdate(b.org.update(plain, &b.lock_public))
}

fn applied(version: u64) -> Response {
    Response::UpdateApplied { version }
}

fn refused(reason: RefusalReason) -> Response {
    Response::Refused { reason }
}

fn opens(b: &mut Bench, digits: &str) -> bool {
    matches!(b.lock.keypad(digits), KeypadOutcome::Opened { .. })
}

/// The state without what any authenticated session moves (its replay mark and the
/// radio's battery use): what a refused update must leave as it was.
fn settings(s: &LockState) -> LockState {
    let mut s = s.clone();
    s.replay.clear();
    s.battery = 0;
    s
}

#[test]
fn a_resident_carries_updates_and_the_keypad_follows_them() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    let update = sealed(
        &b,
        &whole(&b, 1, vec![code(1, "135790"), code(2, "246800")]),
    );
    assert_eq!(b.run(&resident, update), applied(1));
    let s = b.lock.state();
    assert_eq!(
        (s.name.as_str(), s.mode, s.door_version),
        ("Door v1", LockMode::Vacant, 1)
    );
    assert_eq!(
        s.pairing.as_ref().and_then(|p| p.code_secret),
        Some([8; 32])
    );
    let last = s.log.entries.back().unwrap();
    assert_eq!(last.event, Event::UpdateApplied { version: 1 });
    assert!(matches!(last.actor, Actor::User { serial, .. } if serial == resident.claims.serial));
    match b.run(&resident, Command::ReadStatus) {
        Response::Status(status) => assert_eq!(status.door_version, 1),
        other => panic!("{other:?}"),
    }
    assert!(opens(&mut b, "135790"));
    assert!(opens(&mut b, NEW_MASTER));
    assert_eq!(
        b.lock.keypad(MASTER),
        KeypadOutcome::Refused {
            reason: RefusalReason::WrongCode
        }
    );

    // A delta inside an open session at the smallest MTU: one code out, one in.
    let mut link = Link::new(23);
    b.lock.on_connect(23);
    let (mut session, _) = b.open(&mut link, &resident, &Command::ReadStatus).unwrap();
    let mut d = delta(&b, 2, 1);
    d.remove_codes = vec![1];
    d.put_codes = vec![code(3, "112233")];
    let update = sealed(&b, &d);
    assert_eq!(
        b.more(&mut link, &mut session, &update).unwrap(),
        applied(2)
    );
    b.lock.on_disconnect();
    assert_eq!(
        b.lock.keypad("135790"),
        KeypadOutcome::Refused {
            reason: RefusalReason::WrongCode
        }
    );
    assert!(opens(&mut b, "112233"));
    assert!(opens(&mut b, "246800"));
    assert_eq!(b.lock.state().name, "Door v1");
}

#[test]
fn replayed_and_older_updates_are_refused_with_the_state_unchanged() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    let first = sealed(&b, &whole(&b, 1, vec![code(1, "135790")]));
    let mut d = delta(&b, 2, 1);
    d.put_codes = vec![code(2, "246800")];
    let second = sealed(&b, &d);
    assert_eq!(b.run(&resident, first.clone()), applied(1));
    assert_eq!(b.run(&resident, second.clone()), applied(2));
    let before = b.lock.state().clone();
    let staff = b.staff(&Permission::ALL);
    for (carrier, update) in [(&resident, &second), (&staff, &second), (&resident, &first)] {
        assert_eq!(
            b.run(carrier, update.clone()),
            refused(RefusalReason::StaleUpdate)
        );
        assert_eq!(settings(b.lock.state()), settings(&before));
    }
}

#[test]
fn foreign_forged_and_tampered_updates_are_refused_with_the_state_unchanged() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    let before = b.lock.state().clone();
    let plain = whole(&b, 1, vec![code(1, "135790")]);
    let mut other_lock = plain.clone();
    other_lock.lock_id = Uuid::new_v4();
    let (_, other_key) = lock_protocol::session::generate_static_key().unwrap();
    let Command::ApplyUpdate(genuine) = sealed(&b, &plain) else {
        unreachable!()
    };
    let mut tampered = genuine.clone();
    // A byte of the last sealed secret (the code secret ends the body).
    let at = tampered.len() - 64 - 3;
    tampered[at] ^= 0x10;
    for update in [
        sealed(&b, &other_lock),
        Command::ApplyUpdate(Org::new().update(&plain, &b.lock_public)),
        Command::ApplyUpdate(b.org.update(&plain, &other_key)),
        Command::ApplyUpdate(tampered),
        Command::ApplyUpdate(genuine[..genuine.len() - 1].to_vec()),
        Command::ApplyUpdate(Vec::new()),
    ] {
        assert_eq!(b.run(&resident, update), refused(RefusalReason::BadUpdate));
        assert_eq!(settings(b.lock.state()), settings(&before));
    }
    assert_eq!(b.run(&resident, Command::ApplyUpdate(genuine)), applied(1));
}

#[test]
fn a_delta_on_another_version_is_refused_until_the_missing_one_arrives() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    assert_eq!(
        b.run(&resident, sealed(&b, &whole(&b, 1, vec![]))),
        applied(1)
    );
    let mut second = delta(&b, 2, 1);
    second.put_codes = vec![code(2, "246800")];
    let mut third = delta(&b, 3, 2);
    third.mode = Some(LockMode::Maintenance);
    let (second, third) = (sealed(&b, &second), sealed(&b, &third));
    let before = b.lock.state().clone();
    assert_eq!(
        b.run(&resident, third.clone()),
        refused(RefusalReason::UpdateBaseMismatch)
    );
    assert_eq!(settings(b.lock.state()), settings(&before));
    assert_eq!(b.run(&resident, second), applied(2));
    assert_eq!(b.run(&resident, third), applied(3));
    assert_eq!(b.lock.state().mode, LockMode::Maintenance);
}

#[test]
fn digits_that_collide_refuse_the_whole_update() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    let admin = b.staff(&Permission::ALL);
    assert_eq!(
        b.run(
            &resident,
            sealed(&b, &whole(&b, 1, vec![code(1, "135790")]))
        ),
        applied(1)
    );
    // A code installed over the old staff command, which the platform did not count on.
    assert_eq!(
        b.run(&admin, Command::AddAccessCode(code(50, "555555"))),
        Response::CodeInstalled { code_id: 50 }
    );
    let before = b.lock.state().clone();
    let mut clash_with_code = delta(&b, 2, 1);
    clash_with_code.name = Some("Renamed".into());
    clash_with_code.put_codes = vec![code(2, "424242"), code(3, "555555")];
    let mut clash_with_master = delta(&b, 2, 1);
    clash_with_master.master_code = Some("135790".into());
    let mut clash_inside = delta(&b, 2, 1);
    clash_inside.put_codes = vec![code(2, "424242"), code(3, "424242")];
    for update in [clash_with_code, clash_with_master, clash_inside] {
        assert_eq!(
            b.run(&resident, sealed(&b, &update)),
            refused(RefusalReason::DuplicateCode)
        );
        // Nothing changes but the log, which says why once for the version.
        let mut after = settings(b.lock.state());
        after.log = before.log.clone();
        assert_eq!(after, settings(&before));
    }
    let refusals: Vec<Event> = b
        .lock
        .state()
        .log
        .entries
        .iter()
        .filter(|e| matches!(e.event, Event::UpdateRefused { .. }))
        .map(|e| e.event.clone())
        .collect();
    assert_eq!(
        refusals,
        [Event::UpdateRefused {
            version: 2,
            reason: RefusalReason::DuplicateCode,
            code_id: Some(3)
        }],
        "logged once for version 2, naming the code whose digits the lock holds"
    );
    // A whole state replaces the codes, the stray one included, so it resolves the clash.
    let fixed = whole(&b, 2, vec![code(1, "135790"), code(3, "555555")]);
    assert_eq!(b.run(&resident, sealed(&b, &fixed)), applied(2));
    let codes: Vec<u64> = b.lock.state().codes.keys().copied().collect();
    assert_eq!(codes, vec![1, 3]);
}

#[test]
fn a_used_one_time_code_does_not_come_back_with_its_id() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    let once = AccessCode {
        kind: AccessCodeKind::OneTime,
        window: Some(Window {
            starts_at: T0,
            ends_at: T0 + DAY,
        }),
        ..code(7, "777777")
    };
    let update = sealed(&b, &whole(&b, 1, vec![once.clone()]));
    assert_eq!(b.run(&resident, update), applied(1));
    assert!(opens(&mut b, "777777"));
    let mut again = delta(&b, 2, 1);
    again.put_codes = vec![once.clone(), code(8, "888888")];
    assert_eq!(b.run(&resident, sealed(&b, &again)), applied(2));
    assert!(!b.lock.state().codes.contains_key(&7));
    assert!(b.lock.state().codes.contains_key(&8));
    let update = sealed(&b, &whole(&b, 3, vec![once]));
    assert_eq!(b.run(&resident, update), applied(3));
    assert!(b.lock.state().codes.is_empty());
    assert!(!opens(&mut b, "777777"));
}

#[test]
fn an_update_moves_a_late_clock_forward_and_never_back() {
    let mut b = Bench::paired_bare();
    // The lock's clock fell a month behind: every fresh credential is "not yet valid".
    b.clock.set(T0 - 30 * DAY);
    let resident = b.resident();
    assert_eq!(
        b.run(&resident, Command::Unlock),
        refused(RefusalReason::NotYetValid)
    );
    // The update still gets in (its signature is its authority) and sets the clock.
    let mut first = whole(&b, 1, vec![]);
    first.mode = Some(LockMode::Resident);
    first.issued_at = T0 + 60;
    assert_eq!(b.run(&resident, sealed(&b, &first)), applied(1));
    assert_eq!(b.lock.now(), T0 + 60);
    assert_eq!(b.run(&resident, Command::Unlock), Response::Unlocked);
    let last = b.lock.state().log.entries.iter().rev().nth(1).unwrap();
    assert_eq!(
        (last.at, &last.event),
        (T0 + 60, &Event::UpdateApplied { version: 1 })
    );

    // Carried for a week: its time is in the past, and the clock stays.
    let mut late = delta(&b, 2, 1);
    late.issued_at = T0 - 7 * DAY;
    assert_eq!(b.run(&resident, sealed(&b, &late)), applied(2));
    assert_eq!(b.lock.now(), T0 + 60);
    // Within the skew it stays too.
    let mut near = delta(&b, 3, 2);
    near.issued_at = T0 + 60 + CLOCK_SKEW_SECS;
    assert_eq!(b.run(&resident, sealed(&b, &near)), applied(3));
    assert_eq!(b.lock.now(), T0 + 60);

    // An expired credential still carries an update, but opens nothing; a revoked one
    // carries nothing.
    b.clock.advance(3 * DAY);
    assert_eq!(
        b.run(&resident, Command::Unlock),
        refused(RefusalReason::Expired)
    );
    assert_eq!(b.run(&resident, sealed(&b, &delta(&b, 4, 3))), applied(4));
    let now = b.lock.now();
    let staff = b
        .org
        .credential(b.lock_id, access_domain::UserType::TeamMember, &[], now);
    let mut revoke = delta(&b, 5, 4);
    revoke.add_revocations = vec![Revocation {
        serial: resident.claims.serial,
        expires_at: now + DAY,
    }];
    assert_eq!(b.run(&staff, sealed(&b, &revoke)), applied(5));
    assert_eq!(
        b.run(&resident, sealed(&b, &delta(&b, 6, 5))),
        refused(RefusalReason::Revoked)
    );
}

#[test]
fn a_recorded_update_session_of_an_expired_credential_replays_nothing() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    b.clock.advance(3 * DAY);
    let update = sealed(&b, &whole(&b, 1, vec![]));
    let mut link = Link::new(185);
    b.lock.on_connect(185);
    assert_eq!(b.open(&mut link, &resident, &update).unwrap().1, applied(1));
    b.lock.on_disconnect();
    // Someone else's session later the same day, then the recording again.
    b.clock.advance(3_600);
    let now = b.lock.now();
    let staff = b
        .org
        .credential(b.lock_id, access_domain::UserType::TeamMember, &[], now);
    assert_eq!(b.run(&staff, Command::Lock), Response::Locked);
    let before = b.lock.state().clone();
    b.lock.on_connect(185);
    Link::raw(&mut b.lock, &link.written, 185);
    b.lock.on_disconnect();
    // Refused as a replay, before anything is saved (not even the radio's battery use).
    assert_eq!(b.lock.state(), &before);
}

/// What `SetTime(to)` and `PushRevocations(list)` encoded as when locks took them (command
/// indexes 9 and 10): the slots are reserved now and decode into nothing.
fn retired_set_time(to: u64) -> Vec<u8> {
    [vec![9], postcard::to_allocvec(&to).unwrap()].concat()
}

fn retired_push_revocations(list: &[Revocation]) -> Vec<u8> {
    [vec![10], postcard::to_allocvec(list).unwrap()].concat()
}

#[test]
fn a_staff_credential_with_every_right_moves_neither_the_clock_nor_the_revocations() {
    let mut b = Bench::paired_bare();
    let staff = b.staff(&Permission::ALL);
    let victim = b.staff(&[]);
    let before = b.lock.state().clone();
    let far = T0 + 365 * DAY;
    let revoke_victim = [Revocation {
        serial: victim.claims.serial,
        expires_at: victim.claims.not_after,
    }];
    let bodies = [
        retired_set_time(far),
        retired_set_time(T0 - 365 * DAY),
        retired_set_time(T0 + 60),
        retired_push_revocations(&revoke_victim),
        retired_push_revocations(&[]),
    ];
    for body in &bodies {
        let just_before = b.lock.state().clone();
        // As the first message of a session: the lock cannot open it and rejects it.
        let mut link = Link::new(185);
        b.lock.on_connect(185);
        let counter = b.next_counter();
        let (request, pending) =
            PhoneSession::start_body(&b.lock_public, &staff.bytes, body, counter).unwrap();
        let answer = link.exchange(&mut b.lock, &request);
        assert!(
            matches!(
                pending.open_response(&answer),
                Err(SessionError::Rejected(Rejection::SessionFailed))
            ),
            "{body:?}"
        );
        b.lock.on_disconnect();
        assert_eq!(b.lock.state(), &just_before, "{body:?}");
        // Inside an open session: the lock ends the session and changes nothing.
        let mut link = Link::new(185);
        b.lock.on_connect(185);
        let (mut session, status) = b.open(&mut link, &staff, &Command::ReadStatus).unwrap();
        assert!(matches!(status, Response::Status(_)), "{status:?}");
        let answer = link.exchange(&mut b.lock, &session.request_body(body));
        assert!(
            matches!(
                session.open_response(&answer),
                Err(SessionError::Rejected(Rejection::SessionFailed))
            ),
            "{body:?}"
        );
        b.lock.on_disconnect();
        assert_eq!(b.lock.now(), T0);
        assert_eq!(settings(b.lock.state()), settings(&before), "{body:?}");
    }
    assert!(b.lock.state().revoked.is_empty());
    assert_eq!(b.run(&victim, Command::Unlock), Response::Unlocked);
    // No command the credential may send moves the clock or the list either.
    for command in [
        Command::Unlock,
        Command::Lock,
        Command::ReadStatus,
        Command::ReadLog { since: 0, max: 10 },
        Command::ReadMasterCode,
        Command::SetMode(LockMode::Vacant),
        Command::Rename("Front".into()),
        Command::AddAccessCode(code(1, "135790")),
        Command::RemoveAccessCode { code_id: 1 },
    ] {
        b.run(&staff, command);
        assert_eq!(b.lock.now(), T0);
        assert!(b.lock.state().revoked.is_empty());
    }
    // Only the platform's signed update does: it revokes, and moves the clock forward.
    let mut update = whole(&b, 1, vec![]);
    update.add_revocations = revoke_victim.to_vec();
    update.issued_at = T0 + DAY;
    assert_eq!(b.run(&staff, sealed(&b, &update)), applied(1));
    assert_eq!(b.lock.now(), T0 + DAY);
    assert_eq!(
        b.run(&victim, Command::Unlock),
        refused(RefusalReason::Revoked)
    );
}

#[test]
fn a_failed_save_leaves_the_old_version_and_a_restart_finds_it() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    assert_eq!(
        b.run(
            &resident,
            sealed(&b, &whole(&b, 1, vec![code(1, "135790")]))
        ),
        applied(1)
    );
    let before = b.lock.state().clone();
    let mut next = whole(&b, 2, vec![code(2, "246800")]);
    next.name = Some("Door v2".into());
    let next = sealed(&b, &next);
    b.lock.fail_saves_after(Some(0));
    assert_eq!(
        b.run(&resident, next.clone()),
        refused(RefusalReason::StorageFailed)
    );
    assert_eq!(b.lock.state(), &before);
    // Power cut: the file holds version 1, whole.
    b.lock = open_lock(&b.state_path(), &b.clock);
    assert_eq!(b.lock.state(), &before);
    assert_eq!(b.run(&resident, next), applied(2));
    b.lock = open_lock(&b.state_path(), &b.clock);
    let s = b.lock.state();
    assert_eq!((s.door_version, s.name.as_str()), (2, "Door v2"));
    assert_eq!(s.codes.keys().copied().collect::<Vec<_>>(), vec![2]);
}

#[test]
fn the_largest_update_travels_in_one_session_at_the_smallest_mtu() {
    let mut b = Bench::paired_bare();
    let resident = b.resident();
    let mut p = whole(&b, 1, vec![]);
    p.name = Some("N".repeat(lock_protocol::command::MAX_NAME_LEN));
    p.put_codes = (0..MAX_PUT_CODES as u64)
        .map(|i| AccessCode {
            owner: Some(Uuid::new_v4()),
            kind: AccessCodeKind::Window,
            window: Some(Window {
                starts_at: T0,
                ends_at: u64::MAX,
            }),
            ..code(u64::MAX - i, &format!("{:012}", i))
        })
        .collect();
    p.add_revocations = (0..MAX_ADD_REVOCATIONS as u64)
        .map(|i| Revocation {
            serial: u64::MAX - i,
            expires_at: T0 + DAY,
        })
        .collect();
    let update = sealed(&b, &p);
    let mut link = Link::new(23);
    b.lock.on_connect(23);
    let (_, r) = b.open(&mut link, &resident, &update).unwrap();
    b.lock.on_disconnect();
    assert_eq!(r, applied(1));
    let s = b.lock.state();
    assert_eq!(
        (s.codes.len(), s.revoked.len()),
        (MAX_PUT_CODES, MAX_ADD_REVOCATIONS)
    );
    assert!(opens(&mut b, "000000000042"));
}

fn read_log(b: &mut Bench, who: &Credential) -> lock_protocol::report::LogPage {
    match b.run(who, Command::ReadLog { since: 0, max: 100 }) {
        Response::Log { page, .. } => page,
        other => panic!("{other:?}"),
    }
}

fn receipt_of(b: &mut Bench, who: &Credential) -> (lock_protocol::command::Status, [u8; 32]) {
    match b.run(who, Command::ReadStatus) {
        Response::Status(s) => {
            let r = s.receipt;
            (s, r)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_report_key_comes_in_an_update_survives_a_codes_reset_and_goes_with_a_factory_reset() {
    use lock_protocol::door::receipt_matches;
    use lock_protocol::report::PageError;
    let key = [0x5A; 32];
    let mut b = Bench::paired_bare();
    let admin = b.staff(&Permission::ALL);
    // Before any update: pages and receipts carry zeros, which no key accepts.
    let page = read_log(&mut b, &admin);
    assert!(page.is_unsigned());
    assert_eq!(page.verify(&key, b.lock_id), Err(PageError::Unsigned));
    let (_, r) = receipt_of(&mut b, &admin);
    assert_eq!(r, [0; 32]);

    let mut p = whole(&b, 1, vec![code(1, "135790")]);
    p.report_key = Some(key);
    assert_eq!(b.run(&admin, sealed(&b, &p)), applied(1));
    assert_eq!(b.lock.state().report_key, Some(key));
    let page = read_log(&mut b, &admin);
    let entries = page.verify(&key, b.lock_id).unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.event == Event::UpdateApplied { version: 1 })
    );
    assert_eq!(page.verify(&key, Uuid::new_v4()), Err(PageError::BadMac));
    let (s, r) = receipt_of(&mut b, &admin);
    assert!(receipt_matches(
        &key,
        b.lock_id,
        1,
        s.battery,
        s.clock,
        &s.firmware,
        &r
    ));

    // A later update without a key keeps it; so do a codes reset and a restart.
    let mut d = delta(&b, 2, 1);
    d.mode = Some(LockMode::Resident);
    assert_eq!(b.run(&admin, sealed(&b, &d)), applied(2));
    let mut reset = whole(&b, 3, vec![]);
    reset.master_code = Some("11223344".into());
    reset.code_secret = Some([9; 32]);
    assert_eq!(b.run(&admin, sealed(&b, &reset)), applied(3));
    let reopened = open_lock(&b.state_path(), &b.clock);
    assert_eq!(reopened.state().report_key, Some(key));
    assert!(read_log(&mut b, &admin).verify(&key, b.lock_id).is_ok());

    // A factory reset forgets it.
    assert_eq!(b.run(&admin, Command::FactoryReset), Response::FactoryReset);
    assert_eq!(b.lock.state().report_key, None);
    let reopened = open_lock(&b.state_path(), &b.clock);
    assert_eq!(reopened.state().report_key, None);
}
