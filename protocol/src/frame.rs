//! Fragmentation of protocol messages to the negotiated ATT MTU, and their reassembly.
//!
//! Every fragment starts with a 3-byte header: the message id (one byte, chosen by the
//! sender, wrapping) and a big-endian `u16` whose top bit marks the last fragment and whose
//! low 15 bits are the fragment index. The first fragment then carries the frame version and
//! the message length (`u16`, big-endian), so the receiver knows up front how much it will
//! hold and can refuse anything above [`MAX_MESSAGE`] before buffering a byte of it.
//!
//! ```text
//! first:  [msg_id][LAST|index=0 (u16)][version][total_len (u16)][data...]
//! others: [msg_id][LAST|index   (u16)][data...]
//! ```
//!
//! BLE delivers writes and notifications in order, so fragments must arrive in order; any
//! gap, duplicate or foreign fragment drops the message in progress with an error. The
//! reassembler holds at most one message, so its memory is bounded by [`MAX_MESSAGE`].
//!
//! ```
//! use lock_protocol::frame::{fragment, Reassembler};
//! let message = vec![7u8; 100];
//! let fragments = fragment(1, &message, 23).unwrap();
//! assert!(fragments.iter().all(|f| f.len() <= 20));
//! let mut r = Reassembler::new();
//! let mut out = None;
//! for f in &fragments {
//!     out = r.push(f).unwrap();
//! }
//! assert_eq!(out, Some(message));
//! ```

use alloc::vec::Vec;
use thiserror::Error;

/// Version of the fragment layout, carried by every first fragment.
pub const FRAME_VERSION: u8 = 1;
/// The largest message, in bytes, either side sends or accepts.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// The smallest ATT MTU BLE allows.
pub const MIN_MTU: usize = 23;
/// ATT header bytes taken from the MTU by a write or a notification.
pub const ATT_OVERHEAD: usize = 3;
/// The longest attribute value ATT can carry, whatever the MTU.
pub const MAX_ATT_VALUE: usize = 512;
/// Bytes of header in every fragment.
pub const HEADER_LEN: usize = 3;
/// Extra bytes in the first fragment: version and total length.
pub const FIRST_HEADER_LEN: usize = 3;

const LAST_FLAG: u16 = 0x8000;
const INDEX_MASK: u16 = 0x7fff;

/// Why a message could not be fragmented or a fragment was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("MTU {0} is below the BLE minimum of 23")]
    MtuTooSmall(usize),
    #[error("message of {0} bytes is empty or above the 16 KiB limit")]
    BadLength(usize),
    #[error("fragment shorter than its header")]
    TooShort,
    #[error("unsupported frame version {0}")]
    UnsupportedVersion(u8),
    #[error("fragment {got} arrived where {expected} was expected")]
    OutOfOrder { expected: u16, got: u16 },
    #[error("fragment of message {got} arrived while message {expected} was in progress")]
    WrongMessage { expected: u8, got: u8 },
    #[error("fragments carry more bytes than the announced length")]
    Overflow,
    #[error("last fragment arrived before the announced length was reached")]
    Truncated,
}

/// The data bytes one fragment can carry at `mtu` (without the fragment header).
fn fragment_capacity(mtu: usize) -> Result<usize, FrameError> {
    if mtu < MIN_MTU {
        return Err(FrameError::MtuTooSmall(mtu));
    }
    Ok((mtu - ATT_OVERHEAD).min(MAX_ATT_VALUE))
}

