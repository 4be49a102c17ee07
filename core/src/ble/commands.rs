//! Lock commands over BLE, each gated like its HTTP action and working offline with the
//! cached credential: one [`Conversation`] per call, one conversation with a lock at a time.

use access_domain::api::{AccessCode, Lock, Me};
use access_domain::{AccessCodeKind, Action, CodeClass, LockMode};
use lock_ble::AnyLink;
use lock_protocol::command::{self as cmd, Command, MAX_LOG_BATCH, Response, Window};
use lock_protocol::wire::Rejection;

use super::conversation::Conversation;
use super::door::{Carried, Converged};
use super::errors::{bad_response, refusal, rejection};
use super::{
    ANSWER_TIMEOUT, LockStatusInfo, LogReadSummary, UnlockPhase, UnlockProgress, logs, unix_millis,
};
use crate::cache::on_site;
use crate::callback::Listener;
use crate::engine::Engine;
use crate::gate::parse_id;
use crate::{AccessError, cache};
use std::sync::Arc;

/// The action a command needs, as the gate knows it.
pub(crate) fn action_of(command: &Command) -> Action {
    match command {
        Command::Unlock | Command::Lock | Command::ReadStatus | Command::ApplyUpdate(_) => {
            Action::Unlock
        }
        Command::SetMode(_) => Action::ChangeMode,
        Command::Rename(_) => Action::Rename,
        Command::FactoryReset => Action::ResetCodes,
        Command::AddAccessCode(_) | Command::RemoveAccessCode { .. } => Action::GiveAccess,
        Command::ReadLog { .. } => Action::ViewLogs,
        Command::ReadMasterCode => Action::ViewMasterCode,
        Command::Reserved9(never) | Command::Reserved10(never) => match *never {},
    }
}

/// Whether `command` changes the lock's state on the spot, ahead of the server: such a
/// contact carries no door update (one fetched before the change would undo it).
pub(crate) fn direct(command: &Command) -> bool {
    matches!(
        command,
        Command::SetMode(_)
            | Command::Rename(_)
            | Command::FactoryReset
            | Command::AddAccessCode(_)
            | Command::RemoveAccessCode { .. }
    )
}

/// Installs a given code as the lock's mode table sees it: a code given while the lock is
/// in tour mode is a tour code, otherwise a guest code.
pub(crate) fn protocol_code(
    code: &AccessCode,
    mode: LockMode,
) -> Result<cmd::AccessCode, AccessError> {
    // A one-time code starts when it is given; a lock clock a little behind the server's
    // must not refuse it in its first minutes (the same tolerance as for credentials).
    let slack = match code.kind {
        AccessCodeKind::OneTime => lock_protocol::credential::CLOCK_SKEW_SECS,
        _ => 0,
    };
    let window = match (code.starts_at, code.ends_at) {
        (Some(s), Some(e)) => Some(Window {
            starts_at: (s.unix_timestamp().max(0) as u64).saturating_sub(slack),
            ends_at: e.unix_timestamp().max(0) as u64,
        }),
        _ => None,
    };
    Ok(cmd::AccessCode {
        code_id: logs::lock_code_id(code.id),
        digits: code.code.clone(),
        kind: code.kind,
        window,
        class: if mode == LockMode::Tour {
            CodeClass::Tour
        } else {
            CodeClass::Guest
        },
        owner: None,
    })
}

impl Engine {
    /// Runs `commands` on the lock in one session (the first one opens it: one round trip),
    /// after the local gate for each. A refusal by the lock ends the session with
    /// [`AccessError::RefusedByLock`], except a first command the lock's mode forbids: the
    /// door update goes first then, and the commands again when the lock took it (a mode
    /// set on the platform reaches the lock through the very phone it kept out). Then, with
    /// the user's commands answered, the contact brings the door in line: the cached door
    /// update (fetched again beside the session when online), then the status as a contact
    /// report for the server (sent at once when online; a status the user read before an
    /// update the lock took is answered as the lock reads after it), and for who may see
    /// the lock's log its pages since the last one this phone queued. Not after a
    /// [`direct`] change, nor in a
    /// log read.
    pub(crate) async fn run_on_lock(
        &self,
        lock_id: &str,
        commands: Vec<Command>,
    ) -> Result<(Me, Lock, Vec<Response>), AccessError> {
        self.run_on_lock_told(lock_id, commands, &|_| {}).await
    }

