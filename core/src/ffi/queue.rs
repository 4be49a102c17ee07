//! [`ActionQueue`]: the offline action queue as the app shows it (`crate::replay`).

use std::sync::Arc;

use crate::AccessError;
use crate::engine::Engine;
use crate::live_objects::LiveObject;
use crate::model::{QueuedActionInfo, ReplaySummary};
use crate::queue::State;

/// Actions waiting for the network, and those the server refused.
#[derive(uniffi::Object)]
pub struct ActionQueue {
    engine: Arc<Engine>,
    _live: LiveObject,
}

impl ActionQueue {
    pub(crate) fn new(engine: Arc<Engine>) -> ActionQueue {
        ActionQueue {
            engine,
            _live: LiveObject::new(),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl ActionQueue {
    /// Sends queued actions now, in order. Refused ones move to [`ActionQueue::failed`]
    /// and the cache is corrected from the server.
    pub async fn replay(&self) -> Result<ReplaySummary, AccessError> {
        self.engine.replay_queue().await
    }

    /// Actions waiting for the network, oldest first.
    pub async fn pending(&self) -> Result<Vec<QueuedActionInfo>, AccessError> {
        self.engine.queued(State::Pending).await
    }

    /// Actions the server refused on replay, with the reason.
    pub async fn failed(&self) -> Result<Vec<QueuedActionInfo>, AccessError> {
        self.engine.queued(State::Failed).await
    }

    /// Removes a failed action from the list once the user has seen it.
    pub async fn dismiss_failed(&self, action_id: String) -> Result<(), AccessError> {
        self.engine.dismiss_failed(action_id).await
    }
}
