//! Profile resolution: the one place that reads `~/.aws/config` and the credentials file.
//!
//! Each request is resolved afresh in its caller's environment (`AWS_CONFIG_FILE`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL_STS`…), so edits to the files and per-shell variables take
//! effect at once without restarting the daemon. Region and endpoint follow the precedence
//! of the AWS SDKs; aws-config itself cannot be used for this because it reads the daemon's
//! own environment, not the caller's.

pub mod edit;
mod ini;
mod role_options;

pub use role_options::RoleOptions;

pub use ini::{IniFile, SyntaxError};

use crate::failure::{Failure, FailureKind};
use crate::network::Network;
use crate::store::LongTermKey;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use crate::vocab::CallerEnv;
use crate::vocab::parse_duration;

/// GetSessionToken's limits for IAM users, and the root account's cap.
pub const SESSION_DURATION_RANGE: std::ops::RangeInclusive<u64> = 900..=129_600;
pub const ROOT_MAX_DURATION: Duration = Duration::from_secs(3600);
pub const DEFAULT_SESSION_DURATION: Duration = Duration::from_secs(12 * 3600);
/// STS's global endpoint lives in us-east-1; used when no region is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Everything needed to obtain the MFA session a profile uses.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    /// The profile whose settings define this session.
    pub profile: String,
    pub key: KeySource,
    pub mfa_serial: String,
    pub mfa_process: Option<String>,
    pub duration: Duration,
    /// Set when the asked duration was adjusted (the root account's 1 h cap).
    pub note: Option<String>,
    pub sts: StsEndpoint,
    pub network: Network,
}

/// Where the long-term access key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The secret store entry written by `mfad add PROFILE`.
    Store { profile: String },
    /// Static keys of the profile named by `mfad_source_profile`.
    Static { profile: String, key: LongTermKey },
}

/// Where STS calls go, resolved as the SDKs do.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct StsEndpoint {
    pub region: String,
    /// An endpoint override; `None` means the SDK's regional endpoint.
    pub url: Option<String>,
}

impl std::fmt::Display for StsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.url {
            Some(url) => write!(f, "{url}"),
            None => write!(f, "sts.{}.amazonaws.com", self.region),
        }
    }
}

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
    #[error("no profile \"{profile}\" in {config}")]
    UnknownProfile { profile: String, config: PathBuf },
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
}

impl ConfigError {
    /// What the person should do about it.
    pub fn remedy(&self) -> String {
        match self {
            Self::Read { .. } => "point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a readable text file of a few MiB at most".into(),
            Self::Syntax(_) => "fix that line: sections look like [profile NAME], settings like key = value, comments start with #".into(),
            Self::UnknownProfile { profile, config } => format!(
                "add [profile {profile}] with mfa_serial and credential_process = mfad process {profile} to {}",
                config.display()
            ),
            Self::MissingSerial { profile, config } => format!(
                "add mfa_serial = arn:aws:iam::ACCOUNT:mfa/DEVICE to [profile {profile}] in {}, or set up a device with `mfad mfa enroll {profile}`",
                config.display()
            ),
            Self::SecurityKey { .. } => "register a virtual (TOTP) MFA device for this user and set mfa_serial to its ARN".into(),
            Self::BadValue { setting, .. } if setting.contains("duration") => "STS allows 900 to 129600 seconds (15m to 36h); write e.g. 43200 or 12h".into(),
            Self::BadValue { .. } => "correct the value".into(),
            Self::SourceLoop { .. } => "make one profile of the chain hold static keys or drop its mfad_source_profile".into(),
            Self::NotAUser { .. } => "run it with the profile of the IAM user itself, whose key `mfad add PROFILE` stored".into(),
            Self::HalfKey { profile, .. } => format!("add aws_secret_access_key next to aws_access_key_id, or store the key with `mfad add {profile}`"),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        let remedy = error.remedy();
        Failure::new(FailureKind::Config, error.to_string(), remedy)
    }
}

/// A setting and where it was read.
#[derive(Debug, Clone)]
pub struct Setting {
    pub value: String,
    pub path: Arc<Path>,
    pub line: usize,
}

/// The shared config and credentials files as the caller sees them.
#[derive(Debug)]
pub struct AwsFiles {
    pub config: IniFile,
    pub credentials: IniFile,
}

impl AwsFiles {
    /// Read both files; a missing file reads as empty, as the SDKs treat it.
    pub fn load(env: &CallerEnv) -> Result<Self, ConfigError> {
        Ok(Self {
            config: read_ini(&config_path(env))?,
            credentials: read_ini(&credentials_path(env))?,
        })
    }

