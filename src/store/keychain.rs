//! The macOS Keychain, through the keyring crate.

use super::error::StoreError;

fn store_error(error: keyring::Error) -> StoreError {
    use keyring::Error as E;
    match error {
        E::NoStorageAccess(e) => StoreError::Refused(e.to_string()),
        E::NoDefaultStore => StoreError::Unavailable("no Keychain".into()),
        E::PlatformFailure(e) => StoreError::Unavailable(e.to_string()),
        E::BadEncoding(_) | E::BadDataFormat(..) => StoreError::Other("an entry is garbled".into()),
        other => StoreError::Other(other.to_string()),
    }
}

fn entry(service: &str, user: &str) -> Result<keyring::Entry, StoreError> {
    keyring::Entry::new(service, user).map_err(store_error)
}

pub fn read(service: &str, user: &str) -> Result<Option<Vec<u8>>, StoreError> {
    match entry(service, user)?.get_secret() {
        Ok(value) => Ok(Some(value)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(store_error(e)),
    }
}

pub fn write(service: &str, user: &str, secret: &[u8]) -> Result<(), StoreError> {
    entry(service, user)?
        .set_secret(secret)
        .map_err(store_error)
}

/// Delete an entry; `false` if there was none.
pub fn delete(service: &str, user: &str) -> Result<bool, StoreError> {
    match entry(service, user)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(store_error(e)),
    }
}
