//! Getting an MFA code and sending it.

use crate::failure::{Failure, FailureKind};
use std::fmt::Display;
use std::time::Duration;

// --- Getting a code ------------------------------------------------------------------

pub fn nobody_to_ask(serial: &str, profile: &str) -> Failure {
    Failure::new(
        FailureKind::NoCodeSource,
        format!("an MFA code for {serial} is needed and there is no terminal or desktop to ask on"),
        format!(
            "run `mfad process {profile}` once in a terminal, store the TOTP secret with `mfad totp add {serial}`, or set mfa_process"
        ),
    )
}

/// Nobody can be asked, and the store that may hold the TOTP secret could not be read.
pub fn store_unreadable(
    serial: &str,
    profile: &str,
    problem: impl Display,
    remedy: &str,
) -> Failure {
    Failure::new(
        FailureKind::Store,
        format!(
            "an MFA code for {serial} is needed, there is no terminal or desktop to ask on, and {problem}, so its TOTP secret could not be read"
        ),
        format!("{remedy}; or run `mfad process {profile}` once in a terminal"),
    )
}

pub fn dialog_failed(serial: &str, said: &str) -> Failure {
    Failure::new(
        FailureKind::NoCodeSource,
        format!(
            "an MFA code for {serial} is needed and the desktop dialog could not be shown ({said})"
        ),
        "check DISPLAY or WAYLAND_DISPLAY of the session running the command, or set prompt.driver in mfad's config.toml",
    )
}

pub fn prompt_cancelled() -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        "the MFA prompt was cancelled",
        "run the command again and type the code",
    )
}

pub fn prompt_timed_out(timeout: Duration) -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        format!("nobody typed an MFA code within {}s", timeout.as_secs()),
        "run the command again and type the code",
    )
}

pub fn code_already_sent(serial: &str) -> Failure {
    Failure::new(
        FailureKind::CodeRejected,
        format!("the code for {serial} was already sent to AWS"),
        "wait for the next code and try again",
    )
}

pub fn derived_code_rejected(serial: &str, skew_secs: i64) -> Failure {
    Failure::new(
        FailureKind::CodeRejected,
        format!(
            "AWS rejected the code derived from the TOTP secret stored for {serial} (clock skew to STS: {skew_secs}s)"
        ),
        format!(
            "check that the secret belongs to {serial} (store it again with `mfad totp add {serial}`) and that the system clock is right"
        ),
    )
}

pub fn mfa_process_repeated_a_code(serial: &str) -> Failure {
    Failure::new(
        FailureKind::CodeRejected,
        format!("mfa_process printed a code that was already sent to AWS for {serial}"),
        "make mfa_process print the current code of the device",
    )
}

pub fn mfa_process_code_rejected(serial: &str) -> Failure {
    Failure::new(
        FailureKind::CodeRejected,
        format!("AWS rejected the code printed by mfa_process for {serial}"),
        "check that mfa_process prints the code of the device named by mfa_serial",
    )
}

pub fn mfa_process_failed(command: &str, what: impl Display) -> Failure {
    Failure::new(
        FailureKind::NoCodeSource,
        format!("mfa_process `{command}` {what}"),
        "run the command by hand: it must print the current MFA code and exit 0",
    )
}

pub fn typed_codes_rejected(serial: &str, tries: usize) -> Failure {
    Failure::new(
        FailureKind::CodeRejected,
        format!("AWS rejected {tries} codes for {serial}"),
        "check that mfa_serial names the device whose codes you typed, and that the device's clock is right",
    )
}
