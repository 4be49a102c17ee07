//! The input path shared by the cargo-fuzz target (`protocol/fuzz`) and the property test
//! below: arbitrary bytes through everything a lock or a phone parses from the radio.
//!
//! ```
//! lock_protocol::fuzzing::radio_input(&[3, 0, 0x80, 1, 0xff]);
//! ```

use crate::command::{Command, Response};
use crate::frame::Reassembler;
use crate::pairing::{Install, PairingLock, PairingPhone};
use crate::session::{LockHello, PhoneSession, StaticSecret};
use crate::wire::{self, LockMessage, PhoneMessage};
use crate::{credential, door, pairing, report};

/// Feeds `data` to the reassembler (as fragments: each a length byte then that many bytes)
/// and every complete message, and `data` itself, to every decoder. Must never panic.
pub fn radio_input(data: &[u8]) {
    let mut reassembler = Reassembler::new();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let (fragment, tail) = tail.split_at(usize::from(n).min(tail.len()));
        rest = tail;
        if let Ok(Some(message)) = reassembler.push(fragment) {
            message_input(&message);
        }
    }
    message_input(data);
}

fn message_input(m: &[u8]) {
    let _ = wire::decode::<PhoneMessage>(m);
    let _ = wire::decode::<LockMessage>(m);
    let _ = wire::decode_body::<Command>(m);
    let _ = wire::decode_body::<Response>(m);
    let _ = wire::decode_body::<Install>(m);
    let _ = credential::SignedCredential::from_bytes(m).and_then(|c| c.unverified_claims());
    let _ = credential::verify(&[7; 32], m, uuid::Uuid::nil(), 0);
    let _ = door::unverified(m);
    let _ = report::decode_entries(m);
    let _ = door::open(m, &[7; 32], uuid::Uuid::nil(), &[7; 32], 0);
    let lock_secret = StaticSecret::from([7; 32]);
    let _ = LockHello::open(&lock_secret, m);
    let lock_public = crate::session::static_public(&lock_secret);
    if let Ok((_, pending)) = PhoneSession::start(&lock_public, m, &Command::Unlock, 1) {
        let _ = pending.open_response(m);
    }
    if let Ok((_, lock)) = PairingLock::start("123456", m) {
        let _ = lock.finish(m);
    }
    let install = Install {
        org_public_key: [1; 32].to_vec(),
        lock_id: uuid::Uuid::nil(),
        now: 0,
        name: "fuzz".into(),
        mode: access_domain::LockMode::Vacant,
    };
    if let Ok((_, mut phone)) = PairingPhone::start("123456", install) {
        let _ = phone.on_message(m);
    }
    let _ = pairing::normalize_code(&alloc::string::String::from_utf8_lossy(m));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        // Same path as the cargo-fuzz target, so it runs on stable in the normal suite.
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn radio_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
            super::radio_input(&data);
        }

        #[test]
        fn well_framed_garbage_reaches_the_decoders(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..60), 1..8)
        ) {
            // Build valid frames around garbage so the decoders behind the reassembler run.
            let message: alloc::vec::Vec<u8> = chunks.concat();
            let mut data = alloc::vec::Vec::new();
            for f in crate::frame::fragment(1, &message, 23).unwrap() {
                data.push(u8::try_from(f.len()).unwrap());
                data.extend_from_slice(&f);
            }
            super::radio_input(&data);
        }
    }
}
