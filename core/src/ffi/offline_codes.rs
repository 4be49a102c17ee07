//! [`OfflineCodes`]: codes a lock checks by itself (`crate::offline_codes`).

use std::sync::Arc;

use access_domain::AccessCodeKind;

use crate::AccessError;
use crate::engine::Engine;
use crate::live_objects::LiveObject;
use crate::model::TimeWindow;
use crate::offline_codes::{OfflineCodeClass, OfflineCodeInfo};

/// Offline codes: 14 digits, issued by the server, checked by the lock alone.
#[derive(uniffi::Object)]
pub struct OfflineCodes {
    engine: Arc<Engine>,
    _live: LiveObject,
}

impl OfflineCodes {
    pub(crate) fn new(engine: Arc<Engine>) -> OfflineCodes {
        OfflineCodes {
            engine,
            _live: LiveObject::new(),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl OfflineCodes {
    /// Gives an offline code (`give_access`): `window` (needs `window`) or `one_time`
    /// (without `window`: this hour plus 24 hours), `class` guest or tour (default: tour
    /// when the lock is in tour mode). Needs the network; refused locally, with nothing
    /// sent, when the permission or scope does not allow it.
    pub async fn give(
        &self,
        lock_id: String,
        kind: AccessCodeKind,
        class: Option<OfflineCodeClass>,
        label: Option<String>,
        window: Option<TimeWindow>,
    ) -> Result<OfflineCodeInfo, AccessError> {
        self.engine
            .give_offline_access(lock_id, kind, class, label, window)
            .await
    }
}
