//! What can be wrong with the AWS files or a profile, and what to do about it.

use super::SyntaxError;
use crate::failure::{Explain, FailureKind};
use std::path::PathBuf;

/// What can be wrong with the files or a profile.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: crate::bounded::FileError,
    },
    #[error("{}, line {}: {}", .0.path.display(), .0.line, .0.reason)]
    Syntax(SyntaxError),
    #[error("{}", unknown_profile(.profile, .config, *.config_exists, .similar.as_deref()))]
    UnknownProfile {
        profile: String,
        config: PathBuf,
        config_exists: bool,
        /// The existing profile a typo most likely meant.
        similar: Option<String>,
    },
    #[error("profile \"{profile}\" has no mfa_serial in {config}")]
    MissingSerial { profile: String, config: PathBuf },
    #[error(
        "mfa_serial {serial} of profile \"{profile}\" ({path}, line {line}) is a security key; AWS accepts security keys only in the console, not for API sessions"
    )]
    SecurityKey {
        profile: String,
        serial: String,
        path: PathBuf,
        line: usize,
    },
    #[error("{setting} = {value} ({path}, line {line}): {reason}")]
    BadValue {
        setting: &'static str,
        value: String,
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("mfad_source_profile goes round in a loop: {}", .chain.join(" -> "))]
    SourceLoop { chain: Vec<String> },
    #[error("profile \"{profile}\" assumes {role_arn}; it has no IAM user of its own")]
    NotAUser { profile: String, role_arn: String },
    #[error("profile \"{profile}\" has aws_access_key_id but no aws_secret_access_key in {path}")]
    HalfKey { profile: String, path: PathBuf },
    #[error("profile \"{profile}\" does not sign in through IAM Identity Center")]
    NotSso { profile: String },
    #[error("{profile} has no {setting}")]
    MissingSsoSetting {
        profile: String,
        setting: &'static str,
    },
    #[error(
        "profile \"{profile}\" names {login_profile} in mfad_login_profile, which has no login_session"
    )]
    NotAwsLogin {
        profile: String,
        login_profile: String,
    },
    #[error("profile \"{profile}\" names an sso-session, but there is no [sso-session {session}] ({}, line {line})", .path.display())]
    UnknownSsoSession {
        profile: String,
        session: String,
        path: PathBuf,
        line: usize,
    },
}

impl Explain for ConfigError {
    fn kind(&self) -> FailureKind {
        FailureKind::Config
    }

    fn remedy(&self) -> String {
        match self {
            Self::Read { .. } => "point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a readable text file of a few MiB at most".into(),
            Self::Syntax(_) => "fix that line: sections look like [profile NAME], settings like key = value, comments start with #".into(),
            Self::UnknownProfile { profile, config, config_exists: false, .. } => format!(
                "create {} with [profile {profile}] (mfa_serial and credential_process = mfad process {profile}), or point AWS_CONFIG_FILE at yours",
                config.display()
            ),
            Self::UnknownProfile { profile, similar: Some(similar), .. } => format!(
                "use `{similar}`, or add [profile {profile}] to the config file"
            ),
            Self::UnknownProfile { profile, config, .. } => format!(
                "add [profile {profile}] with mfa_serial and credential_process = mfad process {profile} to {}",
                config.display()
            ),
            Self::MissingSerial { profile, config } => format!(
                "add mfa_serial = arn:aws:iam::ACCOUNT:mfa/DEVICE to [profile {profile}] in {}, or set up a device with `mfad mfa enroll {profile}`",
                config.display()
            ),
            Self::SecurityKey { profile, .. } => format!("sign in with the browser, where the security key works: `aws login --profile {profile}-login` (AWS CLI 2.32+) or `mfad aws-login {profile}-login`, then give [profile {profile}] mfad_login_profile = {profile}-login instead of mfa_serial; or register a virtual (TOTP) MFA device and set mfa_serial to its ARN"),
            Self::BadValue { setting, .. } if setting.contains("duration") => "STS allows 900 to 129600 seconds (15m to 36h); write e.g. 43200 or 12h".into(),
            Self::BadValue { .. } => "correct the value".into(),
            Self::SourceLoop { .. } => "make one profile of the chain hold static keys or drop its mfad_source_profile".into(),
            Self::NotAUser { .. } => "run it with the profile of the IAM user itself, whose key `mfad add PROFILE` stored".into(),
            Self::HalfKey { profile, .. } => format!("add aws_secret_access_key next to aws_access_key_id, or store the key with `mfad add {profile}`"),
            Self::NotSso { .. } => "name an sso-session instead, or a profile with mfad_sso_session".into(),
            Self::MissingSsoSetting { setting, .. } => format!("add {setting} = … (`aws configure sso` writes these settings)"),
            Self::NotAwsLogin { login_profile, .. } => format!("sign in with `aws login --profile {login_profile}` (AWS CLI 2.32+) or `mfad aws-login {login_profile}`, which write login_session = ARN into [profile {login_profile}]"),
            Self::UnknownSsoSession { session, .. } => format!("add [sso-session {session}] with sso_start_url and sso_region, or correct the name"),
        }
    }
}

fn unknown_profile(
    profile: &str,
    config: &std::path::Path,
    config_exists: bool,
    similar: Option<&str>,
) -> String {
    let config = config.display();
    match (config_exists, similar) {
        (false, _) => format!("no profile \"{profile}\": the config file {config} does not exist"),
        (true, Some(similar)) => {
            format!("no profile \"{profile}\" in {config} (did you mean \"{similar}\"?)")
        }
        (true, None) => format!("no profile \"{profile}\" in {config}"),
    }
}
