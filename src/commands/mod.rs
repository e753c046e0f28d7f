//! One module per command; each returns a [`Failure`] for main to print.

pub mod account;
pub mod add;
pub mod any_profile;
pub mod audit;
pub mod aws_login;
pub mod daemon;
pub mod exec;
pub mod login;
pub mod logout;
pub mod mfa;
pub mod policy;
pub mod process;
pub mod prompt;
pub mod rotate;
pub mod serve;
pub mod setup;
pub mod sso;
pub mod sso_status;
pub mod status;
pub mod store;
pub mod totp;

use crate::failure::Failure;
use crate::tty::Terminal;
use secrecy::SecretString;
use std::io::{BufRead, IsTerminal};

/// Read a secret: asked on the terminal without echo when stdin is one, else one line of
/// stdin. `None` at end of input.
pub fn read_secret(
    stdin_lines: &mut impl BufRead,
    prompt: &str,
) -> Result<Option<SecretString>, Failure> {
    if std::io::stdin().is_terminal()
        && let Some(mut terminal) = Terminal::open()
    {
        return terminal.ask_hidden(prompt).map_err(Failure::internal);
    }
    let mut line = String::new();
    match stdin_lines
        .read_line(&mut line)
        .map_err(Failure::internal)?
    {
        0 => Ok(None),
        _ => Ok(Some(SecretString::from(line.trim().to_owned()))),
    }
}

/// The runtime of a command that makes a few AWS calls in a row (not the daemon's).
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::internal)
}