    /// The settings of a profile that must exist.
    fn known_profile(&self, name: &str) -> Result<BTreeMap<String, Setting>, ConfigError> {
        self.profile(name)
            .ok_or_else(|| ConfigError::UnknownProfile {
                profile: name.to_owned(),
                config: self.config.path.to_path_buf(),
            })
    }

    /// The settings of a profile: its config section merged with its credentials
    /// section, the credentials file winning as in the SDKs. `None` if neither has it.
    pub fn profile(&self, name: &str) -> Option<BTreeMap<String, Setting>> {
        let config_header = if name == "default" {
            "default".to_owned()
        } else {
            format!("profile {name}")
        };
        let mut found = false;
        let mut settings = BTreeMap::new();
        let config_sections = self.config.sections_named(&config_header);
        let default_alias = (name == "default")
            .then(|| self.config.sections_named("profile default"))
            .into_iter()
            .flatten();
        let sources = default_alias
            .chain(config_sections)
            .map(|s| (&self.config.path, s))
            .chain(
                self.credentials
                    .sections_named(name)
                    .map(|s| (&self.credentials.path, s)),
            );
        for (path, section) in sources {
            found = true;
            for entry in &section.entries {
                settings.insert(
                    entry.key.clone(),
                    Setting {
                        value: entry.value.clone(),
                        path: path.clone(),
                        line: entry.line,
                    },
                );
            }
        }
        found.then_some(settings)
    }