    /// [`Self::run_on_lock`], telling `phase` how the contact goes: searching, connecting,
    /// and `Opened` as soon as the lock answers an unlock.
    pub(crate) async fn run_on_lock_told(
        &self,
        lock_id: &str,
        commands: Vec<Command>,
        phase: &(dyn Fn(UnlockPhase) + Send + Sync),
    ) -> Result<(Me, Lock, Vec<Response>), AccessError> {
        let (first, rest) = commands
            .split_first()
            .ok_or_else(|| AccessError::InvalidInput {
                message: "nothing to send".into(),
            })?;
        let (me, lock) = self.gate(lock_id, action_of(first)).await?;
        for c in rest {
            self.gate(lock_id, action_of(c)).await?;
        }
        if !lock.paired {
            return Err(rejection(Rejection::NotPaired));
        }
        let id = lock.id;
        let credential = self.credential(id).await?;
        tracing::info!(lock = %id, "credential ready");
        let direct = commands.iter().any(direct);
        // A log read leaves the log as it read it: an applied update would add an entry.
        let carry = !direct
            && !commands
                .iter()
                .any(|c| matches!(c, Command::ReadLog { .. }));
        if direct {
            // Fetched before this change, the cached update would undo it.
            self.db(move |c| on_site::drop_door_updates(c, id)).await?;
        }
        let _one = self.ble.busy.lock().await;
        let counter = self
            .db(move |c| on_site::next_counter(c, id, unix_millis()))
            .await?;
        // The update is fetched beside the user's commands, never before them.
        let user = async {
            let link = self.connect_lock(id, phase).await?;
            let (mut talk, answer) =
                Conversation::open_past_mode(link, ANSWER_TIMEOUT, &credential, counter, first)
                    .await?;
            tracing::info!(lock = %id, "session open, first answer: {answer:?}");
            if answer == Response::Unlocked {
                phase(UnlockPhase::Opened);
            }
            let refused = matches!(answer, Response::Refused { .. });
            let mut responses = vec![answer];
            for command in rest.iter().take_while(|_| !refused) {
                match talk.send(command).await {
                    Ok(r) => responses.push(r),
                    Err(e) => {
                        talk.close().await;
                        return Err(e);
                    }
                }
            }
            Ok((talk, responses))
        };
        let fetch = async {
            if carry {
                self.fetch_door_update_beside(id).await;
            }
        };
        let (user, ()) = tokio::join!(user, fetch);
        let (mut talk, mut responses) = user?;
        let mut carried = None;
        let mut refused = None;
        if let Some(Response::Refused { reason }) = responses.first() {
            // The lock's mode forbids the first command, but the session is open: the
            // door update may bring the mode the platform set since. Carried now, then
            // the commands once more when the lock took it.
            let reason = *reason;
            let now = if carry {
                self.carry_door_update(&mut talk, id).await
            } else {
                Carried::Nothing
            };
            carried = Some(now);
            responses.clear();
            if matches!(now, Carried::Applied(_)) {
                for command in &commands {
                    match talk.send(command).await {
                        Ok(r) => {
                            if r == Response::Unlocked {
                                phase(UnlockPhase::Opened);
                            }
                            responses.push(r)
                        }
                        Err(e) => {
                            refused = Some(e);
                            break;
                        }
                    }
                }
            } else {
                refused = Some(refusal(reason));
            }
        }
        // The door update, the status and the log, whatever the user connected for.
        let read_log = carry && crate::gate::check(&me, Action::ViewLogs, lock.unit_id).is_ok();
        let known = match responses.last() {
            Some(Response::Status(s)) => Some(s.clone()),
            _ => None,
        };
        let converged = if carry {
            self.converge(&mut talk, id, carried, known, read_log).await
        } else {
            Converged::default()
        };
        let (queued, pages) = (converged.status, converged.entries > 0);
        talk.close().await;
        tracing::info!(lock = %id, "contact closed");
        if let Some(status) = &queued {
            // A status read before an update the lock took is the lock's state no more.
            if let Some(last @ Response::Status(_)) = responses.last_mut() {
                *last = Response::Status(status.clone());
            }
        }
        if queued.is_some() || pages {
            self.send_reports_soon().await;
        }
        if let Some(e) = refused {
            return Err(e);
        }
        Ok((me, lock, responses))
    }

