//! Identity Center in the daemon: an sso-session's token for all its callers (the held
//! one, a refresh, or one sign-in), and an Identity Center role's credentials through
//! it. A token the portal refuses is dropped and the person asked to sign in once more.

use super::signin::{self, SignIn};
use super::state::Daemon;
use super::tokens::TokenLookup;
use crate::config::SsoPlan;
use crate::failure::Failure;
use crate::messages;
use crate::sso::{Grant, Registration, Route, SsoError, Token};
use crate::sts::TemporaryCredentials;
use crate::timefmt::epoch_secs;
use secrecy::SecretString;
use std::sync::Arc;

/// The access token of the plan's sso-session. Without `sign_in` (a renewal ahead of
/// time) only a refresh is tried.
pub async fn token(
    daemon: &Daemon,
    plan: &SsoPlan,
    sign_in: Option<&SignIn<'_>>,
) -> Result<SecretString, Failure> {
    let now = epoch_secs(daemon.now().wall);
    match daemon.sso_tokens.lookup(&plan.session, &plan.network, now) {
        TokenLookup::Ready(token) => Ok(token),
        TokenLookup::Wait(flight) => flight.outcome().await,
        TokenLookup::Start(flight, held) => {
            let result = obtain(daemon, plan, held, sign_in).await;
            let now = epoch_secs(daemon.now().wall);
            daemon
                .sso_tokens
                .finish(&plan.session, &flight, result, now)
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
    sign_in: Option<&SignIn<'_>>,
) -> Result<TemporaryCredentials, Failure> {
    let route = Route {
        session: &plan.session,
        network: &plan.network,
    };
    let mut retried = false;
    loop {
        let token = token(daemon, plan, sign_in).await?;
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
