//! The only place that calls IAM Identity Center: sso-oidc (the client registration, the
//! device authorization, CreateToken with its three grants) and the portal
//! (GetRoleCredentials, ListAccounts, ListAccountRoles, Logout), through the AWS SDK
//! crates, behind the [`Sso`] trait so that the daemon's token logic can be tested in
//! virtual time. What to call when, and how a person signs in, is the daemon's.

pub mod cache;
mod error;

pub use error::SsoError;

use crate::config::SsoSession;
use crate::network::Network;
use crate::sts::{BoxFuture, TemporaryCredentials};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The name mfad registers its client under.
const CLIENT_NAME: &str = "mfad";
/// Where the browser sends the person back: any port of the loopback (RFC 8252).
pub const REDIRECT_PATH: &str = "/oauth/callback";
/// One call's bounds.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The grants of a registration, by the flow it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flow {
    /// Authorization code with PKCE, the browser coming back to a loopback redirect.
    Browser,
    /// The device flow.
    Device,
}

/// mfad's client registration with an sso-session's OIDC service.
#[derive(Debug, Clone)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: SecretString,
    /// When AWS forgets it (`registrationExpiresAt`); kept until then.
    pub expires_at: u64,
    pub flow: Flow,
}

/// A device authorization under way.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: SecretString,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    /// How long to wait between polls.
    pub interval: Duration,
}

/// An access token of an sso-session, with what renews it.
#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Seconds since the epoch.
    pub expires_at: u64,
}

/// What CreateToken is asked with.
#[derive(Debug)]
pub enum Grant<'a> {
    AuthorizationCode {
        code: &'a SecretString,
        verifier: &'a SecretString,
        redirect_uri: &'a str,
    },
    DeviceCode(&'a SecretString),
    RefreshToken(&'a SecretString),
}

/// An account, and the roles of it the person may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    pub name: String,
}

/// Where and how one call to an sso-session's services goes.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub session: &'a SsoSession,
    pub network: &'a Network,
}

impl Route<'_> {
    /// The OIDC endpoint, where the browser is sent to authorize too.
    pub fn oidc_endpoint(&self) -> String {
        self.session
            .oidc_url
            .clone()
            .unwrap_or_else(|| format!("https://oidc.{}.amazonaws.com", self.session.region))
    }

    fn portal_endpoint(&self) -> String {
        self.session
            .portal_url
            .clone()
            .unwrap_or_else(|| format!("https://portal.sso.{}.amazonaws.com", self.session.region))
    }
}

/// The URL that asks the person, in the browser, to let mfad's registration act for them
/// (PKCE with S256: only the `challenge` of the verifier travels).
pub fn authorize_url(
    route: Route<'_>,
    registration: &Registration,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let encode = |value: &str| utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
    let scopes = route.session.scopes.join(" ");
    format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&state={}&code_challenge_method=S256&code_challenge={}&scopes={}",
        route.oidc_endpoint().trim_end_matches('/'),
        encode(&registration.client_id),
        encode(redirect_uri),
        encode(state),
        encode(challenge),
        encode(&scopes)
    )
}

/// The calls mfad makes to Identity Center.
pub trait Sso: Send + Sync {
    fn register<'a>(
        &'a self,
        route: Route<'a>,
        flow: Flow,
    ) -> BoxFuture<'a, Result<Registration, SsoError>>;

    fn start_device_authorization<'a>(
        &'a self,
        route: Route<'a>,
        registration: &'a Registration,
    ) -> BoxFuture<'a, Result<DeviceAuthorization, SsoError>>;

    fn create_token<'a>(
        &'a self,
        route: Route<'a>,
        registration: &'a Registration,
        grant: Grant<'a>,
    ) -> BoxFuture<'a, Result<Token, SsoError>>;

    fn role_credentials<'a>(
        &'a self,
        route: Route<'a>,
        token: &'a SecretString,
        account_id: &'a str,
        role_name: &'a str,
    ) -> BoxFuture<'a, Result<TemporaryCredentials, SsoError>>;
}

/// Identity Center itself.
#[derive(Debug, Default)]
pub struct AwsSso;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn oidc_client(route: Route<'_>) -> Result<aws_sdk_ssooidc::Client, SsoError> {
    let endpoint = route.oidc_endpoint();
    crate::network::check_endpoint(&endpoint)?;
    let config = aws_sdk_ssooidc::Config::builder()
        .behavior_version(aws_sdk_ssooidc::config::BehaviorVersion::latest())
        .region(aws_sdk_ssooidc::config::Region::new(
            route.session.region.clone(),
        ))
        .http_client(route.network.http_client_offloaded().await?)
        .retry_config(RetryConfig::standard())
        .timeout_config(timeouts())
        .endpoint_url(endpoint)
        .build();
    Ok(aws_sdk_ssooidc::Client::from_conf(config))
}

