//! Renewing a session: an MFA session (GetSessionToken with a code, see [`super::codes`])
//! or a role (AssumeRole with its source's credentials). A renewal runs to its end even
//! if the caller that started it goes away, publishes its outcome to every waiting caller,
//! and leaves its [`Recipe`] so the session can be renewed later without a caller.

use super::aws_login;
use super::codes::{self, sts_failure};
use super::key::SessionKey;
use super::persist;
use super::recipe::{AwsLoginRecipe, Recipe, RenewalRequest, RoleRecipe, SsoRecipe};
use super::sessions::{FailedRenewal, Flight, Origin, Session};
use super::signin::SignIn;
use super::sso;
use super::state::Daemon;
use crate::config::{RolePlan, SessionPlan};
use crate::failure::{Failure, FailureKind};
use crate::messages;
use crate::notify::Event;
use crate::sts::{self, StsError, TemporaryCredentials};
use std::sync::Arc;
use std::time::Duration;

/// Start renewing a session from its recipe on a flight already registered for it.
pub fn start(daemon: &Arc<Daemon>, recipe: Recipe, flight: Arc<Flight>) {
    match recipe {
        Recipe::Mfa(request) => {
            tokio::spawn(run(daemon.clone(), request, flight));
        }
        Recipe::Sso(recipe) => {
            tokio::spawn(run_sso(daemon.clone(), recipe, flight));
        }
        Recipe::AwsLogin(recipe) => {
            tokio::spawn(run_aws_login(daemon.clone(), recipe, flight));
        }
        Recipe::Role(recipe) => {
            let now = daemon.now();
            let source = recipe
                .key
                .source()
                .and_then(|source| daemon.sessions.current(source, now.wall));
            match source {
                Some(source) => {
                    tokio::spawn(run_role(daemon.clone(), recipe, source, flight));
                }
                None => {
                    let ended = messages::role_source_ended(&recipe.role.role_arn);
                    // The failure reaches the waiting callers and status through the flight.
                    let _ = daemon.sessions.finish(
                        &recipe.key,
                        &flight,
                        Err(ended),
                        recipe.role.note,
                        now,
                    );
                }
            }
        }
    }
}

/// Run an MFA renewal to its end and publish the outcome to every waiting caller.
pub async fn run(daemon: Arc<Daemon>, request: RenewalRequest, flight: Arc<Flight>) {
    let result = codes::new_session(&daemon, &request, &flight.askers).await;
    match &result {
        Ok(session) => tracing::info!(
            profile = %request.profile,
            serial = %request.plan.mfa_serial,
            code_from = ?session.origin,
            expires = %crate::timefmt::rfc3339(session.credentials.expiration),
            "new MFA session"
        ),
        Err(failure) => tracing::warn!(
            profile = %request.profile,
            serial = %request.plan.mfa_serial,
            "renewal failed: {failure}"
        ),
    }
    let recipe = Recipe::Mfa(request.clone());
    if let Ok(session) = &result {
        persist::save_obtained(&daemon, &request.key, session, &recipe, &request.profile).await;
    }
    let now = daemon.now();
    let note = request.plan.note.clone().or_else(|| {
        let session = result.as_ref().ok()?;
        capped_note(&request.plan, &session.credentials, session.renewed_at)
    });
    let (key, profile) = (request.key.clone(), request.profile.clone());
    let outcome = daemon.sessions.finish(&key, &flight, result, note, now);
    published(&daemon, &key, &profile, outcome, recipe).await;
}

/// Get an Identity Center role's credentials (signing in once for all its callers if
/// the sso-session needs it) and publish the outcome.
pub async fn run_sso(daemon: Arc<Daemon>, recipe: SsoRecipe, flight: Arc<Flight>) {
    let sign_in = SignIn {
        askers: &flight.askers,
        caller_env: &recipe.caller_env,
    };
    let sign_in = recipe.interactive.then_some(&sign_in);
    let result = sso::role_credentials(&daemon, &recipe.plan, &recipe.caller_env, sign_in)
        .await
        .map(|credentials| Session {
            credentials,
            origin: Origin::Sso,
            renewed_at: daemon.now().wall,
        });
    let plan = &recipe.plan;
    match &result {
        Ok(session) => tracing::info!(
            role = %plan.role_name,
            account = %plan.account_id,
            sso_session = %plan.session.name,
            expires = %crate::timefmt::rfc3339(session.credentials.expiration),
            "Identity Center role credentials"
        ),
        Err(failure) => tracing::warn!(
            role = %plan.role_name,
            account = %plan.account_id,
            "getting the role's credentials failed: {failure}"
        ),
    }
    let (key, profile) = (recipe.key.clone(), plan.profile.clone());
    let recipe = Recipe::Sso(recipe);
    if let Ok(session) = &result {
        persist::save_obtained(&daemon, &key, session, &recipe, &profile).await;
    }
    let outcome = daemon
        .sessions
        .finish(&key, &flight, result, None, daemon.now());
    published(&daemon, &key, &profile, outcome, recipe).await;
}

