//! The secret store: long-term access keys and TOTP secrets in the OS keyring (Secret
//! Service on Linux, Keychain on macOS) through the `keyring` crate.
//!
//! Calls block (D-Bus round trips); the daemon makes them on its blocking pool. Nothing
//! here writes a secret to disk itself, and no error carries secret bytes.

use crate::failure::{Failure, FailureKind};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// The keyring "service" all mfad entries live under.
const SERVICE: &str = "mfad";

/// An IAM user's long-term access key. `Debug` hides the secret.
#[derive(Debug, Clone)]
pub struct LongTermKey {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

impl LongTermKey {
    /// `AKIA…WXYZ`: enough to tell keys apart in status output.
    pub fn short_id(&self) -> String {
        short_key_id(&self.access_key_id)
    }
}

pub fn short_key_id(id: &str) -> String {
    match (
        id.get(..4),
        id.len().checked_sub(4).and_then(|from| id.get(from..)),
    ) {
        (Some(head), Some(tail)) if id.len() > 8 => format!("{head}…{tail}"),
        _ => "…".to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the secret store is not available ({0})")]
    Unavailable(String),
    #[error("the secret store refused access ({0})")]
    Locked(String),
    #[error("the secret store entry \"{entry}\" is not in mfad's format")]
    Malformed { entry: String },
    #[error("the secret store failed: {0}")]
    Other(String),
}

impl StoreError {
    pub fn remedy(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => {
                "start and unlock a Secret Service (gnome-keyring, KeePassXC) in this session, or keep the key in a profile named by mfad_source_profile"
            }
            Self::Locked(_) => "unlock your keyring and try again",
            Self::Malformed { .. } => "store it again with mfad add or mfad totp add",
            Self::Other(_) => "check that your keyring works, e.g. with secret-tool",
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::new(FailureKind::Store, error.to_string(), error.remedy())
    }
}

/// Map a keyring error to ours without keeping any secret bytes it may carry.
fn store_error(error: keyring::Error) -> StoreError {
    use keyring::Error as E;
    match error {
        E::NoStorageAccess(e) => StoreError::Locked(e.to_string()),
        E::NoDefaultStore => StoreError::Unavailable("no Secret Service on the session bus".into()),
        E::PlatformFailure(e) => StoreError::Unavailable(e.to_string()),
        E::BadEncoding(_) | E::BadDataFormat(..) => StoreError::Malformed { entry: "?".into() },
        other => StoreError::Other(other.to_string()),
    }
}

fn entry(user: &str) -> Result<keyring::Entry, StoreError> {
    keyring::Entry::new(SERVICE, user).map_err(store_error)
}

fn read(user: &str) -> Result<Option<SecretString>, StoreError> {
    match entry(user)?.get_password() {
        Ok(value) => Ok(Some(SecretString::from(value))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(store_error(e)),
    }
}

fn write(user: &str, value: &str) -> Result<(), StoreError> {
    entry(user)?.set_password(value).map_err(store_error)
}

/// Delete an entry; `false` if there was none.
fn delete(user: &str) -> Result<bool, StoreError> {
    match entry(user)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(store_error(e)),
    }
}

fn key_entry(profile: &str) -> String {
    format!("aws-key:{profile}")
}

fn totp_entry(serial: &str) -> String {
    format!("totp:{serial}")
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    access_key_id: String,
    secret_access_key: String,
}

pub fn load_key(profile: &str) -> Result<Option<LongTermKey>, StoreError> {
    let Some(stored) = read(&key_entry(profile))? else {
        return Ok(None);
    };
    let parsed: StoredKey =
        serde_json::from_str(stored.expose_secret()).map_err(|_| StoreError::Malformed {
            entry: key_entry(profile),
        })?;
    let StoredKey {
        access_key_id,
        secret_access_key,
    } = parsed;
    Ok(Some(LongTermKey {
        access_key_id,
        secret_access_key: SecretString::from(secret_access_key),
    }))
}

pub fn save_key(profile: &str, key: &LongTermKey) -> Result<(), StoreError> {
    let mut json = serde_json::to_string(&StoredKey {
        access_key_id: key.access_key_id.clone(),
        secret_access_key: key.secret_access_key.expose_secret().to_owned(),
    })
    .expect("a key always serializes");
    let result = write(&key_entry(profile), &json);
    json.zeroize();
    result
}

pub fn delete_key(profile: &str) -> Result<bool, StoreError> {
    delete(&key_entry(profile))
}

/// The TOTP secret of a serial, as the `otpauth://` URI mfad stored.
pub fn load_totp(serial: &str) -> Result<Option<SecretString>, StoreError> {
    read(&totp_entry(serial))
}

pub fn save_totp(serial: &str, otpauth_uri: &SecretString) -> Result<(), StoreError> {
    write(&totp_entry(serial), otpauth_uri.expose_secret())
}

pub fn delete_totp(serial: &str) -> Result<bool, StoreError> {
    delete(&totp_entry(serial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_key_hides_the_secret() {
        let key = LongTermKey {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        };
        let debug = format!("{key:?}");
        assert!(!debug.contains("wJalr"), "{debug}");
        assert_eq!(key.short_id(), "AKIA…MPLE");
        assert_eq!(short_key_id("short"), "…");
    }
}
