//! What the lock does with an authenticated command: the rights check, the mode table for
//! unlock, and each command's effect on the state and the log.

use lock_protocol::command::{
    AccessCode, Actor, Bolt, Command, Event, MAX_LOG_BATCH, RefusalReason, Response, Status, Via,
    valid_name,
};
use lock_protocol::credential::Claims;
use lock_protocol::report::LogPage;
use uuid::Uuid;

use crate::state::{DRAIN_MOTOR, LockState, MAX_CODES};

pub(crate) fn refused(reason: RefusalReason) -> Response {
    Response::Refused { reason }
}

impl LockState {
    /// Runs `command` for the holder of `claims` at lock time `now` (`source_now` is the
    /// clock source, for a door update that moves the clock).
    pub(crate) fn execute(
        &mut self,
        claims: &Claims,
        command: Command,
        now: u64,
        source_now: u64,
    ) -> Response {
        if !claims.rights.contains(command.required_right()) {
            return refused(RefusalReason::NotPermitted);
        }
        let actor = Actor::User {
            user_id: claims.user_id,
            class: claims.class,
            serial: claims.serial,
        };
        let mut log = |state: &mut LockState, event| state.log.push(now, actor, Via::Ble, event);
        match command {
            Command::Unlock => {
                if !self.mode.admits(claims.class.code_class()) {
                    return refused(RefusalReason::ModeForbids);
                }
                if self.battery < DRAIN_MOTOR {
                    return refused(RefusalReason::LowBattery);
                }
                self.drain(DRAIN_MOTOR);
                self.bolt = Bolt::Unlocked;
                log(self, Event::Unlocked);
                Response::Unlocked
            }
            Command::Lock => {
                if self.battery < DRAIN_MOTOR {
                    return refused(RefusalReason::LowBattery);
                }
                self.drain(DRAIN_MOTOR);
                self.bolt = Bolt::Locked;
                log(self, Event::Locked);
                Response::Locked
            }
            Command::SetMode(to) => {
                let from = self.mode;
                self.mode = to;
                log(self, Event::ModeChanged { from, to });
                Response::ModeSet(to)
            }
            Command::Rename(name) => {
                if !valid_name(&name) {
                    return refused(RefusalReason::InvalidArgument);
                }
                self.name = name.clone();
                log(self, Event::Renamed { to: name.clone() });
                Response::Renamed(name)
            }
            Command::AddAccessCode(code) => self.add_code(code, &mut log),
            Command::RemoveAccessCode { code_id } => {
                if self.codes.remove(&code_id).is_some() {
                    log(self, Event::CodeRemoved { code_id });
                }
                Response::CodeRemoved { code_id }
            }
            Command::ReadStatus => Response::Status(Status {
                battery: self.battery_percent(),
                firmware: self.identity.firmware.clone(),
                clock: now,
                mode: self.mode,
                name: self.name.clone(),
                log_head: self.log.head,
                access_codes: u32::try_from(self.codes.len()).unwrap_or(u32::MAX),
                bolt: self.bolt,
                door_version: self.door_version,
                receipt: match (&self.pairing, &self.report_key) {
                    (Some(p), Some(key)) => lock_protocol::door::receipt(
                        key,
                        p.lock_id,
                        self.door_version,
                        self.battery_percent(),
                        now,
                        &self.identity.firmware,
                    ),
                    _ => [0; 32],
                },
            }),
            Command::ReadLog { since, max } => Response::Log {
                page: LogPage::seal(
                    self.report_key.as_ref(),
                    self.pairing.as_ref().map_or(Uuid::nil(), |p| p.lock_id),
                    &self.log.since(since, usize::from(max.min(MAX_LOG_BATCH))),
                ),
                head: self.log.head,
            },
            Command::ReadMasterCode => match self.master_code.clone() {
                Some(code) => {
                    log(self, Event::MasterCodeViewed);
                    Response::MasterCode(code)
                }
                None => refused(RefusalReason::UnknownCode),
            },
            Command::FactoryReset => {
                let identity = self.identity.clone();
                let battery = self.battery;
                *self = LockState::factory(identity);
                self.battery = battery;
                Response::FactoryReset
            }
            Command::ApplyUpdate(bytes) => self.apply_update(&bytes, now, source_now, actor),
        }
    }

    fn add_code(
        &mut self,
        code: AccessCode,
        log: &mut impl FnMut(&mut LockState, Event),
    ) -> Response {
        let code_id = code.code_id;
        if !code.is_valid() {
            return refused(RefusalReason::InvalidArgument);
        }
        // Installing the same code again confirms it again: the server retries until it
        // sees the confirmation, so this must be idempotent.
        if self.codes.get(&code_id) == Some(&code) {
            return Response::CodeInstalled { code_id };
        }
        if self.used_codes.contains_key(&code_id) {
            return refused(RefusalReason::CodeNotValidNow);
        }
        let clash = self.master_code.as_deref() == Some(code.digits.as_str())
            || self
                .codes
                .values()
                .any(|c| c.code_id != code_id && c.digits == code.digits);
        if clash {
            return refused(RefusalReason::DuplicateCode);
        }
        if self.codes.len() >= MAX_CODES && !self.codes.contains_key(&code_id) {
            return refused(RefusalReason::CapacityFull);
        }
        self.codes.insert(code_id, code);
        log(self, Event::CodeAdded { code_id });
        Response::CodeInstalled { code_id }
    }
}
