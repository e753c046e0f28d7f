//! `mfad process PROFILE`: the credential_process client.

use crate::client::fetch_credentials;
use crate::failure::Failure;
use crate::timefmt::{from_epoch_secs, rfc3339};
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
    let credentials = fetch_credentials(profile)?;
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
