# The Kotlin and Swift shells' suites: the generated bindings and the thin layers
# (android/access-kit, ios AccessKit) tested against the real core library and the real
# access-server. Sourced after common.sh, kotlin.sh, swift-root.sh and ble.sh; not run.
#
#   scripts/test kotlin      JUnit on the JVM (kotlinc, JNA)
#   scripts/test swift       XCTest with `swift test` in the Debian trixie root
#   scripts/test shells      both
#   bindings/bench           the call-cost and library-size figures (not a suite)

SHELLS_ADMIN_EMAIL="admin@shells.test"
SHELLS_ADMIN_PASSWORD="shells-admin-password-1"

# Builds the core (debug) and its bindings; sets SHELLS_GEN (see bindings/generate).
# SHELLS_BINDINGS=DIR reuses bindings generated earlier (e.g. $CARGO_TARGET_DIR/uniffi/debug)
# instead, to work on the shells while the core in the tree does not build.
shells_generate() {
  if [ -n "${SHELLS_BINDINGS:-}" ]; then
    step "bindings: reusing $SHELLS_BINDINGS (SHELLS_BINDINGS is set)"
    SHELLS_GEN="$SHELLS_BINDINGS"
    [ -s "$SHELLS_GEN/lib/libaccess_core.so" ] || { die "no library in $SHELLS_GEN/lib"; return 1; }
    mkdir -p "$REPO_ROOT/ios/Sources/AccessCore" "$REPO_ROOT/ios/Sources/AccessCoreFFI"
    cp "$SHELLS_GEN/swift/AccessCore.swift" "$REPO_ROOT/ios/Sources/AccessCore/AccessCore.swift"
    cp "$SHELLS_GEN/swift/AccessCoreFFI.h" "$REPO_ROOT/ios/Sources/AccessCoreFFI/AccessCoreFFI.h"
    export SHELLS_GEN
    return 0
  fi
  need_rust_build_deps
  step "bindings: build access-core and generate Kotlin and Swift"
  SHELLS_GEN="$("$REPO_ROOT/bindings/generate" | tail -n 1)"
  [ -s "$SHELLS_GEN/lib/libaccess_core.so" ] || { die "bindings/generate left no library in $SHELLS_GEN"; return 1; }
  export SHELLS_GEN
}

# Builds access-server and starts it (through bindings/test-support/server_control.py, so
# tests can stop and restart it) on a free port with a temp data directory. Exports
# ACCESS_TEST_SERVER_URL, ACCESS_TEST_CONTROL_URL, ACCESS_TEST_ADMIN_EMAIL and
# ACCESS_TEST_ADMIN_PASSWORD; stops it on exit.
start_shell_server() {
  need_python
  step "access-server: build and start"
  (cd "$REPO_ROOT" && cargo build -p access-server --locked) || { die "cannot build access-server"; return 1; }
  local home port control
  home="$(mktemp -d /tmp/lock-access-shells.XXXXXX)"
  on_exit "rm -rf '$home'"
  # A copy, so a rebuild of the shared target dir during the run does not swap it.
  cp "$CARGO_TARGET_DIR/debug/access-server" "$home/access-server"
  port="$(free_port)"
  control="$(free_port)"
  ACCESS_ADMIN_EMAIL="$SHELLS_ADMIN_EMAIL" ACCESS_ADMIN_PASSWORD="$SHELLS_ADMIN_PASSWORD" \
    python3 "$REPO_ROOT/bindings/test-support/server_control.py" --bin "$home/access-server" \
    --port "$port" --data-dir "$home/data" --control-port "$control" --log "$home/server.log" \
    >"$home/control.log" 2>&1 &
  SHELLS_SERVER_PID=$!
  on_exit "stop_shell_server $SHELLS_SERVER_PID"
  # The supervisor opens its control port once the server answers /healthz.
  local waited=0
  until grep -q '^ready$' "$home/control.log" 2>/dev/null; do
    if ! kill -0 "$SHELLS_SERVER_PID" 2>/dev/null || [ "$waited" -ge 600 ]; then
      cat "$home/control.log" "$home/server.log" >&2
      die "access-server did not start"
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null ||
    { cat "$home/server.log" >&2; die "access-server does not answer /healthz"; return 1; }
  export ACCESS_TEST_SERVER_URL="http://127.0.0.1:$port" ACCESS_TEST_CONTROL_URL="http://127.0.0.1:$control"
  export ACCESS_TEST_ADMIN_EMAIL="$SHELLS_ADMIN_EMAIL" ACCESS_TEST_ADMIN_PASSWORD="$SHELLS_ADMIN_PASSWORD"
  SHELLS_SERVER_HOME="$home"
  printf 'access-server on %s (log %s)\n' "$ACCESS_TEST_SERVER_URL" "$home/server.log"
}

