# access-server's install steps, suite and benchmark. Sourced after scripts/lib/common.sh.
#
#   scripts/test server   # the server's tests on SQLite (aiosmtpd for the SMTP sink)
#   scripts/bench server  # on demand: wrk load benchmark (benches/server-bench)
#   scripts/bench large_org  # on demand: one organization of 100,000 locks, 200,000 users

AIOSMTPD_VERSION="${AIOSMTPD_VERSION:-1.4.6}"

# The server's tests send mail to a real local SMTP sink (aiosmtpd, which they start
# themselves) and read what arrived. suite_rust runs them too, so it must call this first.
need_server_test_deps() { need_pip "aiosmtpd==$AIOSMTPD_VERSION"; }

suite_server() {
  need_rust_build_deps
  need_server_test_deps
  cargo test -p access-server --locked
}

# On demand, not in CI: 10,000 locks, wrk against a bare axum route, /me, a page of locks
# and a gated action in one run. Extra arguments go to the bench (e.g. --duration 20).
bench_server() {
  need_rust_build_deps
  need_apt wrk
  cargo build --release -p access-server-bench --locked --bin access-server-bench
  "$CARGO_TARGET_DIR/release/access-server-bench" "$@"
}

# On demand, not in CI: one organization of 100,000 locks and 200,000 users on SQLite and on
# a throwaway PostgreSQL: the Manage Access page, the users search and a staff phone's full
# sync with the real core, each against its goal (~15 min in all on 2 cores). Extra
# arguments go to the bench (e.g. --locks 10000 --users 20000 --store sqlite).
bench_large_org() {
  need_rust_build_deps
  local arg store=both
  for arg in "$@"; do
    case "$arg" in sqlite | postgres | both | --store=*) store="${arg#--store=}" ;; esac
  done
  [ "$store" = sqlite ] || start_postgres
  # The bench starts the access-server binary that lies next to it.
  step "bench: cargo build --release -p access-server -p access-server-bench"
  cargo build --release -p access-server -p access-server-bench --locked --bins
  step "bench: access-server-large-org-bench"
  ACCESS_BENCH_DATABASE_URL="${ACCESS_TEST_DATABASE_URL:-}" \
    "$CARGO_TARGET_DIR/release/access-server-large-org-bench" "$@"
}
