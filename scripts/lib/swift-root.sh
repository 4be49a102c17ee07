# The Swift root: a Debian trixie tree with Swift in it, where the Swift kit's tests run
# (`swift test`, scripts/lib/shells.sh) and the call bench's Swift side (bindings/bench/run).
# Sourced after common.sh; not run.
#
# Why a root: Debian packages Swift (swiftlang, 6.0) from trixie (13) on, and the machines
# that run the suites are Debian 12, whose archive has none. A trixie tree made with
# debootstrap holds Swift apart from the host's packages; commands run in it with chroot,
# each in private mount and pid namespaces, so nothing stays mounted or running after them.
# The root shares the host's network, so tests inside reach servers started on the host.
#
# Steps of need_swift_root (first run ~3-4 min, 2.5 GB; later runs only check a marker):
#   1. debootstrap a minimal Debian trixie into a temporary folder under $CACHE_ROOT.
#   2. Inside it: apt-get install swiftlang libc6-dev.
#   3. Write the marker and rename the folder to $SWIFT_ROOT. A killed run leaves no marker,
#      and the next run starts over.
# Then swift_run SRC LIB CMD... runs CMD in the root with SRC at /src (the working folder)
# and LIB (the host's libraries to test, e.g. the core) read-only at /lib-host.
#
#   scripts/test tooling   smoke_swift among the other smoke checks

SWIFT_ROOT="$CACHE_ROOT/swift-root"
SWIFT_ROOT_MARKER=".lock-access-swift-root-ready"

# Makes $SWIFT_ROOT (the steps above), or waits for the run that is making it.
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
    die "debootstrap of Debian trixie into $tmp failed (log above)"
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
    { die "installing swiftlang in the trixie root failed"; return 1; }
  date -u +%FT%TZ >"$tmp/$SWIFT_ROOT_MARKER"
  mv "$tmp" "$SWIFT_ROOT" || { die "cannot move $tmp to $SWIFT_ROOT"; return 1; }
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
  [ $# -ge 3 ] || { die "usage: swift_run SRC_DIR LIB_DIR CMD..."; return 1; }
  [ -f "$SWIFT_ROOT/$SWIFT_ROOT_MARKER" ] ||
    { die "no Swift root at $SWIFT_ROOT: call need_swift_root first"; return 1; }
  local src lib
  src="$(realpath -e "$1")" || { die "swift_run: no directory $1"; return 1; }
  lib="$(realpath -e "$2")" || { die "swift_run: no directory $2"; return 1; }
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
    { die "smoke_swift: swift test did not report 1 passing test"; return 1; }
}
