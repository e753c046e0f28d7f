//! The secret store: long-term access keys, TOTP secrets and saved sessions, in the
//! Secret Service on Linux ([`secret_service`]), the Keychain on macOS ([`keychain`]), or
//! an encrypted file ([`file`]) where there is neither.
//!
//! Calls block (D-Bus round trips bounded by a timeout, file reads); the daemon makes them
//! off its async workers. Nothing here writes a secret to disk unencrypted, and no error
//! carries secret bytes.

mod choice;
mod error;
pub mod file;
#[cfg(target_os = "macos")]
mod keychain;
#[cfg(not(target_os = "macos"))]
#[path = "no_keychain.rs"]
mod keychain;
mod secret_service;

pub use choice::{Chosen, StoreBackend, choose};
pub use error::StoreError;
pub use file::FileStore;
use secrecy::{ExposeSecret, SecretString};
pub use secret_service::has_secret_service;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use zeroize::{Zeroize, Zeroizing};

/// The service name all mfad entries live under.
const SERVICE: &str = "mfad";

/// An IAM user's long-term access key. `Debug` hides the secret.
#[derive(Debug, Clone)]
pub struct LongTermKey {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

impl LongTermKey {
    /// The key as the AWS SDKs take it (STS and IAM sign with it).
    pub fn sdk_credentials(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.expose_secret().to_owned(),
            None,
            None,
            "mfad-long-term-key",
        )
    }

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

/// The secret store of a session.
#[derive(Debug, Clone)]
pub enum Store {
    /// The Secret Service on this D-Bus session bus (`None`: the process's own).
    SecretService {
        bus: Option<String>,
    },
    Keychain,
    /// The encrypted file store, unlocked.
    File(Arc<FileStore>),
    /// Entries in memory only, for the daemon's unit tests.
    #[cfg(test)]
    Memory(MemoryEntries),
}

/// The entries of [`Store::Memory`]; `Debug` shows none of them.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct MemoryEntries(Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>);

#[cfg(test)]
impl std::fmt::Debug for MemoryEntries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryEntries")
    }
}

impl Store {
    /// The platform's store; on Linux, on the given session bus.
    pub fn platform(bus: Option<String>) -> Self {
        if cfg!(target_os = "macos") {
            Self::Keychain
        } else {
            Self::SecretService { bus }
        }
    }

    /// The store of this process's own session.
    pub fn own() -> Self {
        Self::platform(None)
    }

    /// What it is, for `mfad status` and the log.
    pub fn describe(&self) -> String {
        match self {
            Self::SecretService { bus: Some(bus) } => format!("Secret Service on {bus}"),
            Self::SecretService { bus: None } => "Secret Service on the session bus".into(),
            Self::Keychain => "macOS Keychain".into(),
            Self::File(store) => format!("file store {}", store.path().display()),
            #[cfg(test)]
            Self::Memory(_) => "memory".into(),
        }
    }

    /// Every entry mfad keeps here, by name (`aws-key:PROFILE`, `totp:SERIAL`,
    /// `session:ID`).
    pub fn entries(&self) -> Result<Vec<(String, SecretString)>, StoreError> {
        let named = |pairs: Vec<(String, String)>| {
            pairs
                .into_iter()
                .map(|(name, value)| (name, SecretString::from(value)))
                .collect()
        };
        Ok(match self {
            Self::SecretService { bus } => named(secret_service::list(bus.as_deref(), SERVICE)?),
            Self::Keychain => {
                return Err(StoreError::Other(
                    "the Keychain cannot list mfad's entries".into(),
                ));
            }
            Self::File(store) => {
                let entries = store.entries()?;
                let names: Vec<String> = entries.names().map(str::to_owned).collect();
                names
                    .into_iter()
                    .map(|name| {
                        let value = SecretString::from(entries.get(&name).unwrap_or("").to_owned());
                        (name, value)
                    })
                    .collect()
            }
            #[cfg(test)]
            Self::Memory(entries) => named(
                entries
                    .0
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        })
    }

    /// Write any entry (a migration copies them as they are).
    pub fn put(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        self.write(name, value.expose_secret())
    }

    /// Delete any entry; `false` if there was none.
    pub fn remove(&self, name: &str) -> Result<bool, StoreError> {
        self.delete(name)
    }

    /// Save a session (its JSON) under its id.
    pub fn save_session(&self, id: &str, json: &SecretString) -> Result<(), StoreError> {
        self.write(&session_entry(id), json.expose_secret())
    }

    pub fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        self.delete(&session_entry(id))
    }

