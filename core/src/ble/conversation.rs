//! One conversation with a lock, as a plain value: a framed link, the session opened by the
//! first command (one round trip: the credential travels with it), the commands after it
//! (a door update among them), and the disconnect. Pairing is the other conversation a link
//! carries ([`pair`]). No cache, no server: the callers bring the credential, the counter
//! and what to carry.

use std::time::Duration;

use lock_ble::LockLink;
use lock_protocol::command::{Command, RefusalReason, Response, Status};
use lock_protocol::pairing::{Install, PairingPhone, PairingResult, PairingStep};
use lock_protocol::session::PhoneSession;

use super::errors::{link_error, pairing_error, refusal, session_error};
use super::link::Framed;
use crate::AccessError;
use crate::cache::on_site::StoredCredential;

/// An open session with a lock over `L`.
pub struct Conversation<L: LockLink> {
    framed: Framed<L>,
    session: PhoneSession,
}

impl<L: LockLink> Conversation<L> {
    /// Opens a session on `link` with `first` as its first command; returns the lock's
    /// answer to it. A refusal by the lock is [`AccessError::RefusedByLock`] and ends the
    /// conversation (the link is closed).
    pub async fn open(
        link: L,
        timeout: Duration,
        credential: &StoredCredential,
        counter: u64,
        first: &Command,
    ) -> Result<(Conversation<L>, Response), AccessError> {
        match Self::open_past_mode(link, timeout, credential, counter, first).await? {
            (talk, Response::Refused { reason }) => {
                talk.close().await;
                Err(refusal(reason))
            }
            open => Ok(open),
        }
    }

    /// [`Conversation::open`], except that a first command the lock's mode forbids
    /// (`Refused { ModeForbids }`) is answered as such with the session open: the lock
    /// keeps it (the credential is good), and a door update may bring the mode the
    /// platform set. Any other refusal is an error, as in `open`.
    pub async fn open_past_mode(
        link: L,
        timeout: Duration,
        credential: &StoredCredential,
        counter: u64,
        first: &Command,
    ) -> Result<(Conversation<L>, Response), AccessError> {
        let mut framed = Framed::new(link, timeout);
        match Self::start(&mut framed, credential, counter, first).await {
            Ok((session, response)) => Ok((Conversation { framed, session }, response)),
            Err(e) => {
                framed.close().await;
                Err(e)
            }
        }
    }

    async fn start(
        framed: &mut Framed<L>,
        credential: &StoredCredential,
        counter: u64,
        first: &Command,
    ) -> Result<(PhoneSession, Response), AccessError> {
        let (request, pending) = PhoneSession::start(
            &credential.lock_public_key,
            &credential.credential,
            first,
            counter,
        )
        .map_err(session_error)?;
        let answer = framed.exchange(&request).await.map_err(link_error)?;
        let (session, response) = pending.open_response(&answer).map_err(session_error)?;
        match response {
            Response::Refused {
                reason: RefusalReason::ModeForbids,
            } => Ok((session, response)),
            Response::Refused { reason } => Err(refusal(reason)),
            r => Ok((session, r)),
        }
    }

    /// Sends one more command in the session; the lock's refusal is an error.
    pub async fn send(&mut self, command: &Command) -> Result<Response, AccessError> {
        match self.exchange(command).await? {
            Response::Refused { reason } => Err(refusal(reason)),
            r => Ok(r),
        }
    }

    /// One command and whatever the lock answered, a refusal included.
    async fn exchange(&mut self, command: &Command) -> Result<Response, AccessError> {
        let answer = self
            .framed
            .exchange(&self.session.request(command))
            .await
            .map_err(link_error)?;
        self.session.open_response(&answer).map_err(session_error)
    }

