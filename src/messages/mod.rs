//! What mfad tells a person when something fails, and what they should do next: the
//! catalogue of messages and remedies, in one place for a reviewer to read together (as
//! rage keeps its strings). Errors of one domain with many cases keep their texts with
//! their type: `config::ConfigError`, `store::StoreError`, `sts::StsError`,
//! `network::NetworkError`, `config::credfile::CredfileError`, `peer::Untrusted`,
//! `settings::SettingsError`; each says its kind and remedy through
//! [`crate::failure::Explain`], and becomes a [`crate::failure::Failure`] through the one
//! conversion there. No other module writes a `Failure` with text of its own.
//!
//! Each message says what failed, without a trailing period; each remedy what to do. A
//! command quoted in a remedy is in backticks, and `tests/integration/remedies.rs` checks
//! that it exists.
//!
//! The catalogue is split by topic: [`daemon`], [`files`], [`secrets`], [`codes`],
//! [`credentials`], [`iam`]; everything is reachable as `messages::name`.

mod codes;
mod credentials;
mod daemon;
mod files;
mod iam;
mod secrets;

pub use codes::*;
pub use credentials::*;
pub use daemon::*;
pub use files::*;
pub use iam::*;
pub use secrets::*;
