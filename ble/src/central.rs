//! The phone's side over btleplug: BlueZ on Linux, CoreBluetooth on iOS, Android's stack.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use btleplug::api::{
    Central, CentralEvent, Characteristic, Manager as _, Peripheral as _, ScanFilter,
    ValueNotification, WriteType,
};
use btleplug::platform::{Adapter, Manager, Peripheral, PeripheralId};
use futures::{Stream, StreamExt};
use lock_protocol::gatt::{Advertisement, NOTIFY_CHAR_UUID, SERVICE_UUID, WRITE_CHAR_UUID};
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::within;
use crate::transport::check_fragments;
use crate::{BleError, Discovered, LockLink, LockTransport};

const SERVICE: Uuid = Uuid::from_u128(SERVICE_UUID);
const WRITE_CHAR: Uuid = Uuid::from_u128(WRITE_CHAR_UUID);
const NOTIFY_CHAR: Uuid = Uuid::from_u128(NOTIFY_CHAR_UUID);

/// Settings of a [`BtleplugTransport`]: which adapter, and how long each wait may take.
///
/// ```
/// use lock_ble::BtleplugConfig;
/// let config = BtleplugConfig { adapter: Some("C0:FF:EE:00:00:00".into()), ..Default::default() };
/// assert_eq!(config.scan_timeout, std::time::Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct BtleplugConfig {
    /// Address of the adapter to use (`adapters()` order is not stable); `None`: the first.
    pub adapter: Option<String>,
    /// How long `connect` looks for a lock that is not listed yet before `OutOfRange`.
    pub scan_timeout: Duration,
    /// Bound on connecting plus service discovery and subscription.
    pub connect_timeout: Duration,
    /// Bound on each write (with response).
    pub io_timeout: Duration,
}

impl Default for BtleplugConfig {
    fn default() -> Self {
        Self {
            adapter: None,
            scan_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(5),
        }
    }
}

/// The radio transport, through btleplug.
///
/// ```no_run
/// use futures::StreamExt;
/// use lock_ble::{BtleplugConfig, BtleplugTransport, LockTransport};
/// # async fn demo() -> Result<(), lock_ble::BleError> {
/// let transport = BtleplugTransport::new(BtleplugConfig::default()).await?;
/// let mut scan = transport.scan().await?;
/// if let Some(lock) = scan.next().await {
///     println!("{} paired={}", lock.id, lock.advertisement.paired);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BtleplugTransport {
    adapter: Adapter,
    config: BtleplugConfig,
    /// Open scans: BlueZ discovery is stopped only when the last one ends.
    scans: Arc<AtomicUsize>,
}

impl BtleplugTransport {
    /// Opens the adapter named in `config` (by address), or the first one; bounded by the
    /// connect timeout.
    pub async fn new(config: BtleplugConfig) -> Result<Self, BleError> {
        let timeout = config.connect_timeout;
        within(timeout, "the Bluetooth adapter", Self::open(config)).await
    }