# Stops the supervisor PID (which stops its server). Safe to call twice.
stop_shell_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Starts BlueZoo (scripts/lib/ble.sh) with a phone and two lock adapters, and two
# factory-fresh `virtual-lock` binaries with known pairing codes. The first is the kits'
# (BleTest); the second is the apps' (the presenters' day walks), which also reads its stdin
# from a FIFO so a test can type at its keypad (`keypad DIGITS`) or take it out of range
# (`out-of-range`, `in-range`), and writes what it does to a file the test reads
# (`virtual-lock keypad OUTCOME`). Exports DBUS_SYSTEM_BUS_ADDRESS (inherited by the test
# process: btleplug reads it), ACCESS_TEST_PHONE_ADAPTER, ACCESS_TEST_LOCK_PAIRING_CODE,
# ACCESS_TEST_LOCK_TAG, and ACCESS_TEST_APP_LOCK_{TAG,PAIRING_CODE,INPUT,OUTPUT}.
start_shell_lock() {
  step "virtual locks on BlueZoo"
  (cd "$REPO_ROOT" && cargo build -p virtual-lock --locked) || { die "cannot build virtual-lock"; return 1; }
  start_virtual_bluez 2
  local dir adapters
  read -r -a adapters <<<"$LOCK_ADAPTERS"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/lock-access-shells-lock.XXXXXX")"
  cp "$CARGO_TARGET_DIR/debug/virtual-lock" "$dir/virtual-lock"
  "$dir/virtual-lock" --state "$dir/lock.state" --adapter "${adapters[0]}" \
    --pairing-code 2468101214 --serial VL-SHELL1 >"$dir/out" 2>&1 </dev/null &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '$dir'"
  mkfifo "$dir/app-lock.in"
  # The FIFO is held open for writing by a sleeping process, so the lock never reads EOF
  # between the test's writes.
  sleep infinity >"$dir/app-lock.in" &
  local holder=$!
  "$dir/virtual-lock" --state "$dir/app-lock.state" --adapter "${adapters[1]}" \
    --pairing-code 1357924680 --serial VL-APPS01 >"$dir/app-lock.out" 2>&1 <"$dir/app-lock.in" &
  local app_pid=$!
  on_exit "kill $app_pid $holder 2>/dev/null; wait $app_pid $holder 2>/dev/null"
  _ble_wait_line "$dir/out" "^virtual-lock ready .*paired=false" 30 || { die "virtual-lock did not start"; return 1; }
  _ble_wait_line "$dir/app-lock.out" "^virtual-lock ready .*paired=false" 30 || { die "the apps' virtual-lock did not start"; return 1; }
  export ACCESS_TEST_PHONE_ADAPTER="$PHONE_ADAPTER" ACCESS_TEST_LOCK_PAIRING_CODE=2468101214
  # While unpaired a lock advertises the first 8 bytes of its serial.
  export ACCESS_TEST_LOCK_TAG=VL-SHELL
  export ACCESS_TEST_APP_LOCK_TAG=VL-APPS0 ACCESS_TEST_APP_LOCK_PAIRING_CODE=1357924680
  export ACCESS_TEST_APP_LOCK_INPUT="$dir/app-lock.in" ACCESS_TEST_APP_LOCK_OUTPUT="$dir/app-lock.out"
}

# Checks that a runner reported exactly WANT passing tests and nothing else.
shells_expect() {
  local what="$1" want="$2" passed="$3" failed="$4"
  if [ "$passed" != "$want" ] || [ "$failed" != 0 ]; then
    [ -n "${SHELLS_SERVER_HOME:-}" ] && tail -n 40 "$SHELLS_SERVER_HOME/server.log" >&2
    die "$what: expected $want passing tests and no failures, got $passed passed and $failed failed"
    return 1
  fi
  printf '%s: %s tests passed\n' "$what" "$passed"
}

