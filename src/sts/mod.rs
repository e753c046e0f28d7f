//! The only place that calls AWS STS (through aws-sdk-sts), behind the [`Sts`] trait so
//! that the daemon's renewal logic can be tested against a double in virtual time.
//!
//! Calls that carry an MFA code run with the SDK's retries off: STS accepts a code once,
//! and a retried request would present it a second time and fail as if it were wrong. The
//! renewal logic retries a transient fault itself, with a fresh code. Calls without a code
//! retry in the SDK's standard mode.

mod clock;
mod error;

use clock::DateRecorder;
pub use clock::StsClock;
pub use error::StsError;
use error::classify;

use crate::config::{RoleOptions, StsEndpoint};
use crate::network::Network;
use crate::settings::StsTimeouts;
use crate::store::LongTermKey;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Temporary credentials from STS. `Debug` hides the secrets.
#[derive(Debug, Clone)]
pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    pub expiration: SystemTime,
}

/// Where and how one STS call goes.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub endpoint: &'a StsEndpoint,
    pub network: &'a Network,
    pub clock: &'a Arc<StsClock>,
    pub timeouts: StsTimeouts,
}

/// An STS client for one call. Its HTTP client reads the caller's CA bundle, which is
/// done off the async workers and within a time limit.
async fn client(
    route: Route<'_>,
    credentials: Credentials,
    retry: RetryConfig,
) -> Result<aws_sdk_sts::Client, StsError> {
    let http_client = route.network.http_client_offloaded().await?;
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(route.endpoint.region.clone()))
        .http_client(http_client)
        .credentials_provider(credentials)
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(route.timeouts.connect)
                .operation_timeout(route.timeouts.call)
                .build(),
        )
        .interceptor(DateRecorder(route.clock.clone()));
    if let Some(url) = &route.endpoint.url {
        crate::network::check_endpoint(url)?;
        config = config.endpoint_url(url);
    }
    Ok(aws_sdk_sts::Client::from_conf(config.build()))
}

/// A boxed future, as trait objects return them.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The STS actions mfad uses.
pub trait Sts: Send + Sync {
    /// `sts:GetSessionToken` with the long-term key, the MFA serial and one code.
    fn get_session_token<'a>(
        &'a self,
        route: Route<'a>,
        key: &'a LongTermKey,
        serial: &'a str,
        code: &'a SecretString,
        duration: Duration,
    ) -> BoxFuture<'a, Result<TemporaryCredentials, StsError>>;

    /// `sts:AssumeRole` signed with temporary credentials (an MFA session, or a role).
    fn assume_role<'a>(
        &'a self,
        route: Route<'a>,
        source: &'a TemporaryCredentials,
        role: &'a RoleRequest<'a>,
    ) -> BoxFuture<'a, Result<TemporaryCredentials, StsError>>;
}

/// AWS STS itself, through the SDK.
#[derive(Debug, Default)]
pub struct AwsSts;