async fn portal_client(route: Route<'_>) -> Result<aws_sdk_sso::Client, SsoError> {
    let endpoint = route.portal_endpoint();
    crate::network::check_endpoint(&endpoint)?;
    let config = aws_sdk_sso::Config::builder()
        .behavior_version(aws_sdk_sso::config::BehaviorVersion::latest())
        .region(aws_sdk_sso::config::Region::new(
            route.session.region.clone(),
        ))
        .http_client(route.network.http_client_offloaded().await?)
        .retry_config(RetryConfig::standard())
        .timeout_config(timeouts())
        .endpoint_url(endpoint)
        .build();
    Ok(aws_sdk_sso::Client::from_conf(config))
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(CALL_TIMEOUT)
        .build()
}

impl Sso for AwsSso {
    fn register<'a>(
        &'a self,
        route: Route<'a>,
        flow: Flow,
    ) -> BoxFuture<'a, Result<Registration, SsoError>> {
        Box::pin(async move {
            let grants = match flow {
                Flow::Browser => vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
                Flow::Device => vec![
                    "urn:ietf:params:oauth:grant-type:device_code".to_owned(),
                    "refresh_token".to_owned(),
                ],
            };
            let mut call = oidc_client(route)
                .await?
                .register_client()
                .client_name(CLIENT_NAME)
                .client_type("public")
                .set_grant_types(Some(grants));
            if !route.session.legacy {
                call = call
                    .set_scopes(Some(route.session.scopes.clone()))
                    .issuer_url(&route.session.start_url);
            }
            if flow == Flow::Browser {
                call = call.redirect_uris(format!("http://127.0.0.1{REDIRECT_PATH}"));
            }
            let output = call
                .send()
                .await
                .map_err(|e| SsoError::classify(e, "RegisterClient", route))?;
            Ok(Registration {
                client_id: output
                    .client_id
                    .ok_or_else(|| SsoError::empty("RegisterClient", "clientId"))?,
                client_secret: SecretString::from(
                    output
                        .client_secret
                        .ok_or_else(|| SsoError::empty("RegisterClient", "clientSecret"))?,
                ),
                expires_at: u64::try_from(output.client_secret_expires_at).unwrap_or(0),
                flow,
            })
        })
    }

    fn start_device_authorization<'a>(
        &'a self,
        route: Route<'a>,
        registration: &'a Registration,
    ) -> BoxFuture<'a, Result<DeviceAuthorization, SsoError>> {
        Box::pin(async move {
            let output = oidc_client(route)
                .await?
                .start_device_authorization()
                .client_id(&registration.client_id)
                .client_secret(registration.client_secret.expose_secret())
                .start_url(&route.session.start_url)
                .send()
                .await
                .map_err(|e| SsoError::classify(e, "StartDeviceAuthorization", route))?;
            let seconds = |value: i32| Duration::from_secs(u64::try_from(value).unwrap_or(0));
            Ok(DeviceAuthorization {
                device_code: SecretString::from(
                    output
                        .device_code
                        .ok_or_else(|| SsoError::empty("StartDeviceAuthorization", "deviceCode"))?,
                ),
                user_code: output.user_code.unwrap_or_default(),
                verification_uri: output.verification_uri.unwrap_or_default(),
                verification_uri_complete: output.verification_uri_complete,
                expires_in: seconds(output.expires_in).max(Duration::from_secs(60)),
                interval: seconds(output.interval).max(Duration::from_secs(1)),
            })
        })
    }

    fn create_token<'a>(
        &'a self,
        route: Route<'a>,
        registration: &'a Registration,
        grant: Grant<'a>,
    ) -> BoxFuture<'a, Result<Token, SsoError>> {
        Box::pin(async move {
            let call = oidc_client(route)
                .await?
                .create_token()
                .client_id(&registration.client_id)
                .client_secret(registration.client_secret.expose_secret());
            let call = match &grant {
                Grant::AuthorizationCode {
                    code,
                    verifier,
                    redirect_uri,
                } => call
                    .grant_type("authorization_code")
                    .code(code.expose_secret())
                    .code_verifier(verifier.expose_secret())
                    .redirect_uri(*redirect_uri),
                Grant::DeviceCode(device_code) => call
                    .grant_type("urn:ietf:params:oauth:grant-type:device_code")
                    .device_code(device_code.expose_secret()),
                Grant::RefreshToken(refresh_token) => call
                    .grant_type("refresh_token")
                    .refresh_token(refresh_token.expose_secret()),
            };
            let output = call
                .send()
                .await
                .map_err(|e| SsoError::classify(e, "CreateToken", route))?;
            Ok(Token {
                access_token: SecretString::from(
                    output
                        .access_token
                        .ok_or_else(|| SsoError::empty("CreateToken", "accessToken"))?,
                ),
                refresh_token: output.refresh_token.map(SecretString::from),
                expires_at: unix_now() + u64::try_from(output.expires_in).unwrap_or(0),
            })
        })
    }

    fn role_credentials<'a>(
        &'a self,
        route: Route<'a>,
        token: &'a SecretString,
        account_id: &'a str,
        role_name: &'a str,
    ) -> BoxFuture<'a, Result<TemporaryCredentials, SsoError>> {
        Box::pin(async move {
            let output = portal_client(route)
                .await?
                .get_role_credentials()
                .access_token(token.expose_secret())
                .account_id(account_id)
                .role_name(role_name)
                .send()
                .await
                .map_err(|e| SsoError::classify(e, "GetRoleCredentials", route))?;
            let credentials = output
                .role_credentials
                .ok_or_else(|| SsoError::empty("GetRoleCredentials", "roleCredentials"))?;
            let expiration = UNIX_EPOCH
                + Duration::from_millis(u64::try_from(credentials.expiration).unwrap_or(0));
            Ok(TemporaryCredentials {
                access_key_id: credentials
                    .access_key_id
                    .ok_or_else(|| SsoError::empty("GetRoleCredentials", "accessKeyId"))?,
                secret_access_key: SecretString::from(
                    credentials
                        .secret_access_key
                        .ok_or_else(|| SsoError::empty("GetRoleCredentials", "secretAccessKey"))?,
                ),
                session_token: SecretString::from(
                    credentials
                        .session_token
                        .ok_or_else(|| SsoError::empty("GetRoleCredentials", "sessionToken"))?,
                ),
                expiration,
            })
        })
    }
}

