//! Random tokens and codes (ring), SHA-256 token hashes and argon2id password hashes.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

// Every keypad code on a lock shares one lockout, so each counts in the guessing odds
// (docs/keypad-codes.md): 8 digits keep a lock holding 100 codes under 1 % a year.
/// Digits of a user's personal passcode.
pub const PASSCODE_DIGITS: usize = 8;
/// Digits of a lock's master code.
pub const MASTER_CODE_DIGITS: usize = 8;
/// Digits of an access code given to a guest (installed over BLE; offline codes have 14).
pub const ACCESS_CODE_DIGITS: usize = 8;
/// Digits of an SMS verification code.
pub const SMS_CODE_DIGITS: usize = 6;

fn fill(buf: &mut [u8]) {
    // SystemRandom only fails if the OS has no entropy source, which makes serving unsafe.
    #[allow(clippy::expect_used)]
    SystemRandom::new()
        .fill(buf)
        .expect("the operating system's random source failed");
}

/// A fresh bearer or invitation token: 32 random bytes, base64url without padding.
///
/// ```
/// let t = access_server::secrets::new_token();
/// assert_eq!(t.len(), 43);
/// assert_ne!(t, access_server::secrets::new_token());
/// ```
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 of a token or code, the only form in which the database keeps them.
pub fn hash_token(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// `len` uniformly random decimal digits (rejection sampling, no modulo bias).
///
/// ```
/// let c = access_server::secrets::random_digits(6);
/// assert_eq!(c.len(), 6);
/// assert!(c.bytes().all(|b| b.is_ascii_digit()));
/// ```
pub fn random_digits(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut b = [0u8; 16];
        fill(&mut b);
        for x in b {
            if x < 250 && out.len() < len {
                out.push(char::from(b'0' + x % 10));
            }
        }
    }
    out
}

/// 16 random bytes of salt.
pub fn salt() -> [u8; 16] {
    let mut b = [0u8; 16];
    fill(&mut b);
    b
}

/// Argon2id cost: memory in KiB and passes. Tests lower it; the hash records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub passes: u32,
}

impl Default for PasswordCost {
    /// OWASP's argon2id baseline: 19 MiB, 2 passes.
    fn default() -> Self {
        PasswordCost {
            memory_kib: 19 * 1024,
            passes: 2,
        }
    }
}

/// Hashes a password with argon2id into a PHC string.
///
/// ```
/// use access_server::secrets::{hash_password, verify_password, PasswordCost};
/// let cost = PasswordCost { memory_kib: 64, passes: 1 };
/// let h = hash_password("correct horse", cost).unwrap();
/// assert!(h.starts_with("$argon2id$"));
/// assert!(verify_password("correct horse", &h));
/// assert!(!verify_password("wrong", &h));
/// ```
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String, String> {
    let params =
        argon2::Params::new(cost.memory_kib, cost.passes, 1, None).map_err(|e| e.to_string())?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    a.hash_password_with_salt(password.as_bytes(), &salt())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A hash of a random password at `cost`, for [`Shared::dummy_password_hash`](crate::Shared).
pub fn dummy_password_hash(cost: PasswordCost) -> Result<String, String> {
    hash_password(&new_token(), cost)
}

/// Checks a password against a stored PHC string (its own parameters apply).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// ```
/// assert!(access_server::secrets::ct_eq(b"abc", b"abc"));
/// assert!(!access_server::secrets::ct_eq(b"abc", b"abd"));
/// ```
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimizer from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keypad codes the server gives, against the lock's lockout: the most guesses a
    /// year allows (a leap year), each with a chance of 100 / 10^digits on a lock holding
    /// 100 codes of that length, stay under 1 % in all.
    #[test]
    fn a_year_of_keypad_guessing_finds_one_of_100_codes_with_under_1_percent() {
        let guesses = virtual_lock::keypad_max_guesses(366 * 24 * 3_600);
        for digits in [PASSCODE_DIGITS, ACCESS_CODE_DIGITS, MASTER_CODE_DIGITS] {
            let odds = 100.0 * guesses as f64 / 10f64.powi(digits as i32);
            assert!(odds < 0.01, "{digits} digits: {guesses} guesses, {odds}");
        }
    }
}
