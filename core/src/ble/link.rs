//! One protocol message over a link: fragments at the link's MTU out, the lock's answer
//! reassembled in, every wait bounded.

use std::time::Duration;

use lock_ble::{BleError, LockLink};
use lock_protocol::frame::{Reassembler, fragment};
use tokio::time::Instant;

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Ble(#[from] BleError),
    /// The lock sent fragments that do not make a message.
    #[error("the lock sent a malformed answer: {0}")]
    Frame(String),
}

/// A link with the message id of the phone's next message.
pub struct Framed<L: LockLink> {
    pub link: L,
    next_id: u8,
    /// Bound on the whole answer to one message.
    pub timeout: Duration,
    /// Messages sent, i.e. round trips.
    pub round_trips: u32,
}

impl<L: LockLink> Framed<L> {
    pub fn new(link: L, timeout: Duration) -> Self {
        Framed {
            link,
            next_id: 0,
            timeout,
            round_trips: 0,
        }
    }

    /// Sends `message` and returns the lock's answer (one round trip).
    pub async fn exchange(&mut self, message: &[u8]) -> Result<Vec<u8>, LinkError> {
        self.next_id = self.next_id.wrapping_add(1);
        self.round_trips += 1;
        let fragments = fragment(self.next_id, message, self.link.mtu())
            .map_err(|e| LinkError::Frame(e.to_string()))?;
        self.link.send(fragments).await?;
        let deadline = Instant::now() + self.timeout;
        let mut reassembler = Reassembler::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LinkError::Ble(BleError::Timeout {
                    after: self.timeout,
                    waiting_for: "the lock's answer",
                }));
            }
            let piece = self.link.recv(left).await?;
            match reassembler.push(&piece) {
                Ok(Some(answer)) => return Ok(answer),
                Ok(None) => continue,
                Err(e) => return Err(LinkError::Frame(e.to_string())),
            }
        }
    }

    pub async fn close(self) {
        self.link.disconnect().await;
    }
}
