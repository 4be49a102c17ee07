//! The lock commands over Bluetooth LE: scan, pair on site, and every command the core
//! sends to a lock (offline with cached credentials). `ACCESS_BLE_ADAPTER` picks the
//! Bluetooth adapter by address.
//!
//! ```text
//! access scan --seconds 5
//! access pair --unit UNIT_ID --device hci0/dev_C0_FF_EE_00_01_01 --code 1357-9246-80 --name "Front door"
//! access unlock "Front door"
//! access ble-mode "Front door" resident
//! access read-log "Front door"
//! ```

use std::io::Write;
use std::sync::Arc;

use access_core::ble::{
    NearbyLock, PairingPhase, PairingProgress, ScanListener, UnlockPhase, UnlockProgress,
};
use access_core::{AccessClient, CallbackError};
use access_domain::LockMode;
use clap::Subcommand;

use super::{ModeArg, Result, resolve};

#[derive(Subcommand)]
pub enum BleCommand {
    /// List locks advertising nearby (paired or factory-fresh).
    Scan {
        #[arg(long, default_value_t = 5)]
        seconds: u32,
    },
    /// Pair a factory-fresh lock on site and register it under a unit.
    Pair {
        /// The unit the lock belongs to.
        #[arg(long)]
        unit: String,
        /// The device id shown by `access scan`.
        #[arg(long)]
        device: String,
        /// The pairing code printed on the lock.
        #[arg(long)]
        code: String,
        /// The lock's name.
        #[arg(long)]
        name: String,
    },
    /// Fetch BLE credentials for every lock you may open (so they open offline).
    RefreshCredentials,
    /// Open a lock over BLE.
    Unlock { lock: String },
    /// Throw the bolt over BLE.
    Lock { lock: String },
    /// Set the mode on the lock over BLE (and on the server; queued when offline).
    BleMode {
        lock: String,
        #[arg(value_enum)]
        mode: ModeArg,
    },
    /// Rename the lock over BLE (and on the server; queued when offline).
    BleRename { lock: String, name: String },
    /// Reset the codes on the server and in the lock (needs the network).
    BleResetCodes { lock: String },
    /// Install a given access code in the lock; the lock's confirmation goes to the server.
    InstallCode { lock: String, code_id: String },
    /// Remove an access code from the lock.
    RemoveCode { lock: String, code_id: String },
    /// Read the lock's status (battery, firmware, clock, mode, name).
    Status { lock: String },
    /// Read the lock's log since the last read; uploaded now or when online.
    ReadLog { lock: String },
    /// Bring the lock in line with the platform now: carry its door update (fetched fresh
    /// when online), the only thing that moves its clock and revocation list; prints the
    /// status after it.
    BringInLine { lock: String },
    /// Upload contact reports and log pages waiting from earlier lock contacts.
    UploadLogs,
}

struct PrintScan;

impl ScanListener for PrintScan {
    fn on_lock(&self, l: NearbyLock) -> std::result::Result<(), CallbackError> {
        println!(
            "{:<32} {:<8} tag {:<10} {}{}",
            l.device_id,
            if l.paired { "paired" } else { "fresh" },
            l.tag,
            l.lock_id.as_deref().unwrap_or("-"),
            l.name.map(|n| format!("  {n}")).unwrap_or_default()
        );
        Ok(())
    }
}

struct PrintPhases;

impl PairingProgress for PrintPhases {
    fn on_phase(&self, phase: PairingPhase) -> std::result::Result<(), CallbackError> {
        eprintln!("pairing: {phase:?}");
        Ok(())
    }
}

/// Prints "unlocked" the moment the lock says so (the rest of the contact follows), and the
/// other phases on stderr.
#[derive(Default)]
struct PrintUnlock {
    opened: std::sync::atomic::AtomicBool,
}

impl UnlockProgress for PrintUnlock {
    fn on_phase(&self, phase: UnlockPhase) -> std::result::Result<(), CallbackError> {
        if phase == UnlockPhase::Opened {
            self.opened.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "unlocked").and_then(|()| out.flush());
        } else {
            eprintln!("unlock: {phase:?}");
        }
        Ok(())
    }
}

