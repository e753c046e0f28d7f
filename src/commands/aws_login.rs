//! `mfad aws-login PROFILE [--remote]`: what `aws login` (AWS CLI 2.32+) does, for people
//! without that CLI. The person signs in to AWS in the browser (password and any MFA,
//! security keys included); the browser comes back to a loopback port with a code (or,
//! with `--remote`, a browser on another device shows a code the person pastes here),
//! which is exchanged (PKCE, a fresh P-256 DPoP key) for the session's tokens. They are
//! written where the CLI and the SDKs read them (`~/.aws/login/cache`, 0600) and
//! `[profile PROFILE]` gets `login_session` and `region`, as `aws login` leaves them; mfad
//! then serves the session to profiles with `mfad_login_profile = PROFILE`.
//!
//! Named after the command it stands in for: `mfad login` opens the console from the CLI's
//! credentials, this goes the other way.

use crate::aws_login;
use crate::config::{self, AwsFiles, AwsLoginTarget, CallerEnv, edit};
use crate::daemon::aws_login::signin::{Elsewhere, OnThisMachine};
use crate::daemon::signin::{browser_of, open};
use crate::failure::Failure;
use crate::files;
use crate::messages;
use crate::timefmt::{rfc3339, short_duration};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// How long the person has to finish the sign-in.
const SIGN_IN_TIME_LIMIT: Duration = Duration::from_secs(300);
/// The longest line read for a pasted code.
const MAX_CODE_BYTES: u64 = 4096;

pub fn run(profile: &str, remote: bool, in_store: bool) -> Result<(), Failure> {
    let env: CallerEnv = std::env::vars().collect();
    let files = AwsFiles::load(&env).map_err(Failure::from)?;
    let target = config::aws_login::sign_in_target(&files, profile, &env);
    let runtime = super::runtime()?;
    let signed_in = runtime.block_on(sign_in(&target, &env, remote))?;
    save(&target, &signed_in, in_store)?;
    let expires = signed_in
        .cache
        .expiration()
        .map_or_else(|_| "-".to_owned(), rfc3339);
    println!(
        "signed in as {} (credentials until {expires}, refreshed for up to 12 hours)",
        signed_in.login_session
    );
    println!(
        "profile {profile} now has login_session; profiles with `mfad_login_profile = {profile}` and `credential_process = mfad process NAME` use it"
    );
    Ok(())
}

async fn sign_in(
    target: &AwsLoginTarget,
    env: &CallerEnv,
    remote: bool,
) -> Result<aws_login::SignedIn, Failure> {
    let route = aws_login::Route {
        region: &target.region,
        url: target.url.as_deref(),
        network: &target.network,
    };
    crate::network::check_endpoint(&route.endpoint()).map_err(Failure::from)?;
    if remote {
        let sign_in = Elsewhere::begin(route)?;
        eprintln!(
            "mfad: open this page in a browser on any device, sign in, then paste the code it shows:\n  {}",
            sign_in.url
        );
        eprint!("code: ");
        let pasted = pasted_code(&target.profile).await?;
        sign_in.finish(route, &pasted, &target.profile).await
    } else {
        let sign_in = OnThisMachine::begin(route).await?;
        eprintln!(
            "mfad: sign in to AWS in the browser; if it does not open, open this page:\n  {}",
            sign_in.url
        );
        if let Some(browser) = browser_of(env) {
            open(&browser, &sign_in.url, env)?;
        }
        sign_in
            .finish(route, &target.profile, SIGN_IN_TIME_LIMIT)
            .await
    }
}

/// One line of standard input (the terminal, or a pipe): the code a browser elsewhere
/// showed.
async fn pasted_code(profile: &str) -> Result<SecretString, Failure> {
    let reading = tokio::task::spawn_blocking(|| {
        use std::io::{BufRead, Read};
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .take(MAX_CODE_BYTES)
            .read_line(&mut line);
        read.map(|_| SecretString::from(line))
    });
    tokio::time::timeout(SIGN_IN_TIME_LIMIT, reading)
        .await
        .map_err(|_| messages::aws_login_timed_out(profile, short_duration(SIGN_IN_TIME_LIMIT)))?
        .map_err(Failure::internal)?
        .map_err(Failure::internal)
}

/// The cache where the CLI and the SDKs read it (the directory 0700, the file 0600,
/// replaced atomically under its lock), or in mfad's secret store; then `login_session`
/// (and `mfad_login_store`, `region`) in the profile.
fn save(
    target: &AwsLoginTarget,
    signed_in: &aws_login::SignedIn,
    in_store: bool,
) -> Result<(), Failure> {
    let json = signed_in.cache.to_json();
    if in_store {
        let store = super::store::for_saving()?;
        store
            .save_aws_login(&signed_in.login_session, &json)
            .map_err(Failure::from)?;
    } else {
        let file = config::aws_login::cache_file_of(target, &signed_in.login_session);
        write_cache(target, &file, &json)
            .map_err(|error| messages::aws_login_not_written(&file, error))?;
    }
    let header = edit::header_of(&target.profile);
    let mut settings = vec![("login_session", signed_in.login_session.as_str())];
    if in_store {
        settings.push(("mfad_login_store", "true"));
    }
    if target.region_missing {
        settings.push(("region", target.region.as_str()));
    }
    config::credfile::edit(&target.config, &header, |text| {
        let mut changed: Option<String> = None;
        for (key, value) in &settings {
            let current = changed.as_deref().unwrap_or(text);
            if let Some(next) = edit::set(current, &header, key, value) {
                changed = Some(next);
            }
        }
        Ok(changed)
    })
    .map_err(|error| messages::aws_login_not_written(&target.config, error))?;
    Ok(())
}

fn write_cache(
    target: &AwsLoginTarget,
    file: &std::path::Path,
    json: &SecretString,
) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&target.cache_directory)?;
    let _lock = files::lock(file)?;
    files::replace(file, json.expose_secret().as_bytes(), 0o600)
}
