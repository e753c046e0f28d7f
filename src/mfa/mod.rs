//! Where MFA codes come from, and the rule that a code is never sent twice.
//!
//! Sources, in order: a TOTP secret in the store ([`totp`]), the profile's `mfa_process`
//! ([`process`]), a person asked through a waiting caller's terminal ([`prompt`]) or on
//! the desktop ([`desktop`]); the record of codes already sent ([`used`]).

pub mod desktop;
pub mod process;
pub mod prompt;
pub mod totp;
pub mod used;

use serde::{Deserialize, Serialize};
use std::fmt;

/// How the code of a session was obtained (shown by `mfad status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSource {
    Totp,
    MfaProcess,
    Terminal,
    Desktop,
}

impl fmt::Display for CodeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Totp => "totp",
            Self::MfaProcess => "mfa_process",
            Self::Terminal => "terminal",
            Self::Desktop => "desktop",
        })
    }
}

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
