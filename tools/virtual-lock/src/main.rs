//! `virtual-lock`: a lock as a BLE peripheral over BlueZ (or BlueZoo), for tests and demos.

mod peripheral;

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::Parser;
use lock_protocol::gatt::Advertisement;
use virtual_lock::{FactorySettings, LockBrain, VirtualLock};

use peripheral::{EchoLock, Serve};

/// A virtual lock served as a BLE peripheral through BlueZ's D-Bus API (point
/// DBUS_SYSTEM_BUS_ADDRESS at BlueZoo for tests: see scripts/lib/ble.sh).
///
/// Prints one line when it is on the air:
/// `virtual-lock ready address=AA:BB:CC:DD:EE:FF pid=N latency_ms=N pairing_code=C paired=B`.
///
/// Controls. Signals: SIGUSR1 takes the lock out of range (stops advertising and drops the
/// phone's link; prints `virtual-lock out-of-range`), SIGUSR2 brings it back in range
/// (prints `virtual-lock in-range`), SIGTERM or SIGINT stop it (`virtual-lock stopping`).
/// Lines on stdin: `out-of-range`, `in-range`, `keypad DIGITS` (someone types a code on
/// the keypad; prints `virtual-lock keypad OUTCOME`) and `battery` (a new battery is
/// fitted; prints `virtual-lock battery 100%`).
#[derive(Debug, Parser)]
#[command(name = "virtual-lock", version, verbatim_doc_comment)]
struct Args {
    /// The lock's state file (created with the factory settings if missing).
    #[arg(long, value_name = "FILE", required_unless_present = "echo")]
    state: Option<PathBuf>,
    /// Address of the Bluetooth adapter to serve on (default: BlueZ's default adapter).
    #[arg(long, value_name = "ADDR")]
    adapter: Option<String>,
    /// Link latency: delay before each batch of notifications, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Factory setting: the pairing code printed on the lock (default: 10 random digits).
    #[arg(long)]
    pairing_code: Option<String>,
    /// Factory setting: the serial printed on the lock (its first 8 bytes are advertised
    /// while unpaired).
    #[arg(long, default_value = "VL-00001")]
    serial: String,
    /// Advertised local name.
    #[arg(long)]
    name: Option<String>,
    /// Answer every write with the same bytes instead of running the lock (link tests).
    #[arg(long, conflicts_with = "state")]
    echo: bool,
}

async fn run(args: Args) -> Result<(), String> {
    let mut serve = Serve {
        adapter: args.adapter,
        latency: Duration::from_millis(args.latency_ms),
        name: args.name,
        pairing_code: None,
    };
    let Some(state) = args.state.filter(|_| !args.echo) else {
        let advertisement = Advertisement {
            paired: false,
            lock_tag: *b"ECHOLOCK",
        };
        let echo = EchoLock { advertisement };
        return peripheral::serve(serve, echo, None, None)
            .await
            .map_err(|e| e.to_string());
    };
    let factory = FactorySettings {
        factory_serial: args.serial,
        pairing_code: args.pairing_code,
    };
    let lock = VirtualLock::open(&state, factory).map_err(|e| e.to_string())?;
    serve.pairing_code = Some(lock.state().identity.pairing_code.clone());
    let brain = LockBrain::new(lock);
    let keypad_brain = brain.clone();
    let keypad: peripheral::Keypad = Box::new(move |digits: &str| {
        keypad_brain.with(|lock| format!("{:?}", lock.keypad(digits)))
    });
    let battery_brain = brain.clone();
    let battery: peripheral::Battery =
        Box::new(move || battery_brain.with(|lock| lock.replace_battery()));
    peripheral::serve(serve, brain, Some(keypad), Some(battery))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("virtual-lock: {error}");
            ExitCode::FAILURE
        }
    }
}