# JUnit 5 on the JVM: access-kit's and app-logic's non-Android sources, the generated Kotlin
# and both test trees, compiled with kotlinc; the real libaccess_core.so loaded through JNA.
suite_kotlin() {
  need_kotlin
  shells_generate
  start_shell_server
  start_shell_lock
  local kit="$REPO_ROOT/android/access-kit" logic="$REPO_ROOT/android/app-logic"
  # Under the target directory: each worktree builds and runs its own copy.
  local build="$CARGO_TARGET_DIR/shells/kotlin"
  rm -rf "$build" && mkdir -p "$build"
  # Everything but the Android-only packages (Keystore, Logcat, the platform glue) compiles
  # on the JVM: the kit, the apps' presenters (app-logic) and both test trees, in one call.
  local sources=()
  mapfile -t sources < <(find "$SHELLS_GEN/kotlin" "$kit/src/main/kotlin" "$kit/src/test/kotlin" \
    "$logic/src/main/kotlin" "$logic/src/test/kotlin" \
    -name '*.kt' -not -path '*/com/lockaccess/kit/android/*' -not -path '*/com/lockaccess/app/android/*' | sort)
  local cp="$JUNIT_JARS:$KOTLIN_TEST_JARS:$COROUTINES_JAR:$COROUTINES_TEST_JAR:$JNA_JAR"
  step "kotlinc: access-kit + app-logic + generated bindings + tests (${#sources[@]} files, ~2 min)"
  "$KOTLINC" -nowarn -jvm-target 17 -cp "$cp" -d "$build/kit-tests.jar" "${sources[@]}" ||
    { die "kotlinc failed"; return 1; }
  local want
  want="$(grep -rhoE '^\s*@Test\b' "$kit/src/test/kotlin" "$logic/src/test/kotlin" | wc -l)"
  # The manifest and packaging checks read the Android sources as they are in the tree, and
  # compile btleplug's Java side (from the locked crate, as access-kit's Gradle build takes
  # it) against the Android API jar.
  export ACCESS_TEST_ANDROID_DIR="$REPO_ROOT/android"
  need_android_all
  local btleplug
  btleplug="$(cd "$REPO_ROOT" && cargo metadata --format-version 1 --locked |
    python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "btleplug"))')" ||
    { die "btleplug is not in cargo metadata"; return 1; }
  export ACCESS_TEST_BTLEPLUG_JAVA="$(dirname "$btleplug")/src/droidplug/java/src/main/java"
  export ACCESS_TEST_ANDROID_ALL_JAR="$ANDROID_ALL_JAR"
  step "junit: $want tests against $ACCESS_TEST_SERVER_URL"
  local log="$build/junit.log"
  java -Djna.library.path="$SHELLS_GEN/lib" -jar "$JUNIT_CONSOLE_JAR" execute --disable-banner --disable-ansi-colors \
    --details=tree --fail-if-no-tests \
    --class-path "$build/kit-tests.jar:$KOTLIN_STDLIB_JAR:$KOTLIN_TEST_JARS:$COROUTINES_JAR:$COROUTINES_TEST_JAR:$JNA_JAR" \
    --scan-class-path "$build/kit-tests.jar" 2>&1 | tee "$log" || true
  local passed failed
  passed="$(grep -oE '\[ +[0-9]+ tests successful +\]' "$log" | grep -oE '[0-9]+' || echo 0)"
  failed="$(grep -oE '\[ +[0-9]+ tests failed +\]' "$log" | grep -oE '[0-9]+' || echo '?')"
  shells_expect "kotlin" "$want" "$passed" "$failed"
}

