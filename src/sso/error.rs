//! What went wrong with a call to Identity Center, in a person's words.

use super::Route;
use crate::failure::{Explain, FailureKind};
use crate::network::NetworkError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SsoError {
    /// The person has not finished the device authorization yet (poll again).
    #[error("the sign-in is not finished yet")]
    AuthorizationPending,
    /// Poll less often.
    #[error("Identity Center asks to poll more slowly")]
    SlowDown,
    /// The token, device code or refresh token is no longer valid.
    #[error("Identity Center says the sign-in expired ({action})")]
    Expired { action: &'static str },
    /// A refresh token or authorization code refused (revoked, used, not this client's).
    #[error("Identity Center refused the grant ({action}: {message})")]
    InvalidGrant {
        action: &'static str,
        message: String,
    },
    /// The access token is not (or no longer) accepted by the portal.
    #[error("Identity Center does not accept the sign-in's token any more ({action})")]
    Unauthorized { action: &'static str },
    /// The registration is unknown or expired.
    #[error("Identity Center does not know mfad's client registration ({action})")]
    InvalidClient { action: &'static str },
    #[error("Identity Center refused {action}: {code}: {message}")]
    Refused {
        action: &'static str,
        code: String,
        message: String,
    },
    #[error("Identity Center is throttling requests ({action})")]
    Throttled { action: &'static str },
    #[error("Identity Center failed ({action}: HTTP {status})")]
    ServerError { action: &'static str, status: u16 },
    #[error("could not reach Identity Center at {endpoint} ({reason})")]
    Unreachable { endpoint: String, reason: String },
    #[error("{action} answered without {field}")]
    Empty {
        action: &'static str,
        field: &'static str,
    },
    /// A listing that never ends: the portal answered every page with a next one.
    #[error("{action} still had more after {pages} pages")]
    TooManyPages { action: &'static str, pages: usize },
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl SsoError {
    pub(super) fn empty(action: &'static str, field: &'static str) -> Self {
        Self::Empty { action, field }
    }

    /// Whether the sign-in behind a token is over: only a person signing in again helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            Self::Expired { .. } | Self::InvalidGrant { .. } | Self::Unauthorized { .. }
        )
    }

    pub(super) fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
        error: SdkError<E, HttpResponse>,
        action: &'static str,
        route: Route<'_>,
    ) -> Self {
        match error {
            SdkError::ServiceError(context) => {
                let status = context.raw().status().as_u16();
                let code = context.err().code().unwrap_or("Unknown").to_owned();
                let message = context.err().message().unwrap_or("").trim().to_owned();
                match code.as_str() {
                    "AuthorizationPendingException" => Self::AuthorizationPending,
                    "SlowDownException" => Self::SlowDown,
                    "ExpiredTokenException" => Self::Expired { action },
                    "InvalidGrantException" => Self::InvalidGrant { action, message },
                    "UnauthorizedException" => Self::Unauthorized { action },
                    "InvalidClientException" | "UnauthorizedClientException" => {
                        Self::InvalidClient { action }
                    }
                    "TooManyRequestsException" | "ThrottlingException" => {
                        Self::Throttled { action }
                    }
                    _ if status >= 500 => Self::ServerError { action, status },
                    _ if status == 401 => Self::Unauthorized { action },
                    _ => Self::Refused {
                        action,
                        code,
                        message,
                    },
                }
            }
            other => Self::Unreachable {
                endpoint: route.session.region.clone(),
                reason: route.network.redact(&crate::failure::in_words(&other)),
            },
        }
    }
}

impl Explain for SsoError {
    fn kind(&self) -> FailureKind {
        match self {
            Self::Network(_) => FailureKind::Config,
            Self::Throttled { .. } | Self::ServerError { .. } | Self::Unreachable { .. } => {
                FailureKind::StsUnavailable
            }
            _ => FailureKind::Sts,
        }
    }

    fn remedy(&self) -> String {
        match self {
            Self::Expired { .. } | Self::InvalidGrant { .. } | Self::Unauthorized { .. } => {
                "sign in again: `mfad sso login SESSION` (or run the command in a terminal or on a desktop, where mfad opens the sign-in itself)".into()
            }
            Self::InvalidClient { .. } => "sign in again: mfad registers anew".into(),
            Self::Throttled { .. } | Self::ServerError { .. } => {
                "Identity Center had a problem; try again in a moment".into()
            }
            Self::Unreachable { .. } => {
                "check the network, proxy and AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC"
                    .into()
            }
            Self::Network(error) => error.remedy(),
            Self::Refused { .. } | Self::Empty { .. } => {
                "check the sso-session's start URL and region, and that the role is assigned to you".into()
            }
            Self::AuthorizationPending | Self::SlowDown => "finish the sign-in in the browser".into(),
            Self::TooManyPages { .. } => {
                "the portal kept paging; check the sso-session's start URL and AWS_ENDPOINT_URL_SSO (a proxy or a wrong endpoint answering?), then try again".into()
            }
        }
    }
}
