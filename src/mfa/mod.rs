//! Where MFA codes come from, and the rule that a code is never sent twice.
//!
//! Sources, in order: a TOTP secret in the store ([`totp`]), the profile's `mfa_process`
//! ([`process`]), a person asked through a waiting caller's terminal ([`prompt`]) or on
//! the desktop ([`desktop`]).

pub mod desktop;
pub mod process;
pub mod prompt;
pub mod totp;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

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

/// The codes already sent to STS, per MFA serial.
///
/// STS accepts a code once; sending it again within its window fails exactly like a
/// wrong code. Remembering sent codes lets mfad wait for the next step instead, and tell a
/// person that the code they typed was already used. A daemon keeps them in a file next
/// to its socket (mode 0600, entries gone after 3 minutes), so that a daemon restarted
/// within a code's window does not send it again.
#[derive(Debug, Default)]
pub struct UsedCodes {
    sent: Mutex<Vec<SentCode>>,
    /// Where they are kept across restarts; `None` keeps them in memory only.
    file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SentCode {
    serial: String,
    code: String,
    /// Seconds since the epoch.
    sent_at: u64,
}

impl UsedCodes {
    /// Longer than any window in which STS would still accept a code (±1 step of 30 s).
    const REMEMBER_FOR: Duration = Duration::from_secs(180);

    /// Codes kept in `file`, starting with those a previous daemon recorded there.
    pub fn kept_in(file: PathBuf) -> Self {
        let sent = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            sent: Mutex::new(sent),
            file: Some(file),
        }
    }

    pub fn was_used(&self, serial: &str, code: &str) -> bool {
        let mut sent = self.sent.lock().unwrap();
        forget_old(&mut sent);
        sent.iter().any(|s| s.serial == serial && s.code == code)
    }

    pub fn mark_used(&self, serial: &str, code: &str) {
        let mut sent = self.sent.lock().unwrap();
        forget_old(&mut sent);
        sent.push(SentCode {
            serial: serial.to_owned(),
            code: code.to_owned(),
            sent_at: crate::timefmt::epoch_secs(SystemTime::now()),
        });
        self.keep(&sent);
    }

    /// Take back a mark: the code never left this machine, so STS can still accept it.
    pub fn unmark(&self, serial: &str, code: &str) {
        let mut sent = self.sent.lock().unwrap();
        sent.retain(|s| !(s.serial == serial && s.code == code));
        self.keep(&sent);
    }

    fn keep(&self, sent: &[SentCode]) {
        if let Some(file) = &self.file
            && let Err(e) = save(file, sent)
        {
            tracing::warn!("cannot record used codes in {}: {e}", file.display());
        }
    }
}

fn forget_old(sent: &mut Vec<SentCode>) {
    let now = crate::timefmt::epoch_secs(SystemTime::now());
    sent.retain(|s| now.saturating_sub(s.sent_at) < UsedCodes::REMEMBER_FOR.as_secs());
}

fn save(file: &Path, sent: &[SentCode]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut temporary = file.as_os_str().to_owned();
    temporary.push(".tmp");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    out.write_all(&serde_json::to_vec(sent).expect("codes serialize"))?;
    out.sync_all()?;
    std::fs::rename(&temporary, file)
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
    fn used_codes_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("used");
        UsedCodes::kept_in(file.clone()).mark_used("arn:a", "123456");
        let again = UsedCodes::kept_in(file);
        assert!(again.was_used("arn:a", "123456"));
        assert!(!again.was_used("arn:a", "654321"));
    }

    #[test]
    fn code_shapes() {
        assert!(looks_like_code("012345"));
        assert!(looks_like_code("01234567"));
        assert!(!looks_like_code("12345"));
        assert!(!looks_like_code("12 456"));
    }
}