fn mode(m: ModeArg) -> LockMode {
    match m {
        ModeArg::Vacant => LockMode::Vacant,
        ModeArg::Tour => LockMode::Tour,
        ModeArg::Resident => LockMode::Resident,
        ModeArg::Maintenance => LockMode::Maintenance,
    }
}

pub async fn run(client: &AccessClient, command: BleCommand) -> Result<()> {
    if let Ok(adapter) = std::env::var("ACCESS_BLE_ADAPTER") {
        client.on_site().use_bluetooth_adapter(Some(adapter)).await;
    }
    match command {
        BleCommand::Scan { seconds } => {
            let seen = client
                .on_site()
                .scan(seconds.saturating_mul(1000), Some(Arc::new(PrintScan)))
                .await?;
            eprintln!("{} locks seen", seen.len());
        }
        BleCommand::Pair {
            unit,
            device,
            code,
            name,
        } => {
            let lock = client
                .on_site()
                .pair(unit, device, code, name, Some(Arc::new(PrintPhases)))
                .await?;
            println!("{}  {}  paired", lock.id, lock.name);
        }
        BleCommand::RefreshCredentials => {
            let n = client.account().refresh_credentials().await?;
            println!("{n} credentials cached");
        }
        BleCommand::Unlock { lock } => {
            let told = Arc::new(PrintUnlock::default());
            client
                .on_site()
                .unlock(resolve(client, &lock).await?, Some(told.clone()))
                .await?;
            if !told.opened.load(std::sync::atomic::Ordering::SeqCst) {
                println!("unlocked");
            }
        }
        BleCommand::Lock { lock } => {
            client.on_site().lock(resolve(client, &lock).await?).await?;
            println!("locked");
        }
        BleCommand::BleMode { lock, mode: m } => {
            client
                .on_site()
                .set_mode(resolve(client, &lock).await?, mode(m))
                .await?;
            println!("mode set to {}", mode(m).as_str());
        }
        BleCommand::BleRename { lock, name } => {
            client
                .on_site()
                .rename(resolve(client, &lock).await?, name.clone())
                .await?;
            println!("renamed to {name:?}");
        }
        BleCommand::BleResetCodes { lock } => {
            let removed = client
                .on_site()
                .reset_codes(resolve(client, &lock).await?)
                .await?;
            println!("codes reset; {removed} access codes removed from the lock");
        }
        BleCommand::InstallCode { lock, code_id } => {
            client
                .on_site()
                .install_access_code(resolve(client, &lock).await?, code_id)
                .await?;
            println!("installed (confirmed by the lock)");
        }
        BleCommand::RemoveCode { lock, code_id } => {
            client
                .on_site()
                .remove_access_code(resolve(client, &lock).await?, code_id)
                .await?;
            println!("removed");
        }
        BleCommand::Status { lock } => {
            let s = client
                .on_site()
                .read_status(resolve(client, &lock).await?)
                .await?;
            print_status(&s);
        }
        BleCommand::BringInLine { lock } => {
            let s = client
                .on_site()
                .bring_in_line(resolve(client, &lock).await?)
                .await?;
            print_status(&s);
        }
        BleCommand::ReadLog { lock } => {
            let r = client
                .on_site()
                .read_log(resolve(client, &lock).await?)
                .await?;
            println!(
                "read {} entries; {} uploaded; {} waiting for the network",
                r.read, r.uploaded, r.waiting
            );
            for line in &r.lines {
                println!("  {line}");
            }
        }
        BleCommand::UploadLogs => {
            let n = client.on_site().upload_lock_logs().await?;
            println!("{n} log entries uploaded");
        }
    }
    Ok(())
}

/// The lock's status, one field a line.
fn print_status(s: &access_core::ble::LockStatusInfo) {
    println!("name:     {}", s.name);
    println!("mode:     {}", s.mode.as_str());
    println!(
        "bolt:     {}",
        if s.bolt_locked { "locked" } else { "unlocked" }
    );
    println!("battery:  {}%", s.battery);
    println!("firmware: {}", s.firmware);
    println!("clock:    {}", s.clock);
    println!("codes:    {}", s.access_codes);
    println!("log head: {}", s.log_head);
}