    async fn one(&self, lock_id: &str, command: Command) -> Result<Response, AccessError> {
        let (_, _, mut r) = self.run_on_lock(lock_id, vec![command]).await?;
        r.pop().ok_or_else(|| bad_response("no answer"))
    }

    /// Opens the door, telling `progress` the phases. Offline with a cached credential.
    pub(crate) async fn ble_unlock(
        &self,
        lock_id: String,
        progress: Option<Arc<dyn UnlockProgress>>,
    ) -> Result<(), AccessError> {
        let progress = Listener::new("unlock progress", progress);
        let phase = |p: UnlockPhase| progress.tell(|l| l.on_phase(p));
        let (_, _, mut r) = self
            .run_on_lock_told(&lock_id, vec![Command::Unlock], &phase)
            .await?;
        match r.pop() {
            Some(Response::Unlocked) => Ok(()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Throws the bolt.
    pub(crate) async fn ble_lock(&self, lock_id: String) -> Result<(), AccessError> {
        match self.one(&lock_id, Command::Lock).await? {
            Response::Locked => Ok(()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Sets the mode on the lock (`change_modes`), then records it on the server (queued
    /// when offline).
    pub(crate) async fn ble_set_mode(
        &self,
        lock_id: String,
        mode: LockMode,
    ) -> Result<(), AccessError> {
        match self.one(&lock_id, Command::SetMode(mode)).await? {
            Response::ModeSet(m) if m == mode => {}
            other => return Err(bad_response(format!("unexpected answer {other:?}"))),
        }
        self.change_mode(lock_id, mode).await.map(|_| ())
    }

    /// Renames the lock (`rename_locks`), then on the server (queued when offline).
    pub(crate) async fn ble_rename(
        &self,
        lock_id: String,
        name: String,
    ) -> Result<(), AccessError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > cmd::MAX_NAME_LEN {
            return Err(AccessError::InvalidInput {
                message: format!("A lock name needs 1 to {} bytes.", cmd::MAX_NAME_LEN),
            });
        }
        match self.one(&lock_id, Command::Rename(name.clone())).await? {
            Response::Renamed(_) => {}
            other => return Err(bad_response(format!("unexpected answer {other:?}"))),
        }
        self.rename_lock(lock_id, name).await.map(|_| ())
    }

    /// Resets the codes (`reset_codes`) in one session: the lock is reached first, then the
    /// server makes the new master code, then the lock takes it in the door update that drops
    /// every given access code.
    /// Needs the network; nothing changes anywhere when the lock is out of range.
    pub(crate) async fn ble_reset_codes(&self, lock_id: String) -> Result<u32, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ResetCodes).await?;
        if !lock.paired {
            return Err(rejection(Rejection::NotPaired));
        }
        let id = lock.id;
        let credential = self.credential(id).await?;
        let _one = self.ble.busy.lock().await;
        let counter = self
            .db(move |c| on_site::next_counter(c, id, unix_millis()))
            .await?;
        let link = self.connect_lock(id, &|_| {}).await?;
        // The lock is reached and takes this credential before the server resets anything.
        let (mut talk, first) = Conversation::open(
            link,
            ANSWER_TIMEOUT,
            &credential,
            counter,
            &Command::ReadStatus,
        )
        .await?;
        let before = match first {
            Response::Status(s) => s.access_codes,
            _ => 0,
        };
        let out = self.reset_in_session(&mut talk, &lock_id, before).await;
        talk.close().await;
        if out.is_ok() {
            self.send_reports_soon().await;
        }
        out
    }

    /// The server makes the new master code; its door update (the new master code and code
    /// secret, without the given codes) goes to the lock in this session.
    /// How many codes the lock dropped.
    async fn reset_in_session(
        &self,
        talk: &mut Conversation<AnyLink>,
        lock_id: &str,
        before: u32,
    ) -> Result<u32, AccessError> {
        self.reset_codes(lock_id.to_string()).await?;
        let id = parse_id(lock_id)?;
        self.fetch_door_update(id).await?;
        match self.carry_door_update(talk, id).await {
            Carried::Applied(_) => {}
            other => {
                return Err(bad_response(format!(
                    "the lock did not take the new codes: {other:?}"
                )));
            }
        }
        let status = talk.read_status().await?;
        let removed = before.saturating_sub(status.access_codes);
        self.queue_contact(talk, id, Some(status)).await;
        Ok(removed)
    }

    /// Installs a given access code (from the cache) in the lock (`give_access`). The lock
    /// logs it: the server marks the code installed from the lock's own log page or the
    /// next contact's receipt, never from the phone's word.
    pub(crate) async fn ble_install_access_code(
        &self,
        lock_id: String,
        code_id: String,
    ) -> Result<(), AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::GiveAccess).await?;
        let code_uuid = parse_id(&code_id)?;
        let lid = lock.id;
        let code = self
            .db(move |c| cache::access_codes(c, lid))
            .await?
            .into_iter()
            .find(|c| c.id == code_uuid)
            .ok_or(AccessError::NotFound)?;
        let command = Command::AddAccessCode(protocol_code(&code, lock.mode)?);
        match self.one(&lock_id, command).await? {
            Response::CodeInstalled { .. } => Ok(()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Removes an access code from the lock (`give_access`).
    pub(crate) async fn ble_remove_access_code(
        &self,
        lock_id: String,
        code_id: String,
    ) -> Result<(), AccessError> {
        let code_id = logs::lock_code_id(parse_id(&code_id)?);
        match self
            .one(&lock_id, Command::RemoveAccessCode { code_id })
            .await?
        {
            Response::CodeRemoved { .. } => Ok(()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Battery, firmware, clock, mode, name of the lock.
    pub(crate) async fn ble_read_status(
        &self,
        lock_id: String,
    ) -> Result<LockStatusInfo, AccessError> {
        match self.one(&lock_id, Command::ReadStatus).await? {
            Response::Status(s) => Ok(s.into()),
            other => Err(bad_response(format!("unexpected answer {other:?}"))),
        }
    }

    /// Reads the lock's log since the last entry read (`view_logs`), queues its pages as the
    /// lock sent them (MACed under its report key) and uploads what waits when the network
    /// is there. A page without a MAC (the lock has no report key until a door update brings
    /// it) is shown but not queued: it stays on the lock to be read again.
    pub(crate) async fn ble_read_log(
        &self,
        lock_id: String,
    ) -> Result<LogReadSummary, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::ViewLogs).await?;
        let id = lock.id;
        let codes = self.db(move |c| cache::access_codes(c, id)).await?;
        let mut since = self.db(move |c| on_site::log_cursor(c, id)).await?;
        let mut read = 0u64;
        let mut lines = Vec::new();
        loop {
            let command = Command::ReadLog {
                since,
                max: MAX_LOG_BATCH,
            };
            let (page, head) = match self.one(&lock_id, command).await? {
                Response::Log { page, head } => (page, head),
                other => return Err(bad_response(format!("unexpected answer {other:?}"))),
            };
            let entries = page.entries().map_err(|e| bad_response(e.to_string()))?;
            read += entries.len() as u64;
            lines.extend(entries.iter().map(|e| logs::readable(e, &codes)));
            match self.queue_page(id, page, head).await? {
                (_, Some(next)) => since = next,
                (_, None) => break,
            }
        }
        let uploaded = match self.flush_ble_uploads().await {
            Ok(n) => n,
            Err(e) if e.is_transient() => 0,
            Err(e) => return Err(e),
        };
        let waiting = self.db(|c| on_site::queued_log_count(c)).await?;
        Ok(LogReadSummary {
            read,
            uploaded,
            waiting,
            lines,
        })
    }

    /// Brings the lock in line with the platform on demand: fetches its door update first
    /// when online (offline the cached one goes), carries it in a contact with a status
    /// read, and answers the lock's status after it. The lock's clock and revocation list
    /// move only with that signed update.
    pub(crate) async fn ble_bring_in_line(
        &self,
        lock_id: String,
    ) -> Result<LockStatusInfo, AccessError> {
        let (_, lock) = self.gate(&lock_id, Action::Unlock).await?;
        if let Err(e) = self.fetch_door_update(lock.id).await {
            if !e.is_transient() {
                return Err(e);
            }
            tracing::info!(lock = %lock.id, "door update not refreshed, the cached one goes: {e}");
        }
        self.ble_read_status(lock_id).await
    }
}
