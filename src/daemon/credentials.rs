//! `Credentials`: hand out a session, joining or starting its renewal, and relay the
//! renewal's questions to this caller's terminal when it is the one asked.

use super::Daemon;
use super::connection::Connection;
use super::renewal::{self, RenewalRequest};
use super::sessions::{FlightResult, Lookup, SessionKey};
use crate::config;
use crate::failure::{Failure, FailureKind};
use crate::mfa::prompt::{Answer, Ask, Registration};
use crate::protocol::{Caller, Credentials, Request, Response};
use crate::timefmt::epoch_secs;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

pub async fn handle(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    profile: String,
    caller: Caller,
) {
    let response = match session(daemon, connection, &profile, caller).await {
        Some(Ok(session)) => Response::Credentials(Credentials {
            access_key_id: session.credentials.access_key_id.clone(),
            secret_access_key: session.credentials.secret_access_key.clone(),
            session_token: session.credentials.session_token.clone(),
            expiration: epoch_secs(session.credentials.expiration),
        }),
        Some(Err(failure)) => Response::Error(failure),
        // The client went away while waiting.
        None => return,
    };
    let _ = connection.write(&response).await;
}

/// `None` when the client disconnected while waiting.
async fn session(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    profile: &str,
    caller: Caller,
) -> Option<FlightResult> {
    let plan = match config::resolve_session(profile, &caller.env) {
        Ok(plan) => plan,
        Err(e) => return Some(Err(e.into())),
    };
    let long_term = match daemon.long_term_key(&plan.key).await {
        Ok(key) => key,
        Err(failure) => return Some(Err(failure)),
    };
    let key = SessionKey {
        access_key_id: long_term.access_key_id.clone(),
        mfa_serial: plan.mfa_serial.clone(),
        endpoint: plan.sts.clone(),
    };
    let can_prompt = caller.tty.is_some();
    // A caller with a terminal that finds "nobody to ask" joined just after a renewal gave
    // up for want of one; it starts one more, where it can be asked.
    for _ in 0..2 {
        let (flight, started) = match daemon.sessions.lookup(&key, profile, can_prompt) {
            Lookup::Ready(session) => return Some(Ok(session)),
            Lookup::Failed(failure) => return Some(Err(failure)),
            Lookup::Wait(flight) => (flight, false),
            Lookup::Start(flight) => (flight, true),
        };
        let mut done = flight.subscribe();
        let asker = can_prompt.then(|| flight.askers.register());
        if started {
            let request = RenewalRequest {
                key: key.clone(),
                plan: plan.clone(),
                long_term: long_term.clone(),
                profile: profile.to_owned(),
                caller_env: caller.env.clone(),
            };
            tokio::spawn(renewal::run(daemon.clone(), request, flight.clone()));
        }
        let result = wait(connection, &mut done, asker).await?;
        match result {
            Err(failure) if can_prompt && failure.kind == FailureKind::NoCodeSource => continue,
            result => return Some(result),
        }
    }
    Some(Err(Failure::internal("no renewal could ask this terminal")))
}

/// Wait for the renewal's end, answering its questions if this caller is asked.
/// `None` when the client disconnected.
async fn wait(
    connection: &mut Connection,
    done: &mut watch::Receiver<Option<FlightResult>>,
    asker: Option<(Registration, mpsc::Receiver<Ask>)>,
) -> Option<FlightResult> {
    let (_registration, mut questions) = asker.unzip();
    loop {
        if let Some(result) = done.borrow_and_update().clone() {
            return Some(result);
        }
        let next_question = async {
            match questions.as_mut() {
                Some(questions) => questions.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = done.changed() => {
                if changed.is_err() {
                    return Some(Err(Failure::internal("the renewal ended without a result")));
                }
            }
            Some(question) = next_question => {
                relay(connection, done, question).await?;
            }
        }
    }
}

/// Put one question to the client and pass its answer back. Dropping the question
/// unanswered (client gone, garbage) makes the renewal ask the next caller.
async fn relay(
    connection: &mut Connection,
    done: &mut watch::Receiver<Option<FlightResult>>,
    question: Ask,
) -> Option<()> {
    let ask = Response::AskCode {
        prompt: question.prompt.clone(),
    };
    connection.write(&ask).await.ok()?;
    tokio::select! {
        answer = connection.read_request() => {
            let answer = match answer {
                Ok(Some(Request::Code { code })) => Answer::Code(code),
                Ok(Some(Request::Cancel)) => Answer::Cancelled,
                _ => return None,
            };
            let _ = question.reply.send(answer);
        }
        // The renewal ended without this answer (it timed out, or another source won).
        _ = done.changed() => {}
    }
    Some(())
}
