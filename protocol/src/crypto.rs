//! The few primitives the protocol uses, all from ring (x25519-dalek for the lock's static
//! key, which ring cannot keep): SHA-256, HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305,
//! X25519, Ed25519 over a context string, and the system random source.

use alloc::vec::Vec;
use ring::signature::{self, Ed25519KeyPair};
use ring::{aead, digest, hkdf, hmac, rand::SecureRandom};
use x25519_dalek::{PublicKey, StaticSecret};

/// A 256-bit symmetric key.
pub(crate) type Key = [u8; 32];

/// Length of an AEAD tag.
pub(crate) const TAG_LEN: usize = 16;

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// HKDF-SHA256: one 32-byte key per `info` label.
pub(crate) fn hkdf<const N: usize>(salt: &[u8], ikm: &[u8], infos: [&[u8]; N]) -> [Key; N] {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let mut out = [[0u8; 32]; N];
    for (key, info) in out.iter_mut().zip(infos) {
        let parts = [info];
        // Expanding 32 bytes from SHA-256 never exceeds HKDF's 255*32 limit.
        if let Ok(okm) = prk.expand(&parts, Len32) {
            let _ = okm.fill(key);
        }
    }
    out
}

pub(crate) fn hmac(key: &Key, parts: &[&[u8]]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&k);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Constant-time check of an HMAC tag.
pub(crate) fn hmac_verify(key: &Key, parts: &[&[u8]], tag: &[u8]) -> bool {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let msg: Vec<u8> = parts.concat();
    hmac::verify(&k, &msg, tag).is_ok()
}

fn nonce(counter: u64) -> aead::Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    aead::Nonce::assume_unique_for_key(n)
}

/// ChaCha20-Poly1305 with the counter as nonce; each key is used in one direction only.
pub(crate) fn seal(key: &Key, counter: u64, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut buf = plaintext.to_vec();
    match aead::UnboundKey::new(&aead::CHACHA20_POLY1305, key) {
        Ok(k) => {
            let k = aead::LessSafeKey::new(k);
            // Sealing only fails for inputs beyond 256 GiB.
            if k.seal_in_place_append_tag(nonce(counter), aead::Aad::from(aad), &mut buf)
                .is_err()
            {
                buf.clear();
            }
        }
        Err(_) => buf.clear(),
    }
    buf
}

/// Opens what [`seal`] sealed with the same key, counter and associated data.
pub(crate) fn open(key: &Key, counter: u64, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < TAG_LEN {
        return None;
    }
    let k = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::CHACHA20_POLY1305, key).ok()?);
    let mut buf = sealed.to_vec();
    let plain = k
        .open_in_place(nonce(counter), aead::Aad::from(aad), &mut buf)
        .ok()?;
    let n = plain.len();
    buf.truncate(n);
    Some(buf)
}

/// Fills a fresh array from the system random source.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| RandomUnavailable)?;
    Ok(out)
}

/// The system random source failed (never seen on a working OS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RandomUnavailable;

/// A fresh X25519 key pair.
pub(crate) fn x25519_keypair() -> Result<(StaticSecret, [u8; 32]), RandomUnavailable> {
    let secret = StaticSecret::from(random::<32>()?);
    let public = PublicKey::from(&secret).to_bytes();
    Ok((secret, public))
}

/// X25519 that refuses low-order points (an all-zero shared secret).
pub(crate) fn dh(secret: &StaticSecret, their_public: &[u8; 32]) -> Option<[u8; 32]> {
    let shared = secret.diffie_hellman(&PublicKey::from(*their_public));
    shared.was_contributory().then(|| shared.to_bytes())
}

/// One-shot X25519 with a fresh ring ephemeral key: returns (our public key, shared secret).
/// ring refuses low-order peer points itself; `None` also when `rng` fails.
pub(crate) fn ephemeral_dh(
    their_public: &[u8; 32],
    rng: &dyn SecureRandom,
) -> Option<([u8; 32], [u8; 32])> {
    use ring::agreement;
    let private = agreement::EphemeralPrivateKey::generate(&agreement::X25519, rng).ok()?;
    let mut public = [0u8; 32];
    public.copy_from_slice(private.compute_public_key().ok()?.as_ref());
    let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, their_public);
    let mut shared = [0u8; 32];
    agreement::agree_ephemeral(private, &peer, |k| shared.copy_from_slice(k)).ok()?;
    Some((public, shared))
}

/// Length of an Ed25519 signature.
pub(crate) const SIGNATURE_LEN: usize = 64;

/// Ed25519 over `context` then `body`: the context keeps bytes signed for one purpose from
/// ever verifying as another (a credential as a door update, say).
pub(crate) fn sign(keypair: &Ed25519KeyPair, context: &[u8], body: &[u8]) -> [u8; SIGNATURE_LEN] {
    let mut out = [0u8; SIGNATURE_LEN];
    out.copy_from_slice(keypair.sign(&[context, body].concat()).as_ref());
    out
}

/// Checks a signature made by [`sign`] with the same context.
pub(crate) fn verify(public_key: &[u8], context: &[u8], body: &[u8], signature: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(&[context, body].concat(), signature)
        .is_ok()
}
