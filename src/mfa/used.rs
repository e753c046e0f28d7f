//! The codes already sent to STS, shared by every daemon and command of the user.
//!
//! STS accepts a code once; sending it again within its window fails exactly like a wrong
//! code. Each code is recorded with the time step it was sent in (at STS's time), and a
//! code counts as used near that step whatever the local clock does afterwards. Records
//! are never forgotten by a clock (a clock that jumps forward, after a resume or an NTP
//! correction, would otherwise forget codes STS still remembers); the oldest go when the
//! record holds [`MAX_RECORDS`], which is days of renewals. A record far from the step
//! asked about is simply not a match.
//!
//! The record lives in one file per user (`~/.local/state/mfad/used-codes.json`, 0600),
//! read and written under a lock, so two daemons (two `MFAD_SOCKET`s) and `mfad totp
//! code` never hand out the same code. If the file cannot be used, the process keeps its
//! record in memory and says so in its log. A file that cannot be read as a record is
//! not "no codes sent": it is kept aside for the person to look at, and every code of the
//! steps around the moment it was found counts as used, so the next code sent is one of a
//! fresh step.

use crate::bounded;
use crate::files;
use serde::{Deserialize, Serialize};

use std::io;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A code counts as used for steps this close to the step it was sent in (STS accepts a
/// code a step or two around its own; five minutes covers any drift it tolerates).
const REUSE_WINDOW_SECS: u64 = 300;
/// Around the step an unreadable record was found in, every code counts as used for
/// this long either side: the current step and its neighbours, the codes STS may still
/// remember from before.
const UNKNOWN_WINDOW_SECS: u64 = 30;
/// The serial and code of the record that stands for an unreadable one.
const ANY: &str = "*";
/// The record keeps the newest this many codes.
pub const MAX_RECORDS: usize = 1000;
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct UsedCode {
    serial: String,
    code: String,
    /// The start of the step the code was sent in, in seconds since the epoch at STS's
    /// time.
    step_start: u64,
}

/// When a code was sent: a Unix time (at STS's time) and the device's step length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub at: u64,
    pub period: u64,
}

impl UsedCode {
    /// Every code of every serial, around `step_start`: what an unreadable record held.
    fn unknown(step_start: u64) -> Self {
        Self {
            serial: ANY.to_owned(),
            code: ANY.to_owned(),
            step_start,
        }
    }
}

impl Step {
    fn start(self) -> u64 {
        self.at - self.at % self.period.max(1)
    }
}

#[derive(Debug, Default)]
pub struct UsedCodes {
    /// Where the record is shared; `None` keeps it in this process only.
    file: Option<PathBuf>,
    /// Codes this process could not write to the file (all of them without a file);
    /// written to it the next time it can be.
    memory: Mutex<Vec<UsedCode>>,
}

