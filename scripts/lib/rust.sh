# The Rust suites: formatting and clippy, and every test of the workspace. Sourced by
# scripts/test after common.sh; not run.
#
#   scripts/test lint   cargo fmt --check and clippy -D warnings on the whole workspace
#   scripts/test rust   every Rust test (needs BlueZoo and the SMTP sink: installed here)

suite_lint() {
  cargo fmt --all -- --check
  need_rust_build_deps
  cargo clippy --workspace --all-targets --locked -- -D warnings
}

# Every Rust test of the workspace: unit, property, doc and integration tests, the server
# on SQLite, the core against the real server, the BlueZoo tests of lock-ble and access-e2e.
suite_rust() {
  need_rust_build_deps
  need_ble_deps          # scripts/lib/ble.sh: dbus + BlueZoo
  need_server_test_deps  # scripts/lib/server.sh: the SMTP sink
  # Binaries that tests start as child processes (virtual-lock, access, access-server).
  cargo build --workspace --bins --locked
  cargo test --workspace --locked
}
