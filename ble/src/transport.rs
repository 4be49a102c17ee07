//! The transport traits: what the phone's protocol code needs from a BLE link.
//!
//! They use `async fn` in traits (RPITIT) with `Send` futures, so no boxing and no
//! `async-trait`; code that must not be generic uses [`crate::AnyTransport`].

use std::time::Duration;

use futures::Stream;
use lock_protocol::gatt::Advertisement;

use crate::BleError;

/// The smallest ATT MTU every BLE link supports.
pub const MIN_ATT_MTU: usize = 23;
/// Bytes of ATT header in a write or notification; the payload is `mtu - ATT_HEADER`.
pub const ATT_HEADER: usize = 3;

/// A lock seen advertising the lock service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// Identifier to pass to [`LockTransport::connect`] (on BlueZ: `hci0/dev_C0_FF_EE_00_01_01`).
    pub id: String,
    /// Advertised local name, if any.
    pub name: Option<String>,
    /// The lock's advertising service data: paired or not, and its tag.
    pub advertisement: Advertisement,
    /// Signal strength in dBm, when the stack reports one.
    pub rssi: Option<i16>,
}

/// Finds locks and opens links to them.
///
/// ```no_run
/// use futures::StreamExt;
/// use lock_ble::{LockLink, LockTransport, MemoryTransport, FnHandler};
/// use lock_protocol::gatt::Advertisement;
/// # async fn demo() -> Result<(), lock_ble::BleError> {
/// let transport = MemoryTransport::new(23);
/// let ad = Advertisement { paired: false, lock_tag: *b"LOCK0001" };
/// transport.add_lock("lock-1", None, FnHandler::new(ad, |bytes: &[u8]| vec![bytes.to_vec()]));
/// let mut scan = transport.scan().await?;
/// let seen = scan.next().await.expect("a lock");
/// let mut link = transport.connect(&seen.id).await?;
/// link.send(vec![b"ping".to_vec()]).await?;
/// assert_eq!(link.recv(std::time::Duration::from_secs(1)).await?, b"ping");
/// link.disconnect().await;
/// # Ok(()) }
/// ```
pub trait LockTransport: Send + Sync {
    /// An open link.
    type Link: LockLink;
    /// The stream of sightings returned by [`scan`](Self::scan).
    type Scan: Stream<Item = Discovered> + Send + Unpin + 'static;

    /// Starts scanning; the stream yields every sighting (the same lock may come again, e.g.
    /// when its advertising changes) and stops the scan when dropped. It never ends by itself:
    /// bound it with a timeout.
    fn scan(&self) -> impl Future<Output = Result<Self::Scan, BleError>> + Send;

    /// Opens a link to the lock `id` from a [`Discovered`]: connects, resolves the lock
    /// service and subscribes to notifications. A lock that is not advertising within the
    /// scan timeout gives [`BleError::OutOfRange`].
    fn connect(&self, id: &str) -> impl Future<Output = Result<Self::Link, BleError>> + Send;
}

/// An open link to one lock: writes go to the write characteristic (with response), each
/// notification of the notify characteristic is one received fragment.
pub trait LockLink: Send {
    /// The ATT MTU of the link (at least [`MIN_ATT_MTU`]).
    fn mtu(&self) -> usize;

    /// The largest fragment that fits one write or notification: `mtu - 3`.
    fn max_fragment(&self) -> usize {
        self.mtu().saturating_sub(ATT_HEADER)
    }

    /// Writes the fragments in order, each acknowledged by the lock before the next.
    fn send(
        &mut self,
        fragments: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<(), BleError>> + Send;

    /// Waits for the next notification (one fragment), at most `timeout`.
    fn recv(&mut self, timeout: Duration)
    -> impl Future<Output = Result<Vec<u8>, BleError>> + Send;

    /// Closes the link; errors on the way out are ignored (the lock may already be gone).
    fn disconnect(self) -> impl Future<Output = ()> + Send;
}

/// The lock side of a link, as the lock's firmware (or the virtual lock) sees it. Used by
/// the in-memory transport and by the BlueZ peripheral (feature `peripheral`).
pub trait LinkHandler: Send + 'static {
    /// What the lock advertises now; read again after each write, so a change (e.g. paired)
    /// is advertised.
    fn advertisement(&self) -> Advertisement;
    /// A phone connected with this ATT MTU; called before its first write is handled.
    fn on_connect(&mut self, mtu: usize);
    /// One write (one fragment) from the phone; returns the fragments to notify, in order.
    fn on_write(&mut self, fragment: &[u8]) -> Vec<Vec<u8>>;
    /// The phone's link went away.
    fn on_disconnect(&mut self);
}

/// A [`LinkHandler`] made of a fixed advertisement and a closure over each write, for tests.
///
/// ```
/// use lock_ble::{FnHandler, LinkHandler};
/// use lock_protocol::gatt::Advertisement;
/// let ad = Advertisement { paired: true, lock_tag: [1; 8] };
/// let mut echo = FnHandler::new(ad, |bytes: &[u8]| vec![bytes.to_vec()]);
/// assert_eq!(echo.on_write(b"hi"), vec![b"hi".to_vec()]);
/// assert!(echo.advertisement().paired);
/// ```
pub struct FnHandler<F> {
    advertisement: Advertisement,
    on_write: F,
}

impl<F: FnMut(&[u8]) -> Vec<Vec<u8>> + Send + 'static> FnHandler<F> {
    /// A handler that advertises `advertisement` and answers writes with `on_write`.
    pub fn new(advertisement: Advertisement, on_write: F) -> Self {
        Self {
            advertisement,
            on_write,
        }
    }
}

impl<F: FnMut(&[u8]) -> Vec<Vec<u8>> + Send + 'static> LinkHandler for FnHandler<F> {
    fn advertisement(&self) -> Advertisement {
        self.advertisement
    }
    fn on_connect(&mut self, _mtu: usize) {}
    fn on_write(&mut self, fragment: &[u8]) -> Vec<Vec<u8>> {
        (self.on_write)(fragment)
    }
    fn on_disconnect(&mut self) {}
}

/// Checks that every fragment fits the ATT payload at `mtu`.
pub(crate) fn check_fragments(fragments: &[Vec<u8>], mtu: usize) -> Result<(), BleError> {
    let max = mtu.saturating_sub(ATT_HEADER);
    match fragments.iter().find(|f| f.len() > max) {
        Some(f) => Err(BleError::FragmentTooLarge { len: f.len(), max }),
        None => Ok(()),
    }
}
