//! The whole protocol between a phone (lock-protocol's phone API) and a virtual lock over
//! an in-memory link: pairing, every command, the keypad and persistence.

mod common;

use access_domain::{AccessCodeKind, CodeClass, LockMode, Permission};
use common::*;
use lock_protocol::command::{
    AccessCode, Actor, Bolt, Command, Event, RefusalReason, Response, Via, Window,
};
use lock_protocol::credential::UserClass;
use lock_protocol::door::PlainUpdate;
use lock_protocol::pairing::PairingError;
use lock_protocol::wire::Rejection;
use uuid::Uuid;
use virtual_lock::KeypadOutcome;

fn code(code_id: u64, digits: &str, kind: AccessCodeKind, class: CodeClass) -> AccessCode {
    AccessCode {
        code_id,
        digits: digits.into(),
        kind,
        window: (kind != AccessCodeKind::Permanent).then_some(Window {
            starts_at: T0,
            ends_at: T0 + 24 * 3600,
        }),
        class,
        owner: None,
    }
}

#[test]
fn pairing_takes_two_round_trips_at_every_mtu_and_installs_no_secret() {
    for mtu in [23, 24, 100, 185, 512] {
        let mut b = Bench::fresh();
        assert!(!b.lock.advertisement().paired);
        let mut link = Link::new(mtu);
        b.lock.on_connect(mtu);
        let result = pair(
            &mut b.lock,
            &mut link,
            "12-3456-7890",
            install(&b.org, b.lock_id),
        )
        .unwrap();
        assert_eq!(link.round_trips, 2, "mtu {mtu}");
        assert_eq!(result.lock_static_public, b.lock.static_public());
        assert_eq!(result.factory_serial, "VL-TEST-0001");
        let s = b.lock.state();
        let p = s.pairing.as_ref().unwrap();
        assert_eq!(
            (p.lock_id, &p.org_public_key, p.code_secret),
            (b.lock_id, &b.org.public(), None)
        );
        // The phone that pairs carries no secret: they come sealed in the first update.
        assert_eq!(s.master_code, None);
        assert_eq!(
            (s.name.as_str(), s.mode),
            ("Unit 4B front door", LockMode::Tour)
        );
        assert_eq!(b.lock.now(), T0);
        let ad = b.lock.advertisement();
        assert!(ad.paired);
        assert_eq!(&ad.lock_tag, &b.lock_id.as_bytes()[..8]);
    }
}

#[test]
fn a_wrong_code_is_refused_and_a_paired_lock_refuses_a_second_pairing() {
    let mut b = Bench::fresh();
    let before = b.lock.state().clone();
    let mut link = Link::new(23);
    let err = pair(
        &mut b.lock,
        &mut link,
        "1234567891",
        install(&b.org, b.lock_id),
    );
    assert_eq!(err, Err(PairingError::WrongCode));
    let after = b.lock.state();
    assert!(after.pairing.is_none() && after.master_code.is_none());
    // Only the attempt counter moved.
    let mut expected = before.clone();
    expected.pairing_guard.failures = 1;
    expected.pairing_guard.locked_until = T0;
    assert_eq!(after, &expected);

    // The right code still works, then a second pairing (even with the right code) fails.
    let first = pair(&mut b.lock, &mut link, CODE, install(&b.org, b.lock_id)).unwrap();
    let paired = b.lock.state().clone();
    let other_org = Org::new();
    let err = pair(
        &mut b.lock,
        &mut link,
        CODE,
        install(&other_org, Uuid::new_v4()),
    );
    assert_eq!(err, Err(PairingError::Rejected(Rejection::AlreadyPaired)));
    assert_eq!(b.lock.state(), &paired);
    assert_eq!(first.lock_static_public, b.lock.static_public());
}

#[test]
fn pairing_guesses_are_limited_with_a_growing_delay() {
    let mut b = Bench::fresh();
    let mut link = Link::new(185);
    for _ in 0..3 {
        let r = pair(
            &mut b.lock,
            &mut link,
            "9999999999",
            install(&b.org, b.lock_id),
        );
        assert_eq!(r, Err(PairingError::WrongCode));
    }
    // Even the right code waits now.
    let r = pair(&mut b.lock, &mut link, CODE, install(&b.org, b.lock_id));
    assert_eq!(
        r,
        Err(PairingError::Rejected(Rejection::PairingLockedOut {
            retry_after_secs: 30
        }))
    );
    b.clock.advance(30);
    let r = pair(
        &mut b.lock,
        &mut link,
        "9999999999",
        install(&b.org, b.lock_id),
    );
    assert_eq!(r, Err(PairingError::WrongCode));
    b.clock.advance(59);
    let r = pair(&mut b.lock, &mut link, CODE, install(&b.org, b.lock_id));
    assert!(matches!(
        r,
        Err(PairingError::Rejected(Rejection::PairingLockedOut { .. }))
    ));
    b.clock.advance(1);
    pair(&mut b.lock, &mut link, CODE, install(&b.org, b.lock_id)).unwrap();
    assert_eq!(b.lock.state().pairing_guard.failures, 0);
}

