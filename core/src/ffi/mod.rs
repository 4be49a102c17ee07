//! What the apps see: [`AccessClient`] and the objects it hands out, each a thin pass-through
//! to the plain [`Engine`] (the logic, tested in its own modules). Grouped so that no object
//! carries more than about 15 methods:
//!
//! - [`Account`]: registration, sign in and out, the cached user, credentials for offline use
//! - [`Locks`]: the cached locks and the gated actions on one lock
//! - [`ActionQueue`]: actions waiting for the network or refused by the server
//! - [`OnSite`]: the locks in Bluetooth range: scan, pairing, lock commands
//! - [`OfflineCodes`]: codes a lock checks by itself
//!
//! Each object holds the engine, so it stays usable while the app holds it, even after the
//! client itself was released.

mod account;
mod locks;
mod offline_codes;
mod on_site;
mod queue;

use std::sync::Arc;

use lock_ble::AnyTransport;

pub use account::Account;
pub use locks::Locks;
pub use offline_codes::OfflineCodes;
pub use on_site::OnSite;
pub use queue::ActionQueue;

use crate::engine::Engine;
use crate::live_objects::LiveObject;
use crate::model::{ClientConfig, SyncProgress, SyncSummary};
use crate::secrets::SecretStore;
use crate::{AccessError, CoreLogger, LogLevel};

/// The core's client object: one per app process.
#[derive(uniffi::Object)]
pub struct AccessClient {
    engine: Arc<Engine>,
    _live: LiveObject,
}

impl AccessClient {
    /// Uses `transport` for every lock conversation (tests: an in-memory transport, or
    /// btleplug on a chosen adapter). Not exported: the apps use the radio.
    pub async fn set_lock_transport(&self, transport: AnyTransport) {
        self.engine.set_lock_transport(transport).await;
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AccessClient {
    /// A client for `config`, keeping its session in `secrets` and sending core logs to
    /// `logger` when given. Opens (or creates) the cache in `config.data_dir`.
    #[uniffi::constructor]
    pub fn new(
        config: ClientConfig,
        secrets: Arc<dyn SecretStore>,
        logger: Option<Arc<dyn CoreLogger>>,
    ) -> Result<Arc<Self>, AccessError> {
        if let Some(l) = logger {
            crate::logging::set_logger(Some(l), LogLevel::Info);
        }
        Ok(Arc::new(AccessClient {
            engine: Engine::open(&config, secrets)?.share(),
            _live: LiveObject::new(),
        }))
    }

    /// Registration, sign in and out, the signed-in user.
    pub fn account(&self) -> Arc<Account> {
        Arc::new(Account::new(self.engine.clone()))
    }

    /// The cached locks and the gated actions on them.
    pub fn locks(&self) -> Arc<Locks> {
        Arc::new(Locks::new(self.engine.clone()))
    }

    /// The offline action queue.
    pub fn queue(&self) -> Arc<ActionQueue> {
        Arc::new(ActionQueue::new(self.engine.clone()))
    }

    /// The locks in Bluetooth range.
    pub fn on_site(&self) -> Arc<OnSite> {
        Arc::new(OnSite::new(self.engine.clone()))
    }

    /// Offline codes.
    pub fn offline_codes(&self) -> Arc<OfflineCodes> {
        Arc::new(OfflineCodes::new(self.engine.clone()))
    }

    /// Sends queued actions, then brings the cache up to date from the cursor (the whole
    /// cache on the first sync, after a refused action or when the server says so).
    pub async fn sync(
        &self,
        progress: Option<Arc<dyn SyncProgress>>,
    ) -> Result<SyncSummary, AccessError> {
        self.engine.sync(progress).await
    }
}
