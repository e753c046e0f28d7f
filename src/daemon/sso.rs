//! Identity Center in the daemon: an sso-session's token for all its callers (the held
//! one, a refresh, or one sign-in), and an Identity Center role's credentials through
//! it. A token the portal refuses is dropped and the person asked to sign in once more.

use super::signin::{self, SignIn};
use super::state::Daemon;
use super::tokens::TokenLookup;
use crate::bounded::{self, FILE_TIME_LIMIT};
use crate::config::{SsoPlan, SsoSession};
use crate::failure::Failure;
use crate::files;
use crate::messages;
use crate::paths;
use crate::sso::cache;
use crate::sso::{Grant, Registration, Route, SsoError, Token};
use crate::sts::TemporaryCredentials;
use crate::timefmt::epoch_secs;
use crate::vocab::CallerEnv;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// The access token of the plan's sso-session. Without `sign_in` (a renewal ahead of
/// time) only a refresh is tried. `env` is the caller's (its store, its home's CLI cache).
pub async fn token(
    daemon: &Daemon,
    plan: &SsoPlan,
    env: &CallerEnv,
    sign_in: Option<&SignIn<'_>>,
) -> Result<SecretString, Failure> {
    if daemon.sso_tokens.first_look(&plan.session) {
        load(daemon, plan, env).await;
    }
    let now = epoch_secs(daemon.now().wall);
    match daemon.sso_tokens.lookup(&plan.session, &plan.network, now) {
        TokenLookup::Ready(token) => Ok(token),
        TokenLookup::Wait(flight) => flight.outcome().await,
        TokenLookup::Start(flight, held) => {
            let result = obtain(daemon, plan, held, sign_in).await;
            if let Ok((token, registration)) = &result {
                keep(daemon, &plan.session, env, token, registration).await;
            }
            let now = epoch_secs(daemon.now().wall);
            daemon
                .sso_tokens
                .finish(&plan.session, &flight, result, now)
        }
    }
}

/// The token a previous daemon saved in the store, else the one `aws sso login` left in
/// the AWS CLI's cache.
async fn load(daemon: &Daemon, plan: &SsoPlan, env: &CallerEnv) {
    let session = &plan.session;
    let saved = match daemon.stores.for_caller(env, None).await {
        Ok(store) => {
            let name = session.name.clone();
            daemon
                .in_store(store, move |store| store.load_sso(&name))
                .await
                .ok()
                .flatten()
        }
        Err(_) => None,
    };
    let from_store = saved.and_then(|json| cache::from_json(session, json.expose_secret()));
    let found = match from_store {
        Some(found) => Some(found),
        None => {
            let path = cache::cli_cache_file(&paths::caller_home(env), session);
            let key = path.display().to_string();
            bounded::offload(&key, FILE_TIME_LIMIT, move || {
                bounded::read_text(&path, 1 << 20).ok().flatten()
            })
            .await
            .ok()
            .flatten()
            .and_then(|json| cache::from_json(session, &json))
        }
    };
    if let Some((token, registration)) = found {
        // Without a registration (a legacy cache) the token serves until it ends.
        let registration = registration.unwrap_or(Registration {
            client_id: String::new(),
            client_secret: SecretString::from(String::new()),
            expires_at: 0,
            flow: crate::sso::Flow::Device,
        });
        tracing::info!("took the saved token of sso-session {}", session.name);
        let now = epoch_secs(daemon.now().wall);
        daemon.sso_tokens.restore(session, token, registration, now);
    }
}

/// Keep a new token: in the store of the caller (never in plaintext), and with
/// `share_cli_cache` in the AWS CLI's cache too (0600, replaced atomically).
async fn keep(
    daemon: &Daemon,
    session: &SsoSession,
    env: &CallerEnv,
    token: &Token,
    registration: &Registration,
) {
    let json = cache::to_json(session, token, registration);
    match daemon.stores.for_caller(env, None).await {
        Ok(store) => {
            let (name, saved) = (session.name.clone(), json.clone());
            if let Err(e) = daemon
                .in_store(store, move |store| store.save_sso(&name, &saved))
                .await
            {
                tracing::info!(
                    "the token of sso-session {} was not saved: {e}",
                    session.name
                );
            }
        }
        Err(e) => tracing::info!(
            "the token of sso-session {} was not saved: {e}",
            session.name
        ),
    }
    if daemon.settings.share_cli_cache {
        let path = cache::cli_cache_file(&paths::caller_home(env), session);
        let key = path.display().to_string();
        let written = bounded::offload(&key, FILE_TIME_LIMIT, move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            files::replace(&path, json.expose_secret().as_bytes(), 0o600)
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            tracing::warn!(
                "the AWS CLI's cache of sso-session {} was not written",
                session.name
            );
        }
    }
}

