# The scale-out suites: access-server on PostgreSQL. Sourced after scripts/lib/common.sh and
# scripts/lib/tools.sh (start_postgres); not run.
#
#   scripts/test server_postgres   # the server's WHOLE test suite on a throwaway PostgreSQL
#   scripts/test scale_out         # only the multi-instance tests, on PostgreSQL
#   bench_scale_out                # on demand: 1x SQLite, 1x PostgreSQL, 2x PostgreSQL

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
