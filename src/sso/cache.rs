//! An sso-session's token as the AWS CLI caches it (`~/.aws/sso/cache/<sha1>.json`, the
//! SHA-1 of the session name, or of the start URL for a legacy profile). mfad keeps the
//! same JSON in its secret store, reads the CLI's file when it has no token of its own
//! (a sign-in by `aws sso login`), and with `share_cli_cache` writes its own there.

use super::{Flow, Registration, Token};
use crate::config::SsoSession;
use crate::timefmt::{epoch_secs, rfc3339};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cached {
    start_url: String,
    region: String,
    access_token: String,
    expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// The flow mfad registered for (the CLI ignores what it does not know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mfad_flow: Option<Flow>,
}

impl Drop for Cached {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.access_token.zeroize();
        if let Some(secret) = &mut self.client_secret {
            secret.zeroize();
        }
        if let Some(token) = &mut self.refresh_token {
            token.zeroize();
        }
    }
}

/// The cache file of a session, in `home`'s `.aws/sso/cache`.
pub fn cli_cache_file(home: &Path, session: &SsoSession) -> PathBuf {
    use sha1::{Digest, Sha1};
    let key = if session.legacy {
        &session.start_url
    } else {
        &session.name
    };
    let digest: String = Sha1::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    home.join(".aws/sso/cache").join(format!("{digest}.json"))
}

fn time_of(text: &str) -> Option<u64> {
    let parsed = aws_smithy_types::DateTime::from_str(
        text.trim_end_matches("UTC").trim(),
        aws_smithy_types::date_time::Format::DateTime,
    )
    .ok()?;
    Some(epoch_secs(SystemTime::try_from(parsed).ok()?))
}

fn text_of(secs: u64) -> String {
    rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// The JSON of a token and the registration it was issued to.
pub fn to_json(session: &SsoSession, token: &Token, registration: &Registration) -> SecretString {
    let cached = Cached {
        start_url: session.start_url.clone(),
        region: session.region.clone(),
        access_token: token.access_token.expose_secret().to_owned(),
        expires_at: text_of(token.expires_at),
        client_id: Some(registration.client_id.clone()),
        client_secret: Some(registration.client_secret.expose_secret().to_owned()),
        registration_expires_at: Some(text_of(registration.expires_at)),
        refresh_token: token
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        mfad_flow: Some(registration.flow),
    };
    SecretString::from(serde_json::to_string(&cached).expect("a token serializes"))
}

/// A token (and its registration, when the JSON has one) of `session`; `None` for JSON
/// of another session or that does not read as a token.
pub fn from_json(session: &SsoSession, json: &str) -> Option<(Token, Option<Registration>)> {
    let cached: Cached = serde_json::from_str(json).ok()?;
    if cached.start_url.trim_end_matches('/') != session.start_url.trim_end_matches('/') {
        return None;
    }
    let token = Token {
        access_token: SecretString::from(cached.access_token.clone()),
        refresh_token: cached.refresh_token.clone().map(SecretString::from),
        expires_at: time_of(&cached.expires_at)?,
    };
    let registration = match (&cached.client_id, &cached.client_secret) {
        (Some(id), Some(secret)) => Some(Registration {
            client_id: id.clone(),
            client_secret: SecretString::from(secret.clone()),
            expires_at: cached
                .registration_expires_at
                .as_deref()
                .and_then(time_of)
                .unwrap_or(0),
            // The CLI registers for the device flow.
            flow: cached.mfad_flow.unwrap_or(Flow::Device),
        }),
        _ => None,
    };
    Some((token, registration))
}

#[cfg(test)]
mod tests {
    use super::super::test_session as session;
    use super::*;

    #[test]
    fn a_token_round_trips_and_the_cli_names_its_file_by_sha1() {
        let token = Token {
            access_token: SecretString::from("access".to_owned()),
            refresh_token: Some(SecretString::from("refresh".to_owned())),
            expires_at: 1_900_000_000,
        };
        let registration = Registration {
            client_id: "client".into(),
            client_secret: SecretString::from("secret".to_owned()),
            expires_at: 1_990_000_000,
            flow: Flow::Browser,
        };
        let json = to_json(&session(), &token, &registration);
        assert!(
            json.expose_secret()
                .contains("\"expiresAt\":\"2030-03-17T17:46:40Z\"")
        );
        let (read, registration) = from_json(&session(), json.expose_secret()).unwrap();
        assert_eq!(read.expires_at, 1_900_000_000);
        assert_eq!(read.refresh_token.unwrap().expose_secret(), "refresh");
        let registration = registration.unwrap();
        assert_eq!(registration.expires_at, 1_990_000_000);
        assert_eq!(registration.flow, Flow::Browser);
        let other = SsoSession {
            start_url: "https://other.awsapps.com/start".into(),
            ..session()
        };
        assert!(from_json(&other, json.expose_secret()).is_none());
        // sha1("corp")
        assert_eq!(
            cli_cache_file(Path::new("/h"), &session()),
            PathBuf::from("/h/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json")
        );
    }
}
