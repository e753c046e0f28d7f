//! What went wrong with an STS call, in a person's words, and what it means for the code
//! that was sent with it.

use super::Route;
use crate::failure::{Explain, FailureKind};
use crate::network::NetworkError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

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

impl Explain for StsError {
    fn kind(&self) -> FailureKind {
        if self.is_local_setting() {
            FailureKind::Config
        } else if self.is_outage() {
            FailureKind::StsUnavailable
        } else if matches!(self, Self::CodeRejected) {
            FailureKind::CodeRejected
        } else {
            FailureKind::Sts
        }
    }

    fn remedy(&self) -> String {
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
}

impl StsError {
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

/// Turn an SDK error into what it means for a person.
pub(super) fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
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
