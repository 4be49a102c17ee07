# BLE test tooling: a virtual BlueZ (BlueZoo on a private system D-Bus) and the BLE suite.
# Sourced after scripts/lib/common.sh (uses step, need_apt, need_pip), not run.
#
#   start_virtual_bluez N_LOCKS   starts BlueZoo with one phone adapter and N lock adapters and
#                                 exports DBUS_SYSTEM_BUS_ADDRESS, PHONE_ADAPTER, LOCK_ADAPTERS
#                                 (space-separated) and BLUEZOO_PID; stopped on EXIT.
#   stop_virtual_bluez            stops it earlier.
#   suite_ble                     lock-ble's tests (they start their own BlueZoo per test).
#   bench_ble                     write->notification round trip through BlueZoo, 0 and 30 ms.

BLUEZOO_VERSION=1.0.2

# What BlueZoo, btleplug and bluer need on this machine.
need_ble_deps() {
  need_apt dbus libdbus-1-dev pkg-config
  need_pip "bluezoo==$BLUEZOO_VERSION"
}

stop_virtual_bluez() {
  [ -n "${BLUEZOO_PID:-}" ] || return 0
  kill -TERM "$BLUEZOO_PID" 2>/dev/null || true
  local i
  for i in $(seq 50); do kill -0 "$BLUEZOO_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$BLUEZOO_PID" 2>/dev/null || true
  rm -f "${BLUEZOO_LOG:-}"
  unset BLUEZOO_PID BLUEZOO_LOG
}

start_virtual_bluez() {
  local locks="${1:-1}" timeout_s="${BLUEZOO_START_TIMEOUT:-30}"
  need_ble_deps
  stop_virtual_bluez
  BLUEZOO_LOG="$(mktemp -t bluezoo-log.XXXXXX)"
  local out
  out="$(mktemp -t bluezoo-out.XXXXXX)"
  python3 "$REPO_ROOT/tools/bluezoo/launcher.py" --locks "$locks" >"$out" 2>"$BLUEZOO_LOG" &
  BLUEZOO_PID=$!
  export BLUEZOO_PID BLUEZOO_LOG
  on_exit stop_virtual_bluez

  local deadline=$((SECONDS + timeout_s))
  until grep -q '^BLUEZOO_READY' "$out"; do
    if ! kill -0 "$BLUEZOO_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "BlueZoo did not start within ${timeout_s}s; its log:" >&2
      cat "$BLUEZOO_LOG" >&2
      return 1
    fi
    sleep 0.1
  done
  DBUS_SYSTEM_BUS_ADDRESS="$(sed -n 's/^DBUS_SYSTEM_BUS_ADDRESS=//p' "$out")"
  PHONE_ADAPTER="$(sed -n 's/^PHONE_ADAPTER=//p' "$out")"
  LOCK_ADAPTERS="$(sed -n 's/^LOCK_ADAPTERS=//p' "$out")"
  export DBUS_SYSTEM_BUS_ADDRESS PHONE_ADAPTER LOCK_ADAPTERS
  rm -f "$out"

  # The adapters must answer on the bus, powered, before anyone uses them.
  local i
  for i in $(seq 0 "$locks"); do
    until [ "$(busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.bluez \
      "/org/bluez/hci$i" org.bluez.Adapter1 Powered 2>/dev/null)" = "b true" ]; do
      if [ $SECONDS -ge $deadline ]; then
        echo "adapter hci$i did not come up within ${timeout_s}s" >&2
        return 1
      fi
      sleep 0.1
    done
  done
  echo "virtual BlueZ up: phone $PHONE_ADAPTER, locks $LOCK_ADAPTERS"
}

# Waits until the file $1 has a line matching $2, at most $3 seconds.
_ble_wait_line() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "no line matching '$2' in $1 within $3s:" >&2
      cat "$1" >&2
      return 1
    fi
    sleep 0.1
  done
}

# Active advertisements on adapter hciN ("y 1" when advertising).
_ble_adverts() {
  busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.bluez "/org/bluez/hci$1" \
    org.bluez.LEAdvertisingManager1 ActiveInstances
}

