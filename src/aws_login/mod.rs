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
use crate::sts::TemporaryCredentials;
use aws_sdk_signin::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_signin::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_signin::error::ProvideErrorMetadata;
use aws_sdk_signin::operation::create_o_auth2_token::CreateOAuth2TokenError;
use aws_sdk_signin::types::{
    CreateOAuth2TokenRequestBody, CreateOAuth2TokenResponseBody, OAuth2ErrorCode,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use p256::SecretKey;
use secrecy::SecretString;
use std::time::{Duration, SystemTime};

/// One call's bounds.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The client a person signs in with on this machine (the browser comes back to a
/// loopback port), and the one for a browser elsewhere (the person pastes a code).
pub const SAME_DEVICE_CLIENT: &str = "arn:aws:signin:::devtools/same-device";
pub const CROSS_DEVICE_CLIENT: &str = "arn:aws:signin:::devtools/cross-device";
/// Where a browser elsewhere is sent back to: a page that shows the person a code.
pub const CONFIRMATION_PATH: &str = "/v1/sessions/confirmation";

/// Where and how calls to the sign-in service go.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub region: &'a str,
    /// An endpoint override (`AWS_ENDPOINT_URL_SIGNIN` and the like).
    pub url: Option<&'a str>,
    pub network: &'a Network,
}

impl<'a> Route<'a> {
    /// Where a login session is refreshed.
    pub fn of(session: &'a AwsLoginSession, network: &'a Network) -> Self {
        Self {
            region: &session.region,
            url: session.url.as_deref(),
            network,
        }
    }

    /// The sign-in service's endpoint: the override, else the region's.
    pub fn endpoint(&self) -> String {
        match self.url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}.signin.aws.amazon.com", self.region),
        }
    }
}

/// The page that asks the person to sign in and let `client_id` act for them (PKCE with
/// SHA-256: only the challenge travels), coming back to `redirect_uri` with a code.
pub fn authorize_url(
    route: Route<'_>,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let encode = |value: &str| utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
    format!(
        "{}/v1/authorize?response_type=code&client_id={}&state={}&code_challenge_method=SHA-256&scope=openid&redirect_uri={}&code_challenge={}",
        route.endpoint(),
        encode(client_id),
        encode(state),
        encode(redirect_uri),
        encode(challenge)
    )
}

/// The code and `state` in what the confirmation page shows the person (base64 of
/// `state=…&code=…`); `None` if it is not that.
pub fn parse_verification_code(text: &str) -> Option<(SecretString, String)> {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())?;
    let (mut code, mut state) = (None, None);
    for pair in decoded.split('&') {
        let (key, value) = pair.split_once('=')?;
        let value = percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .ok()?
            .into_owned();
        match key {
            "code" => code = Some(SecretString::from(value)),
            "state" => state = Some(value),
            _ => {}
        }
    }
    Some((code?, state?))
}

/// A sign-in just made: its cache, and the identity it signed in (the `login_session`).
#[derive(Debug)]
pub struct SignedIn {
    pub cache: LoginCache,
    pub login_session: String,
}

/// Exchange the code the browser came back with for the session's tokens
/// (CreateOAuth2Token, the authorization-code grant with the PKCE verifier), bound to the
/// fresh DPoP key `key_pem`.
pub async fn exchange_code(
    route: Route<'_>,
    client_id: &str,
    code: &SecretString,
    verifier: &SecretString,
    redirect_uri: &str,
    key_pem: &str,
    now: SystemTime,
) -> Result<SignedIn, LoginError> {
    use secrecy::ExposeSecret;
    let key = dpop::key(key_pem)?;
    let body = CreateOAuth2TokenRequestBody::builder()
        .client_id(client_id)
        .grant_type("authorization_code")
        .code(code.expose_secret())
        .code_verifier(verifier.expose_secret())
        .redirect_uri(redirect_uri)
        .build()
        .expect("all required fields set");
    let (output, credentials) = create_token(route, key, body, now).await?;
    let id_token = output.id_token().ok_or(LoginError::Empty("idToken"))?;
    let login_session = subject(id_token)?;
    let account_id = login_session
        .split(':')
        .nth(4)
        .filter(|account| account.len() == 12)
        .ok_or_else(|| {
            LoginError::BadAnswer(format!(
                "the signed-in identity {login_session} is not an ARN with an account"
            ))
        })?
        .to_owned();
    let cache = LoginCache {
        access_token: cache::AccessToken::of(&credentials, account_id),
        token_type: Some(output.token_type().to_owned()),
        refresh_token: output.refresh_token().to_owned(),
        id_token: Some(id_token.to_owned()),
        client_id: client_id.to_owned(),
        dpop_key: key_pem.to_owned(),
        other: serde_json::Map::new(),
    };
    Ok(SignedIn {
        cache,
        login_session,
    })
}

/// The `sub` of the ID token: the ARN of the identity signed in. (The token came straight
/// from the sign-in service over TLS; its claims are read, not verified.)
fn subject(id_token: &str) -> Result<String, LoginError> {
    use base64::Engine;
    let payload = id_token
        .split('.')
        .nth(1)
        .and_then(|part| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .ok_or_else(|| LoginError::BadAnswer("the ID token is not a JWT".into()))?;
    payload["sub"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| LoginError::BadAnswer("the ID token names no subject".into()))
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
    let (output, credentials) = create_token(route, key, body, now).await?;
    Ok(cached.refreshed(&credentials, output.refresh_token()))
}

/// CreateOAuth2Token with `body`, each attempt with a proof signed by `key`: the answer,
/// and the credentials in it (valid from `now` for the lifetime it gives).
async fn create_token(
    route: Route<'_>,
    key: SecretKey,
    body: CreateOAuth2TokenRequestBody,
    now: SystemTime,
) -> Result<(CreateOAuth2TokenResponseBody, TemporaryCredentials), LoginError> {
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
    let credentials = TemporaryCredentials {
        access_key_id: access.access_key_id().to_owned(),
        secret_access_key: SecretString::from(access.secret_access_key().to_owned()),
        session_token: SecretString::from(access.session_token().to_owned()),
        expiration: now + Duration::from_secs(expires_in),
    };
    Ok((output, credentials))
}

async fn client(route: Route<'_>, key: SecretKey) -> Result<aws_sdk_signin::Client, LoginError> {
    let endpoint = route.endpoint();
    crate::network::check_endpoint(&endpoint)?;
    let config = aws_sdk_signin::Config::builder()
        .behavior_version(aws_sdk_signin::config::BehaviorVersion::latest())
        .region(aws_sdk_signin::config::Region::new(route.region.to_owned()))
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
