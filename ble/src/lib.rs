//! The phone's side of the lock BLE link.
//!
//! [`LockTransport`] finds locks and opens [`LockLink`]s; a link writes fragments to the
//! lock's write characteristic and receives its notifications. [`BtleplugTransport`] is the
//! radio (BlueZ, CoreBluetooth, Android through btleplug); [`MemoryTransport`] runs the same
//! protocol code against an in-process [`LinkHandler`] at any MTU for unit tests. Every wait
//! has a timeout and errors are typed ([`BleError`]). With the feature `peripheral`,
//! [`peripheral`] serves a [`LinkHandler`] as a BlueZ GATT peripheral through bluer (the
//! virtual lock); with `testing`, [`testing`] starts BlueZoo and the virtual-lock binary
//! for tests.
//!
//! The GATT layout and advertising data come from [`lock_protocol::gatt`].

mod any;
mod central;
mod error;
mod memory;
#[cfg(feature = "peripheral")]
pub mod peripheral;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;

pub use any::{AnyLink, AnyScan, AnyTransport};
pub use central::{BtleplugConfig, BtleplugLink, BtleplugScan, BtleplugTransport};
pub use error::BleError;
pub use memory::{MemoryLink, MemoryTransport};
pub use transport::{
    ATT_HEADER, Discovered, FnHandler, LinkHandler, LockLink, LockTransport, MIN_ATT_MTU,
};
