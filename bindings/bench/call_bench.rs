//! The cost of one exported call made from Rust, to set next to the same calls made from
//! Kotlin (bench/CallBench.kt) and Swift (ios/Sources/AccessKitBench). Run by bindings/bench.
//!
//! Calls, on a client with an empty cache and nobody signed in (no server needed):
//! - `list_locks()`: async, one SQLite query on the blocking pool, an empty list back;
//! - `current_user()`: async, asks the secret store (here a Rust one; in the shells a
//!   Kotlin or Swift object, so the foreign-callback cost is in their figure).

use std::sync::Arc;
use std::time::Instant;

use access_core::{AccessClient, ClientConfig, SecretError, SecretStore};
use access_domain::App;

/// A secret store in memory, like the shells' `InMemorySecretStore`.
#[derive(Default)]
struct Memory(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl SecretStore for Memory {
    fn get(&self, key: String) -> Result<Option<String>, SecretError> {
        Ok(self.0.lock().map_err(|_| fail())?.get(&key).cloned())
    }
    fn set(&self, key: String, value: String) -> Result<(), SecretError> {
        self.0.lock().map_err(|_| fail())?.insert(key, value);
        Ok(())
    }
    fn delete(&self, key: String) -> Result<(), SecretError> {
        self.0.lock().map_err(|_| fail())?.remove(&key);
        Ok(())
    }
}

fn fail() -> SecretError {
    SecretError::Failed {
        message: "poisoned".into(),
    }
}

/// Median nanoseconds per call over `rounds` rounds of `n` calls.
async fn measure<F, Fut>(rounds: usize, n: usize, mut call: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut per_call = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..n {
            call().await;
        }
        per_call.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    per_call.sort_by(|a, b| a.total_cmp(b));
    per_call[rounds / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let client = AccessClient::new(
        ClientConfig {
            server_url: "http://127.0.0.1:9".into(),
            data_dir: dir.path().display().to_string(),
            app: App::AccessManager,
            request_timeout_ms: None,
        },
        Arc::new(Memory::default()),
        None,
    )?;
    // The exported async methods run on UniFFI's tokio runtime; a current-thread runtime
    // here polls them like the foreign executors do.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The objects the apps hold: fetched once, as the kits do.
    let (locks, account) = (client.locks(), client.account());
    let (l, a) = (&locks, &account);
    rt.block_on(async {
        // Warm-up (the blocking pool's threads, SQLite's statement cache).
        for _ in 0..2_000 {
            let _ = locks.list().await;
            let _ = account.current_user().await;
        }
        let list = measure(9, 2_000, move || async move {
            assert!(l.list().await.expect("list").is_empty());
        })
        .await;
        let user = measure(9, 2_000, move || async move {
            assert!(a.current_user().await.expect("user").is_none());
        })
        .await;
        println!("rust list_locks_ns={list:.0} current_user_ns={user:.0}");
    });
    Ok(())
}
