//! `Credentials`: hand out a profile's credentials, joining or starting the renewal of
//! each session along its chain (the MFA session, then each role assumed with it), and
//! relay the renewal's questions to this caller's terminal when it is the one asked.

use super::codes;
use super::connection::{self, Connection};
use super::key::SessionKey;
use super::persist;
use super::recipe::{AwsLoginRecipe, RenewalRequest, RoleRecipe, SsoRecipe};
use super::renewal;
use super::sessions::{Flight, FlightResult, Lookup, Session};
use super::state::Daemon;
use super::stores::Asking;
use crate::config::KeySource;
use crate::config::{self, CredentialPlan, WrapPlan};
use crate::failure::{Failure, FailureKind};
use crate::messages;
use crate::mfa::askers::Askers;
use crate::mfa::askers::{Ask, Registration};
use crate::notify::Event;
use crate::protocol::{Caller, Credentials, Response};
use crate::store::LongTermKey;
use crate::timefmt::epoch_secs;
use crate::wrap;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Why a request ends without credentials.
enum Stop {
    Failed(Failure),
    /// The client disconnected while waiting.
    ClientGone,
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Self::Failed(failure)
    }
}

pub async fn handle(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    profile: String,
    caller: Caller,
) {
    let response = match credentials(daemon, connection, &profile, &caller).await {
        Ok(credentials) => Response::Credentials(credentials),
        Err(Stop::Failed(failure)) => Response::Error(failure),
        Err(Stop::ClientGone) => return,
    };
    let _ = connection.write(&response).await;
}

async fn credentials(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    profile: &str,
    caller: &Caller,
) -> Result<Credentials, Stop> {
    let plan = resolve(daemon, profile, caller).await?;
    if let CredentialPlan::Wrapped(helper) = &plan.credentials {
        return Ok(wrapped(daemon, helper, profile, caller, plan.region).await?);
    }
    restore_saved(daemon, connection, caller).await?;
    let (key, session) = obtain(daemon, connection, &plan.credentials, profile, caller).await?;
    if let Some(target) = &plan.write_profile
        && let Err(failed) = daemon.written.keep(target, profile, &key, &session).await
    {
        // The session is valid whatever became of the file: hand it out, and say what
        // failed in the log, in `mfad status` and (once per streak) on the desktop.
        tracing::warn!(
            "cannot keep [{}] in {}: {}",
            target.section,
            target.path.display(),
            failed.failure
        );
        if !failed.repeated {
            daemon.notifier.send(Event::WriteFailed {
                profile: profile.to_owned(),
                section: target.section.clone(),
                reason: failed.failure.to_string(),
            });
        }
    }
    if daemon.sessions.record_handout(profile, &key) {
        daemon.saved.mark(&key);
    }
    Ok(Credentials {
        access_key_id: session.credentials.access_key_id.clone(),
        secret_access_key: session.credentials.secret_access_key.clone(),
        session_token: session.credentials.session_token.clone(),
        expiration: epoch_secs(session.credentials.expiration),
        region: plan.region,
        account_id: key.account_id(),
    })
}

/// A wrapped helper's credentials, its run shared with the callers asking at the same
/// time and its output kept until 15 minutes before it expires.
async fn wrapped(
    daemon: &Daemon,
    helper: &WrapPlan,
    profile: &str,
    caller: &Caller,
    region: Option<String>,
) -> Result<Credentials, Failure> {
    if wrap::is_loop(profile, &caller.env) {
        return Err(messages::wrap_process_loop(profile));
    }
    let timeout = daemon.settings.sts_timeouts.call;
    let wrapped = daemon
        .wrapped
        .credentials(helper, &caller.env, timeout, daemon.now().wall)
        .await?;
    Ok(Credentials {
        access_key_id: wrapped.access_key_id.clone(),
        secret_access_key: wrapped.secret_access_key.clone(),
        session_token: wrapped.session_token.clone(),
        expiration: epoch_secs(wrapped.expiration),
        region,
        account_id: wrapped.account_id.clone(),
    })
}

/// Resolve the profile in the caller's AWS files (parsed earlier unless they changed).
async fn resolve(
    daemon: &Daemon,
    profile: &str,
    caller: &Caller,
) -> Result<config::ProfilePlan, Failure> {
    let files = daemon.aws_files.get(&caller.env).await?;
    config::resolve_in(&files, profile, &caller.env).map_err(Failure::from)
}

