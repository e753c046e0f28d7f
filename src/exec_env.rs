//! The variables a command gets for a profile's credentials (`mfad exec`, `mfad env`),
//! and those the local credential endpoint's command keeps beside it (`exec --server`).

use crate::protocol::Credentials;
use crate::timefmt::{from_epoch_secs, rfc3339};
use secrecy::ExposeSecret;

/// Set in the environment of a command run by `mfad exec`, naming the profile.
pub const EXEC_VAR: &str = "MFAD_EXEC";

/// Variables that would make tools pick a profile instead of the credentials given.
pub const REMOVED: &[&str] = &["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];

/// The variables a command gets for a profile's credentials.
pub fn variables(credentials: &Credentials) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key.expose_secret().to_owned(),
        ),
        (
            "AWS_SESSION_TOKEN",
            credentials.session_token.expose_secret().to_owned(),
        ),
        (
            "AWS_CREDENTIAL_EXPIRATION",
            rfc3339(from_epoch_secs(credentials.expiration)),
        ),
    ];
    vars.extend(context(credentials));
    vars
}

/// The variables besides the keys: the account and the region, which do not change.
pub fn context(credentials: &Credentials) -> Vec<(&'static str, String)> {
    let mut vars = Vec::new();
    if let Some(account) = &credentials.account_id {
        vars.push(("AWS_ACCOUNT_ID", account.clone()));
    }
    if let Some(region) = &credentials.region {
        vars.push(("AWS_REGION", region.clone()));
        vars.push(("AWS_DEFAULT_REGION", region.clone()));
    }
    vars
}