# The virtual-lock binary on BlueZoo: ready line, advertising, out of range and back, stop.
virtual_lock_smoke() {
  cargo build -p virtual-lock --locked
  start_virtual_bluez 1
  local out pid lock_adapter
  out="$(mktemp -t virtual-lock.XXXXXX)"
  lock_adapter="${LOCK_ADAPTERS%% *}"
  "$CARGO_TARGET_DIR/debug/virtual-lock" --echo --adapter "$lock_adapter" \
    --latency-ms 30 >"$out" 2>&1 &
  pid=$!
  # Stopped on any exit, also when a check below fails.
  on_exit "kill $pid 2>/dev/null || true; rm -f '$out'"
  _ble_wait_line "$out" "^virtual-lock ready address=$lock_adapter .*latency_ms=30 .*tag=ECHOLOCK" 20
  [ "$(_ble_adverts 1)" = "y 1" ] || { echo "not advertising" >&2; return 1; }
  kill -USR1 "$pid"
  _ble_wait_line "$out" "^virtual-lock out-of-range" 10
  [ "$(_ble_adverts 1)" = "y 0" ] || { echo "still advertising out of range" >&2; return 1; }
  kill -USR2 "$pid"
  _ble_wait_line "$out" "^virtual-lock in-range" 10
  [ "$(_ble_adverts 1)" = "y 1" ] || { echo "not advertising back in range" >&2; return 1; }
  kill -TERM "$pid"
  wait "$pid" || { echo "virtual-lock did not exit cleanly" >&2; return 1; }
  stop_virtual_bluez
  rm -f "$out"
  echo "virtual-lock smoke: 1 passed, 0 failed"
}

# The virtual-lock binary with the lock brain: factory settings on the ready line, keypad on
# stdin, state kept in its file across restarts.
virtual_lock_brain_smoke() {
  cargo build -p virtual-lock --locked
  start_virtual_bluez 1
  local dir pid lock_adapter
  dir="$(mktemp -d -t virtual-lock.XXXXXX)"
  lock_adapter="${LOCK_ADAPTERS%% *}"
  mkfifo "$dir/stdin"
  "$CARGO_TARGET_DIR/debug/virtual-lock" --state "$dir/lock.state" --adapter "$lock_adapter" \
    --pairing-code 246810 --serial VL-SMOKE1 <"$dir/stdin" >"$dir/out" 2>&1 &
  pid=$!
  exec 7>"$dir/stdin"
  on_exit "kill $pid 2>/dev/null || true; rm -rf '$dir'"
  _ble_wait_line "$dir/out" \
    "^virtual-lock ready address=$lock_adapter .*pairing_code=246810 paired=false tag=VL-SMOKE" 20
  [ "$(_ble_adverts 1)" = "y 1" ] || { echo "not advertising" >&2; return 1; }
  echo "keypad 99999999" >&7
  _ble_wait_line "$dir/out" "^virtual-lock keypad Refused" 10
  exec 7>&-
  kill -TERM "$pid"
  wait "$pid" || { echo "virtual-lock did not exit cleanly" >&2; return 1; }
  [ -s "$dir/lock.state" ] || { echo "no state file written" >&2; return 1; }
  stop_virtual_bluez
  rm -rf "$dir"
  echo "virtual-lock brain smoke: 1 passed, 0 failed"
}

suite_ble() {
  need_rust_build_deps
  need_ble_deps
  # The BlueZoo tests in ble/tests start the launcher themselves (one per test) and fail,
  # never skip, when it cannot start; one of them runs the virtual-lock binary.
  cargo build -p virtual-lock --locked
  cargo test -p lock-ble --locked
  virtual_lock_smoke
  virtual_lock_brain_smoke
}

# The virtual-lock binary driven as a technician would, on a virtual BlueZ (the crate
# tests themselves run in suite_rust).
suite_ble_smoke() {
  need_rust_build_deps
  need_ble_deps
  cargo build -p virtual-lock --locked
  virtual_lock_smoke
  virtual_lock_brain_smoke
}

# Tap to open: the `access` CLI cold, through btleplug and BlueZoo at 30 ms link latency,
# network up / silent / down, against the floor (tests/e2e/benches/tap.rs). TAP_RUNS=N.
bench_tap() {
  need_rust_build_deps
  need_ble_deps
  cargo build --release -p virtual-lock -p access-cli --locked
  cargo bench -p access-e2e --bench tap --locked
}

bench_converge() {
  need_rust_build_deps
  need_ble_deps
  cargo build --release -p virtual-lock -p access-cli --locked
  cargo bench -p access-e2e --bench converge --locked
}

bench_ble() {
  need_rust_build_deps
  need_ble_deps
  cargo run --release -p lock-ble --example roundtrip_bench --locked
}
