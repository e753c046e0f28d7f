//! What resolving a profile gives: the plan of how its credentials are obtained (an MFA
//! session, a role on one, another helper's output) and where its calls go. Plain data,
//! made by [`super::resolve`] and read by the daemon.

use super::RoleOptions;
use crate::network::Network;
use crate::store::LongTermKey;
use std::path::PathBuf;
use std::time::Duration;

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
    /// A role of an IAM Identity Center account, through its sso-session's sign-in.
    Sso(SsoPlan),
    /// An `aws login` browser sign-in, served from its cache and refreshed.
    AwsLogin(AwsLoginPlan),
}

impl CredentialPlan {
    /// The MFA session at the root of the chain, if the credentials come from one.
    pub fn session(&self) -> Option<&SessionPlan> {
        match self {
            Self::Session(session) => Some(session),
            Self::Role(role) => role.source.session(),
            Self::Wrapped(_) | Self::Sso(_) | Self::AwsLogin(_) => None,
        }
    }
}

/// How a person signs in to an sso-session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFlow {
    /// Authorization code with PKCE in a browser on the caller's desktop (else the device
    /// flow).
    Browser,
    /// The device flow: a code typed into a browser anywhere.
    Device,
}

/// An sso-session: where its sign-in happens. Its token is shared by every profile of it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SsoSession {
    /// The `[sso-session NAME]`; for a legacy profile, its start URL.
    pub name: String,
    pub start_url: String,
    pub region: String,
    pub scopes: Vec<String>,
    /// `AWS_ENDPOINT_URL_SSO_OIDC` and the like; `None`: the regional endpoint.
    pub oidc_url: Option<String>,
    /// `AWS_ENDPOINT_URL_SSO` and the like; `None`: the regional portal.
    pub portal_url: Option<String>,
    /// A legacy profile (`sso_start_url` in the profile): no registration scopes.
    pub legacy: bool,
}

/// A role in an account, through an sso-session.
#[derive(Debug, Clone)]
pub struct SsoPlan {
    /// The profile whose settings define it.
    pub profile: String,
    pub session: SsoSession,
    pub account_id: String,
    pub role_name: String,
    pub flow: SsoFlow,
    /// How Identity Center is reached from the caller (its proxy and CA bundle).
    pub network: Network,
}

/// An `aws login` session: the cache the CLI keeps for it and where it is refreshed.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct AwsLoginSession {
    /// The login profile's `login_session`: the ARN of the identity signed in.
    pub login_session: String,
    /// `<AWS_LOGIN_CACHE_DIRECTORY or ~/.aws/login/cache>/<SHA-256 of the ARN>.json`.
    pub cache_file: PathBuf,
    /// The sign-in service's region.
    pub region: String,
    /// `AWS_ENDPOINT_URL_SIGNIN` and the like; `None`: the regional endpoint.
    pub url: Option<String>,
    /// The cache is in mfad's secret store, not in `cache_file` (`mfad_login_store =
    /// true`, written by `mfad aws-login --store`): only mfad serves it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_store: bool,
}

/// A profile served from an `aws login` sign-in (`mfad_login_profile`).
#[derive(Debug, Clone)]
pub struct AwsLoginPlan {
    /// The profile whose settings define it.
    pub profile: String,
    /// The profile `aws login` signs in to (`mfad_login_profile`).
    pub login_profile: String,
    pub session: AwsLoginSession,
    /// How the sign-in service is reached from the caller (its proxy and CA bundle).
    pub network: Network,
}

/// Where a person signs in with `mfad aws-login PROFILE`.
#[derive(Debug, Clone)]
pub struct AwsLoginTarget {
    pub profile: String,
    /// The config file that gets `login_session` and `region`.
    pub config: PathBuf,
    pub cache_directory: PathBuf,
    pub region: String,
    /// Whether the profile has no `region` yet (the sign-in's is then written).
    pub region_missing: bool,
    pub url: Option<String>,
    pub network: Network,
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
