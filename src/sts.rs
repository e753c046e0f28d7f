//! The only place that calls AWS STS (through aws-sdk-sts), behind the [`Sts`] trait so
//! that the daemon's renewal logic can be tested against a double in virtual time.
//!
//! Calls that carry an MFA code run with the SDK's retries off: STS accepts a code once,
//! and a retried request would present it a second time and fail as if it were wrong. The
//! renewal logic retries a transient fault itself, with a fresh code. Calls without a code
//! retry in the SDK's standard mode.

use crate::config::{RoleOptions, StsEndpoint};
use crate::network::{Network, NetworkError};
use crate::settings::StsTimeouts;
use crate::store::LongTermKey;
use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sts::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Temporary credentials from STS. `Debug` hides the secrets.
#[derive(Debug, Clone)]
pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    pub expiration: SystemTime,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StsError {
    /// A wrong code, or one already used in its window: STS says the same for both.
    #[error("AWS rejected the MFA code")]
    CodeRejected,
    #[error("AWS could not validate MFA serial {serial} for this user")]
    BadSerial { serial: String },
    #[error("AWS refused the long-term access key {key_id} ({code})")]
    BadKey { key_id: String, code: String },
    #[error("STS is throttling requests ({message})")]
    Throttled { message: String },
    #[error("STS answered {code}: {message}")]
    Refused { code: String, message: String },
    #[error("STS failed (HTTP {status}, {code})")]
    ServerError { status: u16, code: String },
    #[error("could not reach STS at {endpoint} ({reason})")]
    Unreachable {
        endpoint: String,
        reason: String,
        /// Whether a connection was made, so that the request may have reached STS.
        connected: bool,
    },
    #[error("STS at {endpoint} did not answer in time")]
    TimedOut { endpoint: String },
    #[error("STS at {endpoint} showed a certificate this machine does not trust ({reason})")]
    UntrustedCertificate { endpoint: String, reason: String },
    #[error("the proxy refused to open a tunnel to STS at {endpoint} ({reason})")]
    ProxyRefused { endpoint: String, reason: String },
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl StsError {
    pub fn remedy(&self) -> String {
        match self {
            Self::CodeRejected => "wait for the next code and try again".into(),
            Self::BadSerial { .. } => {
                "check mfa_serial: it must be the ARN of an MFA device assigned to this IAM user".into()
            }
            Self::BadKey { .. } => {
                "the long-term key is wrong, inactive or deleted: store a valid one with `mfad add PROFILE`".into()
            }
            Self::Throttled { .. } => "wait a minute and try again".into(),
            Self::Refused { .. } => "check the profile's settings and the IAM policy of the user".into(),
            Self::ServerError { .. } => "STS had a problem; try again in a moment".into(),
            Self::UntrustedCertificate { .. } => {
                "set AWS_CA_BUNDLE (or ca_bundle in the profile) to the PEM file of the CA that signed it".into()
            }
            Self::Unreachable { .. } | Self::TimedOut { .. } => {
                "check the network, proxy and endpoint_url / AWS_ENDPOINT_URL_STS".into()
            }
            Self::ProxyRefused { .. } => {
                "check the user and password in HTTPS_PROXY, and that the proxy lets you reach this endpoint".into()
            }
            Self::Network(error) => error.remedy(),
        }
    }

    /// Whether a code sent with the failed call may have reached STS, and so cannot be
    /// sent again. A call that never got a connection left its code unspent.
    pub fn code_spent(&self) -> bool {
        !matches!(
            self,
            Self::Network(_)
                | Self::UntrustedCertificate { .. }
                | Self::ProxyRefused { .. }
                | Self::Unreachable {
                    connected: false,
                    ..
                }
        )
    }

    /// Whether the caller's own network settings (CA bundle, proxy) are at fault.
    pub fn is_local_setting(&self) -> bool {
        matches!(
            self,
            Self::Network(_) | Self::UntrustedCertificate { .. } | Self::ProxyRefused { .. }
        )
    }

    /// Whether STS failed on its side in a way that passes (throttling, a 5xx): the same
    /// call a moment later may well succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::ServerError { .. })
    }

    /// Whether STS was never reached or failed on its side (as opposed to refusing us).
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. }
                | Self::ServerError { .. }
                | Self::Unreachable { .. }
                | Self::TimedOut { .. }
        )
    }
}

