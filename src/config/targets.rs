//! What the commands beyond credentials need of a profile: the IAM user behind it (`mfad
//! mfa`, `mfad rotate`), where IAM is for any profile (`mfad audit`, `mfad policy`), and
//! what a console sign-in needs (`mfad login`).

use super::ConfigError;
use super::endpoints::{network, region, service_endpoint, sts_network};
use super::files::AwsFiles;
use super::files::Setting;
use super::plan::{CredentialPlan, SsoFlow, SsoPlan};
use super::plan::{DEFAULT_REGION, KeySource, StsEndpoint};
use super::resolve::{resolve, static_key};
use super::sso;
use crate::network::Network;
use crate::vocab::CallerEnv;
use std::path::PathBuf;

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

/// The sso-session `[sso-session NAME]` alone (`mfad sso login NAME`): a plan without
/// an account or role, enough to sign in and list what the person may take.
pub fn sso_session_named(name: &str, env: &CallerEnv) -> Result<SsoPlan, ConfigError> {
    let files = AwsFiles::load(env)?;
    let setting = Setting {
        value: name.to_owned(),
        path: files.config.path.clone(),
        line: 0,
    };
    Ok(SsoPlan {
        profile: format!("sso-session {name}"),
        session: sso::named_session(&files, name, &setting, env)?,
        account_id: String::new(),
        role_name: String::new(),
        flow: SsoFlow::Browser,
        network: Network::resolve(env, None, true),
    })
}

/// The sso-session a profile's credentials come from (directly, or under a role).
pub fn sso_session_of(profile: &str, env: &CallerEnv) -> Result<SsoPlan, ConfigError> {
    let mut plan = resolve(profile, env)?.credentials;
    loop {
        match plan {
            CredentialPlan::Sso(sso) => return Ok(sso),
            CredentialPlan::Role(role) => plan = *role.source,
            _ => {
                return Err(ConfigError::NotSso {
                    profile: profile.to_owned(),
                });
            }
        }
    }
}
