//! The macOS Keychain, off macOS: `store = "keychain"` is refused with this, and the
//! keyring crate is not compiled at all.

use super::error::StoreError;

fn unavailable() -> StoreError {
    StoreError::Unavailable("the macOS Keychain exists only on macOS".into())
}

pub fn read(_service: &str, _user: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Err(unavailable())
}

pub fn write(_service: &str, _user: &str, _secret: &[u8]) -> Result<(), StoreError> {
    Err(unavailable())
}

pub fn delete(_service: &str, _user: &str) -> Result<bool, StoreError> {
    Err(unavailable())
}
