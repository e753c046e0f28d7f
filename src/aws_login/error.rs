//! What went wrong with an `aws login` session, in a person's words.

use crate::failure::{Explain, FailureKind};
use crate::network::NetworkError;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No cache file: nobody signed in with this login_session on this machine.
    #[error("there is no sign-in cached for {login_session} (no {path})")]
    NotSignedIn {
        login_session: String,
        path: std::path::PathBuf,
    },
    #[error("the sign-in cache cannot be read: {0}")]
    Unreadable(String),
    #[error("the sign-in cache is not what `aws login` writes: {0}")]
    BadCache(String),
    #[error("the sign-in cache cannot be written: {0}")]
    Unwritable(String),
    /// The refresh token's 12 hours are over, or it was used or revoked.
    #[error("the sign-in has expired (the sign-in service answered {code})")]
    Expired { code: String },
    #[error("the sign-in ended because the password changed")]
    CredentialsChanged,
    #[error(
        "the sign-in service refuses the refresh: the identity lacks permission for signin:CreateOAuth2Token"
    )]
    InsufficientPermissions,
    #[error("the sign-in service refused the refresh: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("the sign-in service is throttling requests")]
    Throttled,
    #[error("the sign-in service failed (HTTP {status})")]
    ServerError { status: u16 },
    #[error("could not reach the sign-in service at {endpoint} ({reason})")]
    Unreachable { endpoint: String, reason: String },
    #[error("the sign-in service answered without {0}")]
    Empty(&'static str),
    #[error("the sign-in service's answer cannot be used: {0}")]
    BadAnswer(String),
    #[error("no random numbers for the DPoP proof: {0}")]
    Random(std::io::Error),
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl LoginError {
    /// Whether only a person signing in again helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            Self::NotSignedIn { .. } | Self::Expired { .. } | Self::CredentialsChanged
        )
    }
}

impl Explain for LoginError {
    fn kind(&self) -> FailureKind {
        match self {
            Self::NotSignedIn { .. } | Self::BadCache(_) | Self::Network(_) => FailureKind::Config,
            Self::Unreadable(_) | Self::Unwritable(_) | Self::Random(_) => FailureKind::Internal,
            Self::Throttled | Self::ServerError { .. } | Self::Unreachable { .. } => {
                FailureKind::StsUnavailable
            }
            _ => FailureKind::Sts,
        }
    }

    fn remedy(&self) -> String {
        self.remedy_for("PROFILE")
    }
}

impl LoginError {
    /// What to do, naming the login profile (the one `mfad_login_profile` names).
    pub fn remedy_for(&self, login_profile: &str) -> String {
        let sign_in = format!(
            "sign in again: `aws login --profile {login_profile}` (or `mfad aws-login {login_profile}` without AWS CLI 2.32)"
        );
        match self {
            Self::NotSignedIn { .. } | Self::Expired { .. } | Self::BadCache(_) => sign_in,
            Self::CredentialsChanged => format!("{sign_in}, with the new password"),
            Self::InsufficientPermissions => {
                "allow signin:CreateOAuth2Token to the identity (the SignInLocalDevelopmentAccess managed policy has it), then sign in again".into()
            }
            Self::Unreadable(_) | Self::Unwritable(_) => {
                "check the permissions of the login cache directory (~/.aws/login/cache or AWS_LOGIN_CACHE_DIRECTORY)".into()
            }
            Self::Throttled
            | Self::ServerError { .. }
            | Self::Refused { .. }
            | Self::Empty(_)
            | Self::BadAnswer(_) => {
                "the sign-in service had a problem; try again in a moment".into()
            }
            Self::Unreachable { .. } => {
                "check the network, proxy and AWS_ENDPOINT_URL_SIGNIN".into()
            }
            Self::Random(_) => "check that /dev/urandom can be read".into(),
            Self::Network(error) => error.remedy(),
        }
    }
}

/// A login error told with the profile to sign in again with.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct OfProfile {
    pub error: LoginError,
    /// The profile `mfad_login_profile` names.
    pub login_profile: String,
}

impl Explain for OfProfile {
    fn kind(&self) -> FailureKind {
        self.error.kind()
    }

    fn remedy(&self) -> String {
        self.error.remedy_for(&self.login_profile)
    }
}
