//! `open-door-update`: reads a door update as the lock with a given static key would, for
//! tests outside Rust (the web suite) that need what only the lock can read (the code
//! secret behind its receipts).
//!
//! ```text
//! open-door-update --lock-id ID --static-secret HEX64 --org-key BASE64 < update.base64
//! {"version":3,"master_code":"12345678","code_secret":"<base64>"}
//! ```

use std::io::Read;
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use uuid::Uuid;

/// Opens a base64 door update from stdin with the lock's static secret and prints its
/// version and sealed secrets as JSON.
#[derive(Debug, Parser)]
#[command(name = "open-door-update", version)]
struct Args {
    /// The lock's id.
    #[arg(long)]
    lock_id: Uuid,
    /// The lock's static X25519 secret, 64 hex digits.
    #[arg(long)]
    static_secret: String,
    /// The organization's Ed25519 public key (base64), which signed the update.
    #[arg(long)]
    org_key: String,
}

fn run(args: Args) -> Result<String, String> {
    let hex = args.static_secret.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return Err("--static-secret takes 64 hex digits".into());
    }
    let mut secret = [0u8; 32];
    for (i, byte) in secret.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| "--static-secret takes 64 hex digits".to_string())?;
    }
    let org_key = STANDARD
        .decode(args.org_key.trim())
        .map_err(|e| format!("--org-key: {e}"))?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| e.to_string())?;
    let bytes = STANDARD
        .decode(input.trim())
        .map_err(|e| format!("the update on stdin: {e}"))?;
    let plain = lock_protocol::door::open(&bytes, &org_key, args.lock_id, &secret, 0)
        .map_err(|e| format!("the update does not open: {e}"))?;
    Ok(serde_json::json!({
        "version": plain.version,
        "master_code": plain.master_code,
        "code_secret": plain.code_secret.map(|s| STANDARD.encode(s)),
    })
    .to_string())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("open-door-update: {e}");
            ExitCode::FAILURE
        }
    }
}
