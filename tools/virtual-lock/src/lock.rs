//! The lock: link handling (framing, pairing, sessions) around the state.

use std::path::{Path, PathBuf};

use lock_protocol::command::{Actor, Command, RefusalReason, Response, Via};
use lock_protocol::credential::{self, Claims, CredentialError};
use lock_protocol::frame::{self, MIN_MTU, Reassembler};
use lock_protocol::gatt::Advertisement;
use lock_protocol::pairing::{self, PairingLock, PairingResult};
use lock_protocol::session::{self, LockHello, LockSession, StaticSecret};
use lock_protocol::wire::{self, LockMessage, PhoneMessage, Rejection};
use ring::rand::SecureRandom;

use crate::LockError;
use crate::clock::{Clock, SystemClock};
use crate::state::{DRAIN_RADIO, Identity, LockState, ReplayMark};
use crate::store;

/// The firmware version a virtual lock reports.
pub const FIRMWARE_VERSION: &str = concat!("virtual-lock ", env!("CARGO_PKG_VERSION"));

/// What the factory sets in a new lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorySettings {
    /// Printed on the lock; its first 8 bytes are the advertised tag while unpaired.
    pub factory_serial: String,
    /// The pairing code printed on the lock (digits; separators are ignored). `None`: 10
    /// random digits.
    pub pairing_code: Option<String>,
}

impl FactorySettings {
    /// A serial with a random pairing code.
    pub fn new(factory_serial: &str) -> FactorySettings {
        FactorySettings {
            factory_serial: factory_serial.to_string(),
            pairing_code: None,
        }
    }
}

/// Per-connection state; dropped on disconnect.
enum Phase {
    Idle,
    Pairing(PairingLock),
    Session {
        session: LockSession,
        claims: Claims,
    },
}

/// A lock with its state file.
pub struct VirtualLock {
    path: PathBuf,
    state: LockState,
    secret: StaticSecret,
    clock: Box<dyn Clock>,
    mtu: usize,
    reassembler: Reassembler,
    next_msg_id: u8,
    phase: Phase,
    /// Fault injection for tests: saves that may still succeed (`None`: all).
    saves_left: Option<u32>,
}

/// Why the lock refuses a credential, as the phone hears it.
fn refusal(error: CredentialError) -> RefusalReason {
    match error {
        CredentialError::Expired => RefusalReason::Expired,
        CredentialError::NotYetValid => RefusalReason::NotYetValid,
        CredentialError::WrongLock => RefusalReason::WrongLock,
        _ => RefusalReason::BadCredential,
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], LockError> {
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| LockError::Random)?;
    Ok(out)
}

/// Ten random digits (33 bits), printed on the lock.
fn random_pairing_code() -> Result<String, LockError> {
    // Rejection sampling keeps the digits uniform.
    let mut code = String::with_capacity(10);
    while code.len() < 10 {
        for b in random_bytes::<16>()? {
            if b < 250 && code.len() < 10 {
                code.push(char::from(b'0' + b % 10));
            }
        }
    }
    Ok(code)
}

impl VirtualLock {
    /// Opens the lock whose state is at `state_path`, or creates a factory-fresh one there
    /// (with a printed pairing code) when there is no file.
    pub fn open(state_path: &Path, factory: FactorySettings) -> Result<VirtualLock, LockError> {
        VirtualLock::open_with_clock(state_path, factory, Box::new(SystemClock))
    }

    /// Same as [`VirtualLock::open`] with another time source (tests).
    pub fn open_with_clock(
        state_path: &Path,
        factory: FactorySettings,
        clock: Box<dyn Clock>,
    ) -> Result<VirtualLock, LockError> {
        let state = match store::load(state_path)? {
            Some(state) => state,
            None => {
                let pairing_code = match &factory.pairing_code {
                    Some(c) => pairing::normalize_code(c),
                    None => random_pairing_code()?,
                };
                if pairing_code.len() < 6 {
                    return Err(LockError::Factory(
                        "the pairing code needs at least 6 digits".into(),
                    ));
                }
                let state = LockState::factory(Identity {
                    static_secret: random_bytes()?,
                    factory_serial: factory.factory_serial.clone(),
                    pairing_code,
                    firmware: FIRMWARE_VERSION.to_string(),
                });
                store::save(state_path, &state)?;
                state
            }
        };
        Ok(VirtualLock {
            path: state_path.to_path_buf(),
            secret: StaticSecret::from(state.identity.static_secret),
            state,
            clock,
            mtu: MIN_MTU,
            reassembler: Reassembler::new(),
            next_msg_id: 0,
            phase: Phase::Idle,
            saves_left: None,
        })
    }

