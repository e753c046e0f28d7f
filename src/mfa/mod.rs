//! Where MFA codes come from, and the rule that a code is never sent twice.
//!
//! Sources, in order: a TOTP secret in the store ([`totp`]), the profile's `mfa_process`
//! ([`command`]), a person asked through a waiting caller's terminal ([`askers`]) or on
//! the desktop ([`desktop`]); the record of codes already sent ([`used`]).

pub mod askers;
pub mod command;
pub mod desktop;
pub mod totp;
pub mod used;

/// Whether a string looks like a code (6 to 8 digits), before it is sent to STS.
pub fn looks_like_code(code: &str) -> bool {
    (6..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shapes() {
        assert!(looks_like_code("012345"));
        assert!(looks_like_code("01234567"));
        assert!(!looks_like_code("12345"));
        assert!(!looks_like_code("12 456"));
    }
}
