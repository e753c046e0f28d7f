//! `SsoLogin`, `SsoLogout` and `SsoAccounts`: signing in to an sso-session on request
//! (asking this caller), signing out of it, and what its person may take. The token
//! never leaves the daemon.

use super::connection::{self, Connection};
use super::persist;
use super::signin::SignIn;
use super::sso;
use super::state::Daemon;
use crate::bounded::{self, FILE_TIME_LIMIT};
use crate::config::{self, SsoPlan, SsoSession};
use crate::failure::Failure;
use crate::messages;
use crate::mfa::askers::Askers;
use crate::protocol::{Caller, Response, SsoAccount, SsoTarget};
use crate::sso::Route;
use crate::timefmt::{from_epoch_secs, rfc3339};
use crate::vocab::CallerEnv;
use std::sync::Arc;

/// The sso-session a request means, resolved in its caller's environment off the async
/// workers.
async fn plan_of(target: SsoTarget, caller: &Caller) -> Result<SsoPlan, Failure> {
    let env = caller.env.clone();
    let files = config::config_path(&env).display().to_string();
    bounded::offload(&files, FILE_TIME_LIMIT, move || match target {
        SsoTarget::Session(name) => config::sso_session_named(&name, &env),
        SsoTarget::Profile(profile) => config::sso_session_of(&profile, &env),
    })
    .await
    .map_err(|stalled| messages::aws_files_hang(&files, stalled))?
    .map_err(Failure::from)
}

/// The session's token, signing in with this caller if it must; `None` when the client
/// went away.
async fn token_asking(
    daemon: &Daemon,
    connection: &mut Connection,
    plan: &SsoPlan,
    caller: &Caller,
) -> Option<Result<secrecy::SecretString, Failure>> {
    let askers = Arc::new(Askers::default());
    let asker = caller.tty.is_some().then(|| askers.register());
    let sign_in = SignIn {
        askers: &askers,
        caller_env: &caller.env,
    };
    let work = sso::token(daemon, plan, &caller.env, Some(&sign_in));
    connection::answering(connection, asker, work).await
}

pub async fn login(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    target: SsoTarget,
    caller: &Caller,
) -> Option<Response> {
    let plan = match plan_of(target, caller).await {
        Ok(plan) => plan,
        Err(failure) => return Some(Response::Error(failure)),
    };
    let signed_in = token_asking(daemon, connection, &plan, caller).await?;
    Some(match signed_in {
        Ok(_) => {
            let until = daemon
                .sso_tokens
                .expirations()
                .into_iter()
                .find(|(name, _)| *name == plan.session.name)
                .map(|(_, at)| rfc3339(from_epoch_secs(at)))
                .unwrap_or_default();
            Response::Done {
                message: format!(
                    "signed in to sso-session {} until {until}",
                    plan.session.name
                ),
            }
        }
        Err(failure) => Response::Error(failure),
    })
}

/// Forget what was kept of a session's token: the store's entry, and the AWS CLI's cache
/// file when mfad shares it.
async fn forget_kept(daemon: &Daemon, session: &SsoSession, env: &CallerEnv) {
    if let Ok(store) = daemon.stores.for_caller(env, None).await {
        let name = session.name.clone();
        let _ = daemon
            .in_store(store, move |store| store.delete_sso(&name))
            .await;
    }
    if daemon.settings.share_cli_cache {
        let path = crate::sso::cache::cli_cache_file(&crate::paths::caller_home(env), session);
        let key = path.display().to_string();
        let _ = bounded::offload(&key, FILE_TIME_LIMIT, move || std::fs::remove_file(path)).await;
    }
}

pub async fn accounts(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    session: String,
    caller: &Caller,
) -> Option<Response> {
    let plan = match plan_of(SsoTarget::Session(session), caller).await {
        Ok(plan) => plan,
        Err(failure) => return Some(Response::Error(failure)),
    };
    let token = match token_asking(daemon, connection, &plan, caller).await? {
        Ok(token) => token,
        Err(failure) => return Some(Response::Error(failure)),
    };
    let route = Route {
        session: &plan.session,
        network: &plan.network,
    };
    let listed = async {
        let mut found = Vec::new();
        for account in crate::sso::accounts(route, &token).await? {
            let roles = crate::sso::account_roles(route, &token, &account.account_id).await?;
            found.push(SsoAccount {
                account_id: account.account_id,
                name: account.name,
                roles,
            });
        }
        Ok::<_, crate::sso::SsoError>(found)
    };
    Some(match listed.await {
        Ok(accounts) => Response::SsoAccounts { accounts },
        Err(error) => Response::Error(error.into()),
    })
}

pub async fn logout(daemon: &Daemon, session: Option<&str>, caller: &Caller) -> Response {
    let forgotten = daemon.sso_tokens.forget(session);
    for (sso_session, network, token) in &forgotten {
        let route = Route {
            session: sso_session,
            network,
        };
        if let Err(error) = crate::sso::logout(route, token).await {
            tracing::info!(
                "the portal did not take the sign-out of {}: {error}",
                sso_session.name
            );
        }
        forget_kept(daemon, sso_session, &caller.env).await;
    }
    let (dropped, profiles) = daemon.sessions.logout_sso(session);
    persist::forget(daemon, &dropped).await;
    let names: Vec<String> = forgotten.iter().map(|(s, _, _)| s.name.clone()).collect();
    let message = match (names.is_empty(), session) {
        (true, Some(name)) => format!("not signed in to sso-session {name}"),
        (true, None) => "not signed in to any sso-session".to_owned(),
        (false, _) => {
            let mut message = format!("signed out of {}", names.join(", "));
            if !profiles.is_empty() {
                message.push_str(&format!(
                    "; dropped the credentials of {}",
                    profiles.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
            message
        }
    };
    Response::Done { message }
}
