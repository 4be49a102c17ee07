//! A lock rig on BlueZoo: a private virtual BlueZ, the `virtual-lock` binary on its lock
//! adapter, and btleplug on its phone adapter.

use std::path::PathBuf;

use lock_ble::testing::{VirtualBluez, VirtualLockProcess};
use lock_ble::{AnyTransport, BtleplugConfig, BtleplugTransport};

use crate::support;

/// The binary `name` of this target directory, built by `cargo build -p package` (which the
/// e2e suite does first).
fn target_binary(name: &str, package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join(name);
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p {package}` first",
        binary.display()
    );
    binary
}

/// The `virtual-lock` binary of this target directory.
pub fn virtual_lock_binary() -> PathBuf {
    target_binary("virtual-lock", "virtual-lock")
}

/// The `access` CLI binary of this target directory.
#[allow(dead_code)] // each test binary uses a different part of the rig
pub fn access_binary() -> PathBuf {
    target_binary("access", "access-cli")
}

pub struct BluezooRig {
    pub bluez: VirtualBluez,
    pub lock: VirtualLockProcess,
    pub transport: AnyTransport,
    _dir: tempfile::TempDir,
}

impl BluezooRig {
    pub async fn start(latency_ms: u64) -> BluezooRig {
        let bluez = VirtualBluez::start(1).await;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("lock.state");
        let latency = latency_ms.to_string();
        let lock = VirtualLockProcess::start(
            &virtual_lock_binary(),
            &[
                "--state",
                state.to_str().unwrap(),
                "--adapter",
                &bluez.locks[0],
                "--pairing-code",
                support::PAIRING_CODE,
                "--serial",
                "VL-E2E-01",
                "--latency-ms",
                &latency,
            ],
        );
        let radio = BtleplugTransport::new(BtleplugConfig {
            adapter: Some(bluez.phone.clone()),
            ..Default::default()
        })
        .await
        .expect("the phone's adapter");
        BluezooRig {
            bluez,
            lock,
            transport: AnyTransport::from(radio),
            _dir: dir,
        }
    }
}

impl support::Rig for BluezooRig {
    fn transport(&self) -> AnyTransport {
        self.transport.clone()
    }
    fn device_id(&self) -> String {
        self.bluez.lock_id(&self.bluez.locks[0])
    }
    fn keypad(&mut self, digits: &str) -> String {
        self.lock.command(&format!("keypad {digits}"));
        self.lock.expect_line("virtual-lock keypad ")
    }
}