/// Refresh the held token if it can be; else sign in.
async fn obtain(
    daemon: &Daemon,
    plan: &SsoPlan,
    held: Option<(Token, Registration)>,
    sign_in: Option<&SignIn<'_>>,
) -> Result<(Token, Registration), Failure> {
    let route = Route {
        session: &plan.session,
        network: &plan.network,
    };
    if let Some(held) = held
        && let Some(refreshed) = refresh(daemon, route, held).await?
    {
        return Ok(refreshed);
    }
    match sign_in {
        Some(with) => signin::sign_in(daemon, plan, with).await,
        None => Err(messages::sso_sign_in_needed(&plan.session.name)),
    }
}

/// A new token from the refresh token; `None` when only a person signing in helps (the
/// refresh token expired, was revoked or used, or the registration is gone).
async fn refresh(
    daemon: &Daemon,
    route: Route<'_>,
    (token, registration): (Token, Registration),
) -> Result<Option<(Token, Registration)>, Failure> {
    let Some(refresh_token) = &token.refresh_token else {
        return Ok(None);
    };
    match daemon
        .sso
        .create_token(route, &registration, Grant::RefreshToken(refresh_token))
        .await
    {
        Ok(token) => {
            tracing::info!("refreshed the token of sso-session {}", route.session.name);
            Ok(Some((token, registration)))
        }
        Err(error) if error.needs_sign_in() || matches!(error, SsoError::InvalidClient { .. }) => {
            tracing::info!(
                "the token of sso-session {} cannot be refreshed ({error}); a sign-in is needed",
                route.session.name
            );
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// An Identity Center role's credentials: GetRoleCredentials with the session's token;
/// a token the portal no longer accepts is dropped and obtained once more.
pub async fn role_credentials(
    daemon: &Daemon,
    plan: &SsoPlan,
    env: &CallerEnv,
    sign_in: Option<&SignIn<'_>>,
) -> Result<TemporaryCredentials, Failure> {
    let route = Route {
        session: &plan.session,
        network: &plan.network,
    };
    let mut retried = false;
    loop {
        let token = token(daemon, plan, env, sign_in).await?;
        match daemon
            .sso
            .role_credentials(route, &token, &plan.account_id, &plan.role_name)
            .await
        {
            Err(SsoError::Unauthorized { .. }) if !retried => {
                tracing::info!(
                    "the portal refused the token of sso-session {}; obtaining it again",
                    plan.session.name
                );
                daemon.sso_tokens.drop_token(&plan.session);
                retried = true;
            }
            result => return Ok(result?),
        }
    }
}

/// Refresh, without a caller, the tokens that end within the refresh window.
pub fn refresh_ahead(daemon: &Arc<Daemon>) {
    let now = epoch_secs(daemon.now().wall);
    for (session, network) in daemon.sso_tokens.due(now) {
        let Some((flight, held)) = daemon.sso_tokens.start_refresh(&session) else {
            continue;
        };
        let daemon = daemon.clone();
        tokio::spawn(async move {
            let route = Route {
                session: &session,
                network: &network,
            };
            let result = refresh(&daemon, route, held).await.and_then(|refreshed| {
                refreshed.ok_or_else(|| messages::sso_sign_in_needed(&session.name))
            });
            let now = epoch_secs(daemon.now().wall);
            if let Err(failure) = daemon.sso_tokens.finish(&session, &flight, result, now) {
                tracing::warn!(
                    "refreshing the token of sso-session {} ahead of time failed: {failure}",
                    session.name
                );
            }
        });
    }
}
