//! Failures of the foreign traits that only listen (the logger, sync and pairing progress,
//! scan results), and how the core takes them: never as a panic, never as a failed call.
//!
//! The apps implement these traits in Kotlin and Swift. An exception thrown where a method
//! declares no error is, for UniFFI, a broken callback: it panics on the Rust side, and the
//! shipped library is built with `panic = "abort"` (bindings/README.md). So each method
//! returns `Result<(), CallbackError>`: UniFFI turns the declared error *and* any other
//! foreign exception into [`CallbackError`] through its
//! `From<UnexpectedUniFFICallbackError>`, and the call site decides what a failure means.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Failure of a foreign listener or logger, as the shells report it (any exception the
/// implementation throws arrives as [`CallbackError::Failed`] with its description).
///
/// ```
/// use access_core::CallbackError;
/// let e = CallbackError::from(uniffi::UnexpectedUniFFICallbackError::new("boom"));
/// assert_eq!(e, CallbackError::Failed { reason: "boom".into() });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    // `reason`, not `message`: a Kotlin exception's field of that name clashes with
    // `Throwable.message` (uniffi-rs #1434; the other errors rename it in core/uniffi.toml).
    #[error("callback failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { reason: e.reason }
    }
}

/// An optional listener for one operation (a sync, a scan, a pairing). Its failures never
/// change the operation's outcome: the first one is logged at warn, later ones are dropped
/// (a listener failing on every row would otherwise flood the log).
///
/// ```
/// use std::sync::Arc;
/// use access_core::callback::Listener;
/// use access_core::{CallbackError, SyncPhase, SyncProgress};
/// struct Broken;
/// impl SyncProgress for Broken {
///     fn on_progress(&self, _: SyncPhase, _: u64, _: u64) -> Result<(), CallbackError> {
///         Err(CallbackError::Failed { reason: "ui gone".into() })
///     }
/// }
/// let p: Listener<dyn SyncProgress> = Listener::new("sync progress", Some(Arc::new(Broken)));
/// p.tell(|l| l.on_progress(SyncPhase::Finished, 1, 1)); // no panic, no error
/// assert!(p.failed());
/// ```
pub struct Listener<T: ?Sized> {
    what: &'static str,
    target: Option<Arc<T>>,
    failed: AtomicBool,
}

impl<T: ?Sized> Listener<T> {
    /// `what` names the listener in the warning (e.g. "sync progress").
    pub fn new(what: &'static str, target: Option<Arc<T>>) -> Self {
        Listener {
            what,
            target,
            failed: AtomicBool::new(false),
        }
    }

    /// Calls the listener, if any, with `call`; a failure is noted, never returned.
    pub fn tell(&self, call: impl FnOnce(&T) -> Result<(), CallbackError>) {
        if let Some(target) = &self.target
            && let Err(e) = call(target)
        {
            self.note(e);
        }
    }

    /// Whether a call to the listener has failed during this operation.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    fn note(&self, e: CallbackError) {
        if !self.failed.swap(true, Ordering::Relaxed) {
            warn_failed(self.what, &e);
        }
    }
}

/// Out of the generic code: one copy in the library, whatever the listener's type.
fn warn_failed(what: &str, e: &CallbackError) {
    tracing::warn!("{what} failed (ignored for the rest of this operation): {e}");
}
