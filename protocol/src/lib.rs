//! The BLE lock protocol shared by the mobile core, the virtual lock and the server.
//!
//! Layers, bottom up: [`gatt`] (service and advertising), [`frame`] (fragments at the
//! negotiated MTU), [`wire`] (versioned postcard messages), [`credential`] (Ed25519 claims
//! signed by the organization), [`session`] (one-round-trip authenticated key exchange),
//! [`pairing`] (SPAKE2 on the code printed on the lock), [`command`] (what a session
//! carries), [`door`] (the platform's signed, sealed updates any phone carries) and [`report`]
//! (the lock's log pages, MACed under its report key).
//! Everything here is pure: no I/O, so it runs the same over BLE and in memory.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod command;
pub mod credential;
mod crypto;
pub mod door;
pub mod frame;
pub mod fuzzing;
pub mod gatt;
pub mod offline_code;
pub mod pairing;
pub mod report;
pub mod session;
pub mod wire;
