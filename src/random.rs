//! Random values from the kernel: PKCE verifiers and challenges, OAuth `state`, DPoP proof
//! ids.

use base64::Engine;
use std::io::Read;

/// `bytes` random bytes from the kernel, as base64url without padding.
pub fn base64url(bytes: usize) -> std::io::Result<String> {
    let mut random = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut random)?;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&random);
    zeroize::Zeroize::zeroize(&mut random);
    Ok(text)
}

/// A PKCE verifier (43 characters from 32 random bytes) and its S256 challenge.
pub fn pkce() -> std::io::Result<(secrecy::SecretString, String)> {
    use sha2::{Digest, Sha256};
    let verifier = base64url(32)?;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    Ok((secrecy::SecretString::from(verifier), challenge))
}

/// A fresh `state` for an authorize request, to tell its callback from any other.
pub fn state() -> std::io::Result<String> {
    base64url(16)
}
