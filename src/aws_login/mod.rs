//! The only place that calls the AWS sign-in service behind `aws login`: CreateOAuth2Token
//! through aws-sdk-signin, each request carrying a DPoP proof signed with the session's
//! own key, as the SDKs send it. What the cache file holds is [`cache`]; when to refresh,
//! and the file's lock, are the daemon's.

pub mod cache;
pub mod dpop;
mod error;

pub use cache::LoginCache;
pub use error::{LoginError, OfProfile};

use crate::config::AwsLoginSession;
use crate::network::Network;
use aws_sdk_signin::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_signin::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_signin::error::ProvideErrorMetadata;
use aws_sdk_signin::operation::create_o_auth2_token::CreateOAuth2TokenError;
use aws_sdk_signin::types::{CreateOAuth2TokenRequestBody, OAuth2ErrorCode};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use p256::SecretKey;
use secrecy::SecretString;
use std::time::{Duration, SystemTime};

/// One call's bounds.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how calls for one login session go.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub session: &'a AwsLoginSession,
    pub network: &'a Network,
}

impl Route<'_> {
    /// The sign-in service's endpoint: the override, else the region's.
    pub fn endpoint(&self) -> String {
        self.session
            .url
            .clone()
            .unwrap_or_else(|| format!("https://{}.signin.aws.amazon.com", self.session.region))
    }
}

/// Refresh the session: CreateOAuth2Token with the refresh grant. The answer is the cache
/// as it should now be written: new credentials, the rotated refresh token, the rest
/// kept.
pub async fn refresh(
    route: Route<'_>,
    cached: &LoginCache,
    now: SystemTime,
) -> Result<LoginCache, LoginError> {
    let key = dpop::key(&cached.dpop_key)?;
    let body = CreateOAuth2TokenRequestBody::builder()
        .client_id(&cached.client_id)
        .grant_type("refresh_token")
        .refresh_token(&cached.refresh_token)
        .build()
        .expect("all required fields set");
    let answer = client(route, key)
        .await?
        .create_o_auth2_token()
        .token_input(body)
        .send()
        .await
        .map_err(|error| classify(error, route))?;
    let output = answer
        .token_output
        .ok_or(LoginError::Empty("tokenOutput"))?;
    let access = output
        .access_token()
        .ok_or(LoginError::Empty("accessToken"))?;
    let expires_in = u64::try_from(output.expires_in()).unwrap_or(0);
    let expiration = now + Duration::from_secs(expires_in);
    let credentials = crate::sts::TemporaryCredentials {
        access_key_id: access.access_key_id().to_owned(),
        secret_access_key: SecretString::from(access.secret_access_key().to_owned()),
        session_token: SecretString::from(access.session_token().to_owned()),
        expiration,
    };
    Ok(cached.refreshed(&credentials, output.refresh_token(), expiration))
}

async fn client(route: Route<'_>, key: SecretKey) -> Result<aws_sdk_signin::Client, LoginError> {
    let endpoint = route.endpoint();
    crate::network::check_endpoint(&endpoint)?;
    let config = aws_sdk_signin::Config::builder()
        .behavior_version(aws_sdk_signin::config::BehaviorVersion::latest())
        .region(aws_sdk_signin::config::Region::new(
            route.session.region.clone(),
        ))
        .http_client(route.network.http_client_offloaded().await?)
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_timeout(CALL_TIMEOUT)
                .build(),
        )
        .endpoint_url(endpoint)
        .interceptor(DpopProof(key))
        .build();
    Ok(aws_sdk_signin::Client::from_conf(config))
}

/// Puts a fresh DPoP proof on every attempt of a request (a retry is a new proof: the
/// service refuses a `jti` it has seen).
struct DpopProof(SecretKey);

impl std::fmt::Debug for DpopProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DpopProof")
    }
}

impl Intercept for DpopProof {
    fn name(&self) -> &'static str {
        "mfad::DpopProof"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request_mut();
        let proof = dpop::proof(&self.0, request.uri(), SystemTime::now())?;
        request.headers_mut().insert("DPoP", proof);
        Ok(())
    }
}

fn classify(
    error: SdkError<CreateOAuth2TokenError, aws_smithy_runtime_api::http::Response>,
    route: Route<'_>,
) -> LoginError {
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            match context.err() {
                CreateOAuth2TokenError::AccessDeniedException(denied) => match &denied.error {
                    OAuth2ErrorCode::UserCredentialsChanged => LoginError::CredentialsChanged,
                    OAuth2ErrorCode::InsufficientPermissions => LoginError::InsufficientPermissions,
                    code => LoginError::Expired {
                        code: code.as_str().to_owned(),
                    },
                },
                CreateOAuth2TokenError::TooManyRequestsError(_) => LoginError::Throttled,
                _ if status >= 500 => LoginError::ServerError { status },
                other => LoginError::Refused {
                    code: other.code().unwrap_or("Unknown").to_owned(),
                    message: other.message().unwrap_or("").trim().to_owned(),
                },
            }
        }
        other => LoginError::Unreachable {
            endpoint: route.endpoint(),
            reason: route.network.redact(&crate::failure::in_words(&other)),
        },
    }
}
