# How the shipped core library is built: sourced by bindings/generate (host, any profile
# but debug), android/build-native.sh and ios/build-xcframework.sh. Not run on its own.
#
#   core_release_build PROFILE CRATE_TYPES [TARGET]     e.g. release-mobile cdylib,staticlib
#
# What a plain `cargo build -p access-core --profile release-mobile` does not do,
# each measured on the x86-64 library (bindings/README.md has the table):
# - Only the crate types a platform loads. core/Cargo.toml lists lib, cdylib and staticlib
#   (the CLI and the Rust tests link the lib); rustc builds all requested types from one
#   compilation, and with the Rust lib among them the cdylib keeps ~1.3 MB of code that
#   LTO drops when cdylib (and staticlib) are built without it.
# - SQLite without what the core never uses: FTS3 and FTS5 (lock search runs on an
#   in-memory index), the JSON functions (no SQL of the core calls one), R*Tree, the dbstat table,
#   STAT4, soundex, column metadata, extension loading, deprecated APIs and the shared cache
#   (libsqlite3-sys reads LIBSQLITE3_FLAGS; `-U` undoes one of its defaults).
#   The test suites run on the debug build, which has SQLite's defaults: SQL that needs one
#   of these (e.g. an FTS3 table) passes them and fails only in the shipped library.
#   Check the shipped build with the suites on its bindings:
#     bindings/generate --profile release-mobile
#     SHELLS_BINDINGS=$CARGO_TARGET_DIR/uniffi/release-mobile scripts/test kotlin swift
# - C code without unwind tables (CFLAGS, read by the cc crate for SQLite and ring).
# - Rust flags for every crate of the build (core_rust_config): curve25519-dalek's portable
#   backend, panic locations without the build machine's paths.
# - On Linux with glibc, packed relative relocations (DT_RELR, glibc 2.36+): the
#   relocation table is a fraction of the size. Android and Apple linkers pack relocations
#   their own way.

CORE_SQLITE_FLAGS="-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_FTS5 \
-DSQLITE_OMIT_JSON -USQLITE_ENABLE_RTREE \
-USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_STAT4 -USQLITE_SOUNDEX -USQLITE_ENABLE_COLUMN_METADATA \
-USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_DEPRECATED \
-DSQLITE_OMIT_SHARED_CACHE -DSQLITE_DEFAULT_MEMSTATUS=0"

# C code (SQLite, ring's C) without unwind tables: nothing unwinds in the shipped build
# (`panic = "abort"` in the profile), and even where Rust unwinds no unwind crosses a C frame
# (Rust callbacks from SQLite catch their panics in rusqlite, ring's C calls no Rust), so the
# tables only served debuggers and crash reporters walking C frames (~120 KB on x86-64).
CORE_C_FLAGS="-fno-asynchronous-unwind-tables -fno-unwind-tables"

# Prints the cargo `--config` value with the Rust flags of every crate of the shipped build
# (a --config, so a RUSTFLAGS set in the environment still wins over it):
# - curve25519-dalek (X25519 and SPAKE2 of the lock protocol) on its portable "serial"
#   backend: phones get it anyway (its AVX2 backend exists only on x86-64), and on x86-64 the
#   vector code is 24 KB (8 KB gzipped) that only speeds up pairing and the session key.
# - Panic locations of crates.io sources without the build machine's paths
#   (`tokio-1.54.1/src/...` instead of `$CARGO_HOME/registry/src/index.crates.io-.../...`;
#   cargo already names the workspace's own sources relatively): 20 KB, and the shipped file
#   names no local directory.
core_rust_config() {
  local flags src
  flags='"--cfg", "curve25519_dalek_backend=\"serial\""'
  for src in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
    [ -d "$src" ] && flags+=", \"--remap-path-prefix=$src=\""
  done
  printf 'build.rustflags = [%s]' "$flags"
}

# Sets CORE_RELEASE_ARGS, the cargo arguments of the release build of access-core for
# PROFILE with only CRATE_TYPES (comma-separated), ending with the rustc arguments after
# `--`, and exports LIBSQLITE3_FLAGS. TARGET (optional, a Rust triple) is passed as
# --target and picks the linker flags; empty: the host. Under cargo-ndk, which adds
# --target itself, pass the NDK's targets' family as FLAGS_FOR (e.g. `android`).
#
#   core_release_args release-mobile cdylib,staticlib
#   cargo "${CORE_RELEASE_ARGS[@]}"
core_release_args() {
  local profile="$1" types="$2" target="${3:-}" flags_for="${4:-}"
  export LIBSQLITE3_FLAGS="$CORE_SQLITE_FLAGS" CFLAGS="$CORE_C_FLAGS"
  CORE_RELEASE_ARGS=(rustc --config "$(core_rust_config)" -p access-core --lib --locked
    --profile "$profile" --crate-type "$types")
  if [ -n "$target" ]; then CORE_RELEASE_ARGS+=(--target "$target"); fi
  flags_for="${flags_for:-${target:-$(rustc -vV | sed -n 's/^host: //p')}}"
  case "$flags_for" in
    *-linux-gnu) CORE_RELEASE_ARGS+=(-- -C link-arg=-Wl,-z,pack-relative-relocs) ;;
  esac
}

# Builds access-core as core_release_args describes (same arguments).
core_release_build() {
  core_release_args "$@"
  cargo "${CORE_RELEASE_ARGS[@]}"
}
