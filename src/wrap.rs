//! `mfad_wrap_process`: another credential helper (anything that prints credential_process
//! JSON: granted, aws-sso-util, a vault CLI…) run by the daemon, so that its output is
//! shared by all concurrent callers and cached (see `daemon::wrapped`).

use crate::failure::Failure;
use crate::messages;
use crate::vocab::CallerEnv;
use aws_smithy_types::date_time::Format;
use secrecy::SecretString;
use serde::Deserialize;
use std::time::{Duration, SystemTime};
use zeroize::Zeroize;

/// What a wrapped helper printed: temporary credentials only, as mfad hands out nothing
/// else.
#[derive(Debug, Clone)]
pub struct Wrapped {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    pub expiration: SystemTime,
    pub account_id: Option<String>,
}

/// The mark a wrapped helper's own calls to mfad carry in [`INSIDE_VAR`].
pub fn inside_mark(profile: &str) -> String {
    format!("wrap:{profile}")
}

/// Whether this caller is the helper of `profile` asking for `profile` again.
pub fn is_loop(profile: &str, caller_env: &CallerEnv) -> bool {
    caller_env.is_inside(&inside_mark(profile))
}

/// Run the helper through `sh -c` in the caller's environment, within `timeout`. What it
/// prints is never repeated in an error: it may hold secrets.
pub async fn run(
    command: &str,
    profile: &str,
    caller_env: &CallerEnv,
    timeout: Duration,
) -> Result<Wrapped, Failure> {
    let failed = |what: String| messages::wrap_process_failed(command, &what);
    let env = caller_env.inside(&inside_mark(profile));
    let mut stdout = crate::bounded::shell_stdout(command, &env, timeout)
        .await
        .map_err(failed)?;
    let parsed = parse(&stdout).map_err(|reason| failed(reason.to_owned()));
    stdout.zeroize();
    parsed
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: u8,
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
    expiration: Option<String>,
    account_id: Option<String>,
}

fn parse(stdout: &[u8]) -> Result<Wrapped, &'static str> {
    let output: ProcessOutput = serde_json::from_slice(stdout)
        .map_err(|_| "printed something that is not credential_process JSON")?;
    if output.version != 1 {
        return Err("printed a Version other than 1");
    }
    let session_token = output
        .session_token
        .ok_or("printed no SessionToken: mfad hands out temporary credentials only")?;
    let expiration = output
        .expiration
        .ok_or("printed no Expiration: mfad hands out temporary credentials only")?;
    let expiration = aws_smithy_types::DateTime::from_str(&expiration, Format::DateTime)
        .ok()
        .and_then(|time| SystemTime::try_from(time).ok())
        .ok_or("printed an Expiration that is not an RFC 3339 time")?;
    Ok(Wrapped {
        access_key_id: output.access_key_id,
        secret_access_key: output.secret_access_key,
        session_token,
        expiration,
        account_id: output.account_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::INSIDE_VAR;

    #[test]
    fn credential_process_json_is_read_and_what_is_missing_is_named() {
        let good = br#"{"Version":1,"AccessKeyId":"ASIA1","SecretAccessKey":"s","SessionToken":"t","Expiration":"2030-01-02T03:04:05Z","AccountId":"123456789012"}"#;
        let wrapped = parse(good).unwrap();
        assert_eq!(wrapped.access_key_id, "ASIA1");
        assert_eq!(
            wrapped.expiration,
            humantime::parse_rfc3339("2030-01-02T03:04:05Z").unwrap()
        );
        assert_eq!(wrapped.account_id.as_deref(), Some("123456789012"));
        assert!(
            parse(b"hello")
                .unwrap_err()
                .contains("not credential_process JSON")
        );
        let no_token = br#"{"Version":1,"AccessKeyId":"AKIA1","SecretAccessKey":"s"}"#;
        assert!(parse(no_token).unwrap_err().contains("no SessionToken"));
        let no_expiry =
            br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s","SessionToken":"t"}"#;
        assert!(parse(no_expiry).unwrap_err().contains("no Expiration"));
    }

    #[test]
    fn a_helper_asking_for_its_own_profile_is_a_loop() {
        let env = CallerEnv::from([(INSIDE_VAR.to_owned(), "arn:x,wrap:sso".to_owned())]);
        assert!(is_loop("sso", &env));
        assert!(!is_loop("other", &env));
    }
}
