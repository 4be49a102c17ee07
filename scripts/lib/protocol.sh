# lock-protocol: fuzzing and the unlock benchmark. Sourced by scripts/test.
#   suite_protocol_fuzz   builds and runs the cargo-fuzz target for FUZZ_SECONDS (default 60)
#   suite_protocol_bench  criterion bench: round trips and CPU per unlock on each side

# cargo-fuzz needs a nightly toolchain to run; both are installed when missing.
need_cargo_fuzz() {
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
}

suite_protocol_fuzz() {
  need_cargo_fuzz
  (
    cd protocol
    CARGO_TARGET_DIR="$CACHE_ROOT/fuzz-target" cargo +nightly fuzz run radio_input -- \
      -max_total_time="${FUZZ_SECONDS:-60}" -max_len=2048
  )
}

suite_protocol_bench() {
  cargo bench -p lock-protocol --bench unlock
}
