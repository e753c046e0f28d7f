//! Profile resolution: the one place that reads `~/.aws/config` and the credentials file.
//!
//! Each request is resolved afresh in its caller's environment (`AWS_CONFIG_FILE`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL_STS`…), so edits to the files and per-shell variables take
//! effect at once without restarting the daemon. Region and endpoint follow the precedence
//! of the AWS SDKs; aws-config itself cannot be used for this because it reads the daemon's
//! own environment, not the caller's.
//!
//! The rooms: [`files`] (which files, a profile's merged settings), [`ini`] (parsing with
//! line numbers), [`resolve`] (a profile into its [`plan`]), [`endpoints`] (region,
//! endpoint, proxy and CA bundle), [`targets`] (what other commands need of a profile),
//! [`role_options`], [`sso`] and [`aws_login`] (the Identity Center and `aws login` keys),
//! [`error`]; and the byte-preserving editors [`edit`] (one setting of
//! the config file) and [`credfile`] (mfad's sections of the credentials file), which share
//! the line scanner [`lines`].

pub mod aws_login;
pub mod credfile;
pub mod edit;
mod endpoints;
mod error;
mod files;
mod ini;
mod lines;
mod plan;
mod resolve;
mod role_options;
mod sso;
mod targets;
#[cfg(test)]
pub(crate) mod testing;

pub use crate::vocab::CallerEnv;
pub use error::ConfigError;
pub use files::{AwsFiles, Setting, config_path, credentials_path};
pub use ini::{IniFile, SyntaxError};
pub use plan::*;
pub use resolve::{is_root_serial, resolve, resolve_each, resolve_in};
pub use role_options::RoleOptions;
pub use targets::{
    IamAccess, LoginTarget, iam_access, iam_service, login_target, sso_session_named,
    sso_session_of,
};
