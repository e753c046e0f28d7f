//! How one caller's STS calls reach STS: the CA bundle and the proxy.
//!
//! Both come from the caller's forwarded environment and profile, the way the AWS CLI reads
//! them, never from the daemon's own environment: the daemon serves many shells, and the one
//! behind a corporate proxy must not decide for the others.

use crate::failure::{Explain, FailureKind};
use crate::vocab::CallerEnv;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Connector, tls::rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpClient, SharedHttpClient};
use aws_smithy_runtime_api::client::http::{HttpConnectorSettings, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use rustls::pki_types::{CertificateDer, pem::PemObject};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The network settings of a profile's STS calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    /// `AWS_CA_BUNDLE`, else the profile's `ca_bundle`: then only these certificates are
    /// trusted, as with the AWS CLI.
    pub ca_bundle: Option<PathBuf>,
    /// The proxy for the endpoint's scheme.
    pub proxy: Option<ProxyUrl>,
    /// `NO_PROXY`: hosts reached without the proxy.
    pub no_proxy: Option<String>,
}

/// A proxy URL. It may carry a user name and password, so `Debug` and `Display` show only
/// where it points.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(String);

impl ProxyUrl {
    /// Scheme, host and port, without credentials.
    fn without_credentials(&self) -> String {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("http", &self.0));
        let authority = rest.split('/').next().unwrap_or(rest);
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        format!("{scheme}://{host}")
    }

    /// `text` with the proxy's password, if any, blotted out.
    fn redact(&self, text: &str) -> String {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, r)| r);
        let password = rest
            .split('/')
            .next()
            .and_then(|authority| authority.rsplit_once('@'))
            .and_then(|(userinfo, _)| userinfo.split_once(':'))
            .map(|(_, password)| password)
            .filter(|password| !password.is_empty());
        match password {
            Some(password) => text.replace(password, "***"),
            None => text.to_owned(),
        }
    }
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyUrl({})", self.without_credentials())
    }
}

impl std::fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.without_credentials())
    }
}

/// Why the network settings could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NetworkError {
    #[error("cannot use the CA bundle {path}: {reason}")]
    CaBundle { path: PathBuf, reason: String },
    #[error("cannot use the proxy {proxy}: {reason}")]
    Proxy { proxy: ProxyUrl, reason: String },
    #[error(
        "mfad sends nothing signed with a key or session to {url}: only https is used, or plain http to this machine (127.0.0.1, ::1, localhost)"
    )]
    PlainHttp { url: String },
}

impl Explain for NetworkError {
    fn kind(&self) -> FailureKind {
        FailureKind::Config
    }

    fn remedy(&self) -> String {
        match self {
            Self::CaBundle { .. } => {
                "point AWS_CA_BUNDLE (or ca_bundle in the profile) at a PEM file of CA certificates"
                    .into()
            }
            Self::Proxy { .. } => {
                "fix HTTPS_PROXY / HTTP_PROXY in the environment that runs the AWS tool".into()
            }
            Self::PlainHttp { .. } => {
                "use an https:// address in endpoint_url, AWS_ENDPOINT_URL_* or MFAD_SIGNIN_URL"
                    .into()
            }
        }
    }
}

/// Check an endpoint that receives a request signed with a key or a session (or the
/// session itself): https, or plain http only to this machine, where nothing crosses a
/// network (a local double, a test). The network may be hostile.
pub fn check_endpoint(url: &str) -> Result<(), NetworkError> {
    let refused = || NetworkError::PlainHttp {
        url: url.split(['?', '#']).next().unwrap_or(url).to_owned(),
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(refused());
    };
    if scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(refused());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_and_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_and_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host_and_port.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback { Ok(()) } else { Err(refused()) }
}

