//! Limits a backend must hold under concurrency: attempts counted atomically, idempotency
//! answers that expire and a bound on the keys one user holds.

use access_server::store::rules::{IDEMPOTENCY_KEYS_PER_USER, IDEMPOTENCY_TTL, Limit};
use access_server::store::{IdempotencyBegin, NewOrganization, Store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::user_page::id;

/// Sixteen threads take an attempt against a limit of five at once: five pass.
pub fn attempts_hold_under_parallel_takes(store: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let limit = Limit {
        key: "email:target@example.test".into(),
        max: 5,
        since: now - Duration::minutes(15),
    };
    let passed = std::thread::scope(|s| {
        let takes: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    store
                        .take_attempt(std::slice::from_ref(&limit), now)
                        .unwrap()
                })
            })
            .collect();
        takes
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(Option::is_none)
            .count()
    });
    assert_eq!(passed, 5);
    // A full second limit refuses without counting under the first.
    let other = Limit {
        key: "ip:192.0.2.1".into(),
        ..limit.clone()
    };
    let both = [other.clone(), limit.clone()];
    assert_eq!(store.take_attempt(&both, now).unwrap(), Some(1));
    assert_eq!(
        store
            .take_attempt(std::slice::from_ref(&other), now)
            .unwrap(),
        None
    );
    // Released and cleared attempts no longer count.
    store.clear_attempts(&limit.key).unwrap();
    assert_eq!(
        store
            .take_attempt(std::slice::from_ref(&limit), now)
            .unwrap(),
        None
    );
    store.release_attempt(&limit.key, now).unwrap();
    for _ in 0..5 {
        assert_eq!(
            store
                .take_attempt(std::slice::from_ref(&limit), now)
                .unwrap(),
            None
        );
    }
    assert_eq!(store.take_attempt(&[limit], now).unwrap(), Some(0));
}

fn admin(store: &dyn Store, now: OffsetDateTime) -> Uuid {
    store
        .create_organization(&NewOrganization {
            id: id(1),
            name: "Keys".into(),
            signing_key_pkcs8: vec![1; 8],
            public_key: vec![2; 8],
            admin_id: id(2),
            admin_email: "boss@keys.example".into(),
            admin_name: "Boss".into(),
            admin_password_hash: "x".into(),
            now,
        })
        .unwrap();
    id(2)
}

/// A stored answer replays within a day and not after; a user holds a bounded number of
/// keys, and expired ones make room.
pub fn idempotency_answers_expire_and_are_bounded(store: &dyn Store) {
    let t0 = OffsetDateTime::now_utc() - Duration::days(3);
    let user = admin(store, t0);
    let fp = [7u8; 32];
    assert_eq!(
        store.idempotency_begin(user, "k", &fp, t0).unwrap(),
        IdempotencyBegin::New
    );
    store
        .idempotency_finish(user, "k", 201, b"{\"code\":\"1234\"}")
        .unwrap();
    let later = t0 + IDEMPOTENCY_TTL - Duration::minutes(1);
    assert!(matches!(
        store.idempotency_begin(user, "k", &fp, later).unwrap(),
        IdempotencyBegin::Done { status: 201, .. }
    ));
    // Past the day, the key runs afresh, even for another request.
    let expired = t0 + IDEMPOTENCY_TTL;
    assert_eq!(
        store
            .idempotency_begin(user, "k", &[8; 32], expired)
            .unwrap(),
        IdempotencyBegin::New
    );
    // The bound: keys up to the limit, then refused.
    let t1 = expired + Duration::minutes(1);
    for n in 1..IDEMPOTENCY_KEYS_PER_USER {
        let begun = store
            .idempotency_begin(user, &format!("bulk-{n}"), &fp, t1)
            .unwrap();
        assert_eq!(begun, IdempotencyBegin::New, "key {n}");
    }
    assert_eq!(
        store
            .idempotency_begin(user, "one-too-many", &fp, t1)
            .unwrap(),
        IdempotencyBegin::TooMany
    );
    // A day on, the old keys are gone and new ones are taken again.
    assert_eq!(
        store
            .idempotency_begin(user, "one-too-many", &fp, t1 + IDEMPOTENCY_TTL)
            .unwrap(),
        IdempotencyBegin::New
    );
}
