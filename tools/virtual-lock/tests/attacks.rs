//! Attacks on the protocol, each refused with the lock's state unchanged.

mod common;

use access_domain::{LockMode, Permission};
use common::*;
use lock_protocol::command::{Command, RefusalReason, Response, Revocation};
use lock_protocol::credential::Claims;
use lock_protocol::door::PlainUpdate;
use lock_protocol::frame::MAX_MESSAGE;
use lock_protocol::session::{PhoneSession, SessionError};
use lock_protocol::wire::{self, LockMessage, Rejection};
use proptest::prelude::*;
use uuid::Uuid;
use virtual_lock::LockState;

/// The state without the bookkeeping a legitimate, authenticated session moves: the replay
/// mark of its serial and the radio's battery use.
fn settings(s: &LockState) -> LockState {
    let mut s = s.clone();
    s.replay.clear();
    s.battery = 0;
    s
}

fn rejection(answer: &[u8]) -> Rejection {
    match wire::decode::<LockMessage>(answer).unwrap() {
        LockMessage::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_replayed_first_message_is_refused_in_a_later_session() {
    let mut b = Bench::paired();
    let staff = b.staff(&[]);
    let (request, pending) =
        PhoneSession::start(&b.lock_public, &staff.bytes, &Command::Unlock, 1_000).unwrap();
    let mut link = Link::new(23);
    let answer = link.exchange(&mut b.lock, &request);
    assert_eq!(
        pending.open_response(&answer).unwrap().1,
        Response::Unlocked
    );
    b.lock.on_disconnect();
    let other = b.staff(&[]);
    b.run(&other, Command::Lock);
    let before = b.lock.state().clone();
    // The attacker replays the recorded fragments on a new connection.
    b.lock.on_connect(23);
    let answer = Link::raw(&mut b.lock, &link.written, 23);
    // The lock answers with an authenticated refusal the attacker cannot even read.
    assert!(matches!(
        wire::decode::<LockMessage>(&answer).unwrap(),
        LockMessage::SessionAccept { .. }
    ));
    assert_eq!(b.lock.state(), &before);
    // The genuine phone (which can read it) sees why.
    let (request, pending) =
        PhoneSession::start(&b.lock_public, &staff.bytes, &Command::Unlock, 1_000).unwrap();
    let answer = link.exchange(&mut b.lock, &request);
    assert_eq!(
        pending.open_response(&answer).unwrap().1,
        Response::Refused {
            reason: RefusalReason::Replay
        }
    );
    assert_eq!(b.lock.state(), &before);
}

#[test]
fn replayed_tampered_and_foreign_frames_inside_a_session_are_refused() {
    let mut b = Bench::paired();
    let admin = b.staff(&Permission::ALL);
    let mut link = Link::new(23);
    let (mut session, _) = b.open(&mut link, &admin, &Command::ReadStatus).unwrap();
    let first_rename = link.written.len();
    assert_eq!(
        b.more(&mut link, &mut session, &Command::Rename("A".into()))
            .unwrap(),
        Response::Renamed("A".into())
    );
    let before = b.lock.state().clone();

    // Replay of the rename request in the same session.
    let answer = Link::raw(&mut b.lock, &link.written[first_rename..], 23);
    assert_eq!(rejection(&answer), Rejection::SessionFailed);
    assert_eq!(b.lock.state(), &before);

    // Tampered: every byte of a fresh, genuine request flipped in turn.
    let mut link = Link::new(512);
    let (mut session, _) = b.open(&mut link, &admin, &Command::ReadStatus).unwrap();
    let before = b.lock.state().clone();
    let request = session.request(&Command::SetMode(LockMode::Vacant));
    for i in 1..request.len() {
        let mut bad = request.clone();
        bad[i] ^= 0x04;
        let answer = link.exchange(&mut b.lock, &bad);
        assert!(matches!(
            rejection(&answer),
            Rejection::SessionFailed | Rejection::Malformed | Rejection::UnexpectedMessage
        ));
        assert_eq!(b.lock.state(), &before, "byte {i}");
    }

    // A frame of another session: sessions A and B, B's request sent inside A's link.
    let mut link_a = Link::new(185);
    let (_, _) = b.open(&mut link_a, &admin, &Command::ReadStatus).unwrap();
    let mut other = copy_of(&b);
    let mut link_b = Link::new(185);
    let (mut session_b, _) = other
        .open(&mut link_b, &admin, &Command::ReadStatus)
        .unwrap();
    let before = b.lock.state().clone();
    let foreign = session_b.request(&Command::SetMode(LockMode::Vacant));
    assert_eq!(
        rejection(&link_a.exchange(&mut b.lock, &foreign)),
        Rejection::SessionFailed
    );
    assert_eq!(b.lock.state(), &before);
    // A's session is closed by it: nothing further runs without a new session.
    assert_eq!(b.lock.state().mode, LockMode::Tour);
}

/// A copy of `b`'s lock (same state, same keys) in its own directory: a second lock
/// on which another session runs.
fn copy_of(b: &Bench) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(b.state_path(), dir.path().join("lock.state")).unwrap();
    let mut copy = Bench::fresh();
    copy.lock = open_lock(&dir.path().join("lock.state"), &b.clock);
    copy.dir = dir;
    copy.clock = b.clock.clone();
    copy.lock_id = b.lock_id;
    copy.lock_public = b.lock_public;
    copy
}

#[test]
fn bad_credentials_are_refused_with_their_reason_and_nothing_changes() {
    let mut b = Bench::paired();
    let staff = b.staff(&Permission::ALL);
    let expired = b.org.sign(Claims {
        serial: 900,
        not_before: T0 - 2 * 86_400,
        not_after: T0 - 86_400,
        ..staff.claims
    });
    let future = b.org.sign(Claims {
        serial: 901,
        not_before: T0 + 86_400,
        not_after: T0 + 2 * 86_400,
        ..staff.claims
    });
    let other_lock = b.org.sign(Claims {
        serial: 902,
        lock_id: Uuid::new_v4(),
        ..staff.claims
    });
    let mut other_org = Org::new();
    let forged = other_org.credential(
        b.lock_id,
        access_domain::UserType::TeamMember,
        &Permission::ALL,
        T0,
    );
    let mut truncated = staff.clone();
    truncated.bytes.truncate(20);
    let before = b.lock.state().clone();
    for (cred, reason) in [
        (&expired, RefusalReason::Expired),
        (&future, RefusalReason::NotYetValid),
        (&other_lock, RefusalReason::WrongLock),
        (&forged, RefusalReason::BadCredential),
        (&truncated, RefusalReason::BadCredential),
    ] {
        for command in [
            Command::Unlock,
            Command::SetMode(LockMode::Vacant),
            Command::FactoryReset,
        ] {
            assert_eq!(b.run(cred, command), Response::Refused { reason });
            assert_eq!(b.lock.state(), &before);
        }
    }
}

#[test]
fn a_resident_cannot_change_the_mode_or_anything_else() {
    let mut b = Bench::paired();
    let resident = b.resident();
    let before = b.lock.state().clone();
    for command in [
        Command::SetMode(LockMode::Vacant),
        Command::Rename("x".into()),
        Command::ReadMasterCode,
        Command::ReadLog { since: 0, max: 10 },
        Command::FactoryReset,
    ] {
        assert_eq!(
            b.run(&resident, command.clone()),
            Response::Refused {
                reason: RefusalReason::NotPermitted
            },
            "{command:?}"
        );
    }
    assert_eq!(settings(b.lock.state()), settings(&before));
}

#[test]
fn a_revoked_serial_is_refused_after_the_update_and_expiry_ends_an_open_session() {
    let mut b = Bench::paired();
    let admin = b.staff(&[]);
    let victim = b.staff(&[]);
    assert_eq!(b.run(&victim, Command::Unlock), Response::Unlocked);
    let held = b.lock.state().door_version;
    let mut update = PlainUpdate::empty(b.lock_id, held + 1, held, T0);
    update.add_revocations = vec![Revocation {
        serial: victim.claims.serial,
        expires_at: victim.claims.not_after,
    }];
    let r = b.run(
        &admin,
        Command::ApplyUpdate(b.org.update(&update, &b.lock_public)),
    );
    assert_eq!(r, Response::UpdateApplied { version: held + 1 });
    let before = b.lock.state().clone();
    assert_eq!(
        b.run(&victim, Command::Unlock),
        Response::Refused {
            reason: RefusalReason::Revoked
        }
    );
    assert_eq!(b.lock.state(), &before);
    // A session outliving its credential: the lock checks expiry on every command.
    let mut link = Link::new(185);
    b.lock.on_connect(185);
    let (mut session, r) = b.open(&mut link, &admin, &Command::Lock).unwrap();
    assert_eq!(r, Response::Locked);
    b.clock
        .advance(admin.claims.not_after - T0 + lock_protocol::credential::CLOCK_SKEW_SECS + 1);
    assert_eq!(
        b.more(&mut link, &mut session, &Command::Unlock).unwrap(),
        Response::Refused {
            reason: RefusalReason::Expired
        }
    );
    b.lock.on_disconnect();
    // Once the credential has expired anyway, the lock forgets the entry.
    let now = b.lock.now();
    let fresh_admin = b
        .org
        .credential(b.lock_id, access_domain::UserType::TeamMember, &[], now);
    assert_eq!(b.lock.state().revoked.len(), 1);
    assert!(matches!(
        b.run(&fresh_admin, Command::ReadStatus),
        Response::Status(_)
    ));
    assert!(b.lock.state().revoked.is_empty());
}

#[test]
fn a_session_to_an_unpaired_lock_or_with_the_wrong_lock_key_is_rejected() {
    let mut b = Bench::fresh();
    let staff = b.staff(&[]);
    let (request, _) =
        PhoneSession::start(&b.lock.static_public(), &staff.bytes, &Command::Unlock, 1).unwrap();
    let mut link = Link::new(23);
    assert_eq!(
        rejection(&link.exchange(&mut b.lock, &request)),
        Rejection::NotPaired
    );
    let mut b = Bench::paired();
    let before = b.lock.state().clone();
    let (_, wrong_key) = lock_protocol::session::generate_static_key().unwrap();
    let (request, pending) =
        PhoneSession::start(&wrong_key, &staff.bytes, &Command::Unlock, 1).unwrap();
    let answer = link.exchange(&mut b.lock, &request);
    assert_eq!(
        pending.open_response(&answer).err(),
        Some(SessionError::Rejected(Rejection::SessionFailed))
    );
    assert_eq!(b.lock.state(), &before);
}

#[test]
fn oversized_and_garbage_messages_are_rejected_without_harm() {
    let mut b = Bench::paired();
    let before = b.lock.state().clone();
    let big = vec![0xAB; MAX_MESSAGE];
    let mut link = Link::new(512);
    assert_eq!(
        rejection(&link.exchange(&mut b.lock, &big)),
        Rejection::Malformed
    );
    let mut first = vec![1, 0, 0, 1];
    first.extend_from_slice(&u16::MAX.to_be_bytes());
    assert_eq!(
        rejection(&Link::raw(&mut b.lock, &[first], 512)),
        Rejection::Malformed
    );
    assert_eq!(b.lock.state(), &before);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_writes_never_change_a_paired_lock(
        writes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..20)
    ) {
        let mut b = Bench::paired();
        let before = b.lock.state().clone();
        b.lock.on_connect(100);
        for w in &writes {
            for f in b.lock.on_write(w) {
                prop_assert!(f.len() <= 97);
            }
        }
        prop_assert_eq!(b.lock.state(), &before);
    }
}
