//! The AWS console sign-in through the federation endpoint: temporary credentials become a
//! sign-in token (`getSigninToken`), and the token a login URL. The URL signs whoever opens
//! it into the account for 15 minutes, so it is handled as a secret.

use crate::failure::Failure;
use crate::messages;
use crate::network::Network;
use crate::sts::TemporaryCredentials;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::byte_stream::ByteStream;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use zeroize::Zeroize;

/// How long the sign-in endpoint may take, and the most it may answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Everything but the unreserved characters of RFC 3986 is escaped in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The AWS partitions, each with its own sign-in and console hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    China,
    GovCloud,
}

impl Partition {
    /// The partition an ARN names (`arn:aws-cn:…`), else the one of a region name.
    pub fn of(arn: Option<&str>, region: Option<&str>) -> Self {
        match arn.and_then(|arn| arn.split(':').nth(1)) {
            Some("aws-cn") => return Self::China,
            Some("aws-us-gov") => return Self::GovCloud,
            Some(_) => return Self::Aws,
            None => {}
        }
        match region {
            Some(region) if region.starts_with("cn-") => Self::China,
            Some(region) if region.starts_with("us-gov-") => Self::GovCloud,
            _ => Self::Aws,
        }
    }

    /// The federation endpoint.
    pub fn federation_url(self) -> &'static str {
        match self {
            Self::Aws => "https://signin.aws.amazon.com/federation",
            Self::China => "https://signin.amazonaws.cn/federation",
            Self::GovCloud => "https://signin.amazonaws-us-gov.com/federation",
        }
    }

    /// The console's home, in the region when one is known.
    pub fn console_url(self, region: Option<&str>) -> String {
        let host = match self {
            Self::Aws => "console.aws.amazon.com",
            Self::China => "console.amazonaws.cn",
            Self::GovCloud => "console.amazonaws-us-gov.com",
        };
        match region {
            Some(region) => format!(
                "https://{host}/console/home?region={}",
                utf8_percent_encode(region, QUERY_VALUE)
            ),
            None => format!("https://{host}/console/home"),
        }
    }
}

/// Exchange temporary credentials for a sign-in token at `federation_url`.
pub async fn signin_token(
    network: &Network,
    federation_url: &str,
    credentials: &TemporaryCredentials,
) -> Result<SecretString, Failure> {
    let mut session = serde_json::json!({
        "sessionId": credentials.access_key_id,
        "sessionKey": credentials.secret_access_key.expose_secret(),
        "sessionToken": credentials.session_token.expose_secret(),
    })
    .to_string();
    let mut url = format!(
        "{federation_url}?Action=getSigninToken&Session={}",
        utf8_percent_encode(&session, QUERY_VALUE)
    );
    session.zeroize();
    let answer = tokio::time::timeout(CALL_TIMEOUT, get(network, &url)).await;
    url.zeroize();
    let (status, mut body) =
        answer.map_err(|_| messages::signin_failed(federation_url, "no answer within 20s"))??;
    let token = if status == 200 {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|answer| answer["SigninToken"].as_str().map(SecretString::from))
    } else {
        None
    };
    body.zeroize();
    token.ok_or_else(|| {
        messages::signin_failed(
            federation_url,
            &format!("it answered {status} without a sign-in token"),
        )
    })
}

/// The URL that signs its opener into the console and lands on `destination`.
pub fn login_url(federation_url: &str, token: &SecretString, destination: &str) -> SecretString {
    SecretString::from(format!(
        "{federation_url}?Action=login&Issuer=mfad&Destination={}&SigninToken={}",
        utf8_percent_encode(destination, QUERY_VALUE),
        utf8_percent_encode(token.expose_secret(), QUERY_VALUE)
    ))
}

/// One GET through the caller's proxy and CA bundle: the status and at most
/// [`MAX_ANSWER_BYTES`] of body.
async fn get(network: &Network, url: &str) -> Result<(u16, Vec<u8>), Failure> {
    let failed = |reason: String| messages::signin_failed(url_without_query(url), &reason);
    crate::network::check_endpoint(url).map_err(|error| failed(error.to_string()))?;
    let connector = network
        .connector(CONNECT_TIMEOUT)
        .map_err(|error| failed(error.to_string()))?;
    let request = HttpRequest::get(url).map_err(|error| failed(error.to_string()))?;
    let response = connector
        .call(request)
        .await
        .map_err(|error| failed(network.redact(&error.to_string())))?;
    let status = response.status().as_u16();
    let mut stream = ByteStream::new(response.into_body());
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| failed(error.to_string()))?;
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(failed(format!(
                "it answered more than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// The endpoint without the query, which holds the session's secret.
fn url_without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_partition_has_its_own_hosts() {
        let china = Partition::of(Some("arn:aws-cn:iam::123456789012:role/r"), None);
        assert_eq!(china, Partition::China);
        assert_eq!(
            china.federation_url(),
            "https://signin.amazonaws.cn/federation"
        );
        assert_eq!(
            china.console_url(Some("cn-north-1")),
            "https://console.amazonaws.cn/console/home?region=cn-north-1"
        );
        let gov = Partition::of(Some("arn:aws-us-gov:iam::1:mfa/a"), Some("us-east-1"));
        assert_eq!(
            gov.federation_url(),
            "https://signin.amazonaws-us-gov.com/federation"
        );
        assert_eq!(
            gov.console_url(None),
            "https://console.amazonaws-us-gov.com/console/home"
        );
        let aws = Partition::of(Some("arn:aws:iam::1:mfa/a"), Some("cn-north-1"));
        assert_eq!(
            aws.federation_url(),
            "https://signin.aws.amazon.com/federation"
        );
        assert_eq!(
            Partition::of(None, Some("us-gov-west-1")),
            Partition::GovCloud
        );
        assert_eq!(Partition::of(None, None), Partition::Aws);
    }

    #[test]
    fn the_login_url_escapes_the_destination_and_token() {
        let url = login_url(
            "https://signin.aws.amazon.com/federation",
            &SecretString::from("a+b/c=".to_owned()),
            "https://console.aws.amazon.com/s3/home?region=eu-west-1",
        );
        assert_eq!(
            url.expose_secret(),
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=mfad&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Deu-west-1&SigninToken=a%2Bb%2Fc%3D"
        );
    }
}