/// Pages of accounts, or of an account's roles, followed at most: 100 per page is ten
/// times the largest organization Identity Center serves by default. A portal that still
/// pages after this is answered with a named error, not followed for ever.
pub const MAX_PAGES: usize = 1000;

/// The accounts a token's person may sign in to, every page of them.
pub async fn accounts(route: Route<'_>, token: &SecretString) -> Result<Vec<Account>, SsoError> {
    let client = portal_client(route).await?;
    let mut accounts = Vec::new();
    let mut next = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .list_accounts()
            .access_token(token.expose_secret())
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| SsoError::classify(e, "ListAccounts", route))?;
        accounts.extend(
            page.account_list
                .unwrap_or_default()
                .into_iter()
                .map(|a| Account {
                    account_id: a.account_id.unwrap_or_default(),
                    name: a.account_name.unwrap_or_default(),
                }),
        );
        next = page.next_token;
        if next.is_none() {
            return Ok(accounts);
        }
    }
    Err(SsoError::TooManyPages {
        action: "ListAccounts",
        pages: MAX_PAGES,
    })
}

/// The roles a token's person may take in an account, every page of them.
pub async fn account_roles(
    route: Route<'_>,
    token: &SecretString,
    account_id: &str,
) -> Result<Vec<String>, SsoError> {
    let client = portal_client(route).await?;
    let mut roles = Vec::new();
    let mut next = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .list_account_roles()
            .access_token(token.expose_secret())
            .account_id(account_id)
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| SsoError::classify(e, "ListAccountRoles", route))?;
        roles.extend(
            page.role_list
                .unwrap_or_default()
                .into_iter()
                .filter_map(|role| role.role_name),
        );
        next = page.next_token;
        if next.is_none() {
            return Ok(roles);
        }
    }
    Err(SsoError::TooManyPages {
        action: "ListAccountRoles",
        pages: MAX_PAGES,
    })
}

/// End the sign-in of a token at the portal (its refresh token stops working too).
pub async fn logout(route: Route<'_>, token: &SecretString) -> Result<(), SsoError> {
    portal_client(route)
        .await?
        .logout()
        .access_token(token.expose_secret())
        .send()
        .await
        .map_err(|e| SsoError::classify(e, "Logout", route))?;
    Ok(())
}

/// The sso-session `corp` the unit tests of the Identity Center wing share.
#[cfg(test)]
pub fn test_session() -> SsoSession {
    SsoSession {
        name: "corp".into(),
        start_url: "https://corp.awsapps.com/start".into(),
        region: "us-east-1".into(),
        scopes: vec![],
        oidc_url: None,
        portal_url: None,
        legacy: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_is_built_on_the_resolved_oidc_endpoint() {
        let session = SsoSession {
            name: "corp".into(),
            start_url: "https://corp.awsapps.com/start".into(),
            region: "eu-central-1".into(),
            scopes: vec!["sso:account:access".into()],
            oidc_url: None,
            portal_url: None,
            legacy: false,
        };
        let network = Network::default();
        let route = Route {
            session: &session,
            network: &network,
        };
        let registration = Registration {
            client_id: "client/1".into(),
            client_secret: SecretString::from("s".to_owned()),
            expires_at: 0,
            flow: Flow::Browser,
        };
        let url = authorize_url(
            route,
            &registration,
            "http://127.0.0.1:4321/oauth/callback",
            "st",
            "ch",
        );
        assert!(url.starts_with("https://oidc.eu-central-1.amazonaws.com/authorize?response_type=code&client_id=client%2F1&redirect_uri=http%3A%2F%2F127%2E0%2E0%2E1%3A4321%2Foauth%2Fcallback&state=st&code_challenge_method=S256&code_challenge=ch&scopes=sso%3Aaccount%3Aaccess"), "{url}");
        let moved = SsoSession {
            oidc_url: Some("http://127.0.0.1:9/oidc/".into()),
            ..session.clone()
        };
        let route = Route {
            session: &moved,
            network: &network,
        };
        assert!(
            authorize_url(route, &registration, "r", "s", "c")
                .starts_with("http://127.0.0.1:9/oidc/authorize?")
        );
    }
}