    /// The state, read-only.
    pub fn state(&self) -> &LockState {
        &self.state
    }

    /// The lock's static X25519 public key (what pairing hands to the phone).
    pub fn static_public(&self) -> [u8; 32] {
        session::static_public(&self.secret)
    }

    /// The lock's clock, unix seconds.
    pub fn now(&self) -> u64 {
        let source = i128::from(self.clock.unix_now());
        u64::try_from(source + i128::from(self.state.clock_offset)).unwrap_or(0)
    }

    /// What the lock advertises: paired or not, and its id (or factory serial) tag.
    pub fn advertisement(&self) -> Advertisement {
        let mut lock_tag = [0u8; 8];
        match &self.state.pairing {
            Some(p) => lock_tag.copy_from_slice(&p.lock_id.as_bytes()[..8]),
            None => {
                let serial = self.state.identity.factory_serial.as_bytes();
                let n = serial.len().min(8);
                lock_tag[..n].copy_from_slice(&serial[..n]);
            }
        }
        Advertisement {
            paired: self.state.pairing.is_some(),
            lock_tag,
        }
    }

    /// A phone connected with this ATT MTU.
    pub fn on_connect(&mut self, mtu: usize) {
        self.mtu = mtu.max(MIN_MTU);
        self.reassembler.reset();
        self.phase = Phase::Idle;
    }

    /// The phone went away: whatever was in progress is dropped.
    pub fn on_disconnect(&mut self) {
        self.reassembler.reset();
        self.phase = Phase::Idle;
        self.mtu = MIN_MTU;
    }

    /// One fragment written by the phone; returns the fragments to notify (framed for the
    /// MTU), empty while a message is incomplete.
    pub fn on_write(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let reply = match self.reassembler.push(bytes) {
            Ok(None) => return Vec::new(),
            Ok(Some(message)) => self.on_message(&message),
            Err(_) => wire::encode(&LockMessage::Rejected(Rejection::Malformed)),
        };
        self.next_msg_id = self.next_msg_id.wrapping_add(1);
        frame::fragment(self.next_msg_id, &reply, self.mtu).unwrap_or_default()
    }

    /// For tests: after `saves` more saves, every save fails, as on a full or worn-out
    /// flash; `None` lets them succeed again.
    pub fn fail_saves_after(&mut self, saves: Option<u32>) {
        self.saves_left = saves;
    }

    /// Applies `change` to a copy of the state and saves the copy; only then does the lock
    /// take it and act. An opened door therefore always has its replay mark, counters and
    /// log entry on disk, whenever the power is cut; when the copy cannot be saved the
    /// state stays as it was and the lock does nothing.
    fn commit<T>(&mut self, change: impl FnOnce(&mut LockState) -> T) -> Result<T, LockError> {
        let mut next = self.state.clone();
        let out = change(&mut next);
        match &mut self.saves_left {
            Some(0) => return Err(LockError::Io("saving is failing".into())),
            Some(n) => *n -= 1,
            None => {}
        }
        store::save(&self.path, &next)?;
        self.state = next;
        Ok(out)
    }

    fn on_message(&mut self, message: &[u8]) -> Vec<u8> {
        let Ok(message) = wire::decode::<PhoneMessage>(message) else {
            return wire::encode(&LockMessage::Rejected(Rejection::Malformed));
        };
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        let reply = match (message, phase) {
            (PhoneMessage::PairStart { pake }, _) => self.pair_start(&pake),
            (PhoneMessage::PairFinish { confirm, sealed }, Phase::Pairing(p)) => {
                self.pair_finish(p, &confirm, &sealed)
            }
            (PhoneMessage::SessionOpen { ephemeral, sealed }, _) => {
                self.session_open(&ephemeral, &sealed)
            }
            (PhoneMessage::SessionData { sealed }, Phase::Session { session, claims }) => {
                self.session_data(session, claims, &sealed)
            }
            _ => Err(Rejection::UnexpectedMessage),
        };
        reply.unwrap_or_else(|r| wire::encode(&LockMessage::Rejected(r)))
    }

