#!/usr/bin/env bash
# Builds AccessCoreFFI.xcframework (the Rust core as a static library for iOS devices, the
# iOS simulator on arm64 and x86_64, and macOS) and writes the generated Swift into the
# package. Runs on a Mac with Xcode and rustup; not on the Linux test machines.
#
# Usage: ios/build-xcframework.sh [PROFILE]     (default profile: release-mobile)
# Then point the AccessCoreFFI target at the framework, e.g. in an app's Package.swift:
#   .binaryTarget(name: "AccessCoreFFI", path: "ios/build/AccessCoreFFI.xcframework")
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
profile="${1:-release-mobile}"

if [ "$(uname -s)" != Darwin ] || ! command -v xcodebuild >/dev/null; then
  echo "build-xcframework.sh: needs macOS with Xcode (xcodebuild, lipo)." >&2
  exit 1
fi
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
for t in "${targets[@]}"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
# Only the staticlib, with the size flags of bindings/release-build.sh.
source "$repo/bindings/release-build.sh"
for t in "${targets[@]}"; do
  core_release_build "$profile" staticlib "$t"
done
lib() { echo "$CARGO_TARGET_DIR/$1/$profile/libaccess_core.a"; }

# Headers and module map from the bindings (generated from the host's debug build, which
# has the same exports; a stripped release library carries no UniFFI metadata).
gen="$(bindings/generate | tail -n 1)"
build="$here/build"
rm -rf "$build" && mkdir -p "$build/headers" "$build/sim" "$build/mac"
cp "$gen/swift/AccessCoreFFI.h" "$build/headers/"
cp "$here/Sources/AccessCoreFFI/module.modulemap" "$build/headers/module.modulemap"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$build/sim/libaccess_core.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$build/mac/libaccess_core.a"
xcodebuild -create-xcframework \
  -library "$(lib aarch64-apple-ios)" -headers "$build/headers" \
  -library "$build/sim/libaccess_core.a" -headers "$build/headers" \
  -library "$build/mac/libaccess_core.a" -headers "$build/headers" \
  -output "$build/AccessCoreFFI.xcframework"
echo "$build/AccessCoreFFI.xcframework"
