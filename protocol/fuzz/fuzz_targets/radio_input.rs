//! Arbitrary bytes from the radio through the reassembler and every decoder.
//!
//! `cargo +nightly fuzz run radio_input` (from `protocol/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lock_protocol::fuzzing::radio_input(data);
});