    /// Several commands in one round trip: all sent before the first answer is read. Each
    /// answer as the lock gave it, refusals included, in the commands' order.
    pub async fn exchange_all(
        &mut self,
        commands: &[Command],
    ) -> Result<Vec<Response>, AccessError> {
        let requests: Vec<Vec<u8>> = commands.iter().map(|c| self.session.request(c)).collect();
        let borrowed: Vec<&[u8]> = requests.iter().map(Vec::as_slice).collect();
        let answers = self
            .framed
            .exchange_all(&borrowed)
            .await
            .map_err(link_error)?;
        answers
            .iter()
            .map(|a| self.session.open_response(a).map_err(session_error))
            .collect()
    }

    /// The lock's status.
    pub async fn read_status(&mut self) -> Result<Status, AccessError> {
        match self.send(&Command::ReadStatus).await? {
            Response::Status(s) => Ok(s),
            other => Err(super::errors::bad_response(format!(
                "unexpected answer {other:?}"
            ))),
        }
    }

    /// Round trips so far (a batch sent together counts once).
    pub fn round_trips(&self) -> u32 {
        self.framed.round_trips
    }

    /// Bytes written to the lock and notified by it so far, fragment headers included.
    pub fn bytes(&self) -> (u64, u64) {
        (self.framed.bytes_out, self.framed.bytes_in)
    }

    /// Ends the conversation: the link is disconnected.
    pub async fn close(self) {
        self.framed.close().await;
    }
}

