//! Foreign listeners that fail (an app's logger or progress bar throwing) never fail the
//! core's calls: the logger loses that record, a progress failure is logged once at warn and
//! the sync goes on. Against the real server in-process.
//!
//! Its own test binary: the logger is process-wide.

mod support;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use access_core::{CallbackError, CoreLogger, LogLevel, SyncPhase, SyncProgress, set_logger};
use support::*;

thread_local! {
    /// Set while this thread is inside the logger: a call then is the core logging from
    /// within its own logger.
    static IN_LOGGER: Cell<bool> = const { Cell::new(false) };
}

/// Keeps each record it is given, then fails, as a logger whose Logcat or file is gone.
#[derive(Default)]
struct FailingLogger {
    records: Mutex<Vec<(LogLevel, String)>>,
    reentered: AtomicUsize,
}

impl CoreLogger for FailingLogger {
    fn log(&self, level: LogLevel, _target: String, message: String) -> Result<(), CallbackError> {
        if IN_LOGGER.with(|f| f.replace(true)) {
            self.reentered.fetch_add(1, Ordering::SeqCst);
            return Err(CallbackError::Failed {
                reason: "re-entered".into(),
            });
        }
        self.records.lock().unwrap().push((level, message));
        IN_LOGGER.with(|f| f.set(false));
        Err(CallbackError::Failed {
            reason: "log file gone".into(),
        })
    }
}

impl FailingLogger {
    fn count(&self, needle: &str) -> usize {
        let records = self.records.lock().unwrap();
        records.iter().filter(|r| r.1.contains(needle)).count()
    }
}

/// Records each phase it is told, then fails, as a progress bar whose screen is gone.
#[derive(Default)]
struct FailingProgress(Mutex<Vec<SyncPhase>>);

impl SyncProgress for FailingProgress {
    fn on_progress(&self, phase: SyncPhase, _: u64, _: u64) -> Result<(), CallbackError> {
        self.0.lock().unwrap().push(phase);
        Err(CallbackError::Failed {
            reason: "progress bar gone".into(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_logger_and_progress_fail_no_call() {
    let server = Server::start().await;
    let admin = Admin::login(&server.base_url()).await;
    let s = site(&admin).await;
    let logger = Arc::new(FailingLogger::default());
    set_logger(Some(logger.clone()), LogLevel::Trace);

    // Registration and sign-in log ("signed in"); every record fails.
    let (_, dev) = onboard(
        &admin,
        &server.base_url(),
        "team_member",
        "cb@x.example",
        "+15551239001",
        &["view_logs"],
        units(&[&s.unit_a]),
    )
    .await;
    let c = &dev.client;
    assert!(logger.count("signed in") >= 1);

    let progress = Arc::new(FailingProgress::default());
    let summary = c.sync(Some(progress.clone())).await.unwrap();
    assert_eq!(summary.total_locks, 2);
    assert!(summary.full);
    let mut names: Vec<_> = c
        .locks()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    names.sort();
    assert_eq!(names, ["Front Door", "Patio"]);
    // Told of every phase although each call failed; the failure logged once.
    let phases = progress.0.lock().unwrap().clone();
    assert_eq!(phases.first(), Some(&SyncPhase::Replaying), "{phases:?}");
    assert!(phases.contains(&SyncPhase::Downloading), "{phases:?}");
    assert_eq!(phases.last(), Some(&SyncPhase::Finished), "{phases:?}");
    assert_eq!(logger.count("sync progress failed"), 1);
    assert!(logger.count("synced") >= 1);

    // The next sync (from the cursor) and the search work the same.
    let again = c.sync(Some(progress.clone())).await.unwrap();
    assert_eq!(again.total_locks, 2);
    assert!(!again.full);
    assert_eq!(logger.count("sync progress failed"), 2);
    let found = c.locks().search("patio".into(), 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Patio");

    c.account().logout().await.unwrap();
    assert_eq!(c.account().current_user().await.unwrap(), None);
    set_logger(None, LogLevel::Trace);
    assert_eq!(logger.reentered.load(Ordering::SeqCst), 0);
}
