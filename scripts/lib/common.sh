# Generic helpers of the scripts: where caches live, installing Debian and PyPI packages,
# failing, cleaning up on exit, free ports and cache locks. Sourced first by scripts/test and
# scripts/bench (every other file of scripts/lib uses it); not run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Everything fetched or built outside the clone (cargo target, npm, jars, kotlinc, the Swift
# root) lives here, so a second run only checks markers.
export CACHE_ROOT="${LOCK_ACCESS_CACHE:-/var/cache/lock-access}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_ROOT/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CACHE_ROOT"

step() { printf '\n==> %s (%s)\n' "$*" "$(date +%T)"; }

# Prints an error naming the function that failed and returns 1; the callers never skip a
# missing tool.
#   [ -x "$tool" ] || { die "no $tool"; return 1; }
die() {
  printf '%s: %s\n' "${FUNCNAME[1]:-scripts}" "$*" >&2
  return 1
}

apt_updated=0
# Installs Debian packages that are missing; never skips.
need_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Makes sure python3 (with pip) is there.
need_python() {
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 && return 0
  need_apt python3 python3-pip python3-venv
}

# Installs PyPI packages (name==version) that are missing.
need_pip() {
  need_python
  for spec in "$@"; do
    python3 -m pip show "${spec%%==*}" >/dev/null 2>&1 && continue
    # Debian's own python refuses global installs without the flag; pyenv's takes both.
    python3 -m pip install -q "$spec" 2>/dev/null ||
      python3 -m pip install -q --break-system-packages "$spec"
  done
}

# Build dependencies of the Rust workspace (btleplug and bluer link libdbus).
need_rust_build_deps() { need_apt dbus libdbus-1-dev pkg-config; }

# --- exit hooks ---------------------------------------------------------------------------

_on_exit_cmds=()
_on_exit_installed=0

# Adds a command to run when the shell exits, after any EXIT trap already set (which is
# kept). Commands run in reverse order of registration, each once; a failing one does not
# stop the rest and the script's exit status is preserved.
#   on_exit "rm -rf '$tmp'"
on_exit() {
  local cmd="$*" known
  if [ "$_on_exit_installed" -eq 0 ]; then
    local previous
    previous="$(trap -p EXIT)"
    if [ -n "$previous" ]; then
      # `trap -p` prints `trap -- 'CMD' EXIT`; eval splits it back into words.
      eval "set -- $previous"
      _on_exit_cmds+=("$3")
    fi
    trap _on_exit_run EXIT
    # An interrupted run should still clean up: turn signals into a normal exit.
    [ -n "$(trap -p INT)" ] || trap 'exit 130' INT
    [ -n "$(trap -p TERM)" ] || trap 'exit 143' TERM
    _on_exit_installed=1
  fi
  for known in "${_on_exit_cmds[@]}"; do [ "$known" = "$cmd" ] && return 0; done
  _on_exit_cmds+=("$cmd")
}

_on_exit_run() {
  local rc=$? i
  set +e
  for ((i = ${#_on_exit_cmds[@]} - 1; i >= 0; i--)); do
    eval "${_on_exit_cmds[i]}"
  done
  return "$rc"
}

# --- ports and locks ----------------------------------------------------------------------

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
#   port="$(free_port)"
free_port() {
  need_python >&2
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Frees disk when the cargo target's filesystem is short of space (a full disk makes the
# linker die with a bus error): drops incremental state and artefacts untouched for a day.
# Holds cargo's own build lock, so a build running at the same time is never cut short.
#   trim_cargo_target
trim_cargo_target() {
  local want_gib="${LOCK_ACCESS_MIN_FREE_GIB:-20}" free_gib dir sub
  mkdir -p "$CARGO_TARGET_DIR"
  free_gib=$(( $(df -Pk "$CARGO_TARGET_DIR" | awk 'NR==2 {print $4}') / 1048576 ))
  [ "$free_gib" -lt "$want_gib" ] || return 0
  printf 'only %s GiB free under %s: trimming the cargo cache\n' "$free_gib" "$CARGO_TARGET_DIR"
  for dir in "$CARGO_TARGET_DIR"/*/; do
    [ -d "$dir/deps" ] || continue
    (
      exec 9>"$dir/.cargo-lock"
      flock 9
      rm -rf "$dir/incremental"
      for sub in deps build .fingerprint; do
        [ ! -d "$dir/$sub" ] || find "$dir/$sub" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} +
      done
    )
  done
  printf 'now %s GiB free\n' "$(( $(df -Pk "$CARGO_TARGET_DIR" | awk 'NR==2 {print $4}') / 1048576 ))"
}

# Runs CMD while holding an exclusive lock named NAME under $CACHE_ROOT, so two runs on one
# machine do not fill the same cache at once (the second waits, then finds it ready).
#   with_cache_lock kotlin _unpack_kotlinc
with_cache_lock() {
  local name="$1"
  shift
  command -v flock >/dev/null || need_apt util-linux >&2
  (
    exec 9>"$CACHE_ROOT/.$name.lock"
    if ! flock -n 9; then
      printf 'waiting for another run that is filling the %s cache...\n' "$name" >&2
      flock 9
    fi
    "$@"
  )
}
