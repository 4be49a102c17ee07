//! The lock's side over BlueZ (bluer): serves a [`LinkHandler`] as the lock GATT service and
//! advertises it, the same code a Linux-based lock controller would run. Used by the virtual
//! lock (feature `peripheral`).
//!
//! GATT events map to the handler so: the phone's first write after it subscribed calls
//! `on_connect(mtu)`, each write calls `on_write` and its fragments are notified in order after
//! the configured link latency, and the end of the notification session, a new subscription
//! or going out of range calls `on_disconnect`. The write and notify characteristics use the `Fun` methods of
//! bluer (not `Io`, which BlueZoo does not serve).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bluer::adv::{Advertisement as LeAdvertisement, AdvertisementHandle, Type};
use bluer::gatt::local::{
    Application, ApplicationHandle, Characteristic, CharacteristicNotifier, CharacteristicNotify,
    CharacteristicNotifyMethod, CharacteristicWrite, CharacteristicWriteMethod,
    CharacteristicWriteRequest, Service,
};
use bluer::{Adapter, Address, Session};
use futures::FutureExt;
use lock_protocol::gatt::{Advertisement, NOTIFY_CHAR_UUID, SERVICE_UUID, WRITE_CHAR_UUID};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{BleError, LinkHandler};

/// Settings of a [`LockPeripheral`].
///
/// ```
/// use lock_ble::peripheral::PeripheralConfig;
/// let config = PeripheralConfig { latency: std::time::Duration::from_millis(30), ..Default::default() };
/// assert!(config.adapter.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct PeripheralConfig {
    /// Address of the adapter to serve on; `None`: BlueZ's default adapter.
    pub adapter: Option<String>,
    /// Delay before each batch of notifications (the link latency of one exchange).
    pub latency: Duration,
    /// Advertised local name.
    pub local_name: Option<String>,
}

