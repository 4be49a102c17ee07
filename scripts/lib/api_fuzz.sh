# The schema-driven API fuzzer, on demand (not in CI): schemathesis generates requests from
# the OpenAPI document the server serves, valid and invalid, and checks every answer against
# it. Sourced after scripts/lib/common.sh; not run.
#
#   scripts/test api_fuzz      # about 5 minutes; API_FUZZ_SECONDS bounds the fuzzing
#
# Steps of suite_api_fuzz:
#   1. schemathesis (pinned) in a venv under $CACHE_ROOT/venv-fuzz, made once.
#   2. access-server (debug) built and started on a free port, on SQLite in a temporary
#      directory, with a known administrator.
#   3. scripts/lib/api_fuzz_seed.py signs in and makes a property, unit, paired lock, codes,
#      a pending user and a registration, and writes schemathesis's configuration: the
#      administrator's bearer token, and each path id pinned to one of those.
#   4. `schemathesis run` with every check, API_FUZZ_EXAMPLES cases per operation and phase,
#      for at most API_FUZZ_SECONDS; any finding (a 5xx, an undocumented status or content
#      type, a body off its schema, a schema-valid body refused as malformed, ...) fails the
#      suite. The report is kept in $CACHE_ROOT/api-fuzz-report.

API_FUZZ_SCHEMATHESIS_VERSION="${API_FUZZ_SCHEMATHESIS_VERSION:-4.32.5}"
API_FUZZ_VENV="$CACHE_ROOT/venv-fuzz"
API_FUZZ_ADMIN_EMAIL="admin@fuzz.test"
API_FUZZ_ADMIN_PASSWORD="fuzz-admin-password-1"

_make_fuzz_venv() {
  local st="$API_FUZZ_VENV/bin/schemathesis"
  if [ -x "$st" ] && "$st" --version 2>/dev/null | grep -qF "$API_FUZZ_SCHEMATHESIS_VERSION"; then
    return 0
  fi
  rm -rf "$API_FUZZ_VENV"
  python3 -m venv "$API_FUZZ_VENV" &&
    "$API_FUZZ_VENV/bin/python" -m pip install -q "schemathesis==$API_FUZZ_SCHEMATHESIS_VERSION" ||
    { rm -rf "$API_FUZZ_VENV"; die "cannot install schemathesis $API_FUZZ_SCHEMATHESIS_VERSION"; return 1; }
}

# Installs schemathesis into its venv (python3-venv from Debian when the python lacks it).
need_schemathesis() {
  need_python
  python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt python3-venv
  with_cache_lock venv-fuzz _make_fuzz_venv
  "$API_FUZZ_VENV/bin/schemathesis" --version
}

suite_api_fuzz() {
  local seconds="${API_FUZZ_SECONDS:-240}" examples="${API_FUZZ_EXAMPLES:-30}"
  need_rust_build_deps
  need_apt curl
  need_schemathesis
  step "api_fuzz: build and start access-server"
  (cd "$REPO_ROOT" && cargo build -p access-server --locked) || { die "cannot build access-server"; return 1; }
  local dir port base
  dir="$(mktemp -d /tmp/lock-access-fuzz.XXXXXX)"
  on_exit "rm -rf '$dir'"
  # A copy, so a rebuild of the shared target dir during the run does not swap it.
  cp "$CARGO_TARGET_DIR/debug/access-server" "$dir/access-server"
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  ACCESS_LISTEN="127.0.0.1:$port" ACCESS_DATA_DIR="$dir/data" \
    ACCESS_ADMIN_EMAIL="$API_FUZZ_ADMIN_EMAIL" ACCESS_ADMIN_PASSWORD="$API_FUZZ_ADMIN_PASSWORD" \
    RUST_LOG=warn "$dir/access-server" >"$dir/server.log" 2>&1 &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
  local waited=0
  until curl -fsS "$base/healthz" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge 300 ]; then
      cat "$dir/server.log" >&2
      die "access-server did not start"
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  python3 "$REPO_ROOT/scripts/lib/api_fuzz_seed.py" "$base" \
    "$API_FUZZ_ADMIN_EMAIL" "$API_FUZZ_ADMIN_PASSWORD" "$dir/schemathesis.toml" ||
    { die "cannot seed the server"; return 1; }
  # A schema-valid request the server refuses for its rules (a blank name, a window that
  # ends before it starts, an expired invitation) is 410 or 422 by design; one refused as
  # malformed (400, 415) is still a finding.
  cat >>"$dir/schemathesis.toml" <<'EOF'

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "410", "422", "429"]

# OpenAPI 3.1's JSON Schema reads `format` as an annotation, so the coverage phase sends ""
# for a `date-time`, which the server refuses as malformed (400). The fuzzing phase sends
# real times and still holds 400 a finding.
[[operations]]
include-operation-id = ["give_access"]
phases.coverage.checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "422", "429"]
EOF
  local report="$CACHE_ROOT/api-fuzz-report"
  rm -rf "$report"
  step "api_fuzz: schemathesis run, every check, $examples cases per operation, at most ${seconds}s"
  local rc=0
  (
    cd "$dir" &&
      timeout --kill-after=30 $((seconds + 300)) "$API_FUZZ_VENV/bin/schemathesis" \
        --config-file "$dir/schemathesis.toml" --no-color run "$base/api/v1/openapi.json" \
        --checks all --max-examples "$examples" --max-time "$seconds" --workers 2 \
        --generation-database none --report junit --report-dir "$report"
  ) || rc=$?
  mkdir -p "$report"
  cp "$dir/server.log" "$report/server.log"
  if grep -q -E 'panicked| ERROR ' "$dir/server.log"; then
    grep -E -m 20 'panicked| ERROR ' "$dir/server.log" >&2
    die "the server logged errors during the run (whole log: $report/server.log)"
    return 1
  fi
  [ "$rc" -eq 0 ] || { die "schemathesis found problems (exit $rc; report in $report)"; return 1; }
  echo "api_fuzz: no findings (report in $report)"
}