    fn services_setting(&self, services: &str, key: &str) -> Option<String> {
        let header = format!("services {services}");
        self.config
            .sections_named(&header)
            .flat_map(|s| &s.entries)
            .filter(|e| e.key == key)
            .last()
            .map(|e| e.value.clone())
    }
}

/// `AWS_CONFIG_FILE`, else `~/.aws/config` (see [`crate::paths`]).
pub fn config_path(env: &CallerEnv) -> PathBuf {
    crate::paths::aws_config_file(env)
}

/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials` (see [`crate::paths`]).
pub fn credentials_path(env: &CallerEnv) -> PathBuf {
    crate::paths::aws_credentials_file(env)
}

/// Read a file with a size cap, never blocking on a FIFO; a missing file is empty.
fn read_ini(path: &Path) -> Result<IniFile, ConfigError> {
    let text = crate::bounded::read_text(path, crate::bounded::MAX_FILE_BYTES)
        .map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?
        .unwrap_or_default();
    IniFile::parse(path, &text).map_err(ConfigError::Syntax)
}

/// Everything needed to hand out a profile's credentials.
#[derive(Debug, Clone)]
pub struct ProfilePlan {
    pub credentials: CredentialPlan,
    /// `mfad_write_profile`: a section of the shared credentials file kept current.
    pub write_profile: Option<WriteTarget>,
    /// The region of the profile or the caller's environment, for `mfad exec`/`env`.
    pub region: Option<String>,
}

/// How a profile's credentials are obtained.
#[derive(Debug, Clone)]
pub enum CredentialPlan {
    /// The MFA session itself.
    Session(SessionPlan),
    /// A role assumed with the credentials of `source` (an MFA session, or another role).
    Role(RolePlan),
    /// `mfad_wrap_process`: another helper's output, run by the daemon and cached.
    Wrapped(WrapPlan),
}

impl CredentialPlan {
    /// The MFA session at the root of the chain, if the credentials come from one.
    pub fn session(&self) -> Option<&SessionPlan> {
        match self {
            Self::Session(session) => Some(session),
            Self::Role(role) => role.source.session(),
            Self::Wrapped(_) => None,
        }
    }
}

/// A credential helper the daemon runs for a profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WrapPlan {
    pub profile: String,
    pub command: String,
    /// The config file that says so: the same profile name in another file is another
    /// helper.
    pub config: PathBuf,
}

#[derive(Debug, Clone)]
pub struct RolePlan {
    /// The profile whose settings define this role.
    pub profile: String,
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
    /// Source identity and session tags.
    pub options: RoleOptions,
    pub duration: Duration,
    /// Set when the asked duration was capped to the 1 h limit of chained roles.
    pub note: Option<String>,
    pub sts: StsEndpoint,
    pub network: Network,
    pub source: Box<CredentialPlan>,
}

/// A section of a shared credentials file that mfad keeps current.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WriteTarget {
    pub path: PathBuf,
    pub section: String,
}

/// Roles assumed with session-token credentials last at most 1 h (role chaining).
pub const CHAINED_ROLE_MAX_DURATION: Duration = Duration::from_secs(3600);
/// AssumeRole accepts 15 minutes to 12 hours.
pub const ROLE_DURATION_RANGE: std::ops::RangeInclusive<u64> = 900..=43_200;

/// Resolve a profile in the caller's environment.
pub fn resolve(profile: &str, env: &CallerEnv) -> Result<ProfilePlan, ConfigError> {
    resolve_in(&AwsFiles::load(env)?, profile, env)
}

/// Resolve many profiles, each in its caller's environment, reading each pair of files
/// once (a daemon loading a hundred saved sessions reads the config once, not a hundred
/// times); `None` for those that do not resolve.
pub fn resolve_each(wanted: &[(String, CallerEnv)]) -> Vec<Option<ProfilePlan>> {
    let mut files_of = std::collections::HashMap::new();
    wanted
        .iter()
        .map(|(profile, env)| {
            let paths = (config_path(env), credentials_path(env));
            let files = files_of.entry(paths).or_insert_with(|| AwsFiles::load(env));
            files
                .as_ref()
                .ok()
                .and_then(|files| resolve_in(files, profile, env).ok())
        })
        .collect()
}

fn resolve_in(
    files: &AwsFiles,
    profile: &str,
    env: &CallerEnv,
) -> Result<ProfilePlan, ConfigError> {
    let settings = files.profile(profile).unwrap_or_default();
    let credentials = match settings.get("mfad_wrap_process") {
        Some(command) if command.value.trim().is_empty() => {
            return Err(ConfigError::BadValue {
                setting: "mfad_wrap_process",
                value: command.value.clone(),
                path: command.path.to_path_buf(),
                line: command.line,
                reason: "a command that prints credential_process JSON".into(),
            });
        }
        Some(command) => CredentialPlan::Wrapped(WrapPlan {
            profile: profile.to_owned(),
            command: command.value.clone(),
            config: files.config.path.to_path_buf(),
        }),
        None => credential_plan(files, profile, env, &mut Vec::new())?,
    };
    let write_profile = match settings.get("mfad_write_profile") {
        Some(out) if matches!(credentials, CredentialPlan::Wrapped(_)) => {
            return Err(ConfigError::BadValue {
                setting: "mfad_write_profile",
                value: out.value.clone(),
                path: out.path.to_path_buf(),
                line: out.line,
                reason: "not kept for a profile with mfad_wrap_process; remove one of them".into(),
            });
        }
        Some(out) => Some(write_target(profile, out, env)?),
        None => None,
    };
    Ok(ProfilePlan {
        credentials,
        write_profile,
        region: region(&settings, env),
    })
}

fn write_target(profile: &str, out: &Setting, env: &CallerEnv) -> Result<WriteTarget, ConfigError> {
    let bad = |reason: &str| ConfigError::BadValue {
        setting: "mfad_write_profile",
        value: out.value.clone(),
        path: out.path.to_path_buf(),
        line: out.line,
        reason: reason.to_owned(),
    };
    let name = out.value.as_str();
    if name.is_empty() || name.contains(['[', ']', '#', ';']) || name.contains(char::is_whitespace)
    {
        return Err(bad("a section name without spaces, brackets, # or ;"));
    }
    if name == profile {
        return Err(bad(
            "it names the profile itself; static keys in its own section would shadow credential_process",
        ));
    }
    Ok(WriteTarget {
        path: credentials_path(env),
        section: name.to_owned(),
    })
}

fn credential_plan(
    files: &AwsFiles,
    name: &str,
    env: &CallerEnv,
    chain: &mut Vec<String>,
) -> Result<CredentialPlan, ConfigError> {
    let settings = files.known_profile(name)?;
    chain.push(name.to_owned());
    let sts = sts_endpoint(files, name, env);
    let network = sts_network(files, name, env, &sts);
    let base = match settings.get("mfad_source_profile") {
        Some(source) => {
            let source_name = source.value.as_str();
            if chain.iter().any(|seen| seen == source_name) {
                chain.push(source_name.to_owned());
                return Err(ConfigError::SourceLoop {
                    chain: chain.clone(),
                });
            }
            let source_settings = files.known_profile(source_name)?;
            match static_key(source_name, &source_settings)? {
                Some(key) => {
                    let key = KeySource::Static {
                        profile: source_name.to_owned(),
                        key,
                    };
                    CredentialPlan::Session(session_plan(
                        files,
                        name,
                        &settings,
                        key,
                        (sts.clone(), network.clone()),
                    )?)
                }
                // The source is itself an mfad profile: build on its credentials.
                None => credential_plan(files, source_name, env, chain)?,
            }
        }
        None => {
            let key = KeySource::Store {
                profile: name.to_owned(),
            };
            CredentialPlan::Session(session_plan(
                files,
                name,
                &settings,
                key,
                (sts.clone(), network.clone()),
            )?)
        }
    };
    match settings.get("mfad_role_arn") {
        Some(role_arn) => Ok(CredentialPlan::Role(role_plan(
            name,
            role_arn,
            &settings,
            (sts, network),
            base,
        )?)),
        None => Ok(base),
    }
}

fn role_plan(
    profile: &str,
    role_arn: &Setting,
    settings: &BTreeMap<String, Setting>,
    (sts, network): (StsEndpoint, Network),
    source: CredentialPlan,
) -> Result<RolePlan, ConfigError> {
    let (duration, note) = match settings.get("mfad_role_duration") {
        None => (CHAINED_ROLE_MAX_DURATION, None),
        Some(s) => {
            let asked =
                duration_in_range(s, "mfad_role_duration", ROLE_DURATION_RANGE, "AssumeRole")?;
            if asked > CHAINED_ROLE_MAX_DURATION {
                let note = format!(
                    "roles assumed with an MFA session last at most 1h (role chaining); asked for {}, using 1h",
                    humantime::format_duration(asked)
                );
                (CHAINED_ROLE_MAX_DURATION, Some(note))
            } else {
                (asked, None)
            }
        }
    };
    let session_name = match settings.get("mfad_role_session_name") {
        Some(name) => name.value.clone(),
        None => default_session_name(profile),
    };
    Ok(RolePlan {
        profile: profile.to_owned(),
        role_arn: role_arn.value.clone(),
        session_name,
        external_id: settings.get("mfad_external_id").map(|s| s.value.clone()),
        options: RoleOptions::parse(settings)?,
        duration,
        note,
        sts,
        network,
        source: Box::new(source),
    })
}

/// `mfad-PROFILE`, reduced to the characters and length STS accepts.
fn default_session_name(profile: &str) -> String {
    let cleaned: String = format!("mfad-{profile}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    cleaned
}

fn session_plan(
    files: &AwsFiles,
    name: &str,
    settings: &BTreeMap<String, Setting>,
    key: KeySource,
    (sts, network): (StsEndpoint, Network),
) -> Result<SessionPlan, ConfigError> {
    let serial = settings
        .get("mfa_serial")
        .ok_or_else(|| ConfigError::MissingSerial {
            profile: name.to_owned(),
            config: files.config.path.to_path_buf(),
        })?;
    if serial.value.contains(":u2f/") {
        return Err(ConfigError::SecurityKey {
            profile: name.to_owned(),
            serial: serial.value.clone(),
            path: serial.path.to_path_buf(),
            line: serial.line,
        });
    }
    let (duration, note) = session_duration(settings.get("mfad_session_duration"), &serial.value)?;
    Ok(SessionPlan {
        profile: name.to_owned(),
        key,
        mfa_serial: serial.value.clone(),
        mfa_process: settings.get("mfa_process").map(|s| s.value.clone()),
        duration,
        note,
        sts,
        network,
    })
}

fn static_key(
    profile: &str,
    settings: &BTreeMap<String, Setting>,
) -> Result<Option<LongTermKey>, ConfigError> {
    let Some(id) = settings.get("aws_access_key_id") else {
        return Ok(None);
    };
    let secret = settings
        .get("aws_secret_access_key")
        .ok_or_else(|| ConfigError::HalfKey {
            profile: profile.to_owned(),
            path: id.path.to_path_buf(),
        })?;
    Ok(Some(LongTermKey {
        access_key_id: id.value.clone(),
        secret_access_key: SecretString::from(secret.value.clone()),
    }))
}

/// Whether a serial names the root account's MFA device (sessions capped at 1 h).
pub fn is_root_serial(serial: &str) -> bool {
    serial.ends_with(":mfa/root-account-mfa-device") || serial.ends_with(":root")
}

fn session_duration(
    setting: Option<&Setting>,
    serial: &str,
) -> Result<(Duration, Option<String>), ConfigError> {
    let asked = match setting {
        None => DEFAULT_SESSION_DURATION,
        Some(s) => duration_in_range(
            s,
            "mfad_session_duration",
            SESSION_DURATION_RANGE,
            "GetSessionToken",
        )?,
    };
    if is_root_serial(serial) && asked > ROOT_MAX_DURATION {
        let note = format!(
            "root account sessions last at most 1h; asked for {}, using 1h",
            humantime::format_duration(asked)
        );
        return Ok((ROOT_MAX_DURATION, Some(note)));
    }
    Ok((asked, None))
}

/// A duration setting within the range the STS action `action` accepts.
fn duration_in_range(
    setting: &Setting,
    name: &'static str,
    range: std::ops::RangeInclusive<u64>,
    action: &str,
) -> Result<Duration, ConfigError> {
    let bad = |reason: String| ConfigError::BadValue {
        setting: name,
        value: setting.value.clone(),
        path: setting.path.to_path_buf(),
        line: setting.line,
        reason,
    };
    let duration = parse_duration(&setting.value).map_err(bad)?;
    if !range.contains(&duration.as_secs()) {
        return Err(bad(format!(
            "{} seconds is outside what {action} allows ({} to {})",
            duration.as_secs(),
            range.start(),
            range.end()
        )));
    }
    Ok(duration)
}

fn sts_endpoint(files: &AwsFiles, profile: &str, env: &CallerEnv) -> StsEndpoint {
    service_endpoint(files, profile, env, "sts")
}

/// Where a profile's calls to `service` go: `AWS_ENDPOINT_URL_<SERVICE>`, then
/// `AWS_ENDPOINT_URL`, the profile's `services` section, its `endpoint_url`.
fn service_endpoint(
    files: &AwsFiles,
    profile: &str,
    env: &CallerEnv,
    service: &str,
) -> StsEndpoint {
    let settings = files.profile(profile).unwrap_or_default();
    let setting = |key: &str| settings.get(key).map(|s| s.value.clone());
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    let region = region(&settings, env).unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let truthy = |v: Option<String>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let ignore_configured = truthy(var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
        || truthy(setting("ignore_configured_endpoint_urls"));
    let url = if ignore_configured {
        None
    } else {
        var(&format!(
            "AWS_ENDPOINT_URL_{}",
            service.to_ascii_uppercase()
        ))
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .or_else(|| {
            setting("services").and_then(|services| {
                files.services_setting(&services, &format!("{service}.endpoint_url"))
            })
        })
        .or_else(|| setting("endpoint_url"))
    };
    StsEndpoint { region, url }
}

/// What managing a profile's IAM user takes: its long-term key, where IAM calls go, and
/// the MFA device the profile names, if any.
#[derive(Debug, Clone)]
pub struct IamAccess {
    pub profile: String,
    pub key: KeySource,
    /// IAM is global: its calls are signed for us-east-1 whatever the profile's region.
    pub iam: StsEndpoint,
    /// The profile's STS (what `mfad rotate` proves a new key against).
    pub sts: StsEndpoint,
    pub network: Network,
    pub mfa_serial: Option<String>,
    pub config: PathBuf,
}

/// Resolve the IAM user behind a profile: its key is the store entry of the profile
/// (`mfad add`) or the static keys of its `mfad_source_profile`. A profile that assumes
/// a role is refused: it has no IAM user of its own.
pub fn iam_access(profile: &str, env: &CallerEnv) -> Result<IamAccess, ConfigError> {
    let files = AwsFiles::load(env)?;
    let settings = files.known_profile(profile)?;
    if let Some(role) = settings.get("mfad_role_arn") {
        return Err(ConfigError::NotAUser {
            profile: profile.to_owned(),
            role_arn: role.value.clone(),
        });
    }
    let key = match settings.get("mfad_source_profile") {
        Some(source) => {
            let source_settings = files.profile(&source.value).unwrap_or_default();
            match static_key(&source.value, &source_settings)? {
                Some(key) => KeySource::Static {
                    profile: source.value.clone(),
                    key,
                },
                None => {
                    return Err(ConfigError::NotAUser {
                        profile: profile.to_owned(),
                        role_arn: format!("the credentials of profile \"{}\"", source.value),
                    });
                }
            }
        }
        None => KeySource::Store {
            profile: profile.to_owned(),
        },
    };
    let mut iam = service_endpoint(&files, profile, env, "iam");
    iam.region = DEFAULT_REGION.to_owned();
    Ok(IamAccess {
        profile: profile.to_owned(),
        key,
        sts: service_endpoint(&files, profile, env, "sts"),
        network: sts_network(&files, profile, env, &iam),
        iam,
        mfa_serial: settings.get("mfa_serial").map(|s| s.value.clone()),
        config: files.config.path.to_path_buf(),
    })
}

/// Where IAM is for any profile (mfad's or not) and how to reach it: what `mfad audit`
/// and `mfad policy` call with the profile's own credentials.
pub fn iam_service(profile: &str, env: &CallerEnv) -> Result<(StsEndpoint, Network), ConfigError> {
    let files = AwsFiles::load(env)?;
    let mut iam = service_endpoint(&files, profile, env, "iam");
    iam.region = DEFAULT_REGION.to_owned();
    Ok((iam.clone(), sts_network(&files, profile, env, &iam)))
}

/// What a console sign-in needs of a profile (`mfad login`).
#[derive(Debug, Clone)]
pub struct LoginTarget {
    /// The role the profile assumes; without one the sign-in is as the IAM user.
    pub role_arn: Option<String>,
    /// The role's or the MFA device's ARN, which names the partition.
    pub arn: Option<String>,
    pub region: Option<String>,
    /// How the sign-in endpoint (always HTTPS) is reached.
    pub network: Network,
}

pub fn login_target(profile: &str, env: &CallerEnv) -> Result<LoginTarget, ConfigError> {
    let files = AwsFiles::load(env)?;
    let settings = files.known_profile(profile)?;
    let setting = |key: &str| settings.get(key).map(|s| s.value.clone());
    let role_arn = setting("mfad_role_arn");
    Ok(LoginTarget {
        arn: role_arn.clone().or_else(|| setting("mfa_serial")),
        role_arn,
        region: region(&settings, env),
        network: network(&settings, env, true),
    })
}

/// The region of a profile's calls: the caller's `AWS_REGION`, `AWS_DEFAULT_REGION`, then
/// the profile's `region`, as in the SDKs.
fn region(settings: &BTreeMap<String, Setting>, env: &CallerEnv) -> Option<String> {
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .or_else(|| settings.get("region").map(|s| s.value.clone()))
}

/// The proxy and CA bundle for a profile's STS (or IAM) calls.
fn sts_network(files: &AwsFiles, profile: &str, env: &CallerEnv, sts: &StsEndpoint) -> Network {
    let https = !sts
        .url
        .as_deref()
        .is_some_and(|url| url.to_ascii_lowercase().starts_with("http://"));
    network(&files.profile(profile).unwrap_or_default(), env, https)
}

/// The proxy (for the scheme) and the CA bundle, `AWS_CA_BUNDLE` before `ca_bundle`.
fn network(settings: &BTreeMap<String, Setting>, env: &CallerEnv, https: bool) -> Network {
    let ca_bundle = settings
        .get("ca_bundle")
        .map(|s| crate::paths::expand_home(env, &s.value));
    Network::resolve(env, ca_bundle, https)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new(config: &str, credentials: &str) -> Self {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join("config"), config).unwrap();
            fs::write(dir.path().join("credentials"), credentials).unwrap();
            Self { dir }
        }

        fn env(&self, extra: &[(&str, &str)]) -> CallerEnv {
            let mut env = CallerEnv::default();
            let path = |name: &str| self.dir.path().join(name).display().to_string();
            env.insert("AWS_CONFIG_FILE".into(), path("config"));
            env.insert("AWS_SHARED_CREDENTIALS_FILE".into(), path("credentials"));
            for (k, v) in extra {
                env.insert(k.to_string(), v.to_string());
            }
            env
        }
    }

    const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

    fn resolve_session(profile: &str, env: &CallerEnv) -> Result<SessionPlan, ConfigError> {
        resolve(profile, env).map(|plan| plan.credentials.session().unwrap().clone())
    }

    fn role_of(plan: &ProfilePlan) -> &RolePlan {
        match &plan.credentials {
            CredentialPlan::Role(role) => role,
            _ => panic!("expected a role"),
        }
    }

    #[test]
    fn a_plain_profile_uses_its_store_entry_and_defaults() {
        let files = Files::new(&format!("[profile dev]\nmfa_serial = {SERIAL}\n"), "");
        let plan = resolve_session("dev", &files.env(&[])).unwrap();
        assert!(matches!(plan.key, KeySource::Store { ref profile } if profile == "dev"));
        assert_eq!(plan.mfa_serial, SERIAL);
        assert_eq!(plan.duration, DEFAULT_SESSION_DURATION);
        assert_eq!(plan.sts.region, "us-east-1");
        assert_eq!(plan.sts.url, None);
    }

    #[test]
    fn source_profile_with_static_keys_supplies_the_key() {
        let files = Files::new(
            &format!(
                "[profile dev]\nmfa_serial = {SERIAL}\nmfad_source_profile = base\nmfad_session_duration = 1h30m\nmfa_process = echo 1\n"
            ),
            "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s3cr3t\n",
        );
        let plan = resolve_session("dev", &files.env(&[])).unwrap();
        let KeySource::Static { profile, key } = plan.key else {
            panic!("expected static keys")
        };
        assert_eq!(profile, "base");
        assert_eq!(key.access_key_id, "AKIABASE");
        assert_eq!(plan.duration, Duration::from_secs(5400));
        assert_eq!(plan.mfa_process.as_deref(), Some("echo 1"));
    }

    #[test]
    fn endpoint_and_region_follow_sdk_precedence() {
        let config = format!(
            "[profile dev]\nmfa_serial = {SERIAL}\nregion = eu-west-1\nendpoint_url = http://profile\nservices = local\n[services local]\nsts =\n  endpoint_url = http://services\n"
        );
        let files = Files::new(&config, "");
        let resolve =
            |extra: &[(&str, &str)]| resolve_session("dev", &files.env(extra)).unwrap().sts;
        assert_eq!(resolve(&[]).url.as_deref(), Some("http://services"));
        assert_eq!(resolve(&[]).region, "eu-west-1");
        let env_url = resolve(&[
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_REGION", "ap-south-1"),
        ]);
        assert_eq!(env_url.url.as_deref(), Some("http://all"));
        assert_eq!(env_url.region, "ap-south-1");
        let sts_url = resolve(&[
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_ENDPOINT_URL_STS", "http://sts"),
        ]);
        assert_eq!(sts_url.url.as_deref(), Some("http://sts"));
        assert_eq!(
            resolve(&[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]).url,
            None
        );
        assert_eq!(
            resolve(&[("AWS_DEFAULT_REGION", "us-west-2")]).region,
            "us-west-2"
        );
    }

    #[test]
    fn errors_name_the_file_line_or_profile() {
        let files = Files::new("[profile dev]\nmfa_serial\n", "");
        let err = resolve_session("dev", &files.env(&[])).unwrap_err();
        assert!(err.to_string().contains("config, line 2"), "{err}");

        let files = Files::new(&format!("[profile dev]\nmfa_serial = {SERIAL}\n"), "");
        let err = resolve_session("prod", &files.env(&[])).unwrap_err();
        assert!(err.to_string().contains("no profile \"prod\""), "{err}");
        assert!(err.remedy().contains("[profile prod]"));

        let files = Files::new("[profile dev]\nregion = x\n", "");
        let err = resolve_session("dev", &files.env(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::MissingSerial { .. }));
    }

    #[test]
    fn security_keys_are_refused_with_a_remedy() {
        let files = Files::new(
            "[profile dev]\nmfa_serial = arn:aws:iam::123456789012:u2f/user/alice/key-ABC\n",
            "",
        );
        let err = resolve_session("dev", &files.env(&[])).unwrap_err();
        assert!(err.to_string().contains("security key"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(err.remedy().contains("virtual (TOTP)"));
    }

    #[test]
    fn durations_are_checked_and_root_is_capped() {
        for (value, ok) in [
            ("900", true),
            ("36h", true),
            ("899", false),
            ("37h", false),
            ("soon", false),
        ] {
            let files = Files::new(
                &format!("[profile dev]\nmfa_serial = {SERIAL}\nmfad_session_duration = {value}\n"),
                "",
            );
            let result = resolve_session("dev", &files.env(&[]));
            assert_eq!(result.is_ok(), ok, "{value}");
            if let Err(err) = result {
                assert!(err.to_string().contains("line 3"), "{err}");
                assert!(err.remedy().contains("900 to 129600"));
            }
        }
        let files = Files::new(
            "[profile root]\nmfa_serial = arn:aws:iam::123456789012:mfa/root-account-mfa-device\n",
            "",
        );
        let plan = resolve_session("root", &files.env(&[])).unwrap();
        assert_eq!(plan.duration, ROOT_MAX_DURATION);
        assert!(plan.note.unwrap().contains("at most 1h"));
    }

    #[test]
    fn source_loops_are_named() {
        let files = Files::new(
            "[profile a]\nmfad_source_profile = b\n[profile b]\nmfad_source_profile = a\n",
            "",
        );
        let err = resolve_session("a", &files.env(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mfad_source_profile goes round in a loop: a -> b -> a"
        );
    }

    #[test]
    fn roles_build_on_the_session_of_their_source() {
        let files = Files::new(
            &format!(
                "[profile dev]\nmfa_serial = {SERIAL}\n\n[profile admin]\nmfad_source_profile = dev\nmfad_role_arn = arn:aws:iam::1:role/admin\nmfad_external_id = ext\nregion = eu-west-1\n\n[profile audit]\nmfad_source_profile = admin\nmfad_role_arn = arn:aws:iam::2:role/audit\nmfad_role_session_name = me\nmfad_role_duration = 30m\n"
            ),
            "",
        );
        let admin = resolve("admin", &files.env(&[])).unwrap();
        let role = role_of(&admin);
        assert_eq!(role.role_arn, "arn:aws:iam::1:role/admin");
        assert_eq!(role.session_name, "mfad-admin");
        assert_eq!(role.external_id.as_deref(), Some("ext"));
        assert_eq!(role.duration, CHAINED_ROLE_MAX_DURATION);
        assert_eq!(role.sts.region, "eu-west-1");
        assert_eq!(admin.region.as_deref(), Some("eu-west-1"));
        assert!(
            matches!(admin.credentials.session().unwrap().key, KeySource::Store { ref profile } if profile == "dev")
        );

        let audit = resolve("audit", &files.env(&[])).unwrap();
        let role = role_of(&audit);
        assert_eq!(role.session_name, "me");
        assert_eq!(role.duration, Duration::from_secs(1800));
        assert!(
            matches!(&*role.source, CredentialPlan::Role(inner) if inner.role_arn.ends_with("admin"))
        );
        assert_eq!(audit.credentials.session().unwrap().mfa_serial, SERIAL);
    }

    #[test]
    fn a_role_on_its_own_key_and_the_one_hour_cap() {
        let files = Files::new(
            &format!(
                "[profile ops]\nmfa_serial = {SERIAL}\nmfad_role_arn = arn:aws:iam::1:role/ops\nmfad_role_duration = 8h\n[profile bad]\nmfa_serial = {SERIAL}\nmfad_role_arn = arn:aws:iam::1:role/ops\nmfad_role_duration = 13h\n"
            ),
            "",
        );
        let ops = resolve("ops", &files.env(&[])).unwrap();
        let role = role_of(&ops);
        assert_eq!(role.duration, CHAINED_ROLE_MAX_DURATION);
        assert!(
            role.note
                .as_ref()
                .unwrap()
                .contains("at most 1h (role chaining); asked for 8h")
        );
        assert!(
            matches!(ops.credentials.session().unwrap().key, KeySource::Store { ref profile } if profile == "ops")
        );
        let err = resolve("bad", &files.env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("mfad_role_duration = 13h"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("outside what AssumeRole allows (900 to 43200)"),
            "{err}"
        );
    }

    #[test]
    fn write_profile_names_a_section_of_the_credentials_file() {
        let files = Files::new(
            &format!(
                "[profile dev]\nmfa_serial = {SERIAL}\nmfad_write_profile = dev-mfa\n[profile self]\nmfa_serial = {SERIAL}\nmfad_write_profile = self\n"
            ),
            "",
        );
        let env = files.env(&[]);
        let target = resolve("dev", &env).unwrap().write_profile.unwrap();
        assert_eq!(target.section, "dev-mfa");
        assert_eq!(target.path, credentials_path(&env));
        let err = resolve("self", &env).unwrap_err();
        assert!(
            err.to_string().contains("names the profile itself"),
            "{err}"
        );
    }

    #[test]
    fn default_profile_and_credentials_file_sections() {
        let files = Files::new(
            &format!("[default]\nmfa_serial = {SERIAL}\nregion = eu-north-1\n"),
            "[default]\nregion = eu-central-1\n",
        );
        let plan = resolve_session("default", &files.env(&[])).unwrap();
        assert_eq!(plan.sts.region, "eu-central-1");
    }
}
