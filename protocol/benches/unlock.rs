//! CPU per unlock on each side, and round trips to unlocked and to paired.
//!
//! `cargo bench -p lock-protocol --bench unlock`

use std::hint::black_box;
use std::time::{Duration, Instant};

use access_domain::{LockMode, UserType};
use criterion::{BatchSize, Criterion};
use lock_protocol::command::{Command, Response};
use lock_protocol::credential::{self, Claims, UserClass, rights_for};
use lock_protocol::pairing::{Install, PairingLock, PairingPhone, PairingResult, PairingStep};
use lock_protocol::session::{self, LockHello, PhoneSession};
use lock_protocol::wire::{self, PhoneMessage};
use ring::signature::{Ed25519KeyPair, KeyPair};

struct Setup {
    org_public: Vec<u8>,
    credential: Vec<u8>,
    lock_id: uuid::Uuid,
    lock_secret: session::StaticSecret,
    lock_public: [u8; 32],
}

fn setup() -> Setup {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let org = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let lock_id = uuid::Uuid::new_v4();
    let claims = Claims {
        serial: 1,
        user_id: uuid::Uuid::new_v4(),
        lock_id,
        class: UserClass::Staff,
        rights: rights_for(UserType::TeamMember, &[]),
        not_before: 1_000,
        not_after: 1_000 + credential::DEFAULT_LIFETIME_SECS,
    };
    let (lock_secret, lock_public) = session::generate_static_key().unwrap();
    Setup {
        org_public: org.public_key().as_ref().to_vec(),
        credential: credential::issue(&org, &claims).to_bytes(),
        lock_id,
        lock_secret,
        lock_public,
    }
}

/// The lock's whole job for an unlock request, minus I/O and state: open, verify, answer.
fn lock_side(s: &Setup, request: &[u8]) -> Vec<u8> {
    let hello = LockHello::open(&s.lock_secret, request).unwrap();
    let claims = credential::verify(&s.org_public, &hello.credential, s.lock_id, 2_000).unwrap();
    assert!(claims.rights.contains(hello.command.required_right()));
    hello.accept(&Response::Unlocked).unwrap().0
}

/// Counts the messages the phone writes until unlocked and until paired.
fn round_trips(s: &Setup) -> (u32, u32) {
    let mut unlock = 0;
    let (request, pending) =
        PhoneSession::start(&s.lock_public, &s.credential, &Command::Unlock, 1).unwrap();
    unlock += 1;
    let answer = lock_side(s, &request);
    assert_eq!(
        pending.open_response(&answer).unwrap().1,
        Response::Unlocked
    );

    let install = Install {
        org_public_key: s.org_public.clone(),
        lock_id: s.lock_id,
        now: 2_000,
        name: "Bench".into(),
        mode: LockMode::Vacant,
    };
    let mut pair = 0;
    let (start, mut phone) = PairingPhone::start("1234567890", install).unwrap();
    pair += 1;
    let (challenge, lock) = PairingLock::start("1234567890", &start).unwrap();
    let PairingStep::Send(finish) = phone.on_message(&challenge).unwrap() else {
        unreachable!("pairing needs a second message")
    };
    pair += 1;
    let (_, sealer) = lock.finish(&finish).unwrap();
    let done = sealer.seal(&PairingResult {
        lock_static_public: s.lock_public,
        factory_serial: "B".into(),
        firmware: "f".into(),
    });
    assert!(matches!(
        phone.on_message(&done).unwrap(),
        PairingStep::Paired(_)
    ));
    (unlock, pair)
}

fn benches(c: &mut Criterion, s: &Setup) {
    c.bench_function("phone: build unlock request", |b| {
        b.iter(|| {
            PhoneSession::start(
                black_box(&s.lock_public),
                &s.credential,
                &Command::Unlock,
                7,
            )
            .unwrap()
        })
    });
    c.bench_function("phone: open unlock answer", |b| {
        b.iter_batched(
            || {
                let (req, pending) =
                    PhoneSession::start(&s.lock_public, &s.credential, &Command::Unlock, 7)
                        .unwrap();
                (lock_side(s, &req), pending)
            },
            |(answer, pending)| pending.open_response(&answer).unwrap(),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("phone: whole unlock (request + answer)", |b| {
        // Only the phone's two steps are timed; the lock's part runs between them.
        b.iter_custom(|iters| {
            let mut phone = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let (req, pending) =
                    PhoneSession::start(&s.lock_public, &s.credential, &Command::Unlock, 7)
                        .unwrap();
                phone += t.elapsed();
                let answer = lock_side(s, &req);
                let t = Instant::now();
                black_box(pending.open_response(&answer).unwrap());
                phone += t.elapsed();
            }
            phone
        })
    });
    c.bench_function("lock: open, verify credential, answer", |b| {
        b.iter_batched(
            || {
                PhoneSession::start(&s.lock_public, &s.credential, &Command::Unlock, 7)
                    .unwrap()
                    .0
            },
            |req| lock_side(s, &req),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("lock: reject a tampered request", |b| {
        let mut req = PhoneSession::start(&s.lock_public, &s.credential, &Command::Unlock, 7)
            .unwrap()
            .0;
        let n = req.len();
        req[n - 1] ^= 1;
        let PhoneMessage::SessionOpen { ephemeral, sealed } = wire::decode(&req).unwrap() else {
            unreachable!()
        };
        b.iter(|| LockHello::open_parts(&s.lock_secret, &ephemeral, &sealed).is_err())
    });
}

fn main() {
    let s = setup();
    let (unlock, pair) = round_trips(&s);
    println!("round trips from connected to unlocked: {unlock}");
    println!("round trips from connected to paired: {pair}");
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &s);
    c.final_summary();
}
