//! Roles, `mfad exec`, the local credential endpoint and wrapped helpers.

use crate::failure::{Failure, FailureKind};
use std::fmt::Display;

// --- IAM Identity Center -------------------------------------------------------------

/// The sso-session's token ended and only a person can sign in again.
pub fn sso_sign_in_needed(session: &str) -> Failure {
    Failure::new(
        FailureKind::NoCodeSource,
        format!("the sign-in to IAM Identity Center ({session}) ended"),
        format!(
            "sign in again: `mfad sso login {session}`, or run the command in a terminal or on a desktop"
        ),
    )
}

/// `mfad sso status SESSION` of a session with no token.
pub fn sso_not_signed_in(session: &str) -> Failure {
    Failure::new(
        FailureKind::NoCodeSource,
        format!("sso-session {session} is not signed in"),
        format!("sign in with `mfad sso login {session}`"),
    )
}

/// Nobody waiting can be shown a sign-in: no terminal, no desktop, no browser.
pub fn sso_nobody_to_sign_in(session: &str) -> Failure {
    Failure::new(
        FailureKind::NoCodeSource,
        format!(
            "signing in to IAM Identity Center ({session}) needs a person, and this command has no terminal or desktop to ask on"
        ),
        format!("run `mfad sso login {session}` in a terminal, then this command again"),
    )
}

pub fn sso_sign_in_timed_out(session: &str, waited: impl Display) -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        format!("nobody finished the sign-in to IAM Identity Center ({session}) within {waited}"),
        format!("run `mfad sso login {session}` and finish the sign-in in the browser"),
    )
}

/// A browser sign-in to `what` came back refused; `retry` is the command to try again.
pub fn sign_in_refused(what: &str, said: &str, retry: &str) -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        format!("the sign-in to {what} was refused ({said})"),
        format!("run `{retry}` to try again"),
    )
}

pub fn aws_login_timed_out(profile: &str, waited: impl Display) -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        format!("nobody finished the sign-in of profile {profile} within {waited}"),
        format!(
            "run `mfad aws-login {profile}` again and finish the sign-in in the browser, or add --remote to sign in with a browser elsewhere"
        ),
    )
}

pub fn aws_login_code_garbled(profile: &str) -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        "that is not the code of this sign-in (paste the whole code the confirmation page shows, on one line)",
        format!("run `mfad aws-login {profile} --remote` again; each sign-in has its own code"),
    )
}

pub fn aws_login_cancelled(profile: &str) -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        format!("the sign-in of profile {profile} was cancelled"),
        format!("run the command again, or sign in first with `mfad aws-login {profile}`"),
    )
}

/// The person signed in as another identity than the profile's `login_session`.
pub fn aws_login_other_identity(profile: &str, wanted: &str, signed_in: &str) -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        format!(
            "the sign-in was as {signed_in}, but profile {profile} is the sign-in of {wanted}; nothing was kept"
        ),
        format!(
            "sign in as {wanted}, or run `mfad aws-login {profile}` to make profile {profile} the sign-in of another identity"
        ),
    )
}

pub fn aws_login_not_written(path: &std::path::Path, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!(
            "signed in, but the sign-in could not be written to {} ({error})",
            path.display()
        ),
        "check the permissions of the login cache directory (~/.aws/login/cache or AWS_LOGIN_CACHE_DIRECTORY) and of ~/.aws/config, then sign in again",
    )
}

// --- Roles ---------------------------------------------------------------------------

pub fn role_source_ended(role_arn: &str) -> Failure {
    Failure::new(
        FailureKind::NoCodeSource,
        format!("the MFA session {role_arn} is built on has ended"),
        "run a command with the profile to renew it",
    )
}

pub fn role_refused(role_arn: &str, code: &str, message: &str) -> Failure {
    Failure::new(
        FailureKind::Sts,
        format!("AWS refused to assume {role_arn} ({code}: {message})"),
        "check mfad_role_arn, and that the role's trust policy lets this user assume it (with MFA)",
    )
}

pub fn mfa_process_loop(serial: &str) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!(
            "the mfa_process renewing {serial} asks mfad for credentials that need that same session (a loop)"
        ),
        "make mfa_process print a code without calling credential_process for a profile that uses this MFA device",
    )
}

// --- exec ----------------------------------------------------------------------------

pub fn nested_exec(outer: &str) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("already inside mfad exec for profile {outer}"),
        "run the command directly, or leave the outer mfad exec first",
    )
}

pub fn cannot_run(program: &str, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("cannot run {program}: {error}"),
        "check the command name and your PATH",
    )
}

// --- the local credential endpoint (`mfad exec --server`, `mfad serve`) --------------

pub fn endpoint_not_bound(error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("cannot listen on 127.0.0.1 for the credential endpoint: {error}"),
        "check that the loopback interface is up (`ip addr show lo`)",
    )
}

pub fn port_not_bound(port: u16, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("cannot listen on 127.0.0.1:{port}: {error}"),
        "choose another --port, or stop what listens there",
    )
}

// --- wrapped helpers (`mfad_wrap_process`) -------------------------------------------

pub fn wrap_process_failed(command: &str, what: &str) -> Failure {
    Failure::new(
        FailureKind::StsUnavailable,
        format!("mfad_wrap_process `{command}` {what}"),
        "run the command yourself to see what it says, and fix it or mfad_wrap_process",
    )
}

pub fn wrap_process_loop(profile: &str) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("the mfad_wrap_process of {profile} asks mfad for {profile} itself"),
        "point mfad_wrap_process at the helper itself, not at mfad process of the same profile",
    )
}
