//! `mfad login PROFILE [--print] [--destination URL]`: the AWS console, signed in with the
//! profile's credentials through the federation endpoint.

use crate::client::fetch_credentials;
use crate::config::{self, CallerEnv, KeySource};
use crate::failure::Failure;
use crate::iam::signin::{self, Partition};
use crate::messages;
use crate::protocol::Credentials;
use crate::settings::StsTimeouts;
use crate::sts::{self, Route, StsClock, StsError, TemporaryCredentials};
use crate::timefmt::from_epoch_secs;
use secrecy::ExposeSecret;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The federation endpoint to use instead of the partition's (a proxy, a test double).
pub const SIGNIN_URL_VAR: &str = "MFAD_SIGNIN_URL";

/// Said before a sign-in as the IAM user: GetFederationToken cannot carry MFA.
const NO_MFA_NOTE: &str = "mfad: note: this profile assumes no role, so the console session \
is a federated session of the IAM user (sts:GetFederationToken), which carries no MFA: \
policies that deny actions without MFA (such as `mfad policy`) apply to it. For a console \
session with MFA, sign in with a role profile (mfad_role_arn).";

/// How long the browser opener may take before mfad stops waiting for it.
const OPENER_WAIT: Duration = Duration::from_secs(10);

pub fn run(profile: &str, print: bool, destination: Option<&str>) -> Result<(), Failure> {
    let env: CallerEnv = std::env::vars().collect();
    let target = config::login_target(profile, &env)?;
    let partition = Partition::of(target.arn.as_deref(), target.region.as_deref());
    let federation = env
        .get(SIGNIN_URL_VAR)
        .filter(|url| !url.is_empty())
        .cloned()
        .unwrap_or_else(|| partition.federation_url().to_owned());
    // Before any session is made for it.
    crate::network::check_endpoint(&federation).map_err(Failure::from)?;
    let runtime = super::runtime()?;
    let credentials = match &target.role_arn {
        Some(_) => temporary(fetch_credentials(profile)?),
        None => {
            eprintln!("{NO_MFA_NOTE}");
            runtime.block_on(federation_credentials(profile, &env))?
        }
    };
    let token = runtime.block_on(signin::signin_token(
        &target.network,
        &federation,
        &credentials,
    ))?;
    let destination = destination.map_or_else(
        || partition.console_url(target.region.as_deref()),
        str::to_owned,
    );
    let url = signin::login_url(&federation, &token, &destination);
    if print {
        println!("{}", url.expose_secret());
        return Ok(());
    }
    open_browser(url.expose_secret())
}

fn temporary(credentials: Credentials) -> TemporaryCredentials {
    TemporaryCredentials {
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: credentials.session_token,
        expiration: from_epoch_secs(credentials.expiration),
    }
}

/// A federated session of the profile's IAM user, made with its long-term key.
async fn federation_credentials(
    profile: &str,
    env: &CallerEnv,
) -> Result<TemporaryCredentials, Failure> {
    let access = config::iam_access(profile, env)?;
    let key = match &access.key {
        KeySource::Store { profile } => super::store::for_this_shell()?
            .load_key(profile)?
            .ok_or_else(|| messages::no_key_stored(profile))?,
        KeySource::Static { key, .. } => key.clone(),
    };
    let clock = Arc::new(StsClock::default());
    let route = Route {
        endpoint: &access.sts,
        network: &access.network,
        clock: &clock,
        timeouts: StsTimeouts::default(),
    };
    let name = federated_name(access.mfa_serial.as_deref());
    sts::federation_token(route, &key, &name)
        .await
        .map_err(|error| match &error {
            StsError::Refused { code, .. } if code == "AccessDenied" => {
                messages::federation_refused(profile, &error)
            }
            _ => messages::federation_failed(profile, error.into()),
        })
}

/// The federated user's name, shown in the console: the device's user name when the
/// profile names one, cut to what STS accepts (2 to 32 of `\w+=,.@-`).
fn federated_name(mfa_serial: Option<&str>) -> String {
    let user = mfa_serial
        .and_then(|serial| serial.rsplit('/').next())
        .unwrap_or_default();
    let name: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(32)
        .collect();
    if name.len() < 2 { "mfad".into() } else { name }
}

/// Hand the URL to the desktop's opener; waits a bounded time for it to say it worked.
///
/// The opener runs in a process group of its own, so a Ctrl-C at this terminal does not
/// reach it or the browser it starts. Unlike a helper whose output mfad reads, it is not
/// killed when the wait ends: `xdg-open` runs `$BROWSER` in the foreground when no browser
/// was running, and killing its group would close the window just opened for the person.
fn open_browser(url: &str) -> Result<(), Failure> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let mut child = Command::new(opener)
        .arg(url)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| messages::browser_not_opened(opener, error))?;
    let deadline = Instant::now() + OPENER_WAIT;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(messages::browser_not_opened(opener, status)),
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => return Err(messages::browser_not_opened(opener, error)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_federated_name_is_the_device_user_cut_to_what_sts_accepts() {
        assert_eq!(
            federated_name(Some("arn:aws:iam::123456789012:mfa/alice")),
            "alice"
        );
        assert_eq!(
            federated_name(Some(
                "arn:aws:iam::1:mfa/a very long name with spaces and more"
            )),
            "averylongnamewithspacesandmore"
        );
        assert_eq!(federated_name(Some("arn:aws:iam::1:mfa/x")), "mfad");
        assert_eq!(federated_name(None), "mfad");
    }
}
