//! `aws login` sign-ins served from their cache files.
//!
//! A session is taken from the file while more than [`AWS_LOGIN_REFRESH_AHEAD`] is left,
//! whoever wrote it (`aws login`, an SDK's own refresh, another mfad). Otherwise it is
//! refreshed: once for all callers (the session cache's flight), under the file's lock
//! (shared by every mfad process), after reading the file again under that lock so that
//! a refresh done meanwhile is taken instead of repeated; the rotated refresh token is
//! written back atomically, mode 0600, before anyone gets the new credentials. Should that
//! write fail, the daemon holds the refreshed session in memory (the old refresh token is
//! spent) and writes it back at the session's next use.
//!
//! When only a new sign-in helps (no cache, the 12 hours over, the password changed) and
//! the caller can be shown one, the person is offered it at once, once for all waiting
//! callers: in the browser of the caller's desktop, else as a page to open anywhere and a
//! code to paste on the caller's terminal. A renewal ahead of time never asks.

pub mod signin;

use super::sessions::{Origin, Session};
use super::signin::{SignIn, browser_of, open};
use super::state::Daemon;
use crate::aws_login::{self, LoginCache, LoginError, cache::MAX_CACHE_BYTES};
use crate::bounded::{self, FILE_TIME_LIMIT};
use crate::config::AwsLoginPlan;
use crate::failure::Failure;
use crate::files;
use crate::messages;
use crate::mfa::askers::AskError;
use crate::timefmt::short_duration;
use crate::vocab::{AWS_LOGIN_REFRESH_AHEAD, CallerEnv};
use secrecy::ExposeSecret;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long `aws login` credentials last (what a cache found on disk is assumed to have
/// been issued with, for `mfad status`'s "renewed").
const LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long to wait for another mfad process's refresh of the same file.
const LOCK_TIME_LIMIT: Duration = Duration::from_secs(30);

/// The session's credentials: from the cache (the file, or the caller's secret store for
/// a sign-in kept there), or refreshed; or, with `sign_in` and when nothing else helps,
/// from the person signing in again.
pub async fn obtain(
    daemon: &Daemon,
    plan: &AwsLoginPlan,
    env: &CallerEnv,
    sign_in: Option<&SignIn<'_>>,
) -> Result<Session, Failure> {
    match (fetch(daemon, plan, env).await, sign_in) {
        (Err(error), Some(with)) if error.needs_sign_in() && can_show(with) => {
            tracing::info!(
                login_session = %plan.session.login_session,
                "{error}; offering the caller a sign-in"
            );
            sign_in_again(daemon, plan, env, with).await
        }
        (result, _) => result.map_err(|error| told(plan, error)),
    }
}

/// The error told with the profile to sign in again with.
fn told(plan: &AwsLoginPlan, error: LoginError) -> Failure {
    Failure::from(aws_login::OfProfile {
        error,
        login_profile: plan.login_profile.clone(),
    })
}

/// Whether a sign-in can be shown: a browser on the caller's desktop, or a waiting
/// caller's terminal.
fn can_show(with: &SignIn<'_>) -> bool {
    browser_of(with.caller_env).is_some() || !with.askers.is_empty()
}

/// The person signs in again, as the identity the profile names; the new cache is kept
/// where the old one was.
async fn sign_in_again(
    daemon: &Daemon,
    plan: &AwsLoginPlan,
    env: &CallerEnv,
    with: &SignIn<'_>,
) -> Result<Session, Failure> {
    let route = aws_login::Route::of(&plan.session, &plan.network);
    let profile = &plan.login_profile;
    let time_limit = daemon.settings.prompt.timeout;
    let signed_in = match browser_of(with.caller_env) {
        Some(browser) => {
            let sign_in = signin::OnThisMachine::begin(route).await?;
            open(&browser, &sign_in.url, with.caller_env)?;
            // Also on a waiting terminal: the browser may have opened out of sight, or not.
            let text = format!(
                "profile {profile} needs a new sign-in to AWS: finish it in the browser; if none opened, open {}",
                sign_in.url
            );
            with.askers.tell(&text, time_limit).await;
            sign_in.finish(route, profile, time_limit).await?
        }
        None => {
            let sign_in = signin::Elsewhere::begin(route)?;
            let prompt = format!(
                "profile {profile} needs a new sign-in to AWS: open {} in a browser on any device, sign in, then paste the code it shows: ",
                sign_in.url
            );
            let pasted =
                with.askers
                    .ask(&prompt, time_limit)
                    .await
                    .map_err(|error| match error {
                        AskError::TimedOut => {
                            messages::aws_login_timed_out(profile, short_duration(time_limit))
                        }
                        _ => messages::aws_login_cancelled(profile),
                    })?;
            sign_in.finish(route, &pasted, profile).await?
        }
    };
    let wanted = &plan.session.login_session;
    if signed_in.login_session != *wanted {
        return Err(messages::aws_login_other_identity(
            profile,
            wanted,
            &signed_in.login_session,
        ));
    }
    let credentials = signed_in
        .cache
        .credentials()
        .map_err(|error| told(plan, error))?;
    match lock_of(plan).await {
        Ok(_lock) => keep(daemon, plan, env, &signed_in.cache).await,
        // Held, and written back at the next use.
        Err(error) => {
            tracing::warn!("the new sign-in was not written yet ({error})");
            hold(daemon, plan, &signed_in.cache);
        }
    }
    tracing::info!("signed in again as {wanted}");
    Ok(Session {
        credentials,
        origin: Origin::AwsLogin,
        renewed_at: daemon.now().wall,
    })
}

async fn fetch(
    daemon: &Daemon,
    plan: &AwsLoginPlan,
    env: &CallerEnv,
) -> Result<Session, LoginError> {
    let login_session = &plan.session.login_session;
    if held_unwritten(daemon, plan)?.is_some()
        && let Ok(_lock) = lock_of(plan).await
    {
        write_back(daemon, plan, env).await?;
    }
    let cached = current(daemon, plan, env).await?;
    if let Some(session) = lasting(&cached, daemon.now().wall)? {
        tracing::info!("took the aws login session of {login_session} from its cache");
        return Ok(session);
    }
    let _lock = lock_of(plan).await?;
    let cached = current(daemon, plan, env).await?;
    let now = daemon.now().wall;
    if let Some(session) = lasting(&cached, now)? {
        tracing::info!("took the aws login session of {login_session}, refreshed meanwhile");
        return Ok(session);
    }
    let route = aws_login::Route::of(&plan.session, &plan.network);
    let refreshed = aws_login::refresh(route, &cached, now).await?;
    keep(daemon, plan, env, &refreshed).await;
    tracing::info!(
        expires = %crate::timefmt::rfc3339(refreshed.expiration()?),
        "refreshed the aws login session of {login_session}"
    );
    Ok(Session {
        credentials: refreshed.credentials()?,
        origin: Origin::AwsLogin,
        renewed_at: now,
    })
}

/// The lock of the session's cache file; none for a session in the store, which only
/// mfad writes, one flight at a time.
async fn lock_of(plan: &AwsLoginPlan) -> Result<Option<files::Lock>, LoginError> {
    if plan.session.in_store {
        return Ok(None);
    }
    let path = &plan.session.cache_file;
    tracing::debug!("waiting for the lock of {}", path.display());
    Ok(Some(lock(path).await?))
}

/// The cache as it stands: the file's (or the store's), unless mfad holds a newer one it
/// could not write back.
async fn current(
    daemon: &Daemon,
    plan: &AwsLoginPlan,
    env: &CallerEnv,
) -> Result<LoginCache, LoginError> {
    let loaded = load(daemon, plan, env).await;
    let Some(held) = held_unwritten(daemon, plan)? else {
        return loaded;
    };
    match loaded {
        Ok(stored) if stored.expiration()? >= held.expiration()? => Ok(stored),
        _ => Ok(held),
    }
}

fn held_unwritten(daemon: &Daemon, plan: &AwsLoginPlan) -> Result<Option<LoginCache>, LoginError> {
    let json = daemon
        .unwritten_logins
        .lock()
        .unwrap()
        .get(&plan.session)
        .cloned();
    json.map(|json| LoginCache::parse(json.expose_secret().as_bytes()))
        .transpose()
}

/// Write back the session held unwritten (under the file's lock), unless the file has
/// something newer meanwhile (a new sign-in), which is then taken instead.
async fn write_back(
    daemon: &Daemon,
    plan: &AwsLoginPlan,
    env: &CallerEnv,
) -> Result<(), LoginError> {
    let Some(held) = held_unwritten(daemon, plan)? else {
        return Ok(());
    };
    if let Ok(stored) = load(daemon, plan, env).await
        && stored.expiration()? >= held.expiration()?
    {
        daemon
            .unwritten_logins
            .lock()
            .unwrap()
            .remove(&plan.session);
        return Ok(());
    }
    keep(daemon, plan, env, &held).await;
    Ok(())
}

/// Write `cache` (its lock held by the caller). Should that fail, the session is held in
/// memory and written back at its next use, rather than its rotated refresh token lost.
async fn keep(daemon: &Daemon, plan: &AwsLoginPlan, env: &CallerEnv, cache: &LoginCache) {
    match save(daemon, plan, env, cache).await {
        Ok(()) => {
            daemon
                .unwritten_logins
                .lock()
                .unwrap()
                .remove(&plan.session);
        }
        Err(error) => {
            tracing::warn!(
                login_session = %plan.session.login_session,
                "the aws login session could not be written back ({error}); mfad holds it and writes it back at its next use"
            );
            hold(daemon, plan, cache);
        }
    }
}

fn hold(daemon: &Daemon, plan: &AwsLoginPlan, cache: &LoginCache) {
    daemon
        .unwritten_logins
        .lock()
        .unwrap()
        .insert(plan.session.clone(), cache.to_json());
}

/// The cache's session, if it lasts long enough to be handed out.
fn lasting(cached: &LoginCache, now: SystemTime) -> Result<Option<Session>, LoginError> {
    let expiration = cached.expiration()?;
    let left = expiration.duration_since(now).unwrap_or_default();
    if left <= AWS_LOGIN_REFRESH_AHEAD {
        return Ok(None);
    }
    let issued = expiration.checked_sub(LIFETIME).filter(|at| *at <= now);
    Ok(Some(Session {
        credentials: cached.credentials()?,
        origin: Origin::AwsLogin,
        renewed_at: issued.unwrap_or(now),
    }))
}

async fn load(
    daemon: &Daemon,
    plan: &AwsLoginPlan,
    env: &CallerEnv,
) -> Result<LoginCache, LoginError> {
    let session = &plan.session;
    if !session.in_store {
        return read(&session.cache_file, &session.login_session).await;
    }
    let store = daemon
        .stores
        .for_caller(env, None)
        .await
        .map_err(|failure| LoginError::Unreadable(failure.to_string()))?;
    let name = session.login_session.clone();
    let json = daemon
        .in_store(store, move |store| store.load_aws_login(&name))
        .await
        .map_err(|error| LoginError::Unreadable(error.to_string()))?
        .ok_or_else(|| LoginError::NotSignedIn {
            login_session: session.login_session.clone(),
            path: "mfad's secret store".into(),
        })?;
    LoginCache::parse(json.expose_secret().as_bytes())
}

async fn save(
    daemon: &Daemon,
    plan: &AwsLoginPlan,
    env: &CallerEnv,
    cache: &LoginCache,
) -> Result<(), LoginError> {
    let session = &plan.session;
    if !session.in_store {
        return write(&session.cache_file, cache).await;
    }
    let store = daemon
        .stores
        .for_caller(env, None)
        .await
        .map_err(|failure| LoginError::Unwritable(failure.to_string()))?;
    let (name, json) = (session.login_session.clone(), cache.to_json());
    daemon
        .in_store(store, move |store| store.save_aws_login(&name, &json))
        .await
        .map_err(|error| LoginError::Unwritable(error.to_string()))
}

async fn read(path: &Path, login_session: &str) -> Result<LoginCache, LoginError> {
    let owned = path.to_owned();
    let bytes = bounded::offload(&key(path), FILE_TIME_LIMIT, move || {
        bounded::read_bytes(&owned, MAX_CACHE_BYTES)
    })
    .await
    .map_err(|stalled| unreadable(path, &stalled))?
    .map_err(|error| unreadable(path, &error))?;
    let Some(mut bytes) = bytes else {
        return Err(LoginError::NotSignedIn {
            login_session: login_session.to_owned(),
            path: path.to_owned(),
        });
    };
    let parsed = LoginCache::parse(&bytes);
    zeroize::Zeroize::zeroize(&mut bytes);
    parsed
}

/// The cache file's lock; its directory is made (0700) if missing, as for a first sign-in.
async fn lock(path: &Path) -> Result<files::Lock, LoginError> {
    let owned = path.to_owned();
    bounded::offload(&format!("{}.lock", key(path)), LOCK_TIME_LIMIT, move || {
        if let Some(directory) = owned.parent() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(directory)?;
        }
        files::lock(&owned)
    })
    .await
    .map_err(|stalled| LoginError::Unwritable(format!("{}: {stalled}", path.display())))?
    .map_err(|error| LoginError::Unwritable(format!("{}: {error}", path.display())))
}

async fn write(path: &Path, cache: &LoginCache) -> Result<(), LoginError> {
    let (owned, json) = (path.to_owned(), cache.to_json());
    bounded::offload(&key(path), FILE_TIME_LIMIT, move || {
        files::replace(&owned, json.expose_secret().as_bytes(), 0o600)
    })
    .await
    .map_err(|stalled| LoginError::Unwritable(format!("{}: {stalled}", path.display())))?
    .map_err(|error| LoginError::Unwritable(format!("{}: {error}", path.display())))
}

/// What [`bounded::offload`] knows a stuck file by.
fn key(path: &Path) -> String {
    path.display().to_string()
}

fn unreadable(path: &Path, error: &dyn std::fmt::Display) -> LoginError {
    LoginError::Unreadable(format!("{}: {error}", path.display()))
}
