//! The SMS code of a registration: wrong codes count down, then nothing works; an old code
//! is refused; the right one activates the user and is spent.

use access_domain::{Access, UserStatus, UserType};
use access_server::store::{
    NewInvitation, NewInvitationToken, NewOrganization, NewRegistration, NewSession, Store,
    StoreTestExt, VerifyAttempt, VerifyOutcome,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::user_page::{hash, id, message};

const MAX_ATTEMPTS: u32 = 3;

/// A pending user with a registration waiting for `code`; returns (user, registration).
fn pending(store: &dyn Store, code: [u8; 32], now: OffsetDateTime) -> (Uuid, Uuid) {
    let org = id(1);
    store
        .create_organization(&NewOrganization {
            id: org,
            name: "Alder".into(),
            signing_key_pkcs8: vec![1; 8],
            public_key: vec![2; 8],
            admin_id: id(2),
            admin_email: "boss@alder.example".into(),
            admin_name: "Boss".into(),
            admin_password_hash: "x".into(),
            now,
        })
        .unwrap();
    let (user, invitation, registration) = (id(10), id(11), id(12));
    store
        .create_invitation(
            &NewInvitation {
                org_id: org,
                user_id: user,
                user_type: UserType::Resident,
                invited_email: "ann@alder.example".into(),
                username: None,
                permissions: vec![],
                access: Access::Units { unit_ids: vec![] },
                invited_by: id(2),
                token: NewInvitationToken {
                    id: invitation,
                    token_hash: hash(),
                    sent_at: now,
                    expires_at: now + Duration::days(7),
                },
                invited_phone: None,
                period: Default::default(),
            },
            &message(org, 1, "ann@alder.example", now),
        )
        .unwrap();
    store
        .create_registration(
            &NewRegistration {
                id: registration,
                invitation_id: invitation,
                user_id: user,
                email: "ann@alder.example".into(),
                phone: "+15550101".into(),
                name: "Ann".into(),
                password_hash: "x".into(),
                code_hash: code,
                created_at: now,
                code_expires_at: now + Duration::minutes(10),
                username: "ann".into(),
            },
            &message(org, 2, "+15550101", now),
        )
        .unwrap();
    (user, registration)
}

fn verify(store: &dyn Store, registration: Uuid, code: [u8; 32]) -> VerifyOutcome {
    let now = OffsetDateTime::now_utc();
    store
        .verify_registration(&VerifyAttempt {
            registration_id: registration,
            code_hash: code,
            max_attempts: MAX_ATTEMPTS,
            session: NewSession {
                token_hash: hash(),
                user_id: Uuid::nil(),
                created_at: now,
                expires_at: now + Duration::days(1),
            },
            now,
        })
        .unwrap()
}

fn now() -> OffsetDateTime {
    // Whole seconds: what both stores keep of a time alike.
    OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap()
}

pub(crate) fn attempts_run_out(store: &dyn Store) {
    let code = hash();
    let (_, registration) = pending(store, code, now());
    for left in (0..MAX_ATTEMPTS).rev() {
        match verify(store, registration, hash()) {
            VerifyOutcome::Wrong { attempts_left } if left > 0 => assert_eq!(attempts_left, left),
            VerifyOutcome::TooManyAttempts if left == 0 => {}
            other => panic!("{}: {left} left: {other:?}", store.backend()),
        }
    }
    // Even the right code no longer works.
    assert!(matches!(
        verify(store, registration, code),
        VerifyOutcome::TooManyAttempts
    ));
}

pub(crate) fn code_expires(store: &dyn Store) {
    let code = hash();
    let (user, registration) = pending(store, code, now());
    store.age_pending(user, 11 * 60).unwrap();
    let outcome = verify(store, registration, code);
    assert!(
        matches!(outcome, VerifyOutcome::Expired),
        "{}: {outcome:?}",
        store.backend()
    );
}

pub(crate) fn right_code_activates_once(store: &dyn Store) {
    let code = hash();
    let (user, registration) = pending(store, code, now());
    match verify(store, registration, code) {
        VerifyOutcome::Verified(u) => {
            assert_eq!(u.id, user);
            assert_eq!(u.status, UserStatus::Active);
        }
        other => panic!("{}: {other:?}", store.backend()),
    }
    let again = verify(store, registration, code);
    assert!(
        !matches!(again, VerifyOutcome::Verified(_)),
        "{}: {again:?}",
        store.backend()
    );
}
