//! A phone-side driver over an in-memory byte link: the lock-protocol phone API, framed at
//! a chosen MTU, against a `VirtualLock`.
#![allow(dead_code)] // each test binary uses a different part of the driver

use std::path::Path;

use access_domain::{LockMode, Permission, UserType};
use lock_protocol::command::{Command, Response};
use lock_protocol::credential::{self, Claims, UserClass, rights_for};
use lock_protocol::door::{self, PlainUpdate};
use lock_protocol::frame::{Reassembler, fragment};
use lock_protocol::pairing::{Install, PairingError, PairingPhone, PairingResult, PairingStep};
use lock_protocol::session::{PhoneSession, SessionError};
use ring::signature::{Ed25519KeyPair, KeyPair};
use uuid::Uuid;
use virtual_lock::clock::ManualClock;
use virtual_lock::{FactorySettings, VirtualLock};

pub const T0: u64 = 1_800_000_000;
pub const CODE: &str = "1234567890";
pub const MASTER: &str = "24681357";
/// The code secret of [`Bench::paired`].
pub const SECRET: [u8; 32] = [7; 32];

/// The organization: its signing key, as the server holds it.
pub struct Org {
    pub keypair: Ed25519KeyPair,
    /// The key as stored (PKCS#8), to sign again for a lock saved in a fixture.
    pub pkcs8: Vec<u8>,
    next_serial: u64,
}

