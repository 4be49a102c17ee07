//! Helpers shared by the integration tests of `access-core` and `access-e2e` (dev-only, not
//! published): the real server in-process, the administrator over plain HTTP as the web page
//! drives it, and users invited and registered through the core.
//!
//! ```no_run
//! use access_domain::App;
//! use access_test_support::{Admin, Server, open, register, units};
//! # async fn demo() {
//! let server = Server::start().await;
//! let admin = Admin::login(&server.base_url()).await;
//! let property = admin.property("Oakwood").await;
//! let unit = admin.unit(&property, "4B").await;
//! let user = admin.invite("resident", "res@x.example", &[], units(&[&unit])).await;
//! let dir = tempfile::tempdir().unwrap();
//! let client = open(dir.path().into(), &server.base_url(), App::NokeyResident, None);
//! register(&admin, &client, "res@x.example", "+15551234567", "Pat Doe").await;
//! # let _ = user;
//! # }
//! ```

mod admin;
mod client;
mod server;

pub use admin::{Admin, all_permissions, id, units};
pub use client::{app_for, open, register, username_for};
pub use server::Server;