    async fn open(config: BtleplugConfig) -> Result<Self, BleError> {
        let manager = Manager::new().await?;
        let adapters = manager.adapters().await?;
        let mut chosen = None;
        for adapter in adapters {
            let Some(wanted) = &config.adapter else {
                chosen = Some(adapter);
                break;
            };
            let address = adapter.adapter_address().await?;
            if address.is_some_and(|a| a.to_string().eq_ignore_ascii_case(wanted)) {
                chosen = Some(adapter);
                break;
            }
        }
        let adapter = chosen.ok_or_else(|| {
            BleError::Bluetooth(match &config.adapter {
                Some(wanted) => format!("no Bluetooth adapter with address {wanted}"),
                None => "no Bluetooth adapter".into(),
            })
        })?;
        Ok(Self {
            adapter,
            config,
            scans: Arc::default(),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &BtleplugConfig {
        &self.config
    }

    async fn start_scan(&self) -> Result<ScanGuard, BleError> {
        if self.scans.fetch_add(1, Ordering::SeqCst) == 0 {
            let filter = ScanFilter {
                services: vec![SERVICE],
            };
            if let Err(error) = self.adapter.start_scan(filter).await {
                self.scans.fetch_sub(1, Ordering::SeqCst);
                return Err(error.into());
            }
        }
        Ok(ScanGuard {
            adapter: self.adapter.clone(),
            scans: self.scans.clone(),
        })
    }

    /// The listed peripheral with this id, if it advertises the lock service.
    async fn listed(&self, id: &str) -> Result<Option<(Peripheral, Discovered)>, BleError> {
        for peripheral in self.adapter.peripherals().await? {
            if peripheral.id().to_string() == id
                && let Some(seen) = sighting(&peripheral).await
            {
                return Ok(Some((peripheral, seen)));
            }
        }
        Ok(None)
    }

    /// Scans until the lock `id` is listed, at most the scan timeout.
    async fn find(&self, id: &str) -> Result<Peripheral, BleError> {
        let io = self.config.io_timeout;
        if let Some((peripheral, _)) = within(io, "the device list", self.listed(id)).await? {
            return Ok(peripheral);
        }
        let mut scan = self.scan().await?;
        let found = tokio::time::timeout(self.config.scan_timeout, async {
            while let Some(seen) = scan.next().await {
                if seen.id == id {
                    return true;
                }
            }
            false
        })
        .await;
        match found {
            Ok(true) => match within(io, "the device list", self.listed(id)).await? {
                Some((peripheral, _)) => Ok(peripheral),
                None => Err(BleError::OutOfRange(id.to_owned())),
            },
            _ => Err(BleError::OutOfRange(id.to_owned())),
        }
    }
}

/// Reads a peripheral's advertising data; `Some` only for a lock.
async fn sighting(peripheral: &Peripheral) -> Option<Discovered> {
    let properties = peripheral.properties().await.ok()??;
    // Filter here: the discovery filter is a hint that stacks (and BlueZoo) may ignore.
    if !properties.services.contains(&SERVICE) && !properties.service_data.contains_key(&SERVICE) {
        return None;
    }
    let advertisement = Advertisement::decode(properties.service_data.get(&SERVICE)?)?;
    Some(Discovered {
        id: peripheral.id().to_string(),
        name: properties.local_name.or(properties.advertisement_name),
        advertisement,
        rssi: properties.rssi,
    })
}

/// Stops discovery when the last open scan ends.
struct ScanGuard {
    adapter: Adapter,
    scans: Arc<AtomicUsize>,
}

impl Drop for ScanGuard {
    fn drop(&mut self) {
        if self.scans.fetch_sub(1, Ordering::SeqCst) == 1
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let adapter = self.adapter.clone();
            runtime.spawn(async move { adapter.stop_scan().await });
        }
    }
}

/// The sightings of a [`BtleplugTransport::scan`]; the scan stops when it is dropped.
pub struct BtleplugScan {
    inner: Pin<Box<dyn Stream<Item = Discovered> + Send>>,
    _guard: ScanGuard,
}

impl Stream for BtleplugScan {
    type Item = Discovered;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Discovered>> {
        self.inner.as_mut().poll_next(cx)
    }
}

fn event_peripheral(event: &CentralEvent) -> Option<&PeripheralId> {
    match event {
        CentralEvent::DeviceDiscovered(id)
        | CentralEvent::DeviceUpdated(id)
        | CentralEvent::ServiceDataAdvertisement { id, .. }
        | CentralEvent::ServicesAdvertisement { id, .. } => Some(id),
        _ => None,
    }
}

impl LockTransport for BtleplugTransport {
    type Link = BtleplugLink;
    type Scan = BtleplugScan;

    async fn scan(&self) -> Result<BtleplugScan, BleError> {
        // Events first: they start with the devices already listed, then what changes.
        let io = self.config.io_timeout;
        let events = within(io, "the event stream", async {
            Ok(self.adapter.events().await?)
        })
        .await?;
        let guard = within(io, "the scan to start", self.start_scan()).await?;
        let adapter = self.adapter.clone();
        let inner = events.filter_map(move |event| {
            let adapter = adapter.clone();
            async move {
                let id = event_peripheral(&event)?;
                let peripheral = adapter.peripheral(id).await.ok()?;
                sighting(&peripheral).await
            }
        });
        Ok(BtleplugScan {
            inner: Box::pin(inner),
            _guard: guard,
        })
    }

    async fn connect(&self, id: &str) -> Result<BtleplugLink, BleError> {
        let peripheral = self.find(id).await?;
        let timeout = self.config.connect_timeout;
        let events = within(timeout, "the event stream", async {
            Ok(self.adapter.events().await?)
        })
        .await?;
        let setup = async {
            if let Err(error) = peripheral.connect().await {
                // The stack could not reach it: for the user, the lock is not in range.
                tracing::debug!(%id, %error, "connect failed");
                return Err(BleError::OutOfRange(id.to_owned()));
            }
            peripheral.discover_services().await?;
            let characteristics = peripheral.characteristics();
            let find = |uuid: Uuid| characteristics.iter().find(|c| c.uuid == uuid).cloned();
            let (Some(write), Some(notify)) = (find(WRITE_CHAR), find(NOTIFY_CHAR)) else {
                return Err(BleError::Bluetooth(format!(
                    "{id} does not offer the lock service"
                )));
            };
            let notifications = peripheral.notifications().await?;
            peripheral.subscribe(&notify).await?;
            Ok((write, notifications))
        };
        match within(timeout, "connect", setup).await {
            Ok((write, notifications)) => Ok(BtleplugLink {
                mtu: usize::from(peripheral.mtu()),
                peripheral_id: peripheral.id(),
                peripheral,
                write,
                notifications,
                events,
                io_timeout: self.config.io_timeout,
            }),
            Err(error) => {
                let _ = tokio::time::timeout(timeout, peripheral.disconnect()).await;
                Err(error)
            }
        }
    }
}

/// A link of the [`BtleplugTransport`].
pub struct BtleplugLink {
    peripheral: Peripheral,
    peripheral_id: PeripheralId,
    write: Characteristic,
    notifications: Pin<Box<dyn Stream<Item = ValueNotification> + Send>>,
    events: Pin<Box<dyn Stream<Item = CentralEvent> + Send>>,
    io_timeout: Duration,
    mtu: usize,
}

/// After a failed write: a lost link is `Disconnected`, anything else is the stack's error.
async fn write_error(peripheral: &Peripheral, error: btleplug::Error) -> BleError {
    match peripheral.is_connected().await {
        Ok(true) => BleError::from(error),
        _ => BleError::Disconnected,
    }
}

impl LockLink for BtleplugLink {
    fn mtu(&self) -> usize {
        self.mtu
    }

    async fn send(&mut self, fragments: Vec<Vec<u8>>) -> Result<(), BleError> {
        check_fragments(&fragments, self.mtu)?;
        for fragment in &fragments {
            let write = self
                .peripheral
                .write(&self.write, fragment, WriteType::WithResponse);
            match tokio::time::timeout(self.io_timeout, write).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(write_error(&self.peripheral, error).await),
                Err(_) => {
                    return Err(BleError::Timeout {
                        after: self.io_timeout,
                        waiting_for: "a write",
                    });
                }
            }
        }
        Ok(())
    }

    async fn recv(&mut self, timeout: Duration) -> Result<Vec<u8>, BleError> {
        let deadline = Instant::now() + timeout;
        loop {
            tokio::select! {
                biased;
                notification = self.notifications.next() => match notification {
                    Some(n) if n.uuid == NOTIFY_CHAR => return Ok(n.value),
                    Some(_) => continue,
                    None => return Err(BleError::Disconnected),
                },
                event = self.events.next() => match event {
                    Some(CentralEvent::DeviceDisconnected(id)) if id == self.peripheral_id => {
                        return Err(BleError::Disconnected);
                    }
                    Some(_) => continue,
                    None => return Err(BleError::Disconnected),
                },
                () = tokio::time::sleep_until(deadline) => {
                    return Err(BleError::Timeout { after: timeout, waiting_for: "a notification" });
                }
            }
        }
    }

    async fn disconnect(self) {
        let _ = tokio::time::timeout(self.io_timeout, self.peripheral.disconnect()).await;
    }
}