    fn pair_start(&mut self, pake: &[u8]) -> Result<Vec<u8>, Rejection> {
        if self.state.pairing.is_some() {
            return Err(Rejection::AlreadyPaired);
        }
        let now = self.now();
        let locked_until = self.state.pairing_guard.locked_until;
        if now < locked_until {
            return Err(Rejection::PairingLockedOut {
                retry_after_secs: u32::try_from(locked_until - now).unwrap_or(u32::MAX),
            });
        }
        // Counted and saved before answering, so neither a disconnect nor a power cut gives
        // a guesser a free attempt; success clears it. Unsaved, the attempt does not start.
        let counted = self.commit(|state| {
            let guard = &mut state.pairing_guard;
            guard.failures = guard.failures.saturating_add(1);
            guard.locked_until = now + pairing::lockout_secs(guard.failures);
        });
        if counted.is_err() {
            return Err(Rejection::PairingLockedOut {
                retry_after_secs: u32::try_from(pairing::lockout_secs(1)).unwrap_or(u32::MAX),
            });
        }
        let (challenge, pairing) =
            PairingLock::start_parts(&self.state.identity.pairing_code, pake)
                .map_err(|_| Rejection::Malformed)?;
        self.phase = Phase::Pairing(pairing);
        Ok(challenge)
    }

    fn pair_finish(
        &mut self,
        pairing: PairingLock,
        confirm: &[u8; 32],
        sealed: &[u8],
    ) -> Result<Vec<u8>, Rejection> {
        if self.state.pairing.is_some() {
            return Err(Rejection::AlreadyPaired);
        }
        let (install, sealer) = pairing
            .finish_parts(confirm, sealed)
            .map_err(|_| Rejection::PairingFailed)?;
        let source = i128::from(self.clock.unix_now());
        let offset = i64::try_from(i128::from(install.now) - source).unwrap_or(0);
        let now = install.now;
        self.commit(|state| {
            state.clock_offset = offset;
            state.pairing = Some(crate::state::Pairing {
                org_public_key: install.org_public_key,
                lock_id: install.lock_id,
                code_secret: None,
                paired_at: install.now,
            });
            state.name = install.name;
            state.mode = install.mode;
            // The master code and the code secret come with the first door update.
            state.master_code = None;
            state.pairing_guard = Default::default();
            state.log.push(
                now,
                Actor::Installer,
                Via::Ble,
                lock_protocol::command::Event::Paired,
            );
        })
        // Unsaved, the lock stays unpaired and the phone hears that pairing failed.
        .map_err(|_| Rejection::PairingFailed)?;
        Ok(sealer.seal(&PairingResult {
            lock_static_public: self.static_public(),
            factory_serial: self.state.identity.factory_serial.clone(),
            firmware: self.state.identity.firmware.clone(),
        }))
    }

    /// Checks a credential as of now for `command`: signature, lock, window (unless the
    /// command does not need it), revocation.
    fn check_credential(&self, bytes: &[u8], command: &Command) -> Result<Claims, RefusalReason> {
        let pairing = self
            .state
            .pairing
            .as_ref()
            .ok_or(RefusalReason::WrongLock)?;
        let claims =
            credential::verify_ignoring_window(&pairing.org_public_key, bytes, pairing.lock_id)
                .map_err(refusal)?;
        self.check_credential_claims(&claims, command)?;
        Ok(claims)
    }

    fn session_open(&mut self, ephemeral: &[u8; 32], sealed: &[u8]) -> Result<Vec<u8>, Rejection> {
        if self.state.pairing.is_none() {
            return Err(Rejection::NotPaired);
        }
        let hello = LockHello::open_parts(&self.secret, ephemeral, sealed)
            .map_err(|_| Rejection::SessionFailed)?;
        let checked = self
            .check_credential(&hello.credential, &hello.command)
            .and_then(|claims| match self.state.replay.get(&claims.serial) {
                Some(mark) if hello.counter <= mark.counter => Err(RefusalReason::Replay),
                _ => Ok(claims),
            });
        let claims = match checked {
            Ok(claims) => claims,
            Err(reason) => {
                // Answered under the session keys so the phone gets an authentic reason;
                // no session stays open and nothing is stored.
                let (answer, _) = hello
                    .accept(&Response::Refused { reason })
                    .map_err(|_| Rejection::SessionFailed)?;
                return Ok(answer);
            }
        };
        // A credential's window ends the replay of its sessions, and its mark can go then.
        // A command that skips the window (a door update) has only the mark: kept a day
        // past now, a recording of an expired credential's session is not worth a save
        // more than once a day.
        let expires_at = if hello.command.needs_current_credential() {
            claims.not_after
        } else {
            claims
                .not_after
                .max(self.now().saturating_add(credential::DEFAULT_LIFETIME_SECS))
        };
        let mark = ReplayMark {
            counter: hello.counter,
            expires_at,
        };
        let response = self.run(&claims, hello.command.clone(), Some(mark));
        let (answer, session) = hello
            .accept(&response)
            .map_err(|_| Rejection::SessionFailed)?;
        if response != Response::FactoryReset {
            self.phase = Phase::Session { session, claims };
        }
        Ok(answer)
    }

