//! The secret store: long-term access keys and TOTP secrets, in the Secret Service on
//! Linux ([`secret_service`]) or the Keychain on macOS ([`keychain`]).
//!
//! Calls block (D-Bus round trips, bounded by a timeout); the daemon makes them off its
//! async workers. Nothing here writes a secret to disk itself, and no error carries
//! secret bytes.

mod error;
mod keychain;
mod secret_service;

pub use error::StoreError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
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
    /// Entries in memory only, for the daemon's unit tests.
    #[cfg(test)]
    Memory(MemoryEntries),
}

/// The entries of [`Store::Memory`]; `Debug` shows none of them.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct MemoryEntries(
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>,
);

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

    fn read(&self, user: &str) -> Result<Option<SecretString>, StoreError> {
        let bytes = match self {
            Self::SecretService { bus } => secret_service::read(bus.as_deref(), SERVICE, user)?,
            Self::Keychain => keychain::read(SERVICE, user)?,
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
