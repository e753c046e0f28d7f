//! What mfad tells a person when something fails, and what they should do next: the
//! catalogue of messages and remedies, in one place for a reviewer to read together (as
//! rage keeps its strings). Errors of one domain with many cases keep their texts with
//! their type: `config::ConfigError`, `store::StoreError`, `sts::StsError`,
//! `network::NetworkError`, `credfile::CredfileError`, `peer::Untrusted`,
//! `settings::SettingsError`.
//!
//! Each message says what failed, without a trailing period; each remedy what to do. A
//! command quoted in a remedy is in backticks, and `tests/integration/remedies.rs` checks
//! that it exists.

use crate::failure::{Failure, FailureKind};
use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

// --- The client and the socket -----------------------------------------------------

pub fn socket_path_too_long(reason: String) -> Failure {
    Failure::new(
        FailureKind::Config,
        reason,
        "set MFAD_SOCKET to a shorter path, e.g. ~/.mfad/agent.sock",
    )
}

pub fn closed_without_answer() -> Failure {
    Failure::new(
        FailureKind::Internal,
        "the daemon closed the connection without answering",
        "see the daemon log; `mfad status` shows whether it runs",
    )
}

pub fn connection_lost(error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("lost the connection to the daemon ({error})"),
        "run the command again; if it persists, see the daemon log",
    )
}

pub fn no_daemon(socket: &Path, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::NoDaemon,
        format!("no mfad daemon answers on {} ({error})", socket.display()),
        "any `mfad process PROFILE` command starts it; or run `mfad daemon`",
    )
}

/// A daemon that accepted the connection and then said nothing.
pub fn daemon_silent(socket: &Path, pid: Option<i32>, silence: Duration) -> Failure {
    let who = pid.map_or("the mfad daemon".to_owned(), |pid| {
        format!("the mfad daemon (pid {pid})")
    });
    let remedy = match pid {
        Some(pid) => format!(
            "it may be stopped (SIGSTOP) or stuck: resume it with `kill -CONT {pid}`, or stop it with `kill {pid}` and run the command again to start a new one"
        ),
        None => "it may be stopped or stuck: stop it and run the command again".to_owned(),
    };
    Failure::new(
        FailureKind::Unresponsive,
        format!(
            "{who} on {} did not answer within {}s",
            socket.display(),
            silence.as_secs_f64()
        ),
        remedy,
    )
}

pub fn daemon_not_started(what: impl Display, log: &Path) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("could not start the mfad daemon: {what}"),
        format!(
            "run `mfad daemon` in a terminal to see why; the log of background starts is {}",
            log.display()
        ),
    )
}

pub fn old_daemon_did_not_stop(pid: i32) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("the old daemon (pid {pid}) did not stop"),
        format!("stop it by hand: kill {pid}"),
    )
}

pub fn unexpected_answer(answer: impl std::fmt::Debug) -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        format!("unexpected answer from the daemon: {answer:?}"),
        "client and daemon may differ in version; restart the daemon",
    )
}

// --- Messages on the socket ----------------------------------------------------------

pub fn message_too_long(limit: usize) -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        format!("message longer than {limit} bytes"),
        "mfad messages are small; check what is writing to the mfad socket",
    )
}

pub fn garbled(reason: impl Display) -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        format!("garbled message on the mfad socket ({reason})"),
        "only mfad itself should write to the socket; if it did, client and daemon may differ in version",
    )
}

pub fn other_version(theirs: &str, their_protocol: u32, ours: &str, our_protocol: u32) -> Failure {
    Failure::new(
        FailureKind::VersionMismatch,
        format!(
            "the other side is mfad {theirs} (protocol {their_protocol}), this is mfad {ours} (protocol {our_protocol})"
        ),
        "any `mfad process PROFILE` command replaces a daemon of another version; or stop the old daemon (its pid is in the lock file next to the socket) and run `mfad daemon`",
    )
}

pub fn unreadable_request(error: impl Display) -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        format!("reading from the client failed ({error})"),
        "",
    )
}

pub fn code_not_asked_for() -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        "a code arrived when none was asked for",
        "send a request first",
    )
}

pub fn other_uid(our_uid: u32) -> Failure {
    Failure::new(
        FailureKind::Untrusted,
        format!("this mfad daemon serves uid {our_uid} only"),
        "each user runs their own daemon; check MFAD_SOCKET",
    )
}

pub fn too_many_connections(limit: usize) -> Failure {
    Failure::new(
        FailureKind::Busy,
        format!("the mfad daemon is serving {limit} connections, its most at once"),
        "run the command again in a moment; if it persists, some program keeps connections to mfad open (max_connections in mfad's config.toml raises the cap)",
    )
}

// --- Files ---------------------------------------------------------------------------

pub fn aws_files_hang(files: &str, stalled: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("reading {files}: {stalled}"),
        "the file system holding them hangs (a network file system?); check it, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere",
    )
}

pub fn credentials_file_hangs(path: &Path, stalled: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("updating {}: {stalled}", path.display()),
        "the file system holding it hangs (a network file system?); check it",
    )
}

pub fn used_codes_record_hangs(stalled: impl Display) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("the record of used MFA codes could not be read: {stalled}"),
        "the file system holding ~/.local/state/mfad hangs; check it (mfad sends no code it cannot record)",
    )
}

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

// --- the local credential endpoint (`mfad exec --server`, `mfad serve`) -------------

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

// --- the console sign-in (`mfad login`) ------------------------------------------------

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

// --- MFA devices (`mfad mfa`) ----------------------------------------------------------

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

// --- Audit and policy --------------------------------------------------------------

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

// --- Rotation ----------------------------------------------------------------------

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
