//! A profile's credentials from the daemon, with its questions (an MFA code, the file
//! store's passphrase) relayed to this process's terminal: what every command that needs
//! credentials asks (`process`, `exec`, `env`, `serve`, `login`, `mfa`, `rotate`).

use super::{Client, Start};
use crate::failure::Failure;
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::{Credentials, Request, Response};
use crate::tty::Terminal;

/// Credentials of a profile from the daemon, relaying its questions to our terminal.
pub fn fetch_credentials(profile: &str) -> Result<Credentials, Failure> {
    let paths = DaemonPaths::from_env();
    let mut terminal = Terminal::open();
    let caller = super::caller(terminal.as_ref());
    super::converse(&paths, Start::IfNeeded, |client| {
        client.send(&Request::Credentials {
            profile: profile.to_owned(),
            caller: caller.clone(),
        })?;
        answer_questions(client, terminal.as_mut())
    })
}

fn answer_questions(
    client: &mut Client,
    mut terminal: Option<&mut Terminal>,
) -> Result<Credentials, Failure> {
    loop {
        match client.receive()? {
            Response::Credentials(credentials) => return Ok(credentials),
            Response::AskCode { prompt } => {
                let answer = terminal
                    .as_deref_mut()
                    .and_then(|t| t.ask(&format!("mfad: {prompt}")).ok().flatten());
                match answer {
                    Some(code) => client.send(&Request::Code { code })?,
                    None => client.send(&Request::Cancel)?,
                }
            }
            Response::Notice { text } => {
                if let Some(terminal) = terminal.as_deref_mut() {
                    let _ = terminal.show(&format!("mfad: {text}\n"));
                }
            }
            Response::AskSecret { prompt } => {
                let answer = terminal
                    .as_deref_mut()
                    .and_then(|t| t.ask_hidden(&format!("mfad: {prompt}")).ok().flatten());
                match answer {
                    Some(code) => client.send(&Request::Code { code })?,
                    None => client.send(&Request::Cancel)?,
                }
            }
            other => return Err(messages::unexpected_answer(other)),
        }
    }
}
