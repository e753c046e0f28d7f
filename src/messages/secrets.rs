//! Long-term keys, TOTP secrets and the file store.

use crate::failure::{Failure, FailureKind};
use std::fmt::Display;
use std::path::Path;

// --- Keys and secrets ----------------------------------------------------------------

pub fn no_key_stored(profile: &str) -> Failure {
    Failure::new(
        FailureKind::Store,
        format!("no long-term access key stored for profile {profile}"),
        format!(
            "store it with `mfad add {profile}`, or set mfad_source_profile to a profile holding static keys"
        ),
    )
}

pub fn no_key_given(what: &str) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("no {what} given"),
        "pass --env with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set, type the key when asked, or pipe two lines (key id, then secret) to stdin",
    )
}

pub fn not_an_access_key() -> Failure {
    Failure::new(
        FailureKind::Config,
        "that does not look like an AWS access key (an id like AKIA… of 16 to 128 letters and digits, and a secret without spaces)",
        "give the key id first and the secret second; nothing was stored",
    )
}

pub fn totp_secret_unusable(serial: &str, reason: impl Display) -> Failure {
    Failure::new(
        FailureKind::Store,
        format!("the TOTP secret stored for {serial} is unusable ({reason})"),
        format!("store it again with `mfad totp add {serial}`"),
    )
}

pub fn no_totp_secret(serial: &str) -> Failure {
    Failure::new(
        FailureKind::Store,
        format!("no TOTP secret stored for {serial}"),
        format!("store one with `mfad totp add {serial}`"),
    )
}

pub fn no_totp_secret_given(serial: &str) -> Failure {
    Failure::new(
        FailureKind::Config,
        "no TOTP secret given",
        format!("pipe it in: `mfad totp add {serial} < secret.txt`, or type it when asked"),
    )
}

pub fn not_a_totp_secret(reason: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("cannot use that TOTP secret: {reason}"),
        "give the base32 secret shown when the virtual MFA device was created, or its otpauth:// URI; nothing was stored",
    )
}

pub fn security_key_has_no_secret(serial: &str) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!(
            "{serial} is a security key, which has no TOTP secret and works only in the console"
        ),
        "register a virtual (TOTP) MFA device and store its secret",
    )
}

pub fn all_codes_ahead_used(serial: &str, steps: u64) -> Failure {
    Failure::new(
        FailureKind::CodeRejected,
        format!("every code of {serial} for the next {steps} steps was already sent"),
        "wait a few minutes and try again",
    )
}

// --- The file store ------------------------------------------------------------------

pub fn passphrases_differ() -> Failure {
    Failure::new(
        FailureKind::Config,
        "the two passphrases differ",
        "run the command again and type the same passphrase twice; nothing was changed",
    )
}

pub fn passphrase_too_short() -> Failure {
    Failure::new(
        FailureKind::Config,
        "that passphrase is shorter than 8 characters",
        "choose a longer one; nothing was changed",
    )
}

pub fn copy_does_not_read_back(entry: &str, store: &str) -> Failure {
    Failure::new(
        FailureKind::Store,
        format!("the copy of {entry} in {store} does not read back"),
        "nothing was removed from the old store; check the new one and run the command again",
    )
}

pub fn setup_needs_serial(profile: &str, config: &Path) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!(
            "{} has no [profile {profile}] with an mfa_serial to set up",
            config.display()
        ),
        format!(
            "name the MFA device: `mfad setup {profile} --serial arn:aws:iam::ACCOUNT:mfa/NAME` (IAM console, Security credentials)"
        ),
    )
}

pub fn profile_not_added(path: &Path, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("cannot add the profile to {} ({error})", path.display()),
        "make the file writable and run the command again",
    )
}

pub fn totp_file_unreadable(path: &Path, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!(
            "cannot read the TOTP secret from {} ({error})",
            path.display()
        ),
        "give a file that holds the base32 secret or the otpauth:// URI, or leave out --totp-file to type it",
    )
}
