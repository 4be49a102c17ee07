//! Test support: a private virtual BlueZ (tools/bluezoo/launcher.py) per test.
//!
//! BlueZoo tests run one at a time (they share `DBUS_SYSTEM_BUS_ADDRESS`, which btleplug and
//! bluer read from the environment). A launcher that cannot start fails the test: install
//! what it needs with `scripts/lib/ble.sh` (`need_ble_deps`).

#![allow(dead_code)] // each test binary uses part of it

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::const_new(());

/// A running BlueZoo on its own bus; stopped on drop.
pub struct VirtualBluez {
    child: Child,
    pub bus: String,
    pub phone: String,
    pub locks: Vec<String>,
    _serial: MutexGuard<'static, ()>,
}

fn launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/bluezoo/launcher.py")
}

impl VirtualBluez {
    /// Starts BlueZoo with a phone adapter and `locks` lock adapters, and points this
    /// process's D-Bus system bus at it.
    pub async fn start(locks: usize) -> VirtualBluez {
        let serial = SERIAL.lock().await;
        // One socket path for the whole test process: libdbus reads DBUS_SYSTEM_BUS_ADDRESS
        // once and keeps it, so every BlueZoo of this process must listen at the same place.
        let dir = std::env::temp_dir().join(format!("lock-ble-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("socket dir");
        let socket = dir.join("system_bus_socket");
        let mut child = Command::new("python3")
            .arg(launcher())
            .args(["--locks", &locks.to_string()])
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 must be installed to run the BlueZoo launcher");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (log_tx, log_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut log = String::new();
            let _ = stderr.read_to_string(&mut log);
            let _ = log_tx.send(log);
        });

        let mut bus = None;
        let mut phone = None;
        let mut lock_adapters = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line == "BLUEZOO_READY" => break,
                Ok(line) => {
                    if let Some(v) = line.strip_prefix("DBUS_SYSTEM_BUS_ADDRESS=") {
                        bus = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("PHONE_ADAPTER=") {
                        phone = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("LOCK_ADAPTERS=") {
                        lock_adapters = v.split_whitespace().map(str::to_owned).collect();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let log = log_rx
                        .recv_timeout(Duration::from_secs(5))
                        .unwrap_or_default();
                    panic!(
                        "the BlueZoo launcher did not start (needs dbus-daemon and \
                         `pip install bluezoo==1.0.2`, see scripts/lib/ble.sh):\n{log}"
                    );
                }
            }
        }
        assert!(bus.is_some(), "launcher printed the bus address");
        let bus = format!("unix:path={}", socket.display());
        // SAFETY: BlueZoo tests hold SERIAL, so no other test reads or writes the environment
        // while it changes; the memory tests do not touch it.
        unsafe { std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &bus) };
        VirtualBluez {
            child,
            bus,
            phone: phone.expect("launcher printed the phone adapter"),
            locks: lock_adapters,
            _serial: serial,
        }
    }

    /// The id btleplug gives the lock on adapter `address` as seen from the phone (hci0).
    pub fn lock_id(&self, address: &str) -> String {
        format!("hci0/dev_{}", address.replace(':', "_"))
    }
}

impl Drop for VirtualBluez {
    fn drop(&mut self) {
        // SIGTERM lets the launcher stop its dbus-daemon and remove its temp dir.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
