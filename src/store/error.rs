//! What can go wrong with a secret store, and what the person can do about it.

use crate::failure::{Explain, FailureKind};
use std::path::PathBuf;

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
    #[error("the passphrase of the file store {} is wrong", .0.display())]
    WrongPassphrase(PathBuf),
    #[error("there is no file store at {}", .0.display())]
    NotThere(PathBuf),
    #[error("there is a file store at {} already", .0.display())]
    AlreadyThere(PathBuf),
    #[error("the file store is unreadable ({0})")]
    Garbled(String),
    #[error("the file store is locked: {0}")]
    NoPassphrase(String),
    #[error("{0}")]
    UnsafeDirectory(String),
    #[error("the secret store failed: {0}")]
    Other(String),
}

impl Explain for StoreError {
    fn kind(&self) -> FailureKind {
        FailureKind::Store
    }

    fn remedy(&self) -> String {
        let remedy = match self {
            Self::Unavailable(_) => {
                "start and unlock a Secret Service (gnome-keyring, KeePassXC) in this session, use the file store (`mfad store init`), or keep the key in a profile named by mfad_source_profile"
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
            Self::WrongPassphrase(_) => {
                "type it again (nothing was changed); `mfad store passwd` changes it"
            }
            Self::NotThere(_) => {
                "create it with `mfad store init`, or start and unlock a Secret Service (gnome-keyring, KeePassXC) in this session, or set store in mfad's config.toml"
            }
            Self::AlreadyThere(_) => {
                "it was left as it is; `mfad store passwd` changes its passphrase"
            }
            Self::Garbled(_) => {
                "restore it from a backup, or move it away and run `mfad store init` (its entries are lost)"
            }
            Self::NoPassphrase(_) => {
                "run the command in a terminal to type the passphrase, or set store.passphrase_command in mfad's config.toml"
            }
            Self::UnsafeDirectory(_) => {
                "make it private (chmod 700) if it is yours to change, or move it away so that mfad creates its own"
            }
            Self::Other(_) => "check the store: `mfad store status` says which one is used",
        };
        remedy.into()
    }
}
