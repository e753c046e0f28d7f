//! Accepting connections: peer check, a cap on connections, one task per connection,
//! clean shutdown.

use super::connection::{Connection, REQUEST_TIMEOUT};
use super::state::Daemon;
use super::{credentials, logout, peek, rekey, sso_requests, status};
use crate::admission::{Admitted, Idle};
use crate::failure::Failure;
use crate::messages;
use crate::peer;
use crate::protocol::{self, Request, Response};
use crate::store::LongTermKey;
use crate::vocab::CallerEnv;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

/// How long a refused peer gets to finish sending its request.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// How long connections in progress get to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// The daemon has settled, after its start or a renewal, when no connection came for this
/// long: then the pages of code and heap that serving a cached session does not use are
/// handed back ([`crate::resident`]). Cached requests alone never re-arm it, so the pages
/// of the hot path stay resident.
const SETTLES: Duration = Duration::from_secs(5);

/// Serve a bound listener with a fresh daemon until `shutdown` completes.
pub async fn run(listener: UnixListener, shutdown: impl Future<Output = ()>) {
    serve(listener, Arc::new(Daemon::default()), shutdown).await;
}

/// Serve a bound listener with the given daemon state until `shutdown` completes.
pub async fn serve(
    listener: UnixListener,
    daemon: Arc<Daemon>,
    shutdown: impl Future<Output = ()>,
) {
    let mut connections = JoinSet::new();
    let idle = Arc::new(Mutex::new(Idle::default()));
    let limit = daemon.settings.max_connections;
    let watcher = tokio::spawn(
        daemon
            .written
            .clone()
            .watch(daemon.sessions.clone(), daemon.clock.clone()),
    );
    let scheduler = tokio::spawn(super::ahead::run(daemon.clone()));
    let saver = tokio::spawn(super::persist::saver(daemon.clone()));
    // The sessions of a previous daemon, where the store opens without asking anyone.
    tokio::spawn({
        let daemon = daemon.clone();
        async move { super::persist::restore_once(&daemon, &CallerEnv::default(), None).await }
    });
    tokio::pin!(shutdown);
    let settled = tokio::time::sleep(SETTLES);
    tokio::pin!(settled);
    let mut unsettled = true;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if unsettled {
                        settled.as_mut().reset(tokio::time::Instant::now() + SETTLES);
                    }
                    if connections.len() >= limit && !idle.lock().unwrap().close_oldest() {
                        refuse_busy(&stream, limit);
                        continue;
                    }
                    connections.spawn(handle(daemon.clone(), stream, Idle::admit(&idle)));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = daemon.renewed.notified() => {
                unsettled = true;
                settled.as_mut().reset(tokio::time::Instant::now() + SETTLES);
            }
            () = &mut settled, if unsettled => {
                unsettled = false;
                tokio::task::spawn_blocking(hand_back_pages);
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    watcher.abort();
    scheduler.abort();
    saver.abort();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!("{} connections cut at shutdown", connections.len());
        connections.abort_all();
    }
}

fn hand_back_pages() {
    match crate::resident::hand_back() {
        Ok(kib) => tracing::debug!(
            "settled: handed back {kib} KiB of code pages, and the heap's free pages"
        ),
        Err(e) => tracing::debug!("cannot hand back code pages ({e})"),
    }
}

/// Tell a connection over the cap why it is closed, without waiting on it.
fn refuse_busy(stream: &UnixStream, limit: usize) {
    tracing::warn!("refused a connection: {limit} connections are being served");
    let _ = stream.try_write(&protocol::encode(&Response::Error(busy(limit))));
}

fn busy(limit: usize) -> Failure {
    messages::too_many_connections(limit)
}

async fn handle(daemon: Arc<Daemon>, stream: UnixStream, mut admitted: Admitted) {
    let our_uid = peer::my_uid();
    let peer_uid = match peer::peer_uid(&stream) {
        Ok(uid) => uid,
        Err(e) => {
            tracing::warn!("cannot tell who connected ({e}); closing");
            return;
        }
    };
    let mut connection = Connection::new(stream);
    if peer_uid != our_uid {
        tracing::warn!("refused a connection from uid {peer_uid}");
        let refusal = messages::other_uid(our_uid);
        let _ = connection.write(&Response::Error(refusal)).await;
        // Let the client finish sending before closing, so it reads why instead of
        // failing its write on a closed socket.
        let _ = tokio::time::timeout(REFUSAL_LINGER, connection.read_request()).await;
        return;
    }
    let read = tokio::select! {
        read = tokio::time::timeout(REQUEST_TIMEOUT, connection.read_request()) => read,
        _ = &mut admitted.closed => {
            let limit = daemon.settings.max_connections;
            let _ = connection.write(&Response::Error(busy(limit))).await;
            return;
        }
    };
    admitted.started();
    let request = match read {
        Ok(Ok(Some(request))) => request,
        Ok(Ok(None)) | Err(_) => return,
        Ok(Err(failure)) => {
            tracing::warn!("bad message: {failure}");
            let _ = connection.write(&Response::Error(failure)).await;
            return;
        }
    };
    tracing::trace!(?request, "request");
    let keepalive = connection.keepalive_writer();
    let answer = answer(&daemon, &mut connection, request);
    let response = keepalive.while_waiting_for(answer).await;
    if let Some(response) = response {
        let _ = connection.write(&response).await;
    }
}

/// The answer to a request; `None` when it was already given (credentials relay their
/// own questions and answer).
async fn answer(
    daemon: &Arc<Daemon>,
    connection: &mut Connection,
    request: Request,
) -> Option<Response> {
    Some(match request {
        Request::Credentials { profile, caller } => {
            credentials::handle(daemon, connection, profile, caller).await;
            return None;
        }
        Request::Status => status::handle(daemon).await,
        Request::Logout { profile } => logout::handle(daemon, profile.as_deref()).await,
        Request::Peek { profile } => peek::handle(daemon, &profile),
        Request::SsoLogin { target, caller } => {
            return sso_requests::login(daemon, connection, target, &caller).await;
        }
        Request::SsoAccounts { session, caller } => {
            return sso_requests::accounts(daemon, connection, session, &caller).await;
        }
        Request::SsoLogout { session, caller } => {
            sso_requests::logout(daemon, session.as_deref(), &caller).await
        }
        Request::Forget { profile } => {
            daemon.forget(profile.as_deref());
            Response::Done {
                message: "forgot the cached keys and failures".into(),
            }
        }
        Request::KeyRotated {
            old_key_id,
            new_key_id,
            new_secret,
        } => {
            let new = LongTermKey {
                access_key_id: new_key_id,
                secret_access_key: new_secret,
            };
            rekey::handle(daemon, &old_key_id, &new).await
        }
        Request::Ping => Response::Pong {
            pid: std::process::id(),
        },
        Request::Code { .. } | Request::Cancel => Response::Error(messages::code_not_asked_for()),
    })
}
