//! One concrete transport type for code that must not be generic (e.g. objects exported
//! through UniFFI): the radio or the in-memory link, chosen at run time.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;

use crate::{
    BleError, BtleplugLink, BtleplugScan, BtleplugTransport, Discovered, LockLink, LockTransport,
    MemoryLink, MemoryTransport,
};

/// Either transport.
///
/// ```
/// use lock_ble::{AnyTransport, MemoryTransport};
/// let transport = AnyTransport::from(MemoryTransport::new(185));
/// assert!(matches!(transport, AnyTransport::Memory(_)));
/// ```
#[derive(Clone)]
pub enum AnyTransport {
    /// Through btleplug.
    Btleplug(BtleplugTransport),
    /// In memory.
    Memory(MemoryTransport),
}

impl From<BtleplugTransport> for AnyTransport {
    fn from(transport: BtleplugTransport) -> Self {
        AnyTransport::Btleplug(transport)
    }
}

impl From<MemoryTransport> for AnyTransport {
    fn from(transport: MemoryTransport) -> Self {
        AnyTransport::Memory(transport)
    }
}

/// A link of an [`AnyTransport`].
pub enum AnyLink {
    /// Through btleplug.
    Btleplug(BtleplugLink),
    /// In memory.
    Memory(MemoryLink),
}

/// The scan of an [`AnyTransport`].
pub enum AnyScan {
    /// Through btleplug.
    Btleplug(BtleplugScan),
    /// In memory.
    Memory(<MemoryTransport as LockTransport>::Scan),
}

impl Stream for AnyScan {
    type Item = Discovered;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Discovered>> {
        match self.get_mut() {
            AnyScan::Btleplug(scan) => Pin::new(scan).poll_next(cx),
            AnyScan::Memory(scan) => Pin::new(scan).poll_next(cx),
        }
    }
}

impl LockTransport for AnyTransport {
    type Link = AnyLink;
    type Scan = AnyScan;

    async fn scan(&self) -> Result<AnyScan, BleError> {
        Ok(match self {
            AnyTransport::Btleplug(t) => AnyScan::Btleplug(t.scan().await?),
            AnyTransport::Memory(t) => AnyScan::Memory(t.scan().await?),
        })
    }

    async fn connect(&self, id: &str) -> Result<AnyLink, BleError> {
        Ok(match self {
            AnyTransport::Btleplug(t) => AnyLink::Btleplug(t.connect(id).await?),
            AnyTransport::Memory(t) => AnyLink::Memory(t.connect(id).await?),
        })
    }
}

impl LockLink for AnyLink {
    fn mtu(&self) -> usize {
        match self {
            AnyLink::Btleplug(link) => link.mtu(),
            AnyLink::Memory(link) => link.mtu(),
        }
    }

    async fn send(&mut self, fragments: Vec<Vec<u8>>) -> Result<(), BleError> {
        match self {
            AnyLink::Btleplug(link) => link.send(fragments).await,
            AnyLink::Memory(link) => link.send(fragments).await,
        }
    }

    async fn recv(&mut self, timeout: Duration) -> Result<Vec<u8>, BleError> {
        match self {
            AnyLink::Btleplug(link) => link.recv(timeout).await,
            AnyLink::Memory(link) => link.recv(timeout).await,
        }
    }

    async fn disconnect(self) {
        match self {
            AnyLink::Btleplug(link) => link.disconnect().await,
            AnyLink::Memory(link) => link.disconnect().await,
        }
    }
}
