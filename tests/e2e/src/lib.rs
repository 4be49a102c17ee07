//! End-to-end tests of locks over BLE (dev-only crate; everything is under `tests/`).
//!
//! - `tests/memory.rs`: the whole scenario through `access-core` against the virtual lock's
//!   brain over `lock_ble::MemoryTransport`, with the real server in-process.
//! - `tests/bluezoo.rs`: the same scenario through btleplug, BlueZoo and the `virtual-lock`
//!   binary (a bluer peripheral), plus the unlock benchmark (`E2E_BENCH=1`).
//!
//! Run with `scripts/lib/e2e.sh`'s `suite_e2e` (it installs BlueZoo and builds the
//! `virtual-lock` binary first).