/// How far STS's clock is from ours, measured from the `Date` header of its answers.
/// Derived TOTP codes are computed at STS's time, so a skewed local clock does not break
/// them.
#[derive(Debug, Default)]
pub struct StsClock {
    skew_secs: Mutex<Option<i64>>,
}

impl StsClock {
    /// A difference below this is the `Date` header's resolution plus network delay.
    pub const NOISE_SECS: i64 = 3;

    pub fn record(&self, server_date: SystemTime, received_at: SystemTime) {
        let skew = match server_date.duration_since(received_at) {
            Ok(ahead) => ahead.as_secs() as i64,
            Err(behind) => -(behind.duration().as_secs() as i64),
        };
        *self.skew_secs.lock().unwrap() = Some(skew);
    }

    /// The last measured skew (positive: STS is ahead of us).
    pub fn skew_secs(&self) -> Option<i64> {
        *self.skew_secs.lock().unwrap()
    }

    /// The skew worth correcting for: zero when within noise or not yet measured.
    pub fn correction_secs(&self) -> i64 {
        self.skew_secs()
            .filter(|skew| skew.abs() > Self::NOISE_SECS)
            .unwrap_or(0)
    }

    /// A local time as STS sees it, in Unix seconds.
    pub fn at_sts(&self, local: SystemTime) -> u64 {
        let local = local
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        (local + self.correction_secs()).max(0) as u64
    }
}

/// Records the `Date` of every STS answer, successful or not, into a [`StsClock`].
#[derive(Debug)]
struct DateRecorder(Arc<StsClock>);

impl Intercept for DateRecorder {
    fn name(&self) -> &'static str {
        "mfad::DateRecorder"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let received_at = SystemTime::now();
        let date = context.response().headers().get("date");
        if let Some(date) =
            date.and_then(|d| aws_smithy_types::DateTime::from_str(d, Format::HttpDate).ok())
            && let Ok(date) = SystemTime::try_from(date)
        {
            self.0.record(date, received_at);
        }
        Ok(())
    }
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

/// Turn an SDK error into what it means for a person.
fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
    route: Route<'_>,
    serial: &str,
    key_id: &str,
) -> StsError {
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or("Unknown").to_owned();
            let message = context.err().message().unwrap_or("").trim().to_owned();
            match code.as_str() {
                "AccessDenied" if message.contains("invalid MFA one time pass code") => {
                    StsError::CodeRejected
                }
                "AccessDenied" if message.contains("unable to validate MFA code") => {
                    StsError::BadSerial {
                        serial: serial.to_owned(),
                    }
                }
                "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "UnrecognizedClientException" => StsError::BadKey {
                    key_id: crate::store::short_key_id(key_id),
                    code,
                },
                "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
                    StsError::Throttled { message }
                }
                _ if status >= 500 => StsError::ServerError { status, code },
                _ => StsError::Refused { code, message },
            }
        }
        SdkError::TimeoutError(_) => StsError::TimedOut {
            endpoint: route.endpoint.to_string(),
        },
        other => {
            let reason = route.network.redact(&crate::failure::in_words(&other));
            let endpoint = route.endpoint.to_string();
            if reason.contains("invalid peer certificate") {
                StsError::UntrustedCertificate { endpoint, reason }
            } else if reason.contains("CONNECT tunnel failed") {
                StsError::ProxyRefused { endpoint, reason }
            } else {
                StsError::Unreachable {
                    endpoint,
                    reason,
                    connected: !failed_to_connect(&other),
                }
            }
        }
    }
}

/// Whether the error is hyper's "could not connect" (TCP, proxy or TLS handshake), found
/// anywhere in its chain of sources.
fn failed_to_connect(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(|e| e.is_connect())
        {
            return true;
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_below_noise_is_not_corrected() {
        let clock = StsClock::default();
        let now = SystemTime::now();
        clock.record(now + Duration::from_secs(2), now);
        assert_eq!(clock.skew_secs(), Some(2));
        assert_eq!(clock.correction_secs(), 0);
        clock.record(now - Duration::from_secs(95), now);
        assert_eq!(clock.correction_secs(), -95);
    }
}