impl Sts for AwsSts {
    fn get_session_token<'a>(
        &'a self,
        route: Route<'a>,
        key: &'a LongTermKey,
        serial: &'a str,
        code: &'a SecretString,
        duration: Duration,
    ) -> BoxFuture<'a, Result<TemporaryCredentials, StsError>> {
        Box::pin(async move {
            let output = client(route, key.sdk_credentials(), RetryConfig::disabled())
                .await?
                .get_session_token()
                .serial_number(serial)
                .token_code(code.expose_secret())
                .duration_seconds(duration.as_secs() as i32)
                .send()
                .await
                .map_err(|e| classify(e, route, serial, &key.access_key_id))?;
            let credentials = output.credentials.ok_or_else(|| StsError::Refused {
                code: "EmptyResponse".into(),
                message: "GetSessionToken returned no credentials".into(),
            })?;
            temporary(credentials)
        })
    }

    /// No code is sent with AssumeRole, so the SDK retries as it does for any call.
    fn assume_role<'a>(
        &'a self,
        route: Route<'a>,
        source: &'a TemporaryCredentials,
        role: &'a RoleRequest<'a>,
    ) -> BoxFuture<'a, Result<TemporaryCredentials, StsError>> {
        Box::pin(async move {
            let credentials = Credentials::new(
                source.access_key_id.clone(),
                source.secret_access_key.expose_secret().to_owned(),
                Some(source.session_token.expose_secret().to_owned()),
                Some(source.expiration),
                "mfad-session",
            );
            let output = client(route, credentials, RetryConfig::standard())
                .await?
                .assume_role()
                .role_arn(role.role_arn)
                .role_session_name(role.session_name)
                .set_external_id(role.external_id.map(str::to_owned))
                .set_source_identity(role.options.source_identity.clone())
                .set_tags(session_tags(role.options)?)
                .set_transitive_tag_keys(
                    Some(role.options.transitive_tag_keys.clone()).filter(|k| !k.is_empty()),
                )
                .duration_seconds(role.duration.as_secs() as i32)
                .send()
                .await
                .map_err(|e| classify(e, route, "", &source.access_key_id))?;
            let credentials = output.credentials.ok_or_else(|| StsError::Refused {
                code: "EmptyResponse".into(),
                message: "AssumeRole returned no credentials".into(),
            })?;
            temporary(credentials)
        })
    }
}

/// `sts:GetCallerIdentity` with a long-term key: the ARN it belongs to. `mfad rotate`
/// proves a new key with it (the daemon's renewals go through [`Sts`]).
pub async fn caller_identity(route: Route<'_>, key: &LongTermKey) -> Result<String, StsError> {
    let output = client(route, key.sdk_credentials(), RetryConfig::standard())
        .await?
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify(e, route, "", &key.access_key_id))?;
    output.arn.ok_or_else(|| StsError::Refused {
        code: "EmptyResponse".into(),
        message: "GetCallerIdentity returned no ARN".into(),
    })
}

/// Allows everything the user may do: a federated user's permissions are those of the
/// IAM user cut down to the policy passed, and without one it may do nothing.
const FEDERATION_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// `sts:GetFederationToken` with a long-term key, for a console sign-in (`mfad login`).
/// It cannot be called with an MFA session, so what it returns carries no MFA.
pub async fn federation_token(
    route: Route<'_>,
    key: &LongTermKey,
    name: &str,
) -> Result<TemporaryCredentials, StsError> {
    let output = client(route, key.sdk_credentials(), RetryConfig::standard())
        .await?
        .get_federation_token()
        .name(name)
        .policy(FEDERATION_POLICY)
        .send()
        .await
        .map_err(|e| classify(e, route, "", &key.access_key_id))?;
    output
        .credentials
        .ok_or_else(|| StsError::Refused {
            code: "EmptyResponse".into(),
            message: "GetFederationToken returned no credentials".into(),
        })
        .and_then(temporary)
}

/// The role a session assumes.
#[derive(Debug, Clone)]
pub struct RoleRequest<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub external_id: Option<&'a str>,
    pub options: &'a RoleOptions,
    pub duration: Duration,
}

fn session_tags(options: &RoleOptions) -> Result<Option<Vec<aws_sdk_sts::types::Tag>>, StsError> {
    if options.session_tags.is_empty() {
        return Ok(None);
    }
    options
        .session_tags
        .iter()
        .map(|(key, value)| {
            aws_sdk_sts::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| StsError::Refused {
                    code: "InvalidTag".into(),
                    message: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn temporary(
    credentials: aws_sdk_sts::types::Credentials,
) -> Result<TemporaryCredentials, StsError> {
    let expiration =
        SystemTime::try_from(credentials.expiration).map_err(|_| StsError::Refused {
            code: "BadExpiration".into(),
            message: "STS returned an expiration that cannot be read".into(),
        })?;
    Ok(TemporaryCredentials {
        access_key_id: credentials.access_key_id,
        secret_access_key: SecretString::from(credentials.secret_access_key),
        session_token: SecretString::from(credentials.session_token),
        expiration,
    })
}
