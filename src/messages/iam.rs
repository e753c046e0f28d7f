//! The IAM wing: the console sign-in, MFA devices, audit, policy and rotation.

use crate::failure::{Failure, FailureKind};
use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

// --- the console sign-in (`mfad login`) ----------------------------------------------

pub fn signin_failed(endpoint: &str, reason: &str) -> Failure {
    Failure::new(
        FailureKind::StsUnavailable,
        format!("the console sign-in endpoint {endpoint} gave no sign-in token: {reason}"),
        "check the network (and HTTPS_PROXY) and run the command again",
    )
}

pub fn browser_not_opened(opener: &str, reason: impl Display) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("could not open a browser with {opener}: {reason}"),
        "run `mfad login PROFILE --print` and open the URL yourself",
    )
}

pub fn federation_refused(profile: &str, reason: impl Display) -> Failure {
    Failure::new(
        FailureKind::Sts,
        format!("AWS refused a federation token for the user of {profile}: {reason}"),
        "the user needs sts:GetFederationToken; or sign in with a role profile (mfad_role_arn)",
    )
}

/// GetFederationToken failed otherwise than by refusal: `failure` is what STS's error says.
pub fn federation_failed(profile: &str, failure: Failure) -> Failure {
    Failure::new(
        FailureKind::Sts,
        format!(
            "GetFederationToken for {profile} failed: {}",
            failure.message
        ),
        failure.remedy,
    )
}

// --- MFA devices (`mfad mfa`) --------------------------------------------------------

pub fn already_enrolled(profile: &str, user: &str, serials: &[String]) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!(
            "IAM user {user} already has {} MFA device(s): {}",
            serials.len(),
            serials.join(", ")
        ),
        format!(
            "to add one more (two are recommended, AWS allows 8), run `mfad mfa enroll {profile} --additional`; `mfad mfa list {profile}` shows them"
        ),
    )
}

pub fn no_codes_typed(serial: &str) -> Failure {
    Failure::new(
        FailureKind::NoCodeSource,
        format!("no codes of {serial} were typed"),
        "type two consecutive codes from the authenticator app, one per line",
    )
}

pub fn config_not_updated(path: &Path, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("cannot set mfa_serial in {} ({error})", path.display()),
        "make the file writable and run the command again",
    )
}

/// Enrolment failed after the device was created: what failed, what was undone, and
/// what is left for the person to remove.
pub fn enrolment_undone(failure: Failure, serial: &str, left: &[String]) -> Failure {
    let remedy = if left.is_empty() {
        format!(
            "{}; the device {serial} was deleted again and nothing was kept",
            failure.remedy
        )
    } else {
        format!(
            "{}; the device {serial} was deleted again, but could not undo: {}: remove them by hand",
            failure.remedy,
            left.join(", ")
        )
    };
    Failure::new(failure.kind, failure.message, remedy)
}

/// Enrolment failed after enabling the device, and AWS refused to deactivate it.
pub fn enrolment_kept_enabled(
    failure: Failure,
    serial: &str,
    user: &str,
    profile: &str,
    seed_kept: bool,
    profile_uses_it: bool,
    refusal: &str,
) -> Failure {
    let held = if seed_kept {
        "mfad keeps its seed"
    } else {
        "your authenticator app holds it"
    };
    let named = if profile_uses_it {
        format!(" and profile {profile} names it in mfa_serial")
    } else {
        String::new()
    };
    let removal = if profile_uses_it {
        format!("`mfad mfa remove {profile}`")
    } else {
        format!(
            "`aws iam deactivate-mfa-device --user-name {user} --serial-number {serial} --profile {profile}`, then `aws iam delete-virtual-mfa-device --serial-number {serial} --profile {profile}`"
        )
    };
    let remedy = format!(
        "{}; the device {serial} is still enabled for IAM user {user} (AWS refused to deactivate it: {refusal}), so {held}{named}: it is ready to use as it is; to remove it instead, run {removal}",
        failure.remedy
    );
    Failure::new(failure.kind, failure.message, remedy)
}

/// Enrolment failed, the device was deactivated but AWS refused to delete it.
pub fn enrolment_left_deactivated(
    failure: Failure,
    serial: &str,
    refusal: &str,
    left: &[String],
) -> Failure {
    let also = if left.is_empty() {
        String::new()
    } else {
        format!("; also left: {}", left.join(", "))
    };
    let remedy = format!(
        "{}; the device {serial} was deactivated but is still in the account (AWS refused to delete it: {refusal}), and nobody can use it: delete it with `aws iam delete-virtual-mfa-device --serial-number {serial}`{also}",
        failure.remedy
    );
    Failure::new(failure.kind, failure.message, remedy)
}

