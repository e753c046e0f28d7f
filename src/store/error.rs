//! What can go wrong with a secret store, and what the person can do about it.

use crate::failure::{Failure, FailureKind};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the secret store is not available ({0})")]
    Unavailable(String),
    #[error("the secret store is locked ({0} is locked)")]
    Locked(String),
    #[error("the secret store refused access ({0})")]
    Refused(String),
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
            Self::Locked(_) => {
                "unlock your keyring (log in to the desktop, open Seahorse or KeePassXC, or `echo -n PASSWORD | gnome-keyring-daemon --unlock`), then run the command again"
            }
            Self::Refused(_) => {
                "allow mfad access in your keyring's prompt, then run the command again"
            }
            Self::Malformed { .. } => {
                "store it again with `mfad add PROFILE` or `mfad totp add SERIAL`"
            }
            Self::Other(_) => "check that your keyring works, e.g. with secret-tool",
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::new(FailureKind::Store, error.to_string(), error.remedy())
    }
}
