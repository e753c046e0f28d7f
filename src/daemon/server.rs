//! Accepting connections: peer check, one task per connection, clean shutdown.

use super::connection::{Connection, REQUEST_TIMEOUT};
use super::{Daemon, credentials, logout, peek, status};
use crate::failure::{Failure, FailureKind};
use crate::protocol::{Request, Response};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

/// How long a refused peer gets to finish sending its request.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// How long connections in progress get to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

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
    let watcher = tokio::spawn(daemon.written.clone().watch(daemon.sessions.clone()));
    let scheduler = tokio::spawn(super::ahead::run(daemon.clone()));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(handle(daemon.clone(), stream));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    watcher.abort();
    scheduler.abort();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!("{} connections cut at shutdown", connections.len());
        connections.abort_all();
    }
}

async fn handle(daemon: Arc<Daemon>, stream: UnixStream) {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let our_uid = unsafe { libc::geteuid() };
    let peer_uid = match stream.peer_cred() {
        Ok(cred) => cred.uid(),
        Err(e) => {
            tracing::warn!("cannot tell who connected ({e}); closing");
            return;
        }
    };
    let mut connection = Connection::new(stream);
    if peer_uid != our_uid {
        tracing::warn!("refused a connection from uid {peer_uid}");
        let refusal = Failure::new(
            FailureKind::BadMessage,
            format!("this mfad daemon serves uid {our_uid} only"),
            "each user runs their own daemon; check MFAD_SOCKET",
        );
        let _ = connection.write(&Response::Error(refusal)).await;
        // Let the client finish sending before closing, so it reads why instead of
        // failing its write on a closed socket.
        let _ = tokio::time::timeout(REFUSAL_LINGER, connection.read_request()).await;
        return;
    }
    let request = match tokio::time::timeout(REQUEST_TIMEOUT, connection.read_request()).await {
        Ok(Ok(Some(request))) => request,
        Ok(Ok(None)) | Err(_) => return,
        Ok(Err(failure)) => {
            tracing::warn!("bad message: {failure}");
            let _ = connection.write(&Response::Error(failure)).await;
            return;
        }
    };
    let response = match request {
        Request::Credentials { profile, caller } => {
            return credentials::handle(&daemon, &mut connection, profile, caller).await;
        }
        Request::Status => status::handle(&daemon),
        Request::Logout { profile } => logout::handle(&daemon, profile.as_deref()).await,
        Request::Peek { profile } => peek::handle(&daemon, &profile),
        Request::Forget { profile } => {
            daemon.forget_keys(Some(&profile));
            Response::Done {
                message: format!("forgot the cached key of {profile}"),
            }
        }
        Request::Ping => Response::Pong {
            pid: std::process::id(),
        },
        Request::Code { .. } | Request::Cancel => Response::Error(Failure::new(
            FailureKind::BadMessage,
            "a code arrived when none was asked for",
            "send a request first",
        )),
    };
    let _ = connection.write(&response).await;
}