impl UsedCodes {
    /// A record shared through `file` (created 0600 in a 0700 directory when missing).
    pub fn kept_in(file: PathBuf) -> Self {
        Self {
            file: Some(file),
            memory: Mutex::default(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Record `code` as sent at `step`; `false` (and nothing recorded) if it was already
    /// used near that step, by this process or another.
    pub fn claim(&self, serial: &str, code: &str, step: Step) -> bool {
        let record = UsedCode {
            serial: serial.to_owned(),
            code: code.to_owned(),
            step_start: step.start(),
        };
        self.update(step, |codes| {
            if codes.iter().any(|used| same_use(used, &record)) {
                return false;
            }
            codes.push(record.clone());
            true
        })
    }

    /// Take back a claim: the code never left this machine, so STS can still accept it.
    pub fn release(&self, serial: &str, code: &str, step: Step) {
        let step_start = step.start();
        self.update(step, |codes| {
            codes.retain(|used| {
                !(used.serial == serial && used.code == code && used.step_start == step_start)
            });
        });
    }

    /// Whether `code` was used near `step`.
    pub fn was_used(&self, serial: &str, code: &str, step: Step) -> bool {
        let probe = UsedCode {
            serial: serial.to_owned(),
            code: code.to_owned(),
            step_start: step.start(),
        };
        self.update(step, |codes| {
            codes.iter().any(|used| same_use(used, &probe))
        })
    }

    /// Apply `change` to the shared record (under its lock), or to this process's own
    /// when the file cannot be used; `step` is the one asked about.
    fn update<T>(&self, step: Step, mut change: impl FnMut(&mut Vec<UsedCode>) -> T) -> T {
        let mut memory = self.memory.lock().unwrap();
        if let Some(file) = &self.file {
            match with_file(file, step, |codes| {
                merge(codes, &memory);
                change(codes)
            }) {
                Ok(answer) => {
                    memory.clear();
                    return answer;
                }
                Err(e) => tracing::warn!(
                    "cannot use the record of used MFA codes {} ({e}); keeping it in memory",
                    file.display()
                ),
            }
        }
        let answer = change(&mut memory);
        forget_old(&mut memory);
        answer
    }
}

fn same_use(a: &UsedCode, b: &UsedCode) -> bool {
    if a.serial == ANY {
        return a.step_start.abs_diff(b.step_start) <= UNKNOWN_WINDOW_SECS;
    }
    a.serial == b.serial
        && a.code == b.code
        && a.step_start.abs_diff(b.step_start) <= REUSE_WINDOW_SECS
}

/// Add this process's records the file lacks (written while the file was unusable).
fn merge(codes: &mut Vec<UsedCode>, ours: &[UsedCode]) {
    for used in ours {
        if !codes.contains(used) {
            codes.push(used.clone());
        }
    }
}

/// Keep the newest [`MAX_RECORDS`] (codes are appended as they are sent).
fn forget_old(codes: &mut Vec<UsedCode>) {
    let excess = codes.len().saturating_sub(MAX_RECORDS);
    codes.drain(..excess);
}

/// Read the record under an exclusive lock, change it, write it back if it changed. A
/// garbled record is moved aside and replaced by one that counts every code around `step`
/// as used.
fn with_file<T>(
    file: &Path,
    step: Step,
    change: impl FnOnce(&mut Vec<UsedCode>) -> T,
) -> io::Result<T> {
    if let Some(dir) = file.parent() {
        crate::peer::ensure_own_dir(dir, "state directory").map_err(|e| match e {
            crate::peer::CheckError::Untrusted(untrusted) => {
                io::Error::other(untrusted.to_string())
            }
            crate::peer::CheckError::Io(e) => e,
        })?;
    }
    let lock = files::lock(file)?;
    let (before, mut codes) = match bounded::read_bytes(file, MAX_FILE_BYTES) {
        Ok(Some(bytes)) => match serde_json::from_slice::<Vec<UsedCode>>(&bytes) {
            Ok(codes) => (codes.clone(), codes),
            Err(_) => {
                let aside = files::sibling(file, &format!(".garbled-{}", step.at));
                std::fs::rename(file, &aside)?;
                tracing::warn!(
                    "the record of used MFA codes {} was garbled; it is kept as {} for you to look at, and every code of the steps around now counts as used (the next code sent is one of a fresh step)",
                    file.display(),
                    aside.display()
                );
                (Vec::new(), vec![UsedCode::unknown(step.start())])
            }
        },
        Ok(None) => (Vec::new(), Vec::new()),
        Err(bounded::FileError::Io(e)) => return Err(e),
        Err(other) => return Err(io::Error::other(other.to_string())),
    };
    let answer = change(&mut codes);
    forget_old(&mut codes);
    if codes != before {
        files::replace(
            file,
            &serde_json::to_vec(&codes).expect("codes serialize"),
            0o600,
        )?;
    }
    drop(lock);
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Step {
        Step {
            at: secs,
            period: 30,
        }
    }

    #[test]
    fn a_code_is_claimed_once_per_serial_near_its_step() {
        let used = UsedCodes::default();
        assert!(used.claim("arn:a", "123456", at(1_000_000)));
        assert!(!used.claim("arn:a", "123456", at(1_000_010)));
        assert!(used.was_used("arn:a", "123456", at(1_000_000 + 290)));
        assert!(!used.was_used("arn:b", "123456", at(1_000_000)));
        assert!(!used.was_used("arn:a", "654321", at(1_000_000)));
        // Far from its step, the same six digits are another code.
        assert!(!used.was_used("arn:a", "123456", at(1_000_000 + 3600)));
    }

    #[test]
    fn a_forward_clock_jump_forgets_nothing_sts_remembers() {
        let dir = tempfile::tempdir().unwrap();
        let used = UsedCodes::kept_in(dir.path().join("used.json"));
        assert!(used.claim("arn:a", "123456", at(1_000_000)));
        // The local clock jumps a day ahead; a code for that step is recorded…
        assert!(used.claim("arn:a", "222222", at(1_000_000 + 86_400)));
        // …and once STS's time is known again, the first code is still known as used.
        assert!(!used.claim("arn:a", "123456", at(1_000_000)));
    }

    #[test]
    fn the_record_is_shared_through_the_file_and_releases_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state/used.json");
        let one = UsedCodes::kept_in(file.clone());
        let other = UsedCodes::kept_in(file.clone());
        assert!(one.claim("arn:a", "123456", at(1_000_000)));
        assert!(!other.claim("arn:a", "123456", at(1_000_000)));
        one.release("arn:a", "123456", at(1_000_000));
        assert!(other.claim("arn:a", "123456", at(1_000_000)));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_garbled_record_is_kept_aside_and_the_codes_around_now_count_as_used() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("used.json");
        std::fs::write(&file, "{ half-writ").unwrap();
        let used = UsedCodes::kept_in(file);
        // Unknown: any code of this step and of its neighbours is refused…
        assert!(!used.claim("arn:a", "123456", at(1_000_000)));
        assert!(!used.claim("arn:b", "654321", at(1_000_000 + 30)));
        assert!(used.was_used("arn:a", "111111", at(1_000_000 - 30)));
        // …a fresh step's code is sent.
        assert!(used.claim("arn:a", "222222", at(1_000_000 + 60)));
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("used.json.garbled-"))
            .collect();
        assert_eq!(aside.len(), 1, "kept aside once: {aside:?}");
        let kept = std::fs::read_to_string(dir.path().join(&aside[0])).unwrap();
        assert_eq!(kept, "{ half-writ");
    }

    #[test]
    fn the_oldest_records_go_past_the_limit() {
        let used = UsedCodes::default();
        assert!(used.claim("arn:a", "111111", at(1_000_000)));
        for step in 1..=MAX_RECORDS as u64 {
            assert!(used.claim("arn:a", &format!("{step:06}"), at(2_000_000 + step * 30)));
        }
        assert!(used.claim("arn:a", "111111", at(1_000_000)));
    }
}
