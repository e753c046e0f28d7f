//! `mfad process PROFILE`: the credential_process client.

use crate::client::{self, Client, Start};
use crate::failure::Failure;
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::{Credentials, Request, Response};
use crate::timefmt::{from_epoch_secs, rfc3339};
use crate::tty::Terminal;
use secrecy::ExposeSecret;
use serde::Serialize;
use std::io::Write;
use zeroize::Zeroize;

/// The JSON credential_process prints (Version 1).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
    /// The AWS CLI uses it for account-based endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
}

pub fn run(profile: &str) -> Result<(), Failure> {
    let credentials = fetch(profile)?;
    let output = ProcessOutput {
        version: 1,
        access_key_id: &credentials.access_key_id,
        secret_access_key: credentials.secret_access_key.expose_secret(),
        session_token: credentials.session_token.expose_secret(),
        expiration: rfc3339(from_epoch_secs(credentials.expiration)),
        account_id: credentials.account_id.as_deref(),
    };
    let mut json = serde_json::to_vec(&output).map_err(Failure::internal)?;
    json.push(b'\n');
    let written = std::io::stdout().lock().write_all(&json);
    json.zeroize();
    written.map_err(Failure::internal)
}

/// Credentials of a profile from the daemon, relaying its questions to our terminal.
pub fn fetch(profile: &str) -> Result<Credentials, Failure> {
    let paths = DaemonPaths::from_env();
    let mut terminal = Terminal::open();
    let caller = client::caller(terminal.as_ref());
    client::converse(&paths, Start::IfNeeded, |client| {
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