impl Network {
    /// The settings for an endpoint, from the caller's environment and the profile's
    /// `ca_bundle`. Lower-case proxy variables win over upper-case ones, as in curl and
    /// Python.
    pub fn resolve(env: &CallerEnv, profile_ca_bundle: Option<PathBuf>, https: bool) -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| env.get(*name).filter(|v| !v.trim().is_empty()))
                .map(|v| v.trim().to_owned())
        };
        let proxy = if https {
            var(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"])
        } else {
            var(&["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"])
        };
        Self {
            ca_bundle: var(&["AWS_CA_BUNDLE"])
                .map(PathBuf::from)
                .or(profile_ca_bundle),
            proxy: proxy.map(ProxyUrl),
            no_proxy: var(&["no_proxy", "NO_PROXY"]),
        }
    }

    /// An HTTP client that goes through the proxy and trusts the CA bundle.
    pub fn http_client(&self) -> Result<SharedHttpClient, NetworkError> {
        Ok(SharedHttpClient::new(CallerHttpClient {
            tls: self.tls_context()?,
            proxy: self.proxy_config()?,
        }))
    }

    /// [`Self::http_client`], with the CA bundle read off the async workers and within a
    /// time limit.
    pub async fn http_client_offloaded(&self) -> Result<SharedHttpClient, NetworkError> {
        let network = self.clone();
        let key = format!("CA bundle {:?}", network.ca_bundle);
        crate::bounded::offload(&key, crate::bounded::FILE_TIME_LIMIT, move || {
            network.http_client()
        })
        .await
        .map_err(|stalled| NetworkError::CaBundle {
            path: self.ca_bundle.clone().unwrap_or_default(),
            reason: stalled.to_string(),
        })?
    }

    /// A bare HTTPS connector through the proxy and trusting the CA bundle, for requests
    /// that are not SDK calls (the console sign-in endpoint).
    pub fn connector(
        &self,
        connect_timeout: Duration,
    ) -> Result<SharedHttpConnector, NetworkError> {
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(connect_timeout)
            .build();
        Ok(CallerHttpClient {
            tls: self.tls_context()?,
            proxy: self.proxy_config()?,
        }
        .connector(settings, None))
    }

    fn tls_context(&self) -> Result<TlsContext, NetworkError> {
        let Some(path) = &self.ca_bundle else {
            return Ok(TlsContext::default());
        };
        let trust_store = TrustStore::empty().with_pem_certificate(read_ca_bundle(path)?);
        TlsContext::builder()
            .with_trust_store(trust_store)
            .build()
            .map_err(|error| NetworkError::CaBundle {
                path: path.clone(),
                reason: error.to_string(),
            })
    }

    fn proxy_config(&self) -> Result<ProxyConfig, NetworkError> {
        let Some(url) = &self.proxy else {
            return Ok(ProxyConfig::disabled());
        };
        let with_scheme = if url.0.contains("://") {
            url.0.clone()
        } else {
            format!("http://{}", url.0)
        };
        let config =
            ProxyConfig::all(with_scheme.as_str()).map_err(|error| NetworkError::Proxy {
                proxy: url.clone(),
                reason: url.redact(&error.to_string()),
            })?;
        Ok(match &self.no_proxy {
            Some(rules) => config.no_proxy(rules),
            None => config,
        })
    }

    /// An error text with the proxy's password blotted out.
    pub fn redact(&self, text: &str) -> String {
        match &self.proxy {
            Some(proxy) => proxy.redact(text),
            None => text.to_owned(),
        }
    }
}

