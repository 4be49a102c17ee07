//! Applies the door updates `DIR/1`, `DIR/2`, ... to the lock at `STATE`, each carried in
//! its own session with the credential in `DIR/credential`, starting after the version the
//! lock holds, and prints the version the lock holds after each answer (the answer comes
//! after the save). Once every update is in, it carries the last one again (refused as
//! stale) until killed. The kill -9 test runs it and kills it at random moments.
//!
//! `cargo run -p virtual-lock --example update_churn -- STATE DIR`

use std::io::Write;
use std::path::PathBuf;

use lock_protocol::command::Command;
use lock_protocol::frame::{Reassembler, fragment};
use lock_protocol::session::PhoneSession;
use virtual_lock::{FactorySettings, VirtualLock};

const MTU: usize = 185;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(state), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: update_churn STATE DIR".into());
    };
    let dir = PathBuf::from(dir);
    let credential = std::fs::read(dir.join("credential"))?;
    let mut lock = VirtualLock::open(&PathBuf::from(state), FactorySettings::new("churn"))?;
    let lock_public = lock.static_public();
    let mut out = std::io::stdout().lock();
    let mut msg_id = 0u8;
    loop {
        let held = lock.state().door_version;
        let next = dir.join((held + 1).to_string());
        let update = match std::fs::read(&next) {
            Ok(bytes) => bytes,
            Err(_) => std::fs::read(dir.join(held.to_string()))?,
        };
        // Above every counter the lock has accepted, whatever ran before a kill.
        let counter = lock
            .state()
            .replay
            .values()
            .map(|m| m.counter)
            .max()
            .unwrap_or(0)
            + 1;
        let (request, pending) = PhoneSession::start(
            &lock_public,
            &credential,
            &Command::ApplyUpdate(update),
            counter,
        )?;
        lock.on_connect(MTU);
        msg_id = msg_id.wrapping_add(1);
        let mut notified = Vec::new();
        for f in fragment(msg_id, &request, MTU)? {
            notified.extend(lock.on_write(&f));
        }
        lock.on_disconnect();
        let mut reassembler = Reassembler::new();
        let mut answer = None;
        for f in notified {
            answer = reassembler.push(&f)?.or(answer);
        }
        let (_, response) = pending.open_response(&answer.ok_or("no answer")?)?;
        if response.is_refusal() && lock.state().door_version == held {
            // Stale once all are in; anything else is a bug.
            if !std::fs::exists(dir.join((held + 1).to_string()))? {
                writeln!(out, "{held}")?;
                out.flush()?;
                continue;
            }
            return Err(format!("refused: {response:?}").into());
        }
        writeln!(out, "{}", lock.state().door_version)?;
        out.flush()?;
    }
}