/// Splits `message` into fragments that each fit one ATT write or notification at `mtu`.
///
/// ```
/// let f = lock_protocol::frame::fragment(9, b"hello", 185).unwrap();
/// assert_eq!(f.len(), 1);
/// assert!(lock_protocol::frame::fragment(9, b"hello", 22).is_err());
/// ```
pub fn fragment(msg_id: u8, message: &[u8], mtu: usize) -> Result<Vec<Vec<u8>>, FrameError> {
    let cap = fragment_capacity(mtu)?;
    if message.is_empty() || message.len() > MAX_MESSAGE {
        return Err(FrameError::BadLength(message.len()));
    }
    let first_room = cap - HEADER_LEN - FIRST_HEADER_LEN;
    let other_room = cap - HEADER_LEN;
    let mut fragments = Vec::new();
    let (head, mut rest) = message.split_at(first_room.min(message.len()));
    let mut index: u16 = 0;
    let mut first = Vec::with_capacity(cap);
    first.push(msg_id);
    first.extend_from_slice(&marker(index, rest.is_empty()).to_be_bytes());
    first.push(FRAME_VERSION);
    // MAX_MESSAGE fits a u16, checked above.
    first.extend_from_slice(&(message.len() as u16).to_be_bytes());
    first.extend_from_slice(head);
    fragments.push(first);
    while !rest.is_empty() {
        index += 1;
        let (chunk, tail) = rest.split_at(other_room.min(rest.len()));
        rest = tail;
        let mut f = Vec::with_capacity(HEADER_LEN + chunk.len());
        f.push(msg_id);
        f.extend_from_slice(&marker(index, rest.is_empty()).to_be_bytes());
        f.extend_from_slice(chunk);
        fragments.push(f);
    }
    Ok(fragments)
}

fn marker(index: u16, last: bool) -> u16 {
    if last { index | LAST_FLAG } else { index }
}

#[derive(Debug, Clone)]
struct Partial {
    msg_id: u8,
    expected_len: usize,
    next_index: u16,
    buf: Vec<u8>,
}

/// Rebuilds messages from fragments, one message at a time.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    partial: Option<Partial>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Reassembler {
        Reassembler::default()
    }

    /// Whether a message is partly received.
    pub fn in_progress(&self) -> bool {
        self.partial.is_some()
    }

    /// Drops any message in progress (e.g. on disconnect).
    pub fn reset(&mut self) {
        self.partial = None;
    }

    /// Takes one fragment; returns the whole message when this fragment completes it.
    ///
    /// Any error drops the message in progress; a first fragment always starts over.
    pub fn push(&mut self, fragment: &[u8]) -> Result<Option<Vec<u8>>, FrameError> {
        let result = self.push_inner(fragment);
        if result.is_err() {
            self.partial = None;
        }
        result
    }

    fn push_inner(&mut self, fragment: &[u8]) -> Result<Option<Vec<u8>>, FrameError> {
        if fragment.len() < HEADER_LEN {
            return Err(FrameError::TooShort);
        }
        let msg_id = fragment[0];
        let mark = u16::from_be_bytes([fragment[1], fragment[2]]);
        let last = mark & LAST_FLAG != 0;
        let index = mark & INDEX_MASK;
        let data = &fragment[HEADER_LEN..];
        if index == 0 {
            self.partial = None;
            if data.len() < FIRST_HEADER_LEN {
                return Err(FrameError::TooShort);
            }
            if data[0] != FRAME_VERSION {
                return Err(FrameError::UnsupportedVersion(data[0]));
            }
            let total = usize::from(u16::from_be_bytes([data[1], data[2]]));
            if total == 0 || total > MAX_MESSAGE {
                return Err(FrameError::BadLength(total));
            }
            let data = &data[FIRST_HEADER_LEN..];
            let mut buf = Vec::with_capacity(total);
            append(&mut buf, data, total, last)?;
            if last {
                return Ok(Some(buf));
            }
            self.partial = Some(Partial {
                msg_id,
                expected_len: total,
                next_index: 1,
                buf,
            });
            return Ok(None);
        }
        let Some(partial) = self.partial.as_mut() else {
            return Err(FrameError::OutOfOrder {
                expected: 0,
                got: index,
            });
        };
        if partial.msg_id != msg_id {
            return Err(FrameError::WrongMessage {
                expected: partial.msg_id,
                got: msg_id,
            });
        }
        if partial.next_index != index {
            return Err(FrameError::OutOfOrder {
                expected: partial.next_index,
                got: index,
            });
        }
        append(&mut partial.buf, data, partial.expected_len, last)?;
        if last {
            return Ok(self.partial.take().map(|p| p.buf));
        }
        // Index 0x7fff would wrap into a first fragment; no legal message gets there.
        partial.next_index =
            index
                .checked_add(1)
                .filter(|i| *i <= INDEX_MASK)
                .ok_or(FrameError::OutOfOrder {
                    expected: index,
                    got: index,
                })?;
        Ok(None)
    }
}

