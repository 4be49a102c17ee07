//! Core logs: `tracing` inside, forwarded to a foreign [`CoreLogger`] so the apps see them
//! in Logcat or the unified log.

use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;

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
#[uniffi::export(with_foreign)]
pub trait CoreLogger: Send + Sync {
    /// One record: `target` is the Rust module (e.g. `access_core::queue`).
    fn log(&self, level: LogLevel, target: String, message: String);
}

struct Sink {
    logger: Arc<dyn CoreLogger>,
    max: LogLevel,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

struct ForwardLayer;

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

impl<S: Subscriber> Layer<S> for ForwardLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let guard = SINK.read().unwrap_or_else(|p| p.into_inner());
        let Some(sink) = guard.as_ref() else { return };
        let level = LogLevel::from(event.metadata().level());
        if level > sink.max {
            return;
        }
        let mut msg = Message::default();
        event.record(&mut msg);
        sink.logger
            .log(level, event.metadata().target().to_string(), msg.0);
    }
}

/// Sends core logs at `max_level` and more severe to `logger`; `None` stops forwarding.
/// The process keeps one logger; setting another replaces it.
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn CoreLogger>>, max_level: LogLevel) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // When the host (e.g. the CLI) installed its own subscriber first, ours is not
        // global; the forwarding still works inside `with_default` scopes it sets up.
        let _ = tracing_subscriber::registry().with(ForwardLayer).try_init();
    });
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = logger.map(|logger| Sink {
        logger,
        max: max_level,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<(LogLevel, String, String)>>);

    impl CoreLogger for Collect {
        fn log(&self, level: LogLevel, target: String, message: String) {
            self.0.lock().unwrap().push((level, target, message));
        }
    }

    #[test]
    fn records_reach_the_foreign_logger_filtered_by_level() {
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
}