/// Take an `aws login` sign-in's credentials from its cache, refreshing it if they end
/// soon (or offering its callers a new sign-in when only that helps), and publish the
/// outcome.
pub async fn run_aws_login(daemon: Arc<Daemon>, recipe: AwsLoginRecipe, flight: Arc<Flight>) {
    let sign_in = SignIn {
        askers: &flight.askers,
        caller_env: &recipe.caller_env,
    };
    let sign_in = recipe.interactive.then_some(&sign_in);
    let result = aws_login::obtain(&daemon, &recipe.plan, &recipe.caller_env, sign_in).await;
    if let Err(failure) = &result {
        tracing::warn!(
            login_session = %recipe.plan.session.login_session,
            "the aws login session: {failure}"
        );
    }
    let (key, profile) = (recipe.key.clone(), recipe.plan.profile.clone());
    let recipe = Recipe::AwsLogin(recipe);
    if let Ok(session) = &result {
        persist::save_obtained(&daemon, &key, session, &recipe, &profile).await;
    }
    let outcome = daemon
        .sessions
        .finish(&key, &flight, result, None, daemon.now());
    published(&daemon, &key, &profile, outcome, recipe).await;
}

/// Assume a role with the credentials of its source session and publish the outcome.
pub async fn run_role(
    daemon: Arc<Daemon>,
    recipe: RoleRecipe,
    source: Arc<Session>,
    flight: Arc<Flight>,
) {
    let (key, role) = (&recipe.key, &recipe.role);
    let request = sts::RoleRequest {
        role_arn: &role.role_arn,
        session_name: &role.session_name,
        external_id: role.external_id.as_deref(),
        options: &role.options,
        duration: role.duration,
    };
    let route = sts::Route {
        endpoint: &role.sts,
        network: &role.network,
        clock: &daemon.sts_clock,
        timeouts: daemon.settings.sts_timeouts,
    };
    let result = daemon
        .sts
        .assume_role(route, &source.credentials, &request)
        .await
        .map(|credentials| Session {
            credentials,
            origin: Origin::Role,
            renewed_at: daemon.now().wall,
        })
        .map_err(|error| role_failure(error, role));
    match &result {
        Ok(session) => tracing::info!(
            role = %role.role_arn,
            expires = %crate::timefmt::rfc3339(session.credentials.expiration),
            "assumed role"
        ),
        Err(failure) => {
            tracing::warn!(role = %role.role_arn, "assuming the role failed: {failure}");
        }
    }
    let (key, profile, note) = (key.clone(), role.profile.clone(), role.note.clone());
    let recipe = Recipe::Role(recipe);
    if let Ok(session) = &result {
        persist::save_obtained(&daemon, &key, session, &recipe, &profile).await;
    }
    let outcome = daemon
        .sessions
        .finish(&key, &flight, result, note, daemon.now());
    published(&daemon, &key, &profile, outcome, recipe).await;
}

/// After a renewal: keep its recipe, update the profiles written from the new session,
/// and tell the person what happened.
async fn published(
    daemon: &Arc<Daemon>,
    key: &SessionKey,
    profile: &str,
    outcome: Result<Arc<Session>, FailedRenewal>,
    recipe: Recipe,
) {
    daemon.renewed.notify_one();
    daemon.sessions.keep_recipe(key, recipe);
    let is_mfa = matches!(key, SessionKey::Mfa { .. });
    match outcome {
        Ok(session) => {
            daemon.written.refresh(key, &session).await;
            if is_mfa {
                daemon.notifier.send(Event::Renewed {
                    profile: profile.to_owned(),
                    expires: session.credentials.expiration,
                });
            }
        }
        // A person who cancelled knows; a failure already told is not told again.
        Err(FailedRenewal { failure, repeated })
            if !repeated && failure.kind != FailureKind::PromptCancelled =>
        {
            daemon.notifier.send(Event::RenewalFailed {
                profile: profile.to_owned(),
                reason: failure.to_string(),
            });
        }
        Err(_) => {}
    }
}

fn role_failure(error: StsError, role: &RolePlan) -> Failure {
    match error {
        StsError::Refused { code, message } => {
            messages::role_refused(&role.role_arn, &code, &message)
        }
        other => sts_failure(&other),
    }
}

/// A note when STS returned a shorter session than asked (the root account's 1 h cap).
fn capped_note(
    plan: &SessionPlan,
    credentials: &TemporaryCredentials,
    obtained: std::time::SystemTime,
) -> Option<String> {
    let lasting = credentials.expiration.duration_since(obtained).ok()?;
    let shortfall = plan.duration.checked_sub(lasting)?;
    (plan.duration > Duration::from_secs(3600) && shortfall > Duration::from_secs(300)).then(|| {
        format!(
            "STS granted {} instead of the {} asked; root account sessions last at most 1h",
            crate::timefmt::short_duration(lasting),
            crate::timefmt::short_duration(plan.duration)
        )
    })
}
