# access-server's install steps, suite and benchmark. Sourced after scripts/lib/common.sh.
#
#   scripts/test server   # the server's tests on SQLite (aiosmtpd for the SMTP sink)
#   scripts/bench server  # on demand: wrk load benchmark (benches/server-bench)

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