/// Pairs a factory-fresh lock over `framed` with the code printed on it, installing
/// `install`; `installing` is told when the key exchange has passed.
pub async fn pair<L: LockLink>(
    framed: &mut Framed<L>,
    code: &str,
    install: Install,
    installing: &(dyn Fn() + Send + Sync),
) -> Result<PairingResult, AccessError> {
    let (start, mut pairing) = PairingPhone::start(code, install).map_err(pairing_error)?;
    let mut message = start;
    loop {
        let answer = framed.exchange(&message).await.map_err(link_error)?;
        match pairing.on_message(&answer).map_err(pairing_error)? {
            PairingStep::Send(next) => {
                installing();
                message = next;
            }
            PairingStep::Paired(result) => return Ok(result),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Over lock-ble's in-memory transport (MTU 23: every message fragmented) against the
    //! virtual lock's brain, with an organization key made here instead of the server.
    use access_domain::{LockMode, Permission, UserType};
    use lock_ble::{LockTransport, MemoryTransport};
    use lock_protocol::credential::{self, Claims, UserClass, rights_for};
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use uuid::Uuid;
    use virtual_lock::{FactorySettings, LockBrain, VirtualLock};

    use super::*;

    const CODE: &str = "1357924680";
    const TIMEOUT: Duration = Duration::from_secs(5);

    /// A lock paired to a fresh organization, its id, and a way to mint credentials.
    struct Site {
        _dir: tempfile::TempDir,
        transport: MemoryTransport,
        org: Ed25519KeyPair,
        lock_id: Uuid,
        lock_public: [u8; 32],
    }

    fn now() -> u64 {
        super::super::unix_now()
    }

    async fn paired_site() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let factory = FactorySettings {
            factory_serial: "VL-CONV-01".into(),
            pairing_code: Some(CODE.into()),
        };
        let lock = VirtualLock::open(&dir.path().join("lock.state"), factory).unwrap();
        let transport = MemoryTransport::new(23);
        transport.add_lock("door", None, LockBrain::new(lock));
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let org = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let lock_id = Uuid::new_v4();
        let install = Install {
            org_public_key: org.public_key().as_ref().to_vec(),
            lock_id,
            now: now(),
            name: "Front door".into(),
            mode: LockMode::Vacant,
        };
        let mut framed = Framed::new(transport.connect("door").await.unwrap(), TIMEOUT);
        let told = std::sync::atomic::AtomicBool::new(false);
        let result = pair(&mut framed, CODE, install, &|| {
            told.store(true, std::sync::atomic::Ordering::Relaxed)
        })
        .await
        .unwrap();
        framed.close().await;
        assert!(told.into_inner(), "installing was told");
        Site {
            _dir: dir,
            transport,
            org,
            lock_id,
            lock_public: result.lock_static_public,
        }
    }

    impl Site {
        fn credential(&self, serial: u64, permissions: &[Permission]) -> StoredCredential {
            self.credential_of(UserType::TeamMember, serial, permissions)
        }

        fn credential_of(
            &self,
            user_type: UserType,
            serial: u64,
            permissions: &[Permission],
        ) -> StoredCredential {
            let claims = Claims {
                serial,
                user_id: Uuid::new_v4(),
                lock_id: self.lock_id,
                class: UserClass::of(user_type),
                rights: rights_for(user_type, permissions),
                not_before: now() - 60,
                not_after: now() + 3_600,
            };
            StoredCredential {
                credential: credential::issue(&self.org, &claims).to_bytes(),
                lock_public_key: self.lock_public,
                serial,
                not_after: claims.not_after,
            }
        }
    }

    #[tokio::test]
    async fn a_session_carries_commands_then_disconnects() {
        let site = paired_site().await;
        let credential = site.credential(1, &Permission::ALL);
        let link = site.transport.connect("door").await.unwrap();
        let (mut talk, first) = Conversation::open(link, TIMEOUT, &credential, 1, &Command::Unlock)
            .await
            .unwrap();
        assert_eq!(first, Response::Unlocked);
        match talk.send(&Command::ReadStatus).await.unwrap() {
            Response::Status(s) => assert_eq!(s.mode, LockMode::Vacant),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(talk.round_trips(), 2);
        talk.close().await;

        // The link was released: the next conversation opens a new session.
        let link = site.transport.connect("door").await.unwrap();
        let (talk, first) = Conversation::open(link, TIMEOUT, &credential, 2, &Command::Lock)
            .await
            .unwrap();
        assert_eq!(first, Response::Locked);
        talk.close().await;
    }

    #[tokio::test]
    async fn the_locks_refusals_are_typed() {
        let site = paired_site().await;
        // No `change_modes`: the session opens, the mode change is refused by the lock.
        let credential = site.credential(1, &[]);
        let link = site.transport.connect("door").await.unwrap();
        let (mut talk, _) = Conversation::open(link, TIMEOUT, &credential, 1, &Command::Unlock)
            .await
            .unwrap();
        assert!(matches!(
            talk.send(&Command::SetMode(LockMode::Tour)).await,
            Err(AccessError::RefusedByLock { .. })
        ));
        talk.close().await;
        // The same counter again is a replay: refused on the first message.
        let link = site.transport.connect("door").await.unwrap();
        let replay = Conversation::open(link, TIMEOUT, &credential, 1, &Command::Unlock).await;
        assert!(matches!(replay, Err(AccessError::RefusedByLock { .. })));
    }

    #[tokio::test]
    async fn a_first_command_the_mode_forbids_leaves_the_session_open_only_when_asked() {
        let site = paired_site().await;
        // A resident at a lock in vacant mode.
        let credential = site.credential_of(UserType::Resident, 1, &[]);
        let link = site.transport.connect("door").await.unwrap();
        let refused = Conversation::open(link, TIMEOUT, &credential, 1, &Command::Unlock)
            .await
            .err();
        assert!(
            matches!(&refused, Some(AccessError::NotNow { .. })),
            "{refused:?}"
        );
        let link = site.transport.connect("door").await.unwrap();
        let (mut talk, first) =
            Conversation::open_past_mode(link, TIMEOUT, &credential, 2, &Command::Unlock)
                .await
                .unwrap();
        assert_eq!(
            first,
            Response::Refused {
                reason: RefusalReason::ModeForbids
            }
        );
        // The session is open: what may come next (a door update) gets an answer.
        match talk.send(&Command::ReadStatus).await.unwrap() {
            Response::Status(s) => assert_eq!(s.mode, LockMode::Vacant),
            other => panic!("unexpected {other:?}"),
        }
        talk.close().await;
        // Any other refusal of the first message is an error there too.
        let link = site.transport.connect("door").await.unwrap();
        let replay =
            Conversation::open_past_mode(link, TIMEOUT, &credential, 2, &Command::Unlock).await;
        assert!(matches!(replay, Err(AccessError::RefusedByLock { .. })));
    }
}
