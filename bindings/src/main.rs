//! The workspace's `uniffi-bindgen`, pinned to the same uniffi as `access-core` so the
//! generated Kotlin and Swift match the library's scaffolding. Used by `bindings/generate`:
//!
//! ```text
//! cargo run -p uniffi-bindgen -- generate --library libaccess_core.so --language kotlin --out-dir out
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
