#!/usr/bin/env bash
# Builds libaccess_core.so for the Android ABIs with cargo-ndk, into OUT_DIR/<abi>/
# (default: access-kit/build/generated/jniLibs). Needs an Android NDK (ANDROID_NDK_HOME or
# ANDROID_NDK_ROOT) and fails clearly without one; the test machines have none.
#
# Usage: [PROFILE=release-mobile|release|dev] android/build-native.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$here/access-kit/build/generated/jniLibs}"
profile="${PROFILE:-release-mobile}"

ndk="${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}"
if [ -z "$ndk" ] || [ ! -d "$ndk" ]; then
  echo "build-native.sh: no Android NDK (set ANDROID_NDK_HOME to an NDK r26 or newer)." >&2
  echo "The test machines have none: the JVM suite (scripts/test kotlin) uses the host build." >&2
  exit 1
fi
command -v cargo-ndk >/dev/null || cargo install cargo-ndk --locked
for target in aarch64-linux-android armv7-linux-androideabi x86_64-linux-android; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done

cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/lock-access/target}"
# API 26: the apps' minSdk. The profile aborts on a panic (see bindings/README.md).
# Only the cdylib, with the size flags of bindings/release-build.sh (cargo-ndk adds each
# --target itself).
source "$repo/bindings/release-build.sh"
core_release_args "$profile" cdylib "" android
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -P 26 -o "$out" "${CORE_RELEASE_ARGS[@]}"
find "$out" -name 'libaccess_core.so' -printf '%p %s bytes\n'