/// The PEM file's bytes, checked: the HTTP client panics on a certificate it cannot parse.
fn read_ca_bundle(path: &Path) -> Result<Vec<u8>, NetworkError> {
    let failed = |reason: String| NetworkError::CaBundle {
        path: path.to_owned(),
        reason,
    };
    let pem = crate::bounded::read_bytes(path, crate::bounded::MAX_FILE_BYTES)
        .map_err(|error| failed(error.to_string()))?
        .ok_or_else(|| failed("it does not exist".into()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| failed(format!("not a PEM file ({error})")))?;
    if certificates.is_empty() {
        return Err(failed("it holds no certificate".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for (index, certificate) in certificates.into_iter().enumerate() {
        roots
            .add(certificate)
            .map_err(|error| failed(format!("certificate {} is invalid ({error})", index + 1)))?;
    }
    Ok(pem)
}

/// The SDK's HTTP client with a caller's trust store and proxy.
#[derive(Debug)]
struct CallerHttpClient {
    tls: TlsContext,
    proxy: ProxyConfig,
}

impl HttpClient for CallerHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector(settings.clone(), components.sleep_impl())
    }
}

impl CallerHttpClient {
    fn connector(
        &self,
        settings: HttpConnectorSettings,
        sleep: Option<aws_sdk_sts::config::SharedAsyncSleep>,
    ) -> SharedHttpConnector {
        let mut builder = Connector::builder()
            .connector_settings(settings)
            .proxy_config(self.proxy.clone());
        if let Some(sleep) = sleep {
            builder = builder.sleep_impl(sleep);
        }
        let connector = builder
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(self.tls.clone())
            .build();
        SharedHttpConnector::new(connector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Explain;

    #[test]
    fn sessions_go_over_https_or_to_this_machine_only() {
        for good in [
            "https://sts.amazonaws.com",
            "HTTPS://sts.example:8443/x",
            "http://127.0.0.1:4566",
            "http://127.9.9.9/",
            "http://[::1]:8080/federation",
            "http://localhost:4566",
            "http://user:pw@localhost/",
        ] {
            assert!(check_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "http://sts.example",
            "http://10.0.0.1:4566",
            "http://127.0.0.1.evil.example/",
            "http://localhost@evil.example/",
            "ftp://127.0.0.1/",
            "sts.amazonaws.com",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
        let said = check_endpoint("http://signin.example/federation?SigninToken=x")
            .unwrap_err()
            .to_string();
        assert!(said.contains("http://signin.example/federation:"), "{said}");
        assert!(!said.contains("SigninToken"), "{said}");
    }

    #[test]
    fn the_proxy_follows_the_endpoint_scheme_and_lower_case_wins() {
        let vars = CallerEnv::of(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
            ("HTTP_PROXY", "http://plain:3"),
        ]);
        let https = Network::resolve(&vars, None, true);
        assert_eq!(https.proxy.unwrap().to_string(), "http://lower:2");
        let http = Network::resolve(&vars, None, false);
        assert_eq!(http.proxy.unwrap().to_string(), "http://plain:3");
        let all = Network::resolve(&CallerEnv::of(&[("ALL_PROXY", "http://all:4")]), None, true);
        assert_eq!(all.proxy.unwrap().to_string(), "http://all:4");
    }

    #[test]
    fn the_environment_bundle_wins_over_the_profile() {
        let profile = Some(PathBuf::from("/profile.pem"));
        let from_env = Network::resolve(
            &CallerEnv::of(&[("AWS_CA_BUNDLE", "/env.pem")]),
            profile.clone(),
            true,
        );
        assert_eq!(from_env.ca_bundle, Some(PathBuf::from("/env.pem")));
        let from_profile = Network::resolve(&CallerEnv::of(&[]), profile, true);
        assert_eq!(from_profile.ca_bundle, Some(PathBuf::from("/profile.pem")));
    }

    #[test]
    fn proxy_credentials_never_show() {
        let url = ProxyUrl("http://alice:s3cr3t@proxy.corp:3128/".into());
        assert_eq!(url.to_string(), "http://proxy.corp:3128");
        assert!(!format!("{url:?}").contains("s3cr3t"));
        assert_eq!(url.redact("failed near s3cr3t"), "failed near ***");
        let network = Network {
            proxy: Some(url),
            ..Network::default()
        };
        assert!(!format!("{network:?}").contains("s3cr3t"));
        let caller = CallerEnv::of(&[("HTTPS_PROXY", "http://alice:s3cr3t@proxy.corp:3128")]);
        assert_eq!(format!("{caller:?}"), r#"{"HTTPS_PROXY"}"#);
    }

    #[test]
    fn a_bad_proxy_url_is_named_without_its_password() {
        let network = Network {
            proxy: Some(ProxyUrl("http://alice:s3cr3t@bad host:3128".into())),
            ..Network::default()
        };
        let error = network.http_client().unwrap_err();
        let text = format!("{error}; {}", error.remedy());
        assert!(
            text.contains("cannot use the proxy http://bad host:3128"),
            "{text}"
        );
        assert!(text.contains("HTTPS_PROXY"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        let bare = Network {
            proxy: Some(ProxyUrl("proxy.corp:3128".into())),
            ..Network::default()
        };
        assert!(
            bare.http_client().is_ok(),
            "a proxy without a scheme is http://"
        );
    }

    #[test]
    fn a_bad_ca_bundle_is_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = read_ca_bundle(&missing).unwrap_err().to_string();
        assert!(error.contains("missing.pem"), "{error}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = read_ca_bundle(&empty).unwrap_err().to_string();
        assert!(error.contains("holds no certificate"), "{error}");
        let garbled = dir.path().join("garbled.pem");
        std::fs::write(
            &garbled,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let error = read_ca_bundle(&garbled).unwrap_err().to_string();
        assert!(error.contains("certificate 1 is invalid"), "{error}");
    }
}
