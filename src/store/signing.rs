//! Ed25519 keys for the remote cache: writers sign action entries with `NTSBUILD_SIGNING_KEY`,
//! readers accept only entries signed by a project's `trusted_keys`. Keys are written as 64
//! lowercase hex digits (the 32-byte secret seed, or the 32-byte public key).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The environment variable holding a writer's secret key.
pub const SIGNING_KEY_VAR: &str = "NTSBUILD_SIGNING_KEY";

/// What a signature covers besides the payload: the format, so a signature made for anything
/// else never verifies here.
const CONTEXT: &[u8] = b"ntsbuild remote action entry v1\n";

fn hex32(s: &str) -> Option<[u8; 32]> {
    crate::store::Digest::from_hex(s.trim()).map(|d| d.0)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A public key from `trusted_keys`.
pub fn parse_public_key(s: &str) -> Result<VerifyingKey, String> {
    let bytes = hex32(s).ok_or_else(|| {
        format!("`{s}` is not a public key: expected 64 hex digits, as `ntsbuild cache keygen` prints")
    })?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| format!("`{s}` is not a valid Ed25519 public key"))
}

/// A secret key from `NTSBUILD_SIGNING_KEY` (the value never appears in the message).
pub fn parse_secret_key(s: &str) -> Result<SigningKey, String> {
    hex32(s).map(|b| SigningKey::from_bytes(&b)).ok_or_else(|| {
        format!("{SIGNING_KEY_VAR} is not a signing key: expected 64 hex digits, as `ntsbuild cache keygen` prints")
    })
}

/// A new key pair from the operating system's random source: (secret hex, public hex).
pub fn generate() -> std::io::Result<(String, String)> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    let key = SigningKey::from_bytes(&seed);
    Ok((to_hex(&seed), public_hex(&key)))
}

pub fn public_hex(key: &SigningKey) -> String {
    to_hex(key.verifying_key().as_bytes())
}

pub fn verifying_hex(key: &VerifyingKey) -> String {
    to_hex(key.as_bytes())
}

/// The signature of `payload`, as hex.
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    to_hex(&key.sign(&[CONTEXT, payload].concat()).to_bytes())
}

/// Whether `signature` (hex) is `signer`'s over `payload`.
pub fn verify(signer: &VerifyingKey, payload: &[u8], signature: &str) -> bool {
    let Some(bytes) = decode_hex(signature).filter(|b| b.len() == 64) else { return false };
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&bytes);
    signer.verify(&[CONTEXT, payload].concat(), &Signature::from_bytes(&sig)).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|c| Some(((c[0] as char).to_digit(16)? * 16 + (c[1] as char).to_digit(16)?) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let (secret, public) = generate().unwrap();
        let key = parse_secret_key(&secret).unwrap();
        assert_eq!(public_hex(&key), public);
        let public = parse_public_key(&public).unwrap();
        let sig = sign(&key, b"entry");
        assert!(verify(&public, b"entry", &sig));
        assert!(!verify(&public, b"entrY", &sig));
        let (_, other) = generate().unwrap();
        assert!(!verify(&parse_public_key(&other).unwrap(), b"entry", &sig));
        assert!(!verify(&public, b"entry", "00"));
        assert!(parse_public_key("abc").unwrap_err().contains("64 hex digits"));
        assert!(!parse_secret_key("nope").unwrap_err().contains("nope"));
    }
}