# XCTest in the trixie root: the AccessKit package (generated Swift + FFI module + thin
# layer) linked against the real libaccess_core.so; the server runs on the host and is
# reached at 127.0.0.1 (the root shares the host's network namespace).
suite_swift() {
  need_swift_root
  shells_generate
  start_shell_server
  local pkg="$REPO_ROOT/ios"
  # BlueZoo makes its private bus socket under $TMPDIR: under the package directory it is
  # inside the chroot too (at /src/.build/...), where the tests' btleplug connects to it.
  mkdir -p "$pkg/.build"
  TMPDIR="$pkg/.build" start_shell_lock
  local bus="${DBUS_SYSTEM_BUS_ADDRESS#unix:path=}"
  case "$bus" in "$pkg"/*) ;; *) die "BlueZoo's bus $bus is not under $pkg"; return 1 ;; esac
  # The apps' lock's FIFO and output file are there too: the chroot sees them under /src.
  local f
  for f in "$ACCESS_TEST_APP_LOCK_INPUT" "$ACCESS_TEST_APP_LOCK_OUTPUT"; do
    case "$f" in "$pkg"/*) ;; *) die "the apps' lock file $f is not under $pkg"; return 1 ;; esac
  done
  local want
  want="$(grep -rhoE '^\s*func test[A-Za-z0-9_]*\(' "$pkg/Tests" | wc -l)"
  step "swift test: $want tests against $ACCESS_TEST_SERVER_URL (~1 min)"
  # The core links libdbus (btleplug's BlueZ backend), which the trixie root lacks: the
  # host's copy goes next to the core in /lib-host (it needs only libsystemd, which the root has).
  need_apt libdbus-1-3
  local dbus
  dbus="$(dpkg -L libdbus-1-3 | grep -E '/libdbus-1\.so\.3$' | head -n 1)"
  [ -n "$dbus" ] || { die "no libdbus-1.so.3 in the libdbus-1-3 package"; return 1; }
  cp -L "$dbus" "$SHELLS_GEN/lib/libdbus-1.so.3"
  # The core's HTTP client loads the system's CA roots when it is built (rustls platform
  # verifier), and the minimal trixie root has none: lend it the host's bundle.
  need_apt ca-certificates
  mkdir -p "$pkg/.build"
  cp /etc/ssl/certs/ca-certificates.crt "$pkg/.build/host-ca-certificates.crt"
  local log
  log="$(mktemp /tmp/lock-access-swift-test.XXXXXX.log)"
  on_exit "rm -f '$log'"
  swift_run "$pkg" "$SHELLS_GEN/lib" env \
    ACCESS_TEST_SERVER_URL="$ACCESS_TEST_SERVER_URL" ACCESS_TEST_CONTROL_URL="$ACCESS_TEST_CONTROL_URL" \
    ACCESS_TEST_ADMIN_EMAIL="$ACCESS_TEST_ADMIN_EMAIL" ACCESS_TEST_ADMIN_PASSWORD="$ACCESS_TEST_ADMIN_PASSWORD" \
    SSL_CERT_FILE=/src/.build/host-ca-certificates.crt \
    DBUS_SYSTEM_BUS_ADDRESS="unix:path=/src${bus#"$pkg"}" \
    ACCESS_TEST_PHONE_ADAPTER="$ACCESS_TEST_PHONE_ADAPTER" ACCESS_TEST_LOCK_TAG="$ACCESS_TEST_LOCK_TAG" \
    ACCESS_TEST_LOCK_PAIRING_CODE="$ACCESS_TEST_LOCK_PAIRING_CODE" \
    ACCESS_TEST_APP_LOCK_TAG="$ACCESS_TEST_APP_LOCK_TAG" ACCESS_TEST_APP_LOCK_PAIRING_CODE="$ACCESS_TEST_APP_LOCK_PAIRING_CODE" \
    ACCESS_TEST_APP_LOCK_INPUT="/src${ACCESS_TEST_APP_LOCK_INPUT#"$pkg"}" \
    ACCESS_TEST_APP_LOCK_OUTPUT="/src${ACCESS_TEST_APP_LOCK_OUTPUT#"$pkg"}" \
    swift test --disable-swift-testing --scratch-path /src/.build -Xlinker -L/lib-host 2>&1 | tee "$log" || true
  local line passed failed
  line="$(grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -n 1)"
  passed="$(sed -nE 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\1/p' <<<"$line")"
  failed="$(sed -nE 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\2/p' <<<"$line")"
  # "Executed N" counts failing tests too.
  [ -n "$passed" ] && [ -n "$failed" ] && passed=$((passed - failed))
  shells_expect "swift" "$want" "${passed:-0}" "${failed:-?}"
}

# Both shells.
suite_shells() {
  suite_kotlin
  suite_swift
}