/// Appends `data`, refusing to pass `total` and checking the last flag against the length.
fn append(buf: &mut Vec<u8>, data: &[u8], total: usize, last: bool) -> Result<(), FrameError> {
    if buf.len() + data.len() > total {
        return Err(FrameError::Overflow);
    }
    buf.extend_from_slice(data);
    let complete = buf.len() == total;
    match (last, complete) {
        (true, false) => Err(FrameError::Truncated),
        (false, true) => Err(FrameError::Overflow),
        // A non-last fragment that adds nothing would let a peer stall us forever at no cost.
        (false, false) if data.is_empty() => Err(FrameError::TooShort),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reassemble(fragments: &[Vec<u8>]) -> Result<Option<Vec<u8>>, FrameError> {
        let mut r = Reassembler::new();
        let mut out = None;
        for f in fragments {
            out = r.push(f)?;
        }
        Ok(out)
    }

    #[test]
    fn round_trips_at_the_usual_mtus() {
        for mtu in [23, 24, 100, 185, 512, 517, 1000] {
            for len in [1, 13, 14, 15, 17, 100, 1000, MAX_MESSAGE] {
                let msg: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
                let f = fragment(3, &msg, mtu).unwrap();
                let max = (mtu - ATT_OVERHEAD).min(MAX_ATT_VALUE);
                assert!(f.iter().all(|x| x.len() <= max), "mtu {mtu}");
                assert_eq!(reassemble(&f).unwrap(), Some(msg), "mtu {mtu} len {len}");
            }
        }
    }

    #[test]
    fn refuses_oversize_empty_and_tiny_mtu() {
        assert_eq!(fragment(0, &[], 23), Err(FrameError::BadLength(0)));
        assert!(fragment(0, &vec![0; MAX_MESSAGE + 1], 23).is_err());
        assert_eq!(fragment(0, b"x", 22), Err(FrameError::MtuTooSmall(22)));
        let mut first = vec![0, 0, 0, FRAME_VERSION];
        first.extend_from_slice(&((MAX_MESSAGE + 1) as u16).to_be_bytes());
        assert!(matches!(
            Reassembler::new().push(&first),
            Err(FrameError::BadLength(_))
        ));
    }

    #[test]
    fn gaps_duplicates_and_foreign_fragments_drop_the_message() {
        let msg = vec![5u8; 60];
        let f = fragment(1, &msg, 23).unwrap();
        let mut r = Reassembler::new();
        r.push(&f[0]).unwrap();
        assert!(matches!(r.push(&f[2]), Err(FrameError::OutOfOrder { .. })));
        assert!(!r.in_progress());
        r.push(&f[0]).unwrap();
        r.push(&f[1]).unwrap();
        assert!(r.push(&f[1]).is_err());
        let other = fragment(2, &msg, 23).unwrap();
        r.push(&f[0]).unwrap();
        assert!(matches!(
            r.push(&other[1]),
            Err(FrameError::WrongMessage { .. })
        ));
        // A fresh first fragment always restarts cleanly.
        assert_eq!(reassemble(&f).unwrap(), Some(msg));
    }

    #[test]
    fn a_tampered_length_or_last_flag_is_caught() {
        let msg = vec![1u8; 40];
        let mut f = fragment(1, &msg, 23).unwrap();
        let last = f.len() - 1;
        f[last][1] &= 0x7f; // clear LAST on the final fragment
        assert_eq!(reassemble(&f), Err(FrameError::Overflow));
        let mut g = fragment(1, &msg, 23).unwrap();
        g[1][1] |= 0x80; // LAST too early
        assert_eq!(reassemble(&g), Err(FrameError::Truncated));
    }

    proptest! {
        #[test]
        fn reassembler_survives_arbitrary_fragments(
            frags in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..40)
        ) {
            let mut r = Reassembler::new();
            for f in &frags {
                if let Ok(Some(m)) = r.push(f) {
                    prop_assert!(!m.is_empty() && m.len() <= MAX_MESSAGE);
                }
                if let Some(p) = &r.partial {
                    prop_assert!(p.buf.capacity() <= MAX_MESSAGE);
                }
            }
        }

        #[test]
        fn any_message_round_trips_at_any_mtu(
            msg in proptest::collection::vec(any::<u8>(), 1..3000),
            mtu in 23usize..600,
            id in any::<u8>(),
        ) {
            let f = fragment(id, &msg, mtu).unwrap();
            prop_assert_eq!(reassemble(&f).unwrap(), Some(msg));
        }
    }
}
