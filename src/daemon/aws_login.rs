//! `aws login` sign-ins served from their cache files.
//!
//! A session is taken from the file while more than [`AWS_LOGIN_REFRESH_AHEAD`] is left,
//! whoever wrote it (`aws login`, an SDK's own refresh, another mfad). Otherwise it is
//! refreshed: once for all callers (the session cache's flight), under the file's lock
//! (shared by every mfad process), after reading the file again under that lock so that
//! a refresh done meanwhile is taken instead of repeated; the rotated refresh token is
//! written back atomically, mode 0600, before anyone gets the new credentials.

use super::sessions::{Origin, Session};
use super::state::Daemon;
use crate::aws_login::{self, LoginCache, LoginError, cache::MAX_CACHE_BYTES};
use crate::bounded::{self, FILE_TIME_LIMIT};
use crate::config::AwsLoginPlan;
use crate::failure::Failure;
use crate::files;
use crate::vocab::AWS_LOGIN_REFRESH_AHEAD;
use secrecy::ExposeSecret;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long `aws login` credentials last (what a cache found on disk is assumed to have
/// been issued with, for `mfad status`'s "renewed").
const LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long to wait for another mfad process's refresh of the same file.
const LOCK_TIME_LIMIT: Duration = Duration::from_secs(30);

/// The session's credentials: from the cache file, or refreshed.
pub async fn obtain(daemon: &Daemon, plan: &AwsLoginPlan) -> Result<Session, Failure> {
    fetch(daemon, plan).await.map_err(|error| {
        Failure::from(aws_login::OfProfile {
            error,
            login_profile: plan.login_profile.clone(),
        })
    })
}

async fn fetch(daemon: &Daemon, plan: &AwsLoginPlan) -> Result<Session, LoginError> {
    let path = &plan.session.cache_file;
    let login_session = &plan.session.login_session;
    let cached = read(path, login_session).await?;
    if let Some(session) = lasting(&cached, daemon.now().wall)? {
        tracing::info!("took the aws login session of {login_session} from its cache");
        return Ok(session);
    }
    tracing::debug!("waiting for the lock of {}", path.display());
    let _lock = lock(path).await?;
    let cached = read(path, login_session).await?;
    let now = daemon.now().wall;
    if let Some(session) = lasting(&cached, now)? {
        tracing::info!("took the aws login session of {login_session}, refreshed meanwhile");
        return Ok(session);
    }
    let route = aws_login::Route::of(&plan.session, &plan.network);
    let refreshed = aws_login::refresh(route, &cached, now).await?;
    write(path, &refreshed).await?;
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

async fn lock(path: &Path) -> Result<files::Lock, LoginError> {
    let owned = path.to_owned();
    bounded::offload(&format!("{}.lock", key(path)), LOCK_TIME_LIMIT, move || {
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