#[test]
fn staff_and_residents_unlock_in_one_round_trip_per_the_mode_table() {
    for mtu in [23, 24, 100, 185, 512] {
        let mut b = Bench::paired();
        let staff = b.staff(&[]);
        let resident = b.resident();
        let mut link = Link::new(mtu);
        b.lock.on_connect(mtu);
        // Tour mode: staff open, residents do not.
        let (_, r) = b.open(&mut link, &staff, &Command::Unlock).unwrap();
        assert_eq!(r, Response::Unlocked);
        assert_eq!(
            link.round_trips, 1,
            "one round trip from connected to unlocked"
        );
        assert_eq!(b.lock.state().bolt, Bolt::Unlocked);
        let (_, r) = b.open(&mut link, &resident, &Command::Unlock).unwrap();
        assert_eq!(
            r,
            Response::Refused {
                reason: RefusalReason::ModeForbids
            }
        );
        // Resident mode: the other way round.
        let changer = b.staff(&[Permission::ChangeModes]);
        assert_eq!(
            b.run(&changer, Command::SetMode(LockMode::Resident)),
            Response::ModeSet(LockMode::Resident)
        );
        assert_eq!(b.run(&resident, Command::Unlock), Response::Unlocked);
        assert_eq!(
            b.run(&staff, Command::Unlock),
            Response::Refused {
                reason: RefusalReason::ModeForbids
            }
        );
        let last = b.lock.state().log.entries.back().unwrap().clone();
        assert_eq!(last.event, Event::Unlocked);
        assert_eq!(
            last.actor,
            Actor::User {
                user_id: resident.claims.user_id,
                class: UserClass::Resident,
                serial: resident.claims.serial
            }
        );
        assert_eq!(last.via, Via::Ble);
    }
}

#[test]
fn a_session_carries_further_commands_and_each_checks_its_right() {
    let mut b = Bench::paired_bare();
    let agent = b.staff(&[Permission::RenameLocks, Permission::ViewLogs]);
    let mut link = Link::new(100);
    let (mut s, r) = b.open(&mut link, &agent, &Command::ReadStatus).unwrap();
    let Response::Status(status) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (status.mode, status.battery, status.clock),
        (LockMode::Tour, 100, T0)
    );
    assert_eq!(
        b.more(&mut link, &mut s, &Command::Rename("Lobby".into()))
            .unwrap(),
        Response::Renamed("Lobby".into())
    );
    assert_eq!(b.lock.state().name, "Lobby");
    assert_eq!(
        b.more(&mut link, &mut s, &Command::Rename(String::new()))
            .unwrap(),
        Response::Refused {
            reason: RefusalReason::InvalidArgument
        }
    );
    for forbidden in [
        Command::SetMode(LockMode::Vacant),
        Command::ReadMasterCode,
        Command::FactoryReset,
        Command::RemoveAccessCode { code_id: 1 },
    ] {
        assert_eq!(
            b.more(&mut link, &mut s, &forbidden).unwrap(),
            Response::Refused {
                reason: RefusalReason::NotPermitted
            },
            "{forbidden:?}"
        );
    }
    assert_eq!(link.round_trips, 7);
}