pub fn no_device_named(profile: &str) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("profile {profile} names no MFA device (no mfa_serial)"),
        format!("set one up with `mfad mfa enroll {profile}`, or add mfa_serial to the profile"),
    )
}

pub fn not_a_device_of(profile: &str, serial: &str, user: &str) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!(
            "{serial} (mfa_serial of profile {profile}) is not an MFA device of IAM user {user}"
        ),
        format!(
            "`mfad mfa list {profile}` shows the user's devices: correct mfa_serial in the profile"
        ),
    )
}

pub fn security_key_not_synced(serial: &str) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!("{serial} is a security key, which has no codes to resynchronise"),
        "only virtual (TOTP) devices are resynchronised",
    )
}

pub fn security_key_not_removed(serial: &str) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!("{serial} is a security key, which mfad does not manage"),
        "remove security keys in the IAM console",
    )
}

pub fn removal_not_confirmed(serial: &str) -> Failure {
    Failure::new(
        FailureKind::PromptCancelled,
        format!("the removal of {serial} was not confirmed; nothing was changed"),
        "answer y on the terminal, or pass --yes",
    )
}

/// Removal deactivated the device but IAM did not delete it.
pub fn device_not_deleted(serial: &str, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!("{serial} was deactivated and mfad forgot it, but IAM did not delete it ({error})"),
        format!(
            "delete it with `aws iam delete-virtual-mfa-device --serial-number {serial}` (it is assigned to nobody and holds no access)"
        ),
    )
}

// --- Audit and policy ----------------------------------------------------------------

pub fn no_credentials(profile: &str, reason: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("no credentials for profile {profile} ({reason})"),
        "name a profile that has credentials with --profile (any profile: static keys, credential_process, a role or SSO), or set AWS_PROFILE",
    )
}

pub fn report_not_ready(waited: Duration) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!(
            "IAM did not finish the credential report within {}s",
            waited.as_secs()
        ),
        "run `mfad audit` again in a minute: IAM keeps generating it",
    )
}

pub fn report_unreadable(reason: impl Display) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!("the credential report cannot be read ({reason})"),
        "run `mfad audit` again; if it persists, report it with the report's header line",
    )
}

// --- Rotation ------------------------------------------------------------------------

pub fn rotate_needs_stored_key(profile: &str, source: &str) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!(
            "profile {profile} takes its key from profile {source}'s static keys, which mfad does not write"
        ),
        format!(
            "store the key in mfad first with `mfad add {profile}` (and remove it from the credentials file), then rotate"
        ),
    )
}

pub fn two_keys_already(user: &str, stored: &str, ids: &[String]) -> Failure {
    let others: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| *id != stored)
        .collect();
    Failure::new(
        FailureKind::Iam,
        format!(
            "IAM user {user} already has two access keys ({}), the most AWS allows; mfad holds {stored}",
            ids.join(", ")
        ),
        format!(
            "delete the one mfad does not hold if nothing uses it: `aws iam delete-access-key --user-name {user} --access-key-id {}`",
            others.first().copied().unwrap_or("ID")
        ),
    )
}

pub fn new_key_is_someone_else(arn: &str, expected: &str) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!("the new key belongs to {arn}, not to {expected}"),
        "check the profile's endpoint_url settings for STS and IAM: they must be the same account",
    )
}

pub fn new_key_never_worked(waited: Duration, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Iam,
        format!(
            "the new key could not be proven to work (within {}s: {error})",
            waited.as_secs()
        ),
        "run `mfad rotate PROFILE` again later",
    )
}

/// Rotation failed after the new key was created: the old key is kept, the new deleted
/// (or named, to delete by hand).
pub fn rotation_undone(
    failure: Failure,
    old: &str,
    new: &str,
    not_deleted: Option<impl Display>,
) -> Failure {
    let undone = match not_deleted {
        None => format!("the old key {old} is kept and the new key {new} was deleted again"),
        Some(error) => format!(
            "the old key {old} is kept; the new key {new} could not be deleted ({error}): `aws iam delete-access-key --access-key-id {new}`"
        ),
    };
    Failure::new(
        failure.kind,
        failure.message,
        format!("{}; {undone}", failure.remedy),
    )
}
