//! The IAM wing: the only place that calls AWS IAM (through aws-sdk-iam). The commands
//! (`mfa`, `audit`, `policy`, `rotate`) decide what to call and in what order; this module
//! makes each call and says in words what a refusal means. One submodule per kind of
//! thing: MFA devices, access keys, managed policies, and the account-wide reads of an
//! audit; beside them [`audit`] (the credential report judged, no calls), [`enforce`] (the
//! enforce-MFA policy and whether one applies to a user) and [`signin`] (the console
//! sign-in URL through the federation endpoint).
//!
//! All calls run with the SDK's retries off: a retried request would present the same
//! MFA codes again, and the commands say what to do about throttling themselves.

mod account;
pub mod audit;
mod devices;
pub mod enforce;
mod keys;
mod policies;
pub mod signin;

pub use account::{AccountSummary, ReportState};
pub use devices::{Device, NewDevice};
pub use keys::AccessKeyInfo;
pub use policies::PolicyVersionInfo;

use crate::config::StsEndpoint;
use crate::failure::{Explain, FailureKind};
use crate::network::{Network, NetworkError};
use crate::store::LongTermKey;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use secrecy::ExposeSecret;
use std::time::Duration;

/// How long one IAM call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, thiserror::Error)]
pub enum IamError {
    #[error("IAM refused {action}: {message}")]
    Denied {
        action: &'static str,
        message: String,
    },
    #[error("AWS did not accept the two codes for {serial}")]
    CodesRejected { serial: String },
    #[error("the user already has as many MFA devices as AWS allows ({message})")]
    DeviceLimit { message: String },
    #[error("an MFA device named {name} already exists in the account")]
    NameTaken { name: String },
    #[error("the key of this profile belongs to {arn}, not to an IAM user")]
    NotAUser { arn: String },
    #[error("IAM is throttling requests ({message})")]
    Throttled { message: String },
    #[error("IAM answered {code} to {action}: {message}")]
    Refused {
        action: &'static str,
        code: String,
        message: String,
    },
    #[error("could not reach IAM at {endpoint} ({reason})")]
    Unreachable { endpoint: String, reason: String },
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl Explain for IamError {
    fn kind(&self) -> FailureKind {
        FailureKind::Iam
    }

    fn remedy(&self) -> String {
        match self {
            Self::Denied { action, .. } => format!(
                "the user needs iam:{action}; an enforce-MFA policy allows only self-service actions (set up a device, change a password) without an MFA session"
            ),
            Self::CodesRejected { .. } => {
                "the codes must be two consecutive ones, the second the current: wait for a new code and type it and the one after it".into()
            }
            Self::DeviceLimit { .. } => {
                "remove one first, in the console or with `aws iam deactivate-mfa-device` and `aws iam delete-virtual-mfa-device` (AWS allows 8 per user)".into()
            }
            Self::NameTaken { .. } => "choose another name with --device-name".into(),
            Self::NotAUser { .. } => {
                "MFA devices belong to IAM users: use a profile whose key is an IAM user's (the root user's MFA is set up in the console)".into()
            }
            Self::Throttled { .. } => "wait a minute and run the command again".into(),
            Self::Refused { .. } => "check the profile's key and the IAM policy of the user".into(),
            Self::Unreachable { .. } => {
                "check the network, proxy and endpoint_url / AWS_ENDPOINT_URL_IAM".into()
            }
            Self::Network(error) => error.remedy(),
        }
    }
}

/// The IAM user behind a long-term key.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub arn: String,
}

impl User {
    /// The account id, from the ARN.
    pub fn account(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or("")
    }
}

/// IAM for one key, at one endpoint.
pub struct Iam {
    client: aws_sdk_iam::Client,
    endpoint: String,
    network: Network,
}

impl Iam {
    /// IAM signed with a long-term key.
    pub async fn with_key(
        endpoint: &StsEndpoint,
        network: &Network,
        key: &LongTermKey,
    ) -> Result<Self, IamError> {
        Self::new(endpoint, network, key.sdk_credentials()).await
    }

    /// IAM signed with an MFA session the daemon handed out (what an enforce-MFA policy
    /// asks for everything beyond self-service).
    pub async fn with_session(
        endpoint: &StsEndpoint,
        network: &Network,
        session: &crate::protocol::Credentials,
    ) -> Result<Self, IamError> {
        let credentials = Credentials::new(
            session.access_key_id.clone(),
            session.secret_access_key.expose_secret().to_owned(),
            Some(session.session_token.expose_secret().to_owned()),
            None,
            "mfad-mfa-session",
        );
        Self::new(endpoint, network, credentials).await
    }

    /// IAM signed with any credentials: a session, or what a profile's provider gave.
    pub async fn new(
        endpoint: &StsEndpoint,
        network: &Network,
        credentials: Credentials,
    ) -> Result<Self, IamError> {
        let mut config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(endpoint.region.clone()))
            .http_client(network.http_client_offloaded().await?)
            .credentials_provider(credentials)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_timeout(CALL_TIMEOUT)
                    .build(),
            );
        if let Some(url) = &endpoint.url {
            crate::network::check_endpoint(url)?;
            config = config.endpoint_url(url);
        }
        Ok(Self {
            client: aws_sdk_iam::Client::from_conf(config.build()),
            endpoint: endpoint
                .url
                .clone()
                .unwrap_or_else(|| "iam.amazonaws.com".into()),
            network: network.clone(),
        })
    }

    /// The IAM user whose key signs the calls.
    pub async fn user(&self) -> Result<User, IamError> {
        let output = self
            .client
            .get_user()
            .send()
            .await
            .map_err(|e| self.classify("GetUser", e))?;
        let user = output.user.ok_or_else(|| empty("GetUser", "user"))?;
        if !user.arn.contains(":user/") {
            return Err(IamError::NotAUser { arn: user.arn });
        }
        Ok(User {
            name: user.user_name,
            arn: user.arn,
        })
    }

    /// Turn an SDK error of a call that carried two codes into what it means.
    fn classify_codes<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        action: &'static str,
        serial: &str,
        error: SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
    ) -> IamError {
        match self.classify(action, error) {
            IamError::Refused { code, .. } if code == "InvalidAuthenticationCode" => {
                IamError::CodesRejected {
                    serial: serial.into(),
                }
            }
            other => other,
        }
    }

    /// Turn an SDK error into what it means for a person.
    fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        action: &'static str,
        error: SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
    ) -> IamError {
        match error {
            SdkError::ServiceError(context) => {
                let code = context.err().code().unwrap_or("Unknown").to_owned();
                let message = context.err().message().unwrap_or("").trim().to_owned();
                match code.as_str() {
                    "AccessDenied" | "AccessDeniedException" => {
                        IamError::Denied { action, message }
                    }
                    "LimitExceeded" => IamError::DeviceLimit { message },
                    "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
                        IamError::Throttled { message }
                    }
                    _ => IamError::Refused {
                        action,
                        code,
                        message,
                    },
                }
            }
            SdkError::TimeoutError(_) => IamError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: format!("no answer within {}s", CALL_TIMEOUT.as_secs()),
            },
            other => IamError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: self.network.redact(&crate::failure::in_words(&other)),
            },
        }
    }
}

/// An answer without the part the call is for.
fn empty(action: &'static str, what: &str) -> IamError {
    IamError::Refused {
        action,
        code: "EmptyResponse".into(),
        message: format!("no {what} in the answer"),
    }
}

/// A time as IAM gave it, RFC 3339 ("" when absent).
fn rfc3339(time: Option<&aws_smithy_types::DateTime>) -> String {
    time.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .unwrap_or_default()
}
