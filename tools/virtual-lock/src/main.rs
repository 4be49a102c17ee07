//! `virtual-lock`: a lock as a BLE peripheral over BlueZ (or BlueZoo), for tests and demos.

mod peripheral;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lock_protocol::gatt::Advertisement;

use peripheral::{EchoLock, Serve};

/// A virtual lock served as a BLE peripheral through BlueZ's D-Bus API (point
/// DBUS_SYSTEM_BUS_ADDRESS at BlueZoo for tests: see scripts/lib/ble.sh).
///
/// Prints one line when it is on the air:
/// `virtual-lock ready address=AA:BB:CC:DD:EE:FF pid=N latency_ms=N [pairing_code=C]`.
///
/// Signals: SIGUSR1 takes the lock out of range (stops advertising and drops the phone's
/// link; prints `virtual-lock out-of-range`), SIGUSR2 brings it back in range (prints
/// `virtual-lock in-range`), SIGTERM or SIGINT stop it.
#[derive(Debug, Parser)]
#[command(name = "virtual-lock", version)]
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
    /// Factory setting: the pairing code printed on the lock.
    #[arg(long)]
    pairing_code: Option<String>,
    /// Advertised local name.
    #[arg(long)]
    name: Option<String>,
    /// Answer every write with the same bytes instead of running the lock (link tests).
    #[arg(long)]
    echo: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let serve = Serve {
        adapter: args.adapter,
        latency: Duration::from_millis(args.latency_ms),
        name: args.name,
        pairing_code: args.pairing_code,
    };
    let result = if args.echo {
        let advertisement = Advertisement {
            paired: false,
            lock_tag: *b"ECHOLOCK",
        };
        peripheral::serve(serve, EchoLock { advertisement }).await
    } else {
        Err(lock_ble::BleError::Bluetooth(format!(
            "state {:?}: the lock brain is not wired in yet; run with --echo",
            args.state
        )))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("virtual-lock: {error}");
            ExitCode::FAILURE
        }
    }
}
