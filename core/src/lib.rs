//! The mobile core shared by Access Manager and NoKey Resident, exported through UniFFI.
//!
//! Plain Rust layers, each tested on its own: [`http`] (reqwest on rustls/ring), [`cache`]
//! (SQLite), [`search`] (lock search in memory), [`queue`] (durable offline actions with
//! idempotency keys), [`secrets`] (foreign secret store), [`logging`] (tracing to a foreign
//! logger), [`callback`] (what a failing foreign listener means: never a failed call),
//! [`gate`] (the local permission gate), and [`engine::Engine`], the plain client, with its
//! parts in [`account`], [`locks`], [`replay`], [`sync`], [`offline_codes`] and [`ble`]
//! (the BLE conversation with a lock is [`ble::conversation::Conversation`]).
//!
//! What the apps see is [`ffi`]: [`AccessClient`] and the objects it hands out
//! ([`Account`], [`Locks`], [`ActionQueue`], [`OnSite`], [`OfflineCodes`]), each method a
//! pass-through to the engine, every error mapped once to [`AccessError`].
//!
//! ```no_run
//! use access_core::{AccessClient, ClientConfig, file_secret_store};
//! # async fn demo() -> Result<(), access_core::AccessError> {
//! let client = AccessClient::new(
//!     ClientConfig {
//!         server_url: "http://127.0.0.1:8080".into(),
//!         data_dir: "/tmp/access".into(),
//!         app: access_domain::App::AccessManager,
//!         request_timeout_ms: None,
//!     },
//!     file_secret_store("/tmp/access/secrets.json".into()),
//!     None,
//! )?;
//! client.account().login("ann@example.com".into(), "secret".into()).await?;
//! client.sync(None).await?;
//! for lock in client.locks().search("oak 4b".into(), 20).await? {
//!     println!("{} ({} / {})", lock.name, lock.property_name, lock.unit_name);
//! }
//! # Ok(()) }
//! ```

uniffi::setup_scaffolding!();

pub mod account;
#[cfg(not(target_vendor = "apple"))]
pub mod android;
pub mod ble;
pub mod cache;
pub mod callback;
pub mod engine;
pub mod error;
pub mod ffi;
pub mod gate;
pub mod http;
pub mod invitation;
pub mod live_objects;
pub mod locks;
pub mod logging;
pub mod model;
pub mod offline_codes;
pub mod phone;
pub mod queue;
pub mod replay;
pub mod search;
pub mod secrets;
pub mod sync;

pub use account::{check_password, check_username};
pub use callback::CallbackError;
pub use error::{AccessError, error_message, is_transient, needs_sign_in};
pub use ffi::{AccessClient, Account, ActionQueue, Locks, OfflineCodes, OnSite};
pub use live_objects::live_object_count;
pub use logging::{CoreLogger, LogLevel, set_logger};
pub use model::*;
pub use offline_codes::{OfflineCodeClass, OfflineCodeInfo};
pub use phone::check_phone;
pub use secrets::{FileSecretStore, SecretError, SecretStore, file_secret_store};
