# Shared helpers of the test scripts: install steps and the suites. Sourced, not run.

export CACHE_ROOT="${LOCK_ACCESS_CACHE:-/var/cache/lock-access}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_ROOT/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CACHE_ROOT"

step() { printf '\n==> %s (%s)\n' "$*" "$(date +%T)"; }

apt_updated=0
# Installs Debian packages that are missing; never skips.
need_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Installs PyPI packages (name==version) that are missing.
need_pip() {
  for spec in "$@"; do
    python3 -m pip show "${spec%%==*}" >/dev/null 2>&1 && continue
    # Debian's own python refuses global installs without the flag; pyenv's takes both.
    python3 -m pip install -q "$spec" 2>/dev/null ||
      python3 -m pip install -q --break-system-packages "$spec"
  done
}

# Build dependencies of the Rust workspace (btleplug and bluer link libdbus).
need_rust_build_deps() { need_apt dbus libdbus-1-dev pkg-config; }

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
