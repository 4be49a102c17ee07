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
BLE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# What BlueZoo, btleplug and bluer need on this machine.
need_ble_deps() {
  need_apt dbus libdbus-1-dev pkg-config
  need_pip "bluezoo==$BLUEZOO_VERSION"
}

# Adds a command to the EXIT trap, keeping what is already there.
_ble_add_exit_trap() {
  local cmd="$1" existing=""
  local current
  current="$(trap -p EXIT)"
  if [ -n "$current" ]; then
    # `trap -p` prints: trap -- 'CMD' EXIT, quoted for reuse by eval.
    eval "set -- $current"
    existing="$3"
  fi
  case "$existing" in *"$cmd"*) return 0 ;; esac
  # shellcheck disable=SC2064 # expand now: the trap must hold the commands themselves
  trap "${existing:+$existing; }$cmd" EXIT
}

stop_virtual_bluez() {
  [ -n "${BLUEZOO_PID:-}" ] || return 0
  kill -TERM "$BLUEZOO_PID" 2>/dev/null || true
  local i
  for i in $(seq 50); do kill -0 "$BLUEZOO_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$BLUEZOO_PID" 2>/dev/null || true
  unset BLUEZOO_PID
}

start_virtual_bluez() {
  local locks="${1:-1}" timeout_s="${BLUEZOO_START_TIMEOUT:-30}"
  need_ble_deps
  stop_virtual_bluez
  BLUEZOO_LOG="$(mktemp -t bluezoo-log.XXXXXX)"
  local out
  out="$(mktemp -t bluezoo-out.XXXXXX)"
  python3 "$BLE_ROOT/tools/bluezoo/launcher.py" --locks "$locks" >"$out" 2>"$BLUEZOO_LOG" &
  BLUEZOO_PID=$!
  export BLUEZOO_PID BLUEZOO_LOG
  _ble_add_exit_trap stop_virtual_bluez

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

suite_ble() {
  need_rust_build_deps
  need_ble_deps
  # The BlueZoo tests in ble/tests start the launcher themselves (one per test) and fail,
  # never skip, when it cannot start.
  cargo test -p lock-ble -p virtual-lock --locked
}

bench_ble() {
  need_rust_build_deps
  need_ble_deps
  cargo run --release -p lock-ble --example roundtrip_bench --locked
}
