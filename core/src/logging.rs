//! Core logs: `tracing` inside, forwarded to a foreign [`CoreLogger`] so the apps see them
//! in Logcat or the unified log.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::callback::CallbackError;

/// Severity of a log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<&Level> for LogLevel {
    fn from(l: &Level) -> Self {
        match *l {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// Receives the core's log records. Implemented by the shells.
///
/// A failure (an exception the implementation throws) loses that one record and nothing
/// else: the core does not retry, and does not log it (that would call the same logger).
#[uniffi::export(with_foreign)]
pub trait CoreLogger: Send + Sync {
    /// One record: `target` is the Rust module (e.g. `access_core::queue`).
    fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), CallbackError>;
}

struct Sink {
    logger: Arc<dyn CoreLogger>,
    max: LogLevel,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// The sink's `max` as its discriminant, or [`NO_SINK`]: read on every log call site, so a
/// disabled level costs one atomic load instead of the sink's lock.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(NO_SINK);
const NO_SINK: u8 = u8::MAX;

/// The process-wide subscriber. It only forwards events, never reads span data, so it
/// implements `Subscriber` itself rather than carrying tracing-subscriber's registry
/// (span bookkeeping the shipped library would pay for in size; bindings/README.md).
struct Forward;

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

impl Subscriber for Forward {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at run time (`set_logger`), so ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let max = MAX_LEVEL.load(Ordering::Relaxed);
        max != NO_SINK && LogLevel::from(metadata.level()) as u8 <= max
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Ids must be unique and non-zero; nothing is kept per span.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Id::from_u64(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let guard = SINK.read().unwrap_or_else(|p| p.into_inner());
        let Some(sink) = guard.as_ref() else { return };
        let level = LogLevel::from(event.metadata().level());
        if level > sink.max {
            return;
        }
        let mut msg = Message::default();
        event.record(&mut msg);
        // A failing logger loses this record; reporting that through tracing would come
        // back here, to the same logger.
        let _ = sink
            .logger
            .log(level, event.metadata().target().to_string(), msg.0);
    }
}

/// Sends a panic's message to the app's logger before the shipped library
/// (`panic = "abort"`) ends the process: a phone drops stderr, so without this the crash
/// report has the stack but not the reason. The hook found in place runs after it.
fn forward_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // `try_read`: the panic may come from inside the logger, on a thread holding the sink.
        if let Ok(guard) = SINK.try_read()
            && let Some(sink) = guard.as_ref()
        {
            let _ = sink.logger.log(
                LogLevel::Error,
                "access_core::panic".to_string(),
                info.to_string(),
            );
        }
        previous(info);
    }));
}

/// Sends core logs at `max_level` and more severe to `logger`; `None` stops forwarding.
/// The process keeps one logger; setting another replaces it.
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn CoreLogger>>, max_level: LogLevel) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // When the host (e.g. the CLI) installed its own subscriber first, that one stays:
        // the host decides where its logs go.
        let _ = tracing::subscriber::set_global_default(Forward);
        forward_panics();
    });
    let mut sink = SINK.write().unwrap_or_else(|p| p.into_inner());
    MAX_LEVEL.store(
        if logger.is_some() {
            max_level as u8
        } else {
            NO_SINK
        },
        Ordering::Relaxed,
    );
    *sink = logger.map(|logger| Sink {
        logger,
        max: max_level,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The logger is process-wide: these tests take turns.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[derive(Default)]
    struct Collect(Mutex<Vec<(LogLevel, String, String)>>);

    impl CoreLogger for Collect {
        fn log(
            &self,
            level: LogLevel,
            target: String,
            message: String,
        ) -> Result<(), CallbackError> {
            self.0.lock().unwrap().push((level, target, message));
            Ok(())
        }
    }

    #[test]
    fn records_reach_the_foreign_logger_filtered_by_level() {
        let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let c = Arc::new(Collect::default());
        set_logger(Some(c.clone()), LogLevel::Info);
        tracing::info!(lock = "abc", "synced {} locks", 3);
        tracing::debug!("too chatty");
        set_logger(None, LogLevel::Trace);
        tracing::error!("after removal");
        let got = c.0.lock().unwrap().clone();
        assert!(
            !got.iter()
                .any(|r| r.2.contains("too chatty") || r.2.contains("after removal"))
        );
        // Other tests of this process may log meanwhile: look at this test's records only.
        let mine: Vec<_> = got.iter().filter(|r| r.2.contains("synced 3")).collect();
        assert_eq!(mine.len(), 1, "{got:?}");
        assert_eq!(mine[0].0, LogLevel::Info);
        assert_eq!(mine[0].2, "synced 3 locks lock=abc");
    }

    #[test]
    fn a_panic_reaches_the_logger_with_its_message() {
        let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let c = Arc::new(Collect::default());
        set_logger(Some(c.clone()), LogLevel::Error);
        let caught = std::panic::catch_unwind(|| panic!("bolt motor stalled"));
        set_logger(None, LogLevel::Error);
        assert!(caught.is_err());
        let got = c.0.lock().unwrap().clone();
        let panic = got
            .iter()
            .find(|r| r.2.contains("bolt motor stalled"))
            .unwrap_or_else(|| panic!("no panic record in {got:?}"));
        assert_eq!(
            (panic.0, panic.1.as_str()),
            (LogLevel::Error, "access_core::panic")
        );
        assert!(panic.2.contains("logging.rs"), "{}", panic.2);
    }

    #[test]
    fn a_level_above_the_limit_is_never_formatted() {
        let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        use std::sync::atomic::AtomicUsize;
        static FORMATTED: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl std::fmt::Debug for Counted {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                FORMATTED.fetch_add(1, Ordering::Relaxed);
                f.write_str("counted")
            }
        }
        let c = Arc::new(Collect::default());
        set_logger(Some(c.clone()), LogLevel::Warn);
        tracing::trace!(value = ?Counted, "below the limit");
        assert_eq!(FORMATTED.load(Ordering::Relaxed), 0);
        tracing::warn!(value = ?Counted, "at the limit");
        assert_eq!(FORMATTED.load(Ordering::Relaxed), 1);
        set_logger(None, LogLevel::Trace);
        tracing::error!(value = ?Counted, "no logger");
        assert_eq!(FORMATTED.load(Ordering::Relaxed), 1);
    }
}
