//! Where MFA codes come from, and the rule that a code is never sent twice.
//!
//! Sources, in order: a TOTP secret in the store ([`totp`]), the profile's `mfa_process`
//! ([`process`]), a person asked through a waiting caller's terminal ([`prompt`]).

pub mod process;
pub mod prompt;
pub mod totp;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the code of a session was obtained (shown by `mfad status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSource {
    Totp,
    MfaProcess,
    Terminal,
}

impl fmt::Display for CodeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Totp => "totp",
            Self::MfaProcess => "mfa_process",
            Self::Terminal => "terminal",
        })
    }
}

/// The codes already sent to STS, per MFA serial.
///
/// STS accepts a code once; sending it again within its window fails exactly like a
/// wrong code. Remembering sent codes lets mfad wait for the next step instead, and tell a
/// person that the code they typed was already used.
#[derive(Debug, Default)]
pub struct UsedCodes {
    /// serial -> (code, when it was sent)
    sent: Mutex<HashMap<String, Vec<(String, Instant)>>>,
}

impl UsedCodes {
    /// Longer than any window in which STS would still accept a code (±1 step of 30 s).
    const REMEMBER_FOR: Duration = Duration::from_secs(180);

    pub fn was_used(&self, serial: &str, code: &str) -> bool {
        let mut sent = self.sent.lock().unwrap();
        let codes = sent.entry(serial.to_owned()).or_default();
        codes.retain(|(_, at)| at.elapsed() < Self::REMEMBER_FOR);
        codes.iter().any(|(used, _)| used == code)
    }

    pub fn mark_used(&self, serial: &str, code: &str) {
        let mut sent = self.sent.lock().unwrap();
        sent.entry(serial.to_owned())
            .or_default()
            .push((code.to_owned(), Instant::now()));
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
    fn used_codes_are_per_serial() {
        let used = UsedCodes::default();
        used.mark_used("arn:a", "123456");
        assert!(used.was_used("arn:a", "123456"));
        assert!(!used.was_used("arn:b", "123456"));
        assert!(!used.was_used("arn:a", "654321"));
    }

    #[test]
    fn code_shapes() {
        assert!(looks_like_code("012345"));
        assert!(looks_like_code("01234567"));
        assert!(!looks_like_code("12345"));
        assert!(!looks_like_code("12 456"));
    }
}