fn bt(error: bluer::Error) -> BleError {
    BleError::Bluetooth(error.to_string())
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the GATT callbacks share.
struct Shared {
    handler: Mutex<Box<dyn LinkHandler>>,
    link: Mutex<Link>,
    latency: Mutex<Duration>,
    /// Each answer's fragments with when they were written: they leave one latency later.
    batches: mpsc::UnboundedSender<(tokio::time::Instant, Vec<Vec<u8>>)>,
    /// Advertisement changes seen after writes, for the advertising task.
    readvertise: mpsc::UnboundedSender<()>,
}

#[derive(Default)]
struct Link {
    in_range: bool,
    /// The phone whose link is open (`on_connect` was called for it).
    phone: Option<Address>,
    notifier: Option<CharacteristicNotifier>,
    /// Names the current notification session, so a stale one's end is ignored.
    session: u64,
    advertised: Option<Advertisement>,
}

impl Shared {
    fn on_write(&self, value: &[u8], request: &CharacteristicWriteRequest) -> bool {
        let mut link = locked(&self.link);
        if !link.in_range {
            return false;
        }
        let mut handler = locked(&self.handler);
        if link.phone != Some(request.device_address) {
            if link.phone.is_some() {
                handler.on_disconnect();
            }
            link.phone = Some(request.device_address);
            handler.on_connect(usize::from(request.mtu));
        }
        let fragments = handler.on_write(value);
        if link.advertised != Some(handler.advertisement()) {
            let _ = self.readvertise.send(());
        }
        // Sent under the link lock so batches keep the order of the writes.
        let _ = self.batches.send((tokio::time::Instant::now(), fragments));
        true
    }

    /// Ends the phone's link on the handler's side; `true` if one was open.
    fn end_link(&self, link: &mut Link) -> Option<Address> {
        link.notifier = None;
        let phone = link.phone.take();
        if phone.is_some() {
            locked(&self.handler).on_disconnect();
        }
        phone
    }
}

/// A lock served over BlueZ; dropping it (or [`stop`](Self::stop)) takes it off the air.
///
/// ```no_run
/// use lock_ble::FnHandler;
/// use lock_ble::peripheral::{LockPeripheral, PeripheralConfig};
/// use lock_protocol::gatt::Advertisement;
/// # async fn demo() -> Result<(), lock_ble::BleError> {
/// let ad = Advertisement { paired: false, lock_tag: *b"LOCK0001" };
/// let echo = FnHandler::new(ad, |bytes: &[u8]| vec![bytes.to_vec()]);
/// let lock = LockPeripheral::start(PeripheralConfig::default(), echo).await?;
/// println!("serving on {}", lock.address());
/// lock.set_in_range(false).await?; // stop advertising, drop the link
/// # Ok(()) }
/// ```
pub struct LockPeripheral {
    adapter: Adapter,
    address: Address,
    shared: Arc<Shared>,
    advertising: Arc<tokio::sync::Mutex<Option<AdvertisementHandle>>>,
    local_name: Option<String>,
    _app: ApplicationHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LockPeripheral {
    /// Registers the lock service on the adapter and starts advertising.
    pub async fn start(
        config: PeripheralConfig,
        handler: impl LinkHandler,
    ) -> Result<Self, BleError> {
        let session = Session::new().await.map_err(bt)?;
        let adapter = pick_adapter(&session, config.adapter.as_deref()).await?;
        adapter.set_powered(true).await.map_err(bt)?;
        let address = adapter.address().await.map_err(bt)?;

        let (batches, batches_rx) = mpsc::unbounded_channel();
        let (readvertise, readvertise_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            handler: Mutex::new(Box::new(handler)),
            link: Mutex::new(Link {
                in_range: true,
                ..Link::default()
            }),
            latency: Mutex::new(config.latency),
            batches,
            readvertise,
        });
        let app = adapter
            .serve_gatt_application(application(&shared))
            .await
            .map_err(bt)?;

        let mut peripheral = Self {
            adapter,
            address,
            shared: shared.clone(),
            advertising: Arc::default(),
            local_name: config.local_name,
            _app: app,
            tasks: Vec::new(),
        };
        peripheral.advertise().await?;
        peripheral
            .tasks
            .push(tokio::spawn(notify_task(shared.clone(), batches_rx)));
        peripheral.tasks.push(tokio::spawn(readvertise_task(
            peripheral.advertiser(),
            readvertise_rx,
        )));
        Ok(peripheral)
    }

    /// The adapter's address (what phones see).
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Sets the delay before each batch of notifications.
    pub fn set_latency(&self, latency: Duration) {
        *locked(&self.shared.latency) = latency;
    }

    /// Out of range: stops advertising and drops the phone's link. Back in range: advertises
    /// again.
    pub async fn set_in_range(&self, in_range: bool) -> Result<(), BleError> {
        if in_range {
            locked(&self.shared.link).in_range = true;
            return self.advertise().await;
        }
        let phone = {
            let mut link = locked(&self.shared.link);
            link.in_range = false;
            link.session += 1;
            self.shared.end_link(&mut link)
        };
        self.advertiser().stop().await;
        if let Some(phone) = phone
            && let Ok(device) = self.adapter.device(phone)
        {
            // The phone may already be gone; then there is nothing to drop.
            let _ = device.disconnect().await;
        }
        Ok(())
    }

    /// Takes the lock off the air.
    pub async fn stop(self) {
        let _ = self.set_in_range(false).await;
    }

    async fn advertise(&self) -> Result<(), BleError> {
        self.advertiser().refresh().await
    }

    fn advertiser(&self) -> Advertiser {
        Advertiser {
            adapter: self.adapter.clone(),
            shared: self.shared.clone(),
            handle: self.advertising.clone(),
            local_name: self.local_name.clone(),
        }
    }
}

impl Drop for LockPeripheral {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Registers and replaces the LE advertisement.
#[derive(Clone)]
struct Advertiser {
    adapter: Adapter,
    shared: Arc<Shared>,
    handle: Arc<tokio::sync::Mutex<Option<AdvertisementHandle>>>,
    local_name: Option<String>,
}

impl Advertiser {
    /// Advertises what the handler says now (if in range), replacing the old advertisement.
    async fn refresh(&self) -> Result<(), BleError> {
        let mut handle = self.handle.lock().await;
        let current = locked(&self.shared.handler).advertisement();
        if !locked(&self.shared.link).in_range {
            return Ok(());
        }
        if handle.take().is_some() {
            // BlueZoo shows the first registered advertisement: the old one must be gone.
            self.wait_unregistered().await;
        }
        let service = Uuid::from_u128(SERVICE_UUID);
        let advertisement = LeAdvertisement {
            advertisement_type: Type::Peripheral,
            service_uuids: [service].into(),
            service_data: BTreeMap::from([(service, current.encode().to_vec())]),
            discoverable: Some(true),
            local_name: self.local_name.clone(),
            ..Default::default()
        };
        *handle = Some(self.adapter.advertise(advertisement).await.map_err(bt)?);
        locked(&self.shared.link).advertised = Some(current);
        Ok(())
    }

    async fn stop(&self) {
        let mut handle = self.handle.lock().await;
        if handle.take().is_some() {
            self.wait_unregistered().await;
        }
        locked(&self.shared.link).advertised = None;
    }

    /// Dropping a handle unregisters in the background; wait (bounded) until it is done.
    async fn wait_unregistered(&self) {
        for _ in 0..100 {
            match self.adapter.active_advertising_instances().await {
                Ok(0) | Err(_) => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }
}

async fn pick_adapter(session: &Session, wanted: Option<&str>) -> Result<Adapter, BleError> {
    let Some(wanted) = wanted else {
        return session.default_adapter().await.map_err(bt);
    };
    for name in session.adapter_names().await.map_err(bt)? {
        let adapter = session.adapter(&name).map_err(bt)?;
        if adapter
            .address()
            .await
            .is_ok_and(|a| a.to_string().eq_ignore_ascii_case(wanted))
        {
            return Ok(adapter);
        }
    }
    Err(BleError::Bluetooth(format!(
        "no Bluetooth adapter with address {wanted}"
    )))
}

fn application(shared: &Arc<Shared>) -> Application {
    let on_write = shared.clone();
    let on_notify = shared.clone();
    Application {
        services: vec![Service {
            uuid: Uuid::from_u128(SERVICE_UUID),
            primary: true,
            characteristics: vec![
                Characteristic {
                    uuid: Uuid::from_u128(WRITE_CHAR_UUID),
                    write: Some(CharacteristicWrite {
                        write: true,
                        method: CharacteristicWriteMethod::Fun(Box::new(move |value, request| {
                            let accepted = on_write.on_write(&value, &request);
                            async move {
                                if accepted {
                                    Ok(())
                                } else {
                                    Err(bluer::gatt::local::ReqError::Failed)
                                }
                            }
                            .boxed()
                        })),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Characteristic {
                    uuid: Uuid::from_u128(NOTIFY_CHAR_UUID),
                    notify: Some(CharacteristicNotify {
                        notify: true,
                        method: CharacteristicNotifyMethod::Fun(Box::new(move |notifier| {
                            let shared = on_notify.clone();
                            async move { notification_session(shared, notifier).await }.boxed()
                        })),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A phone subscribed: keep its notifier until the session stops, then end its link.
async fn notification_session(shared: Arc<Shared>, notifier: CharacteristicNotifier) {
    let stopped = notifier.stopped();
    let session = {
        let mut link = locked(&shared.link);
        // A new subscription is a new connection, even from the same phone whose old session
        // never reported its end: the handler must not carry per-connection state over.
        if link.phone.take().is_some() {
            locked(&shared.handler).on_disconnect();
        }
        link.session += 1;
        link.notifier = Some(notifier);
        link.session
    };
    tokio::spawn(async move {
        stopped.await;
        let mut link = locked(&shared.link);
        if link.session == session {
            shared.end_link(&mut link);
        }
    });
}

/// Sends each batch of notifications one link latency after it was written, in write
/// order: answers to messages the phone sent together travel together, as on a real link.
async fn notify_task(
    shared: Arc<Shared>,
    mut batches: mpsc::UnboundedReceiver<(tokio::time::Instant, Vec<Vec<u8>>)>,
) {
    while let Some((written, batch)) = batches.recv().await {
        if batch.is_empty() {
            continue;
        }
        let latency = *locked(&shared.latency);
        if !latency.is_zero() {
            tokio::time::sleep_until(written + latency).await;
        }
        // Take the notifier out for the awaits; put it back unless the session changed.
        let (notifier, session) = {
            let mut link = locked(&shared.link);
            (link.notifier.take(), link.session)
        };
        let Some(mut notifier) = notifier else {
            tracing::debug!("no subscriber: dropping {} notifications", batch.len());
            continue;
        };
        for fragment in batch {
            if let Err(error) = notifier.notify(fragment).await {
                tracing::debug!(%error, "notification failed");
                break;
            }
        }
        let mut link = locked(&shared.link);
        if link.session == session && link.notifier.is_none() {
            link.notifier = Some(notifier);
        }
    }
}

/// Re-advertises when the handler's advertisement changed (e.g. the lock was paired).
async fn readvertise_task(advertiser: Advertiser, mut changes: mpsc::UnboundedReceiver<()>) {
    while changes.recv().await.is_some() {
        while changes.try_recv().is_ok() {}
        if let Err(error) = advertiser.refresh().await {
            tracing::warn!(%error, "re-advertising failed");
        }
    }
}