#[test]
fn mode_change_decides_which_keypad_codes_open() {
    let mut b = Bench::paired();
    let admin = b.staff(&Permission::ALL);
    let staff_user = Uuid::new_v4();
    let resident_user = Uuid::new_v4();
    let mut staff_code = code(10, "1111", AccessCodeKind::Permanent, CodeClass::Staff);
    staff_code.owner = Some(staff_user);
    let mut resident_code = code(11, "2222", AccessCodeKind::Permanent, CodeClass::Resident);
    resident_code.owner = Some(resident_user);
    let tour = code(12, "3333", AccessCodeKind::Window, CodeClass::Tour);
    for c in [&staff_code, &resident_code, &tour] {
        assert_eq!(
            b.run(&admin, Command::AddAccessCode(c.clone())),
            Response::CodeInstalled { code_id: c.code_id }
        );
    }
    // Tour mode.
    assert!(matches!(
        b.lock.keypad("1111"),
        KeypadOutcome::Opened { .. }
    ));
    assert!(matches!(
        b.lock.keypad("3333"),
        KeypadOutcome::Opened { .. }
    ));
    assert_eq!(
        b.lock.keypad("2222"),
        KeypadOutcome::Refused {
            reason: RefusalReason::ModeForbids
        }
    );
    // Tour -> Resident.
    assert_eq!(
        b.run(&admin, Command::SetMode(LockMode::Resident)),
        Response::ModeSet(LockMode::Resident)
    );
    let before = b.lock.state().clone();
    assert_eq!(
        b.lock.keypad("1111"),
        KeypadOutcome::Refused {
            reason: RefusalReason::ModeForbids
        }
    );
    assert_eq!(
        b.lock.keypad("3333"),
        KeypadOutcome::Refused {
            reason: RefusalReason::ModeForbids
        }
    );
    assert_eq!(b.lock.state().bolt, before.bolt);
    assert_eq!(
        b.lock.keypad("2222"),
        KeypadOutcome::Opened {
            actor: Actor::Code {
                code_id: 11,
                kind: AccessCodeKind::Permanent,
                class: CodeClass::Resident,
                owner: Some(resident_user)
            },
            via: Via::Keypad
        }
    );
    assert_eq!(
        b.lock.keypad(MASTER),
        KeypadOutcome::Opened {
            actor: Actor::MasterCode,
            via: Via::MasterCode
        }
    );
    // The refusal names whose code it was.
    let refused = b.lock.state().log.entries.iter().find(|e| {
        matches!(
            e.event,
            Event::KeypadRefused {
                reason: RefusalReason::ModeForbids
            }
        ) && e.at >= T0
            && matches!(e.actor, Actor::Code { owner: Some(o), .. } if o == staff_user)
    });
    assert!(refused.is_some());
}

#[test]
fn a_one_time_code_opens_once_and_reset_codes_clears_everything() {
    let mut b = Bench::paired();
    let admin = b.staff(&Permission::ALL);
    b.run(&admin, Command::SetMode(LockMode::Vacant));
    let once = code(20, "808080", AccessCodeKind::OneTime, CodeClass::Guest);
    assert_eq!(
        b.run(&admin, Command::AddAccessCode(once.clone())),
        Response::CodeInstalled { code_id: 20 }
    );
    // Installing it again (a retried sync) confirms it again without a second copy.
    assert_eq!(
        b.run(&admin, Command::AddAccessCode(once.clone())),
        Response::CodeInstalled { code_id: 20 }
    );
    assert!(matches!(
        b.lock.keypad("808080"),
        KeypadOutcome::Opened { .. }
    ));
    assert_eq!(
        b.lock.keypad("808080"),
        KeypadOutcome::Refused {
            reason: RefusalReason::WrongCode
        }
    );
    assert!(b.lock.state().used_codes.contains_key(&20));
    assert_eq!(
        b.run(&admin, Command::AddAccessCode(once)),
        Response::Refused {
            reason: RefusalReason::CodeNotValidNow
        }
    );
    // A window code outside its window.
    let mut later = code(21, "909090", AccessCodeKind::Window, CodeClass::Guest);
    later.window = Some(Window {
        starts_at: T0 + 3600,
        ends_at: T0 + 7200,
    });
    b.run(&admin, Command::AddAccessCode(later));
    assert_eq!(
        b.lock.keypad("909090"),
        KeypadOutcome::Refused {
            reason: RefusalReason::CodeNotValidNow
        }
    );
    b.clock.advance(3600);
    assert!(matches!(
        b.lock.keypad("909090"),
        KeypadOutcome::Opened { .. }
    ));
    // Duplicates of the master code are refused.
    assert_eq!(
        b.run(
            &admin,
            Command::AddAccessCode(code(
                22,
                MASTER,
                AccessCodeKind::Permanent,
                CodeClass::Guest
            ))
        ),
        Response::Refused {
            reason: RefusalReason::DuplicateCode
        }
    );
    // Reset: new master, no codes.
    let mut reset = PlainUpdate::empty(b.lock_id, 2, 0, T0);
    reset.name = Some(b.lock.state().name.clone());
    reset.mode = Some(b.lock.state().mode);
    reset.master_code = Some("11223344".into());
    reset.code_secret = Some([8; 32]);
    assert_eq!(b.apply(&reset), Response::UpdateApplied { version: 2 });
    assert_eq!(
        b.lock.keypad("909090"),
        KeypadOutcome::Refused {
            reason: RefusalReason::WrongCode
        }
    );
    assert_eq!(
        b.lock.keypad(MASTER),
        KeypadOutcome::Refused {
            reason: RefusalReason::WrongCode
        }
    );
    assert!(matches!(
        b.lock.keypad("11223344"),
        KeypadOutcome::Opened {
            actor: Actor::MasterCode,
            ..
        }
    ));
    assert_eq!(
        b.lock.state().pairing.as_ref().unwrap().code_secret,
        Some([8; 32])
    );
    assert_eq!(
        b.run(&admin, Command::ReadMasterCode),
        Response::MasterCode("11223344".into())
    );
    assert_eq!(
        b.run(&admin, Command::RemoveAccessCode { code_id: 99 }),
        Response::CodeRemoved { code_id: 99 }
    );
}

