//! mfad: an MFA-aware AWS credential helper daemon.
//!
//! A lean blocking client ([`client`]) talks one JSON line at a time ([`protocol`]) over a
//! Unix socket ([`paths`]) to a tokio daemon ([`daemon`]). The daemon resolves each request
//! in its caller's environment ([`config`]), reads long-term secrets from the OS secret store
//! ([`store`]), obtains an MFA code ([`mfa`]) and calls STS ([`sts`]) through the caller's
//! proxy and CA bundle ([`network`]) once per session, however many callers ask at the same
//! time. It keeps profiles in the shared credentials file current ([`credfile`]), renews
//! ahead of time and tells the person what happens ([`notify`]), as its settings say
//! ([`settings`]).
//!
//! The README carries the architecture map; keep both true.

pub mod admission;
pub mod aws_login;
pub mod bounded;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod coredump;
pub mod daemon;
pub mod endpoint;
pub mod exec_env;
pub mod failure;
pub mod files;
pub mod iam;
pub mod messages;
pub mod mfa;
pub mod network;
pub mod notify;
pub mod paths;
pub mod peer;
pub mod protocol;
pub mod random;
pub mod resident;
pub mod settings;
pub mod sso;
pub mod store;
pub mod sts;
pub mod timefmt;
pub mod tty;
pub mod vocab;
pub mod wrap;