    fn session_data(
        &mut self,
        mut session: LockSession,
        claims: Claims,
        sealed: &[u8],
    ) -> Result<Vec<u8>, Rejection> {
        // A frame that does not open (tampered, replayed, another session's) ends the
        // session: the phone starts a new one with a fresh counter.
        let command = session
            .open_request(sealed)
            .map_err(|_| Rejection::SessionFailed)?;
        // Revocations pushed and expiry reached since the session opened apply at once.
        let response = match self.check_credential_claims(&claims, &command) {
            Ok(()) => self.run(&claims, command, None),
            Err(reason) => Response::Refused { reason },
        };
        let answer = session.respond(&response);
        if response != Response::FactoryReset {
            self.phase = Phase::Session { session, claims };
        }
        Ok(answer)
    }

    /// The checks of a verified credential that can change over time: its window at the
    /// lock's clock (for the commands that need it) and the revocation list.
    fn check_credential_claims(
        &self,
        claims: &Claims,
        command: &Command,
    ) -> Result<(), RefusalReason> {
        if command.needs_current_credential() {
            credential::check_window(claims, self.now()).map_err(refusal)?;
        }
        if self.state.revoked.contains_key(&claims.serial) {
            return Err(RefusalReason::Revoked);
        }
        Ok(())
    }

    /// Runs an authenticated command, with the session's replay mark when it opens one,
    /// saved before the lock acts (see [`VirtualLock::commit`]); factory reset also
    /// replaces the identity key.
    fn run(&mut self, claims: &Claims, command: Command, mark: Option<ReplayMark>) -> Response {
        let now = self.now();
        let source = self.clock.unix_now();
        let new_key = match command {
            Command::FactoryReset => match random_bytes::<32>() {
                Ok(key) => Some(key),
                Err(_) => {
                    return Response::Refused {
                        reason: RefusalReason::InvalidArgument,
                    };
                }
            },
            _ => None,
        };
        let committed = self.commit(|state| {
            if let Some(mark) = mark {
                state.prune(now);
                state.replay.insert(claims.serial, mark);
            }
            let response = state.execute(claims, command, now, source);
            match (&response, new_key) {
                (Response::FactoryReset, Some(key)) => state.identity.static_secret = key,
                _ => state.drain(DRAIN_RADIO),
            }
            response
        });
        match committed {
            Ok(response) => {
                if response == Response::FactoryReset {
                    self.secret = StaticSecret::from(self.state.identity.static_secret);
                }
                response
            }
            Err(_) => Response::Refused {
                reason: RefusalReason::StorageFailed,
            },
        }
    }

    /// A technician fits a new battery: full again (saved). Outcome as the stdin line says it.
    pub fn replace_battery(&mut self) -> String {
        match self.commit(|state| state.battery = crate::state::BATTERY_FULL) {
            Ok(()) => format!("battery {}%", self.state.battery_percent()),
            Err(e) => format!("battery not replaced: {e}"),
        }
    }

    /// Someone typed `digits` on the keypad. The outcome and its counters are saved before
    /// the door opens; unsaved, the keypad refuses.
    pub fn keypad(&mut self, digits: &str) -> crate::KeypadOutcome {
        let now = self.now();
        self.commit(|state| state.keypad(digits, now))
            .unwrap_or(crate::KeypadOutcome::Refused {
                reason: RefusalReason::StorageFailed,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_battery_is_full_and_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock.state");
        let mut lock = VirtualLock::open(&path, FactorySettings::new("VL-BATTERY")).unwrap();
        lock.state.drain(60_000);
        assert_eq!(lock.state().battery_percent(), 40);
        assert_eq!(lock.replace_battery(), "battery 100%");
        let again = VirtualLock::open(&path, FactorySettings::new("VL-BATTERY")).unwrap();
        assert_eq!(again.state().battery_percent(), 100);
    }

    #[test]
    fn the_lock_can_move_to_the_peripherals_task() {
        fn send<T: Send + 'static>() {}
        send::<VirtualLock>();
    }

    #[test]
    fn printed_codes_are_ten_uniform_digits() {
        let mut counts = [0u32; 10];
        for _ in 0..200 {
            let code = random_pairing_code().unwrap();
            assert_eq!(code.len(), 10);
            for b in code.bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 2,000 digits: each should show up about 200 times.
        assert!(
            counts.iter().all(|&c| (120..=280).contains(&c)),
            "{counts:?}"
        );
    }
}
