//! The radio: which transport (btleplug on the chosen adapter unless a test injects one),
//! scanning, and finding and connecting to a paired lock.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lock_ble::{AnyLink, AnyTransport, BtleplugConfig, BtleplugTransport, LockTransport};
use uuid::Uuid;

use super::errors::ble_error;
use super::{FIND_TIMEOUT, NearbyLock, ScanListener, UnlockPhase, tag_of};
use crate::cache::on_site;
use crate::callback::Listener;
use crate::engine::Engine;
use crate::{AccessError, cache};

impl Engine {
    /// Uses `transport` for every lock conversation (tests: an in-memory transport, or
    /// btleplug on a chosen adapter).
    pub async fn set_lock_transport(&self, transport: AnyTransport) {
        *self.ble.transport.lock().await = Some(transport);
    }

    /// Uses the Bluetooth adapter with this address (`None`: the first one) from the next
    /// lock conversation on.
    pub(crate) async fn use_bluetooth_adapter(&self, address: Option<String>) {
        *self.ble.adapter.lock().unwrap_or_else(|p| p.into_inner()) = address;
        *self.ble.transport.lock().await = None;
    }

    pub(crate) async fn transport(&self) -> Result<AnyTransport, AccessError> {
        let mut t = self.ble.transport.lock().await;
        if let Some(t) = t.as_ref() {
            return Ok(t.clone());
        }
        let adapter = self
            .ble
            .adapter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let radio = BtleplugTransport::new(BtleplugConfig {
            adapter,
            ..Default::default()
        })
        .await
        .map_err(ble_error)?;
        let any = AnyTransport::from(radio);
        *t = Some(any.clone());
        Ok(any)
    }

    /// The device id of a paired lock: where it was last seen, else a scan for its tag.
    pub(crate) async fn find_device(&self, lock: Uuid) -> Result<String, AccessError> {
        let transport = self.transport().await?;
        let mut scan = transport.scan().await.map_err(ble_error)?;
        let tag = tag_of(lock);
        let found = tokio::time::timeout(FIND_TIMEOUT, async {
            while let Some(seen) = scan.next().await {
                if seen.advertisement.paired && seen.advertisement.lock_tag == tag {
                    return Some(seen.id);
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        drop(scan);
        let Some(device) = found else {
            return Err(AccessError::LockOutOfRange {
                message: "the lock is not advertising nearby".into(),
            });
        };
        let d = device.clone();
        self.db(move |c| on_site::put_device(c, lock, &d)).await?;
        Ok(device)
    }

    /// Opens a link to a paired lock: where it was last seen, else where a scan finds it.
    /// `phase` hears `Searching` before a scan and `Connecting` before each connection.
    pub(crate) async fn connect_lock(
        &self,
        lock: Uuid,
        phase: &(dyn Fn(UnlockPhase) + Send + Sync),
    ) -> Result<AnyLink, AccessError> {
        let transport = self.transport().await?;
        if let Some(device) = self.db(move |c| on_site::device(c, lock)).await? {
            phase(UnlockPhase::Connecting);
            tracing::info!(%lock, %device, "connecting where it was last seen");
            if let Ok(link) = transport.connect(&device).await {
                tracing::info!(%lock, "connected");
                return Ok(link);
            }
        }
        phase(UnlockPhase::Searching);
        tracing::info!(%lock, "searching");
        let device = self.find_device(lock).await?;
        phase(UnlockPhase::Connecting);
        tracing::info!(%lock, %device, "connecting");
        let link = transport.connect(&device).await.map_err(ble_error)?;
        tracing::info!(%lock, "connected");
        Ok(link)
    }

    pub(crate) async fn scan_locks(
        &self,
        duration_ms: u32,
        listener: Option<Arc<dyn ScanListener>>,
    ) -> Result<Vec<NearbyLock>, AccessError> {
        let listener = Listener::new("scan listener", listener);
        let transport = self.transport().await?;
        let locks = self.db(|c| cache::list_locks(c)).await.unwrap_or_default();
        let mut scan = transport.scan().await.map_err(ble_error)?;
        let mut seen: Vec<NearbyLock> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(u64::from(duration_ms));
        while let Ok(Some(d)) = tokio::time::timeout_at(deadline, scan.next()).await {
            let lock_id = d
                .advertisement
                .paired
                .then(|| {
                    locks
                        .iter()
                        .find(|l| tag_of(l.id) == d.advertisement.lock_tag)
                })
                .flatten()
                .map(|l| l.id.to_string());
            let nearby = NearbyLock {
                device_id: d.id.clone(),
                name: d.name.clone(),
                paired: d.advertisement.paired,
                lock_id,
                tag: String::from_utf8_lossy(&d.advertisement.lock_tag)
                    .chars()
                    .map(|c| if c.is_ascii_graphic() { c } else { '.' })
                    .collect(),
                rssi: d.rssi,
            };
            if let Some(old) = seen.iter_mut().find(|n| n.device_id == nearby.device_id) {
                if *old == nearby {
                    continue;
                }
                *old = nearby.clone();
            } else {
                seen.push(nearby.clone());
            }
            listener.tell(|l| l.on_lock(nearby));
        }
        Ok(seen)
    }

    /// Whether `device` advertises that it is paired (looked up for a few seconds; a
    /// device not seen is left to the connection attempt).
    pub(crate) async fn advertises_paired(
        &self,
        transport: &AnyTransport,
        device: &str,
    ) -> Result<bool, AccessError> {
        let mut scan = transport.scan().await.map_err(ble_error)?;
        let found = tokio::time::timeout(FIND_TIMEOUT, async {
            while let Some(seen) = scan.next().await {
                if seen.id == device {
                    return Some(seen.advertisement.paired);
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        Ok(found.unwrap_or(false))
    }
}
