//! The errors of the BLE link, typed so the app can say what went wrong.

use std::time::Duration;

/// What can go wrong between the phone and a lock.
///
/// ```
/// use lock_ble::BleError;
/// let e = BleError::OutOfRange("hci0/dev_C0_FF_EE_00_01_01".into());
/// assert!(e.to_string().contains("out of range"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BleError {
    /// The lock was not found advertising within the scan timeout, or did not answer the
    /// connection request.
    #[error("lock {0} is out of range")]
    OutOfRange(String),
    /// A step did not finish in time (connect, service discovery, a write, a notification).
    #[error("timed out after {after:?} waiting for {waiting_for}")]
    Timeout {
        /// How long was waited.
        after: Duration,
        /// The step that did not finish.
        waiting_for: &'static str,
    },
    /// The link was lost (or was closed) while in use.
    #[error("the link to the lock was lost")]
    Disconnected,
    /// A fragment does not fit one ATT write or notification at the link's MTU.
    #[error("a fragment of {len} bytes does not fit the ATT payload of {max} bytes")]
    FragmentTooLarge {
        /// Length of the fragment.
        len: usize,
        /// ATT payload at the link's MTU (MTU - 3).
        max: usize,
    },
    /// The Bluetooth stack failed otherwise (no adapter, not a lock, D-Bus errors...).
    #[error("bluetooth: {0}")]
    Bluetooth(String),
}

impl From<btleplug::Error> for BleError {
    fn from(error: btleplug::Error) -> Self {
        match error {
            btleplug::Error::NotConnected => BleError::Disconnected,
            btleplug::Error::DeviceNotFound => BleError::OutOfRange("unknown device".into()),
            btleplug::Error::TimedOut(after) => BleError::Timeout {
                after,
                waiting_for: "the Bluetooth stack",
            },
            other => BleError::Bluetooth(other.to_string()),
        }
    }
}

/// Runs `future` with a deadline, naming the step in the [`BleError::Timeout`].
pub(crate) async fn within<T>(
    after: Duration,
    waiting_for: &'static str,
    future: impl Future<Output = Result<T, BleError>>,
) -> Result<T, BleError> {
    tokio::time::timeout(after, future)
        .await
        .map_err(|_| BleError::Timeout { after, waiting_for })?
}