impl Org {
    pub fn new() -> Org {
        let rng = ring::rand::SystemRandom::new();
        Org::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Org {
        Org {
            keypair: Ed25519KeyPair::from_pkcs8(pkcs8).unwrap(),
            pkcs8: pkcs8.to_vec(),
            next_serial: 1,
        }
    }

    pub fn public(&self) -> Vec<u8> {
        self.keypair.public_key().as_ref().to_vec()
    }

    /// A credential valid for 24 h from `from`.
    pub fn credential(
        &mut self,
        lock_id: Uuid,
        user_type: UserType,
        permissions: &[Permission],
        from: u64,
    ) -> Credential {
        let claims = Claims {
            serial: self.next_serial,
            user_id: Uuid::new_v4(),
            lock_id,
            class: UserClass::of(user_type),
            rights: rights_for(user_type, permissions),
            not_before: from,
            not_after: from + credential::DEFAULT_LIFETIME_SECS,
        };
        self.next_serial += 1;
        self.sign(claims)
    }

    /// `plain` sealed to the lock key `lock_public` and signed: what any phone carries.
    pub fn update(&self, plain: &PlainUpdate, lock_public: &[u8; 32]) -> Vec<u8> {
        door::seal_and_sign(
            plain,
            lock_public,
            &self.keypair,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap()
    }

    pub fn sign(&self, claims: Claims) -> Credential {
        Credential {
            bytes: credential::issue(&self.keypair, &claims).to_bytes(),
            claims,
        }
    }
}

#[derive(Clone)]
pub struct Credential {
    pub bytes: Vec<u8>,
    pub claims: Claims,
}

/// The radio: frames messages at the MTU, counts round trips, and can record frames.
pub struct Link {
    pub mtu: usize,
    msg_id: u8,
    pub round_trips: u32,
    /// Every fragment the phone wrote, in order (for replay attacks).
    pub written: Vec<Vec<u8>>,
}

impl Link {
    pub fn new(mtu: usize) -> Link {
        Link {
            mtu,
            msg_id: 0,
            round_trips: 0,
            written: Vec::new(),
        }
    }

    /// Writes one message and returns the lock's answer (one round trip).
    pub fn exchange(&mut self, lock: &mut VirtualLock, message: &[u8]) -> Vec<u8> {
        self.msg_id = self.msg_id.wrapping_add(1);
        self.round_trips += 1;
        let mut notified = Vec::new();
        for f in fragment(self.msg_id, message, self.mtu).unwrap() {
            assert!(f.len() <= self.mtu - 3);
            self.written.push(f.clone());
            notified.extend(lock.on_write(&f));
        }
        Link::reassemble(&notified, self.mtu)
    }

    /// Writes raw fragments and reassembles whatever the lock notifies.
    pub fn raw(lock: &mut VirtualLock, fragments: &[Vec<u8>], mtu: usize) -> Vec<u8> {
        let mut notified = Vec::new();
        for f in fragments {
            notified.extend(lock.on_write(f));
        }
        Link::reassemble(&notified, mtu)
    }

    fn reassemble(notified: &[Vec<u8>], mtu: usize) -> Vec<u8> {
        let mut r = Reassembler::new();
        let mut out = None;
        for f in notified {
            assert!(f.len() <= mtu - 3, "notification above the MTU");
            out = r.push(f).unwrap();
        }
        out.expect("the lock answered a whole message")
    }
}

/// A lock with a manual clock at `T0` in a temporary directory.
pub struct Bench {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub lock: VirtualLock,
    pub org: Org,
    pub lock_id: Uuid,
    pub lock_public: [u8; 32],
    counter: u64,
}

pub fn open_lock(path: &Path, clock: &ManualClock) -> VirtualLock {
    let factory = FactorySettings {
        factory_serial: "VL-TEST-0001".into(),
        pairing_code: Some(CODE.into()),
    };
    VirtualLock::open_with_clock(path, factory, Box::new(clock.clone())).unwrap()
}

pub fn install(org: &Org, lock_id: Uuid) -> Install {
    Install {
        org_public_key: org.public(),
        lock_id,
        now: T0,
        name: "Unit 4B front door".into(),
        mode: LockMode::Tour,
    }
}

/// Runs pairing over `link`; returns the result or the phone's error.
pub fn pair(
    lock: &mut VirtualLock,
    link: &mut Link,
    code: &str,
    install: Install,
) -> Result<PairingResult, PairingError> {
    let (start, mut phone) = PairingPhone::start(code, install)?;
    let mut message = start;
    loop {
        let answer = link.exchange(lock, &message);
        match phone.on_message(&answer)? {
            PairingStep::Send(next) => message = next,
            PairingStep::Paired(result) => return Ok(result),
        }
    }
}

impl Bench {
    /// A factory-fresh lock, not paired.
    pub fn fresh() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let lock = open_lock(&dir.path().join("lock.state"), &clock);
        Bench {
            dir,
            clock,
            lock,
            org: Org::new(),
            lock_id: Uuid::new_v4(),
            lock_public: [0; 32],
            counter: 0,
        }
    }

    /// A lock paired to a fresh organization, in tour mode, with the platform's first
    /// door update applied (version 1: master code [`MASTER`], code secret [`SECRET`]), as
    /// the phone that pairs carries it.
    pub fn paired() -> Bench {
        let mut b = Bench::paired_bare();
        let mut first = PlainUpdate::empty(b.lock_id, 1, 0, T0);
        first.name = Some("Unit 4B front door".into());
        first.mode = Some(LockMode::Tour);
        first.master_code = Some(MASTER.into());
        first.code_secret = Some(SECRET);
        b.apply(&first);
        b
    }

    /// A lock just paired: no master code or code secret until a door update brings them.
    pub fn paired_bare() -> Bench {
        let mut b = Bench::fresh();
        let mut link = Link::new(185);
        let result = pair(&mut b.lock, &mut link, CODE, install(&b.org, b.lock_id)).unwrap();
        b.lock_public = result.lock_static_public;
        b
    }

    /// Seals, signs and carries `plain` with a resident's credential (any holder may).
    pub fn apply(&mut self, plain: &PlainUpdate) -> Response {
        let update = self.org.update(plain, &self.lock_public);
        let courier = self.resident();
        self.run(&courier, Command::ApplyUpdate(update))
    }

    pub fn state_path(&self) -> std::path::PathBuf {
        self.dir.path().join("lock.state")
    }

    pub fn staff(&mut self, permissions: &[Permission]) -> Credential {
        self.org
            .credential(self.lock_id, UserType::TeamMember, permissions, T0)
    }

    pub fn resident(&mut self) -> Credential {
        self.org
            .credential(self.lock_id, UserType::Resident, &[], T0)
    }

    pub fn next_counter(&mut self) -> u64 {
        self.counter = lock_protocol::session::next_counter(Some(self.counter), 0);
        self.counter
    }

    /// Opens a session with `command`: one round trip.
    pub fn open(
        &mut self,
        link: &mut Link,
        credential: &Credential,
        command: &Command,
    ) -> Result<(PhoneSession, Response), SessionError> {
        let counter = self.next_counter();
        let (request, pending) =
            PhoneSession::start(&self.lock_public, &credential.bytes, command, counter)?;
        let answer = link.exchange(&mut self.lock, &request);
        pending.open_response(&answer)
    }

    /// One command in a new session.
    pub fn run(&mut self, credential: &Credential, command: Command) -> Response {
        let mut link = Link::new(185);
        self.lock.on_connect(185);
        let r = self.open(&mut link, credential, &command).unwrap().1;
        self.lock.on_disconnect();
        r
    }

    /// A further command in an open session.
    pub fn more(
        &mut self,
        link: &mut Link,
        session: &mut PhoneSession,
        command: &Command,
    ) -> Result<Response, SessionError> {
        let request = session.request(command);
        let answer = link.exchange(&mut self.lock, &request);
        session.open_response(&answer)
    }
}
