# End-to-end tests of locks over BLE (crate access-e2e): the core through btleplug, BlueZoo
# and the virtual-lock binary, and in memory, against the real server in-process.
# Sourced after scripts/lib/common.sh and scripts/lib/ble.sh (need_ble_deps), not run.
#
#   suite_e2e   the field scenario in memory and over BlueZoo (each test starts its own
#               BlueZoo; they fail, never skip, when it cannot start).
#   bench_e2e   end-to-end unlock over BlueZoo with 30 ms link latency: median, p99,
#               round trips, phone CPU per unlock; the core's whole OnSite::unlock.

suite_e2e() {
  need_rust_build_deps
  need_ble_deps
  cargo build -p virtual-lock -p access-cli --locked
  cargo test -p access-e2e --locked
}

bench_e2e() {
  need_rust_build_deps
  need_ble_deps
  cargo build --release -p virtual-lock --locked
  cargo bench -p access-e2e --bench unlock --locked
}
