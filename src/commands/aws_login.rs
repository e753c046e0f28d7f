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

use crate::aws_login::{self, CONFIRMATION_PATH, CROSS_DEVICE_CLIENT, SAME_DEVICE_CLIENT};
use crate::config::{self, AwsFiles, AwsLoginTarget, CallerEnv, edit};
use crate::daemon::callback::{self, Signing};
use crate::daemon::signin::{browser_of, open};
use crate::failure::Failure;
use crate::files;
use crate::messages;
use crate::timefmt::{rfc3339, short_duration};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, SystemTime};

/// Where the browser comes back to, on a loopback port (RFC 8252), as with `aws login`.
const REDIRECT_PATH: &str = "/oauth/callback";
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
    let (verifier, challenge) = crate::random::pkce().map_err(Failure::internal)?;
    let state = crate::random::state().map_err(Failure::internal)?;
    let (client_id, redirect_uri, code) = if remote {
        let redirect_uri = format!("{}{CONFIRMATION_PATH}", route.endpoint());
        let url = aws_login::authorize_url(
            route,
            CROSS_DEVICE_CLIENT,
            &redirect_uri,
            &state,
            &challenge,
        );
        let code = pasted_code(&url, &state, &target.profile).await?;
        (CROSS_DEVICE_CLIENT, redirect_uri, code)
    } else {
        let (redirect_uri, code) = loopback_code(route, target, env, &state, &challenge).await?;
        (SAME_DEVICE_CLIENT, redirect_uri, code)
    };
    let (_, key_pem) = aws_login::dpop::generate().map_err(Failure::from)?;
    aws_login::exchange_code(
        route,
        client_id,
        &code,
        &verifier,
        &redirect_uri,
        &key_pem,
        SystemTime::now(),
    )
    .await
    .map_err(|error| {
        Failure::from(aws_login::OfProfile {
            error,
            login_profile: target.profile.clone(),
        })
    })
}

/// The browser on this machine comes back to a loopback port with the code; the
/// redirect URI and the code.
async fn loopback_code(
    route: aws_login::Route<'_>,
    target: &AwsLoginTarget,
    env: &CallerEnv,
    state: &str,
    challenge: &str,
) -> Result<(String, SecretString), Failure> {
    let (listener, redirect_uri) = callback::listen(REDIRECT_PATH).await?;
    let url = aws_login::authorize_url(route, SAME_DEVICE_CLIENT, &redirect_uri, state, challenge);
    eprintln!("mfad: sign in to AWS in the browser; if it does not open, open this page:\n  {url}");
    if let Some(browser) = browser_of(env) {
        open(&browser, &url, env)?;
    }
    let signing = Signing {
        what: format!("AWS (profile {})", target.profile),
        retry: format!("mfad aws-login {}", target.profile),
    };
    let code = tokio::time::timeout(
        SIGN_IN_TIME_LIMIT,
        callback::wait(&listener, REDIRECT_PATH, state, &signing),
    )
    .await
    .map_err(|_| {
        messages::aws_login_timed_out(&target.profile, short_duration(SIGN_IN_TIME_LIMIT))
    })??;
    Ok((redirect_uri, code))
}

/// A browser elsewhere: the person opens `url` there, signs in, and pastes the code the
/// confirmation page shows (one line of standard input: the terminal, or a pipe).
async fn pasted_code(url: &str, state: &str, profile: &str) -> Result<SecretString, Failure> {
    use subtle::ConstantTimeEq;
    eprintln!(
        "mfad: open this page in a browser on any device, sign in, then paste the code it shows:\n  {url}"
    );
    eprint!("code: ");
    let reading = tokio::task::spawn_blocking(|| {
        use std::io::{BufRead, Read};
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .take(MAX_CODE_BYTES)
            .read_line(&mut line);
        read.map(|_| SecretString::from(line))
    });
    let line = tokio::time::timeout(SIGN_IN_TIME_LIMIT, reading)
        .await
        .map_err(|_| messages::aws_login_timed_out(profile, short_duration(SIGN_IN_TIME_LIMIT)))?
        .map_err(Failure::internal)?
        .map_err(Failure::internal)?;
    let parsed = aws_login::parse_verification_code(line.expose_secret());
    match parsed {
        // Compared in constant time: the state is what ties the code to this sign-in.
        Some((code, returned)) if bool::from(returned.as_bytes().ct_eq(state.as_bytes())) => {
            Ok(code)
        }
        _ => Err(messages::aws_login_code_garbled(profile)),
    }
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
