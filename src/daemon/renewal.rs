//! Renewing a session: an MFA session (GetSessionToken with a code, see [`super::codes`])
//! or a role (AssumeRole with its source's credentials). A renewal runs to its end even
//! if the caller that started it goes away, publishes its outcome to every waiting caller,
//! and leaves a [`Recipe`] so the session can be renewed later without a caller.

use super::Daemon;
use super::codes::{self, sts_failure};
use super::sessions::{FailedRenewal, Flight, Origin, Session, SessionKey};
use crate::config::{CallerEnv, RolePlan, SessionPlan};
use crate::failure::{Failure, FailureKind};
use crate::notify::Event;
use crate::store::LongTermKey;
use crate::sts::{self, StsError, TemporaryCredentials};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What one MFA renewal needs to know about the request that started it.
#[derive(Debug, Clone)]
pub struct RenewalRequest {
    pub key: SessionKey,
    pub plan: SessionPlan,
    pub long_term: LongTermKey,
    /// The profile whose request started the renewal (named in prompts).
    pub profile: String,
    pub caller_env: CallerEnv,
    /// Whether a person may be asked in a desktop dialog when no waiting caller has a
    /// terminal (not for renewals ahead of time, which announce instead).
    pub desktop: bool,
}

/// How to renew a session again, kept with it.
#[derive(Debug, Clone)]
pub enum Recipe {
    Mfa(RenewalRequest),
    Role {
        key: SessionKey,
        role: RolePlan,
        source: SessionKey,
    },
}

/// Start renewing a session from its recipe on a flight already registered for it.
pub fn start(daemon: &Arc<Daemon>, recipe: Recipe, flight: Arc<Flight>) {
    match recipe {
        Recipe::Mfa(request) => {
            tokio::spawn(run(daemon.clone(), request, flight));
        }
        Recipe::Role { key, role, source } => match daemon.sessions.current(&source) {
            Some(source) => {
                tokio::spawn(run_role(daemon.clone(), (key, role, source), flight));
            }
            None => {
                let expired = Failure::new(
                    FailureKind::NoCodeSource,
                    format!("the MFA session {} is built on has ended", role.role_arn),
                    "run a command with the profile to renew it",
                );
                // The failure reaches the waiting callers and status through the flight.
                let _ = daemon
                    .sessions
                    .finish(&key, &flight, Err(expired), role.note.clone());
            }
        },
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
    let note = request.plan.note.clone().or_else(|| {
        result
            .as_ref()
            .ok()
            .and_then(|s| capped_note(&request.plan, &s.credentials))
    });
    let (key, profile) = (request.key.clone(), request.profile.clone());
    let outcome = daemon.sessions.finish(&key, &flight, result, note);
    published(&daemon, &key, &profile, outcome, Recipe::Mfa(request)).await;
}

/// Assume a role with the credentials of its source session and publish the outcome.
pub async fn run_role(
    daemon: Arc<Daemon>,
    (key, role, source): (SessionKey, RolePlan, Arc<Session>),
    flight: Arc<Flight>,
) {
    let request = sts::RoleRequest {
        role_arn: &role.role_arn,
        session_name: &role.session_name,
        external_id: role.external_id.as_deref(),
        duration: role.duration,
    };
    let route = sts::Route {
        endpoint: &role.sts,
        network: &role.network,
        clock: &daemon.clock,
        timeouts: daemon.settings.sts_timeouts,
    };
    let result = sts::assume_role(route, &source.credentials, &request)
        .await
        .map(|credentials| Session {
            credentials,
            origin: Origin::Role,
            renewed_at: SystemTime::now(),
        })
        .map_err(|error| role_failure(error, &role));
    match &result {
        Ok(session) => tracing::info!(
            role = %role.role_arn,
            expires = %crate::timefmt::rfc3339(session.credentials.expiration),
            "assumed role"
        ),
        Err(failure) => {
            tracing::warn!(role = %role.role_arn, "assuming the role failed: {failure}")
        }
    }
    let source_key = match &key {
        SessionKey::Role { source, .. } => (**source).clone(),
        SessionKey::Mfa { .. } => unreachable!("a role renewal has a role key"),
    };
    let outcome = daemon
        .sessions
        .finish(&key, &flight, result, role.note.clone());
    let profile = role.profile.clone();
    let recipe = Recipe::Role {
        key: key.clone(),
        role,
        source: source_key,
    };
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
        StsError::Refused { code, message } => Failure::new(
            FailureKind::Sts,
            format!(
                "AWS refused to assume {} ({code}: {message})",
                role.role_arn
            ),
            "check mfad_role_arn, and that the role's trust policy lets this user assume it (with MFA)",
        ),
        other => sts_failure(other),
    }
}

/// A note when STS returned a shorter session than asked (the root account's 1 h cap).
fn capped_note(plan: &SessionPlan, credentials: &TemporaryCredentials) -> Option<String> {
    let lasting = credentials
        .expiration
        .duration_since(SystemTime::now())
        .ok()?;
    let shortfall = plan.duration.checked_sub(lasting)?;
    (plan.duration > Duration::from_secs(3600) && shortfall > Duration::from_secs(300)).then(|| {
        format!(
            "STS granted {} instead of the {} asked; root account sessions last at most 1h",
            crate::timefmt::short_duration(lasting),
            crate::timefmt::short_duration(plan.duration)
        )
    })
}
