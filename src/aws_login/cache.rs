//! An `aws login` session as the AWS CLI and the SDKs cache it (where the file is, is
//! `config`'s to say), holding the 15-minute credentials, the rotating refresh
//! token and the P-256 key that signs each refresh's DPoP proof.
//!
//! Fields mfad does not know are kept as they were when it rewrites the file, so a newer
//! CLI loses nothing.

use super::LoginError;
use crate::sts::TemporaryCredentials;
use crate::timefmt::rfc3339;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;
use zeroize::Zeroize;

/// The largest cache file mfad reads (a real one is about 3 KiB).
pub const MAX_CACHE_BYTES: u64 = 64 << 10;

/// The credentials part of the cache.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub account_id: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// One login session's cache file.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginCache {
    pub access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    pub refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The sign-in client the tokens were issued to, e.g.
    /// `arn:aws:signin:::devtools/same-device`.
    pub client_id: String,
    /// The DPoP key, an EC (P-256) private key in PEM.
    pub dpop_key: String,
    /// What a newer CLI writes that mfad does not know, kept as it was.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Drop for LoginCache {
    fn drop(&mut self) {
        self.access_token.secret_access_key.zeroize();
        self.access_token.session_token.zeroize();
        self.refresh_token.zeroize();
        self.dpop_key.zeroize();
    }
}

impl std::fmt::Debug for LoginCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginCache")
            .field("access_key_id", &self.access_token.access_key_id)
            .field("account_id", &self.access_token.account_id)
            .field("expires_at", &self.access_token.expires_at)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl LoginCache {
    /// Parse a cache file's contents.
    pub fn parse(bytes: &[u8]) -> Result<Self, LoginError> {
        let cache: Self = serde_json::from_slice(bytes).map_err(|error| {
            // serde_json names the line and column and what it expected, never the value.
            LoginError::BadCache(error.to_string())
        })?;
        cache.expiration()?;
        Ok(cache)
    }

    /// The file's contents.
    pub fn to_json(&self) -> SecretString {
        SecretString::from(serde_json::to_string_pretty(self).expect("a cache serializes"))
    }

    /// When the credentials expire.
    pub fn expiration(&self) -> Result<SystemTime, LoginError> {
        let text = &self.access_token.expires_at;
        aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
            .ok()
            .and_then(|at| SystemTime::try_from(at).ok())
            .ok_or_else(|| LoginError::BadCache(format!("expiresAt {text:?} is not a time")))
    }

    /// The credentials, to hand out.
    pub fn credentials(&self) -> Result<TemporaryCredentials, LoginError> {
        Ok(TemporaryCredentials {
            access_key_id: self.access_token.access_key_id.clone(),
            secret_access_key: SecretString::from(self.access_token.secret_access_key.clone()),
            session_token: SecretString::from(self.access_token.session_token.clone()),
            expiration: self.expiration()?,
        })
    }

    /// The cache after a refresh: new credentials, the rotated refresh token; the
    /// account, client, key and the rest as they were.
    pub fn refreshed(&self, credentials: &TemporaryCredentials, refresh_token: &str) -> Self {
        Self {
            access_token: AccessToken::of(credentials, self.access_token.account_id.clone()),
            token_type: self.token_type.clone(),
            refresh_token: refresh_token.to_owned(),
            id_token: self.id_token.clone(),
            client_id: self.client_id.clone(),
            dpop_key: self.dpop_key.clone(),
            other: self.other.clone(),
        }
    }
}

impl AccessToken {
    /// `credentials` of `account_id`, as the cache holds them.
    pub fn of(credentials: &TemporaryCredentials, account_id: String) -> Self {
        use secrecy::ExposeSecret;
        Self {
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: credentials.secret_access_key.expose_secret().to_owned(),
            session_token: credentials.session_token.expose_secret().to_owned(),
            account_id,
            expires_at: rfc3339(credentials.expiration),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// A cache as `aws login` writes it, with a field mfad does not know.
    pub const SAMPLE: &str = r#"{
  "accessToken": {
    "accessKeyId": "ASIAEXAMPLE",
    "secretAccessKey": "secret-key",
    "sessionToken": "session-token",
    "accountId": "123456789012",
    "expiresAt": "2026-12-05T12:15:00Z"
  },
  "tokenType": "aws_sigv4",
  "refreshToken": "refresh-1",
  "idToken": "id.token.here",
  "clientId": "arn:aws:signin:::devtools/same-device",
  "dpopKey": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n",
  "futureField": {"kept": true}
}"#;

    #[test]
    fn a_refresh_keeps_what_it_does_not_replace_and_unknown_fields() {
        let cache = LoginCache::parse(SAMPLE.as_bytes()).unwrap();
        let new = TemporaryCredentials {
            access_key_id: "ASIANEW".into(),
            secret_access_key: SecretString::from("new-secret"),
            session_token: SecretString::from("new-token"),
            expiration: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
        };
        let expiration = new.expiration;
        let refreshed = cache.refreshed(&new, "refresh-2");
        let text = refreshed.to_json();
        let again = LoginCache::parse(text.expose_secret().as_bytes()).unwrap();
        assert_eq!(again.access_token.access_key_id, "ASIANEW");
        assert_eq!(again.access_token.account_id, "123456789012");
        assert_eq!(again.access_token.expires_at, "2027-01-15T08:00:00Z");
        assert_eq!(again.refresh_token, "refresh-2");
        assert_eq!(again.dpop_key, cache.dpop_key);
        assert_eq!(again.id_token.as_deref(), Some("id.token.here"));
        assert_eq!(again.other["futureField"]["kept"], true);
        assert_eq!(again.credentials().unwrap().expiration, expiration);
    }

    #[test]
    fn a_garbled_cache_is_named_without_its_secrets() {
        let missing = SAMPLE.replace("\"refreshToken\": \"refresh-1\",", "");
        let error = LoginCache::parse(missing.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains("refreshToken"), "{error}");
        let bad_time = SAMPLE.replace("2026-12-05T12:15:00Z", "soon");
        let error = LoginCache::parse(bad_time.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains("expiresAt"), "{error}");
        let cache = LoginCache::parse(SAMPLE.as_bytes()).unwrap();
        let shown = format!("{cache:?}");
        for secret in ["secret-key", "session-token", "refresh-1", "PRIVATE"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