/// The credentials at the end of a plan's chain, each session along it from the cache
/// or renewed once however many callers ask.
async fn obtain(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    plan: &CredentialPlan,
    profile: &str,
    caller: &Caller,
) -> Result<(SessionKey, Arc<Session>), Stop> {
    match plan {
        CredentialPlan::Session(session_plan) => {
            daemon
                .loops
                .refuse_inner_request(&session_plan.mfa_serial, &caller.env)?;
            let long_term = long_term_key(daemon, connection, &session_plan.key, caller).await?;
            let key = SessionKey::Mfa {
                access_key_id: long_term.access_key_id.clone(),
                mfa_serial: session_plan.mfa_serial.clone(),
                endpoint: session_plan.sts.clone(),
            };
            let start = |flight: Arc<Flight>| {
                let request = RenewalRequest {
                    key: key.clone(),
                    plan: session_plan.clone(),
                    long_term: long_term.clone(),
                    profile: profile.to_owned(),
                    caller_env: caller.env.clone(),
                    desktop: true,
                };
                tokio::spawn(renewal::run(daemon.clone(), request, flight));
            };
            let session = acquire(
                daemon,
                connection,
                &key,
                &session_plan.profile,
                caller,
                start,
            )
            .await?;
            Ok((key, session))
        }
        CredentialPlan::Wrapped(_) => Err(Failure::internal(
            "a wrapped helper's credentials cannot be the source of a role",
        )
        .into()),
        CredentialPlan::Sso(plan) => {
            let key = SessionKey::Sso {
                session: plan.session.clone(),
                account_id: plan.account_id.clone(),
                role_name: plan.role_name.clone(),
            };
            let start = |flight: Arc<Flight>| {
                let recipe = SsoRecipe {
                    key: key.clone(),
                    plan: plan.clone(),
                    caller_env: caller.env.clone(),
                    interactive: true,
                };
                tokio::spawn(renewal::run_sso(daemon.clone(), recipe, flight));
            };
            let session = acquire(daemon, connection, &key, &plan.profile, caller, start).await?;
            Ok((key, session))
        }
        CredentialPlan::AwsLogin(plan) => {
            let key = SessionKey::AwsLogin {
                session: plan.session.clone(),
            };
            let start = |flight: Arc<Flight>| {
                let recipe = AwsLoginRecipe {
                    key: key.clone(),
                    plan: plan.clone(),
                    caller_env: caller.env.clone(),
                    interactive: true,
                };
                tokio::spawn(renewal::run_aws_login(daemon.clone(), recipe, flight));
            };
            let session = acquire(daemon, connection, &key, &plan.profile, caller, start).await?;
            Ok((key, session))
        }
        CredentialPlan::Role(role) => {
            let (source_key, source) =
                Box::pin(obtain(daemon, connection, &role.source, profile, caller)).await?;
            let key = SessionKey::Role {
                source: Box::new(source_key),
                role_arn: role.role_arn.clone(),
                session_name: role.session_name.clone(),
                external_id: role.external_id.clone(),
                options: role.options.clone(),
                endpoint: role.sts.clone(),
            };
            let start = |flight: Arc<Flight>| {
                let recipe = RoleRecipe {
                    key: key.clone(),
                    role: role.clone(),
                    caller_env: caller.env.clone(),
                };
                tokio::spawn(renewal::run_role(
                    daemon.clone(),
                    recipe,
                    source.clone(),
                    flight,
                ));
            };
            let session = acquire(daemon, connection, &key, &role.profile, caller, start).await?;
            Ok((key, session))
        }
    }
}

/// One session from the cache, or from the renewal in progress, or from a renewal this
/// caller starts. `defined_by` is the profile whose settings define the session.
async fn acquire(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    key: &SessionKey,
    defined_by: &str,
    caller: &Caller,
    start: impl Fn(Arc<Flight>),
) -> Result<Arc<Session>, Stop> {
    let can_prompt = caller.tty.is_some();
    // A caller with a terminal that finds "nobody to ask" joined just after a renewal gave
    // up for want of one; it starts one more, where it can be asked.
    for _ in 0..2 {
        let lookup = daemon
            .sessions
            .lookup(key, defined_by, can_prompt, daemon.now());
        let (flight, started) = match lookup {
            Lookup::Ready(session) => return Ok(session),
            Lookup::Failed(failure) => return Err(failure.into()),
            Lookup::Wait(flight) => (flight, false),
            Lookup::Start(flight) => (flight, true),
        };
        let mut done = flight.subscribe();
        let asker = can_prompt.then(|| flight.askers.register());
        if started {
            start(flight.clone());
        }
        match wait(connection, &mut done, asker)
            .await
            .ok_or(Stop::ClientGone)?
        {
            Err(failure) if can_prompt && failure.kind == FailureKind::NoCodeSource => continue,
            result => return Ok(result?),
        }
    }
    Err(Failure::internal("no renewal could ask this terminal").into())
}

/// Wait for the renewal's end, answering its questions if this caller is asked.
/// `None` when the client disconnected.
async fn wait(
    connection: &mut Connection,
    done: &mut watch::Receiver<Option<FlightResult>>,
    asker: Option<(Registration, mpsc::Receiver<Ask>)>,
) -> Option<FlightResult> {
    let ended = async {
        match done.wait_for(Option::is_some).await {
            Ok(result) => result.clone().expect("waited for a result"),
            Err(_) => Err(Failure::internal("the renewal ended without a result")),
        }
    };
    connection::answering(connection, asker, ended).await
}

/// Load the sessions a previous daemon saved, the first time a caller comes (the file
/// store's passphrase may be asked of this caller).
async fn restore_saved(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    caller: &Caller,
) -> Result<(), Stop> {
    if daemon.saved.restored() {
        return Ok(());
    }
    let askers = Arc::new(Askers::default());
    let asker = caller.tty.is_some().then(|| askers.register());
    let asking = Asking {
        askers: &askers,
        dialog: codes::desktop_dialog(daemon, &caller.env).await,
        timeout: daemon.settings.prompt.timeout,
    };
    connection::answering(
        connection,
        asker,
        persist::restore_once(daemon, &caller.env, Some(&asking)),
    )
    .await
    .ok_or(Stop::ClientGone)
}

/// The long-term key of a session, from the secret store if it is there: unlocking the
/// file store may ask this caller for its passphrase.
async fn long_term_key(
    daemon: &Daemon,
    connection: &mut Connection,
    source: &KeySource,
    caller: &Caller,
) -> Result<LongTermKey, Stop> {
    if let Some(key) = daemon.known_key(source) {
        return Ok(key);
    }
    let askers = Arc::new(Askers::default());
    let asker = caller.tty.is_some().then(|| askers.register());
    let asking = Asking {
        askers: &askers,
        dialog: codes::desktop_dialog(daemon, &caller.env).await,
        timeout: daemon.settings.prompt.timeout,
    };
    let work = daemon.long_term_key(source, &caller.env, Some(&asking));
    Ok(connection::answering(connection, asker, work)
        .await
        .ok_or(Stop::ClientGone)??)
}