#[test]
fn the_keypad_locks_out_guessers_with_a_growing_delay() {
    let mut b = Bench::paired();
    for _ in 0..5 {
        assert_eq!(
            b.lock.keypad("0000"),
            KeypadOutcome::Refused {
                reason: RefusalReason::WrongCode
            }
        );
    }
    assert_eq!(
        b.lock.keypad(MASTER),
        KeypadOutcome::LockedOut {
            retry_after_secs: 60
        }
    );
    b.clock.advance(60);
    assert_eq!(
        b.lock.keypad("0000"),
        KeypadOutcome::Refused {
            reason: RefusalReason::WrongCode
        }
    );
    assert_eq!(
        b.lock.keypad(MASTER),
        KeypadOutcome::LockedOut {
            retry_after_secs: 120
        }
    );
    b.clock.advance(120);
    assert!(matches!(
        b.lock.keypad(MASTER),
        KeypadOutcome::Opened { .. }
    ));
    assert_eq!(b.lock.state().keypad_guard.failures, 0);
    let attempts = b
        .lock
        .state()
        .log
        .entries
        .iter()
        .filter(|e| e.actor == Actor::UnknownCode)
        .count();
    assert_eq!(attempts, 8, "every wrong and locked-out entry is logged");
}

#[test]
fn the_log_names_who_and_how_and_reads_in_batches() {
    let mut b = Bench::paired();
    let admin = b.staff(&Permission::ALL);
    let resident = b.resident();
    b.run(&admin, Command::SetMode(LockMode::Maintenance));
    b.run(&resident, Command::Unlock);
    b.run(&admin, Command::Lock);
    b.run(
        &admin,
        Command::AddAccessCode(code(5, "5555", AccessCodeKind::Permanent, CodeClass::Guest)),
    );
    b.lock.keypad("5555");
    b.lock.keypad(MASTER);
    b.lock.keypad("0000");
    let mut link = Link::new(23);
    let (mut s, r) = b
        .open(&mut link, &admin, &Command::ReadLog { since: 0, max: 3 })
        .unwrap();
    let Response::Log { page, head } = r else {
        panic!("{r:?}")
    };
    let entries = page.entries().unwrap();
    assert_eq!(head, 9);
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        (entries[0].actor, entries[0].event.clone()),
        (Actor::Installer, Event::Paired)
    );
    // Seq 2 is the platform's first update, carried at pairing.
    assert_eq!(entries[1].event, Event::UpdateApplied { version: 1 });
    let Response::Log { page, .. } = b
        .more(&mut link, &mut s, &Command::ReadLog { since: 3, max: 100 })
        .unwrap()
    else {
        panic!()
    };
    let entries = page.entries().unwrap();
    let who: Vec<_> = entries.iter().map(|e| (e.seq, e.actor, e.via)).collect();
    let admin_actor = Actor::User {
        user_id: admin.claims.user_id,
        class: UserClass::Staff,
        serial: admin.claims.serial,
    };
    let resident_actor = Actor::User {
        user_id: resident.claims.user_id,
        class: UserClass::Resident,
        serial: resident.claims.serial,
    };
    let guest_code = Actor::Code {
        code_id: 5,
        kind: AccessCodeKind::Permanent,
        class: CodeClass::Guest,
        owner: None,
    };
    assert_eq!(
        who,
        vec![
            (4, resident_actor, Via::Ble),
            (5, admin_actor, Via::Ble),
            (6, admin_actor, Via::Ble),
            (7, guest_code, Via::Keypad),
            (8, Actor::MasterCode, Via::MasterCode),
            (9, Actor::UnknownCode, Via::Keypad),
        ]
    );
    // Seq 4 is the resident's unlock, with who they are.
    let all = b.lock.state().log.since(0, 100);
    assert_eq!(all[3].event, Event::Unlocked);
    assert_eq!(all[3].actor, resident_actor);
    assert_eq!(all[5].event, Event::CodeAdded { code_id: 5 });
    assert_eq!(
        all[6].actor,
        Actor::Code {
            code_id: 5,
            kind: AccessCodeKind::Permanent,
            class: CodeClass::Guest,
            owner: None
        }
    );
    assert_eq!(
        (all[7].actor, all[7].via),
        (Actor::MasterCode, Via::MasterCode)
    );
    assert_eq!(
        (all[8].actor, all[8].via),
        (Actor::UnknownCode, Via::Keypad)
    );
}
