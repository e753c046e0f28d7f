//! Random values from the kernel: PKCE verifiers, OAuth `state`, DPoP proof ids.

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
