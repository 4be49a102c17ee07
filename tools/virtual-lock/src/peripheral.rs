//! Serves a lock handler as a BLE peripheral until told to stop, with the controls of the
//! binary: SIGUSR1 takes the lock out of range (stops advertising, drops the phone's link),
//! SIGUSR2 brings it back, SIGTERM/SIGINT stop it; on stdin, `keypad DIGITS`,
//! `out-of-range` and `in-range` lines.

use std::io::Write;
use std::time::Duration;

use lock_ble::peripheral::{LockPeripheral, PeripheralConfig};
use lock_ble::{BleError, LinkHandler};
use lock_protocol::gatt::Advertisement;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::signal::unix::{SignalKind, signal};

/// Answers a `keypad DIGITS` line with the outcome to print.
pub type Keypad = Box<dyn FnMut(&str) -> String + Send>;

/// A new battery fitted in the lock (stdin `battery`); the line to print.
pub type Battery = Box<dyn FnMut() -> String + Send>;

/// Answers each write with the same bytes: for testing the link without the lock brain.
pub struct EchoLock {
    pub advertisement: Advertisement,
}

impl LinkHandler for EchoLock {
    fn advertisement(&self) -> Advertisement {
        self.advertisement
    }
    fn on_connect(&mut self, _mtu: usize) {}
    fn on_write(&mut self, fragment: &[u8]) -> Vec<Vec<u8>> {
        vec![fragment.to_vec()]
    }
    fn on_disconnect(&mut self) {}
}

/// How to serve, from the command line.
pub struct Serve {
    pub adapter: Option<String>,
    pub latency: Duration,
    pub name: Option<String>,
    /// Printed on the ready line (the code a technician would read off the lock).
    pub pairing_code: Option<String>,
}

/// Serves `handler` until SIGTERM or SIGINT.
pub async fn serve(
    options: Serve,
    handler: impl LinkHandler,
    mut keypad: Option<Keypad>,
    mut battery: Option<Battery>,
) -> Result<(), BleError> {
    let signals = |kind| signal(kind).map_err(|e| BleError::Bluetooth(format!("signals: {e}")));
    let mut out_of_range = signals(SignalKind::user_defined1())?;
    let mut in_range = signals(SignalKind::user_defined2())?;
    let mut terminate = signals(SignalKind::terminate())?;
    let mut interrupt = signals(SignalKind::interrupt())?;

    let config = PeripheralConfig {
        adapter: options.adapter,
        latency: options.latency,
        local_name: options.name,
    };
    let advertisement = handler.advertisement();
    let lock = LockPeripheral::start(config, handler).await?;
    let mut ready = format!(
        "virtual-lock ready address={} pid={} latency_ms={}",
        lock.address(),
        std::process::id(),
        options.latency.as_millis()
    );
    if let Some(code) = &options.pairing_code {
        ready.push_str(&format!(" pairing_code={code}"));
    }
    ready.push_str(&format!(
        " paired={} tag={}",
        advertisement.paired,
        String::from_utf8_lossy(&advertisement.lock_tag)
    ));
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{ready}");
    let _ = stdout.flush();

    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            _ = out_of_range.recv() => {
                lock.set_in_range(false).await?;
                println!("virtual-lock out-of-range");
            }
            _ = in_range.recv() => {
                lock.set_in_range(true).await?;
                println!("virtual-lock in-range");
            }
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(line)) => match line.split_whitespace().collect::<Vec<_>>()[..] {
                    ["out-of-range"] => {
                        lock.set_in_range(false).await?;
                        println!("virtual-lock out-of-range");
                    }
                    ["in-range"] => {
                        lock.set_in_range(true).await?;
                        println!("virtual-lock in-range");
                    }
                    ["keypad", digits] => match keypad.as_mut() {
                        Some(keypad) => println!("virtual-lock keypad {}", keypad(digits)),
                        None => println!("virtual-lock error no keypad in echo mode"),
                    },
                    ["battery"] => match battery.as_mut() {
                        Some(battery) => println!("virtual-lock {}", battery()),
                        None => println!("virtual-lock error no battery in echo mode"),
                    },
                    [] => {}
                    _ => println!("virtual-lock error unknown command: {line}"),
                },
                // No more input (e.g. stdin is /dev/null): signals still work.
                Ok(None) | Err(_) => stdin_open = false,
            },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
        let _ = stdout.flush();
    }
    println!("virtual-lock stopping");
    let _ = stdout.flush();
    // Bounded: with the bus gone (BlueZ stopped first), D-Bus calls may never answer.
    let _ = tokio::time::timeout(Duration::from_secs(2), lock.stop()).await;
    Ok(())
}
