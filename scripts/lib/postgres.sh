# PostgreSQL for the scale-out suites and bench: a throwaway server per run, and the suites
# that run access-server on it. Sourced after common.sh; not run.
#
# Steps of start_postgres:
#   1. Debian's postgresql, told not to make a cluster of its own (the runs make theirs).
#   2. initdb a fresh cluster in a temporary folder, owned by a system user (postgres
#      refuses to run as root), trust auth, no fsync: nothing in it outlives the run.
#   3. Start it on a free 127.0.0.1 port, create lock_access_test and export its URL as
#      ACCESS_TEST_DATABASE_URL; stop it and remove the folder on exit.
#
#   scripts/test server_postgres   # the server's WHOLE test suite on a throwaway PostgreSQL
#   scripts/test scale_out         # only the multi-instance tests, on PostgreSQL
#   scripts/bench scale_out        # on demand: 1x SQLite, 1x PostgreSQL, 2x PostgreSQL

PG_TEST_USER="lockaccess-pg"

# Prints the bin directory of one installed PostgreSQL major version (the newest) that has
# initdb, pg_ctl and postgres, so the three always match (/usr/local/bin may hold others).
pg_bindir() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] || continue
    if [ -z "$best" ] || [ "$(basename "$(dirname "$d")")" -gt "$(basename "$(dirname "$best")")" ]; then
      best="$d"
    fi
  done
  [ -n "$best" ] && printf '%s\n' "$best"
}

# Installs the PostgreSQL server if needed, initdb's a fresh cluster in a temp dir owned by
# the system user lockaccess-pg, starts it on a free 127.0.0.1 port (unix socket in the temp
# dir, trust auth), creates database lock_access_test, exports ACCESS_TEST_DATABASE_URL and
# PG_TEST_DIR, and registers stop_postgres with on_exit. A second call reuses the server.
#   start_postgres && psql "$ACCESS_TEST_DATABASE_URL" -c 'select 1'
start_postgres() {
  if [ -n "${PG_TEST_DIR:-}" ] && [ -f "$PG_TEST_DIR/data/postmaster.pid" ]; then
    return 0
  fi
  local bin
  if ! bin="$(pg_bindir)"; then
    # Keep the package from making and starting its own cluster: tests make their own.
    mkdir -p /etc/postgresql-common/createcluster.d
    [ -f /etc/postgresql-common/createcluster.d/lock-access.conf ] ||
      printf 'create_main_cluster = false\n' >/etc/postgresql-common/createcluster.d/lock-access.conf
    need_apt postgresql postgresql-client
    bin="$(pg_bindir)" || { die "no initdb/pg_ctl/postgres under /usr/lib/postgresql after install"; return 1; }
  fi
  need_apt postgresql-client
  id -u "$PG_TEST_USER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_TEST_USER"
  PG_TEST_DIR="$(mktemp -d /tmp/lock-access-pg.XXXXXX)"
  export PG_TEST_DIR PG_TEST_BIN="$bin"
  on_exit stop_postgres
  chmod 755 "$PG_TEST_DIR"
  chown "$PG_TEST_USER" "$PG_TEST_DIR"
  local as=(runuser -u "$PG_TEST_USER" --)
  "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U lockaccess -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1 ||
    { cat "$PG_TEST_DIR/initdb.log" >&2; die "initdb failed"; return 1; }
  local port try
  for try in 1 2 3; do
    port="$(free_port)"
    if "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TEST_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
      break
    fi
    # Most likely the port was taken between free_port and the bind: try another.
    [ "$try" -lt 3 ] || { tail -n 20 "$PG_TEST_DIR/server.log" >&2; die "postgres did not start"; return 1; }
  done
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U lockaccess lock_access_test
  export PG_TEST_PORT="$port"
  export ACCESS_TEST_DATABASE_URL="postgres://lockaccess@127.0.0.1:$port/lock_access_test"
  printf 'postgres %s on 127.0.0.1:%s (%s)\n' "$("$bin/postgres" --version | awk '{print $3}')" "$port" "$PG_TEST_DIR"
}

# Stops the server of start_postgres and removes its directory. Safe to call twice.
stop_postgres() {
  [ -n "${PG_TEST_DIR:-}" ] || return 0
  if [ -f "$PG_TEST_DIR/data/postmaster.pid" ]; then
    runuser -u "$PG_TEST_USER" -- "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_TEST_DIR"
  unset PG_TEST_DIR PG_TEST_PORT ACCESS_TEST_DATABASE_URL
}

smoke_postgres() {
  start_postgres
  step "smoke: psql select 1"
  local got
  got="$(psql "$ACCESS_TEST_DATABASE_URL" -XAtc 'select 1')"
  [ "$got" = 1 ] || { die "smoke_postgres: select 1 gave '$got'"; return 1; }
  echo "select 1 -> $got"
}

# Every test of access-server with ACCESS_TEST_DATABASE_URL set: each in-process server and
# each spawned binary gets a schema of its own (two instances on one data dir share one), so
# the very tests that pass on SQLite pass on PostgreSQL. The SQLite run is suite_rust's.
suite_server_postgres() {
  need_rust_build_deps
  start_postgres
  step "server on PostgreSQL: cargo test -p access-server ($ACCESS_TEST_DATABASE_URL)"
  ACCESS_TEST_DATABASE_URL="$ACCESS_TEST_DATABASE_URL" cargo test -p access-server --locked
}

# The multi-instance tests alone (two real access-server processes over one PostgreSQL).
suite_scale_out() {
  need_rust_build_deps
  start_postgres
  step "scale-out on PostgreSQL: cargo test -p access-server --test scale_out"
  ACCESS_TEST_DATABASE_URL="$ACCESS_TEST_DATABASE_URL" \
    cargo test -p access-server --locked --test scale_out
}

# On demand, not in CI: release build, wrk, a throwaway PostgreSQL, then one run that loads
# one instance on SQLite, one on PostgreSQL and two on PostgreSQL side by side and prints
# requests/s with p50/p99 per endpoint. Extra arguments go to the bench binary
# (e.g. --duration 20 --connections 64).
bench_scale_out() {
  need_rust_build_deps
  need_apt wrk
  start_postgres
  # The scale bench starts the access-server binary that lies next to it.
  step "bench: cargo build --release -p access-server -p access-server-bench"
  cargo build --release -p access-server -p access-server-bench --locked --bins
  step "bench: access-server-scale-bench"
  ACCESS_BENCH_DATABASE_URL="$ACCESS_TEST_DATABASE_URL" \
    "$CARGO_TARGET_DIR/release/access-server-scale-bench" "$@"
}
