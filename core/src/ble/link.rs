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
    /// Round trips: each batch of messages sent before the first answer is read is one.
    pub round_trips: u32,
    /// Fragment bytes written to the lock, headers included.
    pub bytes_out: u64,
    /// Fragment bytes the lock notified, headers included.
    pub bytes_in: u64,
}

impl<L: LockLink> Framed<L> {
    pub fn new(link: L, timeout: Duration) -> Self {
        Framed {
            link,
            next_id: 0,
            timeout,
            round_trips: 0,
            bytes_out: 0,
            bytes_in: 0,
        }
    }

    /// Sends `message` and returns the lock's answer (one round trip).
    pub async fn exchange(&mut self, message: &[u8]) -> Result<Vec<u8>, LinkError> {
        let mut answers = self.exchange_all(&[message]).await?;
        Ok(answers.pop().unwrap_or_default())
    }

    /// Sends every message before reading any answer, then reads their answers in order:
    /// one round trip for all of them. The lock answers each message in turn, and BLE keeps
    /// writes and notifications in order, so the n-th answer is the n-th message's.
    pub async fn exchange_all(&mut self, messages: &[&[u8]]) -> Result<Vec<Vec<u8>>, LinkError> {
        let mut fragments = Vec::new();
        for message in messages {
            self.next_id = self.next_id.wrapping_add(1);
            fragments.extend(
                fragment(self.next_id, message, self.link.mtu())
                    .map_err(|e| LinkError::Frame(e.to_string()))?,
            );
        }
        self.round_trips += 1;
        self.bytes_out += fragments.iter().map(|f| f.len() as u64).sum::<u64>();
        self.link.send(fragments).await?;
        let mut answers = Vec::with_capacity(messages.len());
        while answers.len() < messages.len() {
            answers.push(self.answer().await?);
        }
        Ok(answers)
    }

    /// The lock's next answer, reassembled, within [`Framed::timeout`].
    async fn answer(&mut self) -> Result<Vec<u8>, LinkError> {
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
            self.bytes_in += piece.len() as u64;
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
