//! Locks over Bluetooth LE: scan, pairing on site, and every lock command, each gated by
//! `access_domain::authorize` like the HTTP actions and working offline with the signed
//! credentials kept in the cache.
//!
//! The transport is btleplug (the phone's radio; pick the adapter with
//! `OnSite::use_bluetooth_adapter`) unless a test injects another with
//! [`crate::AccessClient::set_lock_transport`] (e.g. `lock_ble::MemoryTransport`).
//!
//! Layers: [`conversation`] (one session with a lock over any link, no cache or server:
//! tested over the in-memory transport against the virtual lock), [`link`] (framing),
//! [`errors`], and the engine's parts: `radio` (transport, scan, finding a lock),
//! `credentials`, `commands`, `door`, `pairing`, `uploads`.
//!
//! - Credentials come from `POST /api/v1/locks/{id}/credentials` (during
//!   `Account::refresh_credentials` or on demand) and are used until a minute before
//!   they expire; with no network, a cached unexpired one opens the lock.
//! - Every command opens a session whose first write carries the credential and the command
//!   (one round trip); then the contact carries the lock's cached door update and the lock's
//!   status is queued as a contact report for the server (`door`). The lock's clock and
//!   revocation list move only with that signed update: no phone sets them.
//! - Pages of a lock's log wait in the cache exactly as the lock sent them (MACed under its
//!   report key) and go once to `POST /api/v1/locks/{id}/logs` when the network is there;
//!   the server verifies them and keeps each lock sequence number once.
//! - Revocation reaches an offline lock two ways. The lock's door update lists the revoked
//!   serials, and any phone that fetched it after the revocation carries it at its next
//!   contact (`OnSite::bring_in_line` does so on demand); and credentials expire (server
//!   `credential_lifetime`, 24 h by default). Worst case for a revoked user's phone that
//!   kept its credential: until such a phone talks to the lock, and at most the credential
//!   lifetime plus the 5-minute clock skew tolerance (24 h 5 min) when none comes by.
//! - Pairing needs the network: the lock is registered under its unit first (the answer is
//!   what to install), then SPAKE2 on the printed code proves the lock and installs it, then
//!   the lock's identity key goes to the server. A failed attempt is retried under the same
//!   registration.

mod commands;
pub mod conversation;
mod credentials;
mod door;
pub mod errors;
pub mod link;
pub mod logs;
mod model;
mod pairing;
mod radio;
mod uploads;

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lock_ble::AnyTransport;
use uuid::Uuid;

pub use model::*;

/// A credential closer than this to its expiry is renewed when the network allows.
const RENEW_BEFORE_SECS: u64 = 60 * 60;
/// How long one lock answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a contact waits for the server beside the lock's own exchange (the door
/// update; a credential's renewal does not even wait) and after it (the contact report): past it, the request
/// goes on in the background and the user's action never waits on the network longer.
const BESIDE_WAIT: Duration = Duration::from_millis(200);
const REPORT_WAIT: Duration = Duration::from_millis(100);
/// How long looking for a lock that is not where it was last seen may take.
const FIND_TIMEOUT: Duration = Duration::from_secs(8);

/// The BLE side of the [`crate::engine::Engine`]: which transport, opened on first use.
#[derive(Default)]
pub struct BleState {
    adapter: Mutex<Option<String>>,
    transport: tokio::sync::Mutex<Option<AnyTransport>>,
    /// One conversation with a lock at a time (a lock serves one link).
    busy: tokio::sync::Mutex<()>,
    /// One upload of reports and log pages at a time.
    uploading: tokio::sync::Mutex<()>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The lock's advertised tag once paired: the first 8 bytes of its id.
fn tag_of(lock_id: Uuid) -> [u8; 8] {
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&lock_id.as_bytes()[..8]);
    tag
}
