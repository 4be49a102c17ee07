//! Types `DIGITS` on the keypad of the lock at `STATE` in a loop, printing the log head
//! after each entry is saved. The kill -9 test runs it and kills it at random moments.
//!
//! `cargo run -p virtual-lock --example keypad_churn -- STATE DIGITS`

use std::io::Write;
use std::path::PathBuf;

use virtual_lock::{FactorySettings, VirtualLock};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(state), Some(digits)) = (args.next(), args.next()) else {
        return Err("usage: keypad_churn STATE DIGITS".into());
    };
    let mut lock = VirtualLock::open(&PathBuf::from(state), FactorySettings::new("churn"))?;
    let mut out = std::io::stdout().lock();
    loop {
        lock.keypad(&digits);
        writeln!(out, "{}", lock.state().log.head)?;
        out.flush()?;
    }
}
