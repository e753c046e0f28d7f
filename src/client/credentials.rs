//! A request whose work may need a person (credentials, an Identity Center sign-in), with
//! the daemon's questions (an MFA code, the file store's passphrase) and notices (where
//! to sign in) relayed to this process's terminal: what every command that needs
//! credentials asks (`process`, `exec`, `env`, `serve`, `login`, `mfa`, `rotate`), and
//! `mfad sso`.

use super::{Client, Start};
use crate::failure::Failure;
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::{Caller, Credentials, Request, Response};
use crate::tty::Terminal;

/// Credentials of a profile from the daemon, relaying its questions to our terminal.
pub fn fetch_credentials(profile: &str) -> Result<Credentials, Failure> {
    let answer = ask_daemon(|caller| Request::Credentials {
        profile: profile.to_owned(),
        caller,
    })?;
    match answer {
        Response::Credentials(credentials) => Ok(credentials),
        other => Err(messages::unexpected_answer(other)),
    }
}

/// Send the request `make` builds for this caller (starting the daemon if needed) and
/// relay the daemon's questions to our terminal until its answer.
pub fn ask_daemon(make: impl Fn(Caller) -> Request) -> Result<Response, Failure> {
    let paths = DaemonPaths::from_env();
    let mut terminal = Terminal::open();
    let caller = super::caller(terminal.as_ref());
    super::converse(&paths, Start::IfNeeded, |client| {
        client.send(&make(caller.clone()))?;
        answer_questions(client, terminal.as_mut())
    })
}

/// Relay questions and notices until the daemon answers otherwise.
fn answer_questions(
    client: &mut Client,
    mut terminal: Option<&mut Terminal>,
) -> Result<Response, Failure> {
    loop {
        match client.receive()? {
            Response::AskCode { prompt } => {
                let answer = terminal
                    .as_deref_mut()
                    .and_then(|t| t.ask(&format!("mfad: {prompt}")).ok().flatten());
                match answer {
                    Some(code) => client.send(&Request::Code { code })?,
                    None => client.send(&Request::Cancel)?,
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
            Response::Notice { text } => {
                if let Some(terminal) = terminal.as_deref_mut() {
                    let _ = terminal.show(&format!("mfad: {text}\n"));
                }
            }
            answer => return Ok(answer),
        }
    }
}