    /// The saved sessions: (id, JSON).
    pub fn sessions(&self) -> Result<Vec<(String, SecretString)>, StoreError> {
        Ok(self
            .entries()?
            .into_iter()
            .filter_map(|(name, value)| {
                Some((name.strip_prefix(SESSION_PREFIX)?.to_owned(), value))
            })
            .collect())
    }

    fn read(&self, user: &str) -> Result<Option<SecretString>, StoreError> {
        let bytes = match self {
            Self::SecretService { bus } => secret_service::read(bus.as_deref(), SERVICE, user)?,
            Self::Keychain => keychain::read(SERVICE, user)?,
            Self::File(store) => store.entries()?.get(user).map(|v| v.as_bytes().to_vec()),
            #[cfg(test)]
            Self::Memory(entries) => entries
                .0
                .lock()
                .unwrap()
                .get(user)
                .map(|v| v.clone().into_bytes()),
        };
        let Some(bytes) = bytes.map(Zeroizing::new) else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| StoreError::Malformed {
            entry: user.to_owned(),
        })?;
        Ok(Some(SecretString::from(text.to_owned())))
    }

    fn write(&self, user: &str, value: &str) -> Result<(), StoreError> {
        match self {
            Self::SecretService { bus } => {
                secret_service::write(bus.as_deref(), SERVICE, user, value.as_bytes())
            }
            Self::Keychain => keychain::write(SERVICE, user, value.as_bytes()),
            Self::File(store) => store.update(|entries| entries.insert(user, value)),
            #[cfg(test)]
            Self::Memory(entries) => {
                entries
                    .0
                    .lock()
                    .unwrap()
                    .insert(user.to_owned(), value.to_owned());
                Ok(())
            }
        }
    }

    /// Delete an entry; `false` if there was none.
    fn delete(&self, user: &str) -> Result<bool, StoreError> {
        match self {
            Self::SecretService { bus } => secret_service::delete(bus.as_deref(), SERVICE, user),
            Self::Keychain => keychain::delete(SERVICE, user),
            Self::File(store) => store.update(|entries| entries.remove(user)),
            #[cfg(test)]
            Self::Memory(entries) => Ok(entries.0.lock().unwrap().remove(user).is_some()),
        }
    }

    pub fn load_key(&self, profile: &str) -> Result<Option<LongTermKey>, StoreError> {
        let Some(stored) = self.read(&key_entry(profile))? else {
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

    pub fn save_key(&self, profile: &str, key: &LongTermKey) -> Result<(), StoreError> {
        let mut json = serde_json::to_string(&StoredKey {
            access_key_id: key.access_key_id.clone(),
            secret_access_key: key.secret_access_key.expose_secret().to_owned(),
        })
        .expect("a key always serializes");
        let result = self.write(&key_entry(profile), &json);
        json.zeroize();
        result
    }

    /// The TOTP secret of a serial, as the `otpauth://` URI mfad stored.
    pub fn load_totp(&self, serial: &str) -> Result<Option<SecretString>, StoreError> {
        self.read(&totp_entry(serial))
    }

    pub fn save_totp(&self, serial: &str, otpauth_uri: &SecretString) -> Result<(), StoreError> {
        self.write(&totp_entry(serial), otpauth_uri.expose_secret())
    }

    pub fn delete_totp(&self, serial: &str) -> Result<bool, StoreError> {
        self.delete(&totp_entry(serial))
    }

    /// The token of an sso-session (with its registration), as JSON.
    pub fn load_sso(&self, session: &str) -> Result<Option<SecretString>, StoreError> {
        self.read(&sso_entry(session))
    }

    pub fn save_sso(&self, session: &str, json: &SecretString) -> Result<(), StoreError> {
        self.write(&sso_entry(session), json.expose_secret())
    }

    pub fn delete_sso(&self, session: &str) -> Result<bool, StoreError> {
        self.delete(&sso_entry(session))
    }
}

impl Store {
    /// An `aws login` session's cache (its JSON), kept here instead of in a plaintext file
    /// (`mfad aws-login --store`).
    pub fn load_aws_login(&self, login_session: &str) -> Result<Option<SecretString>, StoreError> {
        self.read(&aws_login_entry(login_session))
    }

    pub fn save_aws_login(
        &self,
        login_session: &str,
        json: &SecretString,
    ) -> Result<(), StoreError> {
        self.write(&aws_login_entry(login_session), json.expose_secret())
    }
}

fn aws_login_entry(login_session: &str) -> String {
    format!("aws-login:{}", login_session.trim())
}

fn sso_entry(session: &str) -> String {
    format!("sso:{session}")
}

/// Saved sessions are entries named `session:ID`.
const SESSION_PREFIX: &str = "session:";

fn session_entry(id: &str) -> String {
    format!("{SESSION_PREFIX}{id}")
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
