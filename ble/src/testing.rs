//! Test support (feature `testing`): a private virtual BlueZ per test, and the
//! `virtual-lock` binary as a child process.
//!
//! [`VirtualBluez`] runs `tools/bluezoo/launcher.py` (BlueZoo, GPL-2.0, as a separate
//! process: never linked) on a private system bus and points this process at it. BlueZoo
//! tests run one at a time: they share `DBUS_SYSTEM_BUS_ADDRESS`, which btleplug and bluer
//! read from the environment, and libdbus keeps the first address it read, so every BlueZoo
//! of one test process listens on the same socket path. A launcher that cannot start fails
//! the test: install what it needs with `need_ble_deps` from `scripts/lib/ble.sh`.
//!
//! ```no_run
//! use lock_ble::testing::VirtualBluez;
//! use lock_ble::{BtleplugConfig, BtleplugTransport};
//! # async fn demo() {
//! let bluez = VirtualBluez::start(1).await; // phone adapter + 1 lock adapter
//! let phone = BtleplugTransport::new(BtleplugConfig {
//!     adapter: Some(bluez.phone.clone()),
//!     ..Default::default()
//! })
//! .await
//! .unwrap();
//! # }
//! ```

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::const_new(());

/// A running BlueZoo on its own bus; stopped on drop (and when this process dies).
pub struct VirtualBluez {
    child: Child,
    socket: PathBuf,
    /// The bus address, also set as `DBUS_SYSTEM_BUS_ADDRESS` in this process.
    pub bus: String,
    /// Address of the phone's adapter (`hci0`).
    pub phone: String,
    /// Addresses of the lock adapters (`hci1`...).
    pub locks: Vec<String>,
    _serial: MutexGuard<'static, ()>,
}

/// The launcher script. Where this crate was compiled first; then up from the running test's
/// package and the working directory, since cargo reuses this crate's build for a copy of
/// the workspace at another path (a CI checkout sharing the target directory).
fn launcher() -> PathBuf {
    const SCRIPT: &str = "tools/bluezoo/launcher.py";
    let compiled = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(SCRIPT);
    if compiled.exists() {
        return compiled;
    }
    let starts = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::current_dir().ok());
    starts
        .flat_map(|start| {
            start
                .ancestors()
                .map(|dir| dir.join(SCRIPT))
                .collect::<Vec<_>>()
        })
        .find(|path| path.exists())
        .unwrap_or(compiled)
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
            socket: socket.clone(),
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

/// Sends SIGTERM and waits up to 5 s, then kills.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..50 {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The `virtual-lock` binary running on a lock adapter of a [`VirtualBluez`]; stopped on drop.
///
/// ```no_run
/// use lock_ble::testing::{VirtualBluez, VirtualLockProcess};
/// # async fn demo(binary: &std::path::Path, state: &std::path::Path) {
/// let bluez = VirtualBluez::start(1).await;
/// let mut lock = VirtualLockProcess::start(
///     binary,
///     &["--state", state.to_str().unwrap(), "--adapter", &bluez.locks[0], "--pairing-code", "1234567890"],
/// );
/// assert_eq!(lock.field("pairing_code"), Some("1234567890"));
/// lock.command("keypad 1234");
/// let outcome = lock.expect_line("virtual-lock keypad ");
/// # }
/// ```
pub struct VirtualLockProcess {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// The `virtual-lock ready ...` line.
    pub ready: String,
}

impl VirtualLockProcess {
    /// Starts `binary` with `args` and waits (20 s at most) for its ready line; panics with
    /// its output otherwise.
    pub fn start(binary: &Path, args: &[&str]) -> VirtualLockProcess {
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} (cargo build -p virtual-lock): {e}",
                    binary.display()
                )
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let (tx, lines) = mpsc::channel();
        for output in [
            Box::new(child.stdout.take().expect("piped stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("piped stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut process = VirtualLockProcess {
            child,
            stdin,
            lines,
            ready: String::new(),
        };
        process.ready = process.expect_line("virtual-lock ready ");
        process
    }

    /// A `key=value` field of the ready line (`address`, `pairing_code`, `paired`, `tag`...).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.ready
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    }

    /// Sends a control line (`keypad DIGITS`, `out-of-range`, `in-range`).
    pub fn command(&mut self, line: &str) {
        use std::io::Write;
        writeln!(self.stdin, "{line}").expect("virtual-lock reads its stdin");
        self.stdin.flush().expect("virtual-lock reads its stdin");
    }

    /// Waits (20 s at most) for an output line starting with `prefix`; returns it. Panics
    /// with what was printed instead.
    pub fn expect_line(&mut self, prefix: &str) -> String {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("virtual-lock printed no `{prefix}` line; it printed: {seen:#?}"),
            }
        }
    }
}

impl Drop for VirtualLockProcess {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for VirtualBluez {
    fn drop(&mut self) {
        // SIGTERM lets the launcher stop its dbus-daemon and remove its temp dir.
        terminate(&mut self.child);
        let _ = std::fs::remove_file(&self.socket);
        if let Some(dir) = self.socket.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
