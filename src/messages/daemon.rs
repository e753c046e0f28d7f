//! The client, the socket and the messages on it.

use crate::failure::{Failure, FailureKind};
use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

// --- The client and the socket -------------------------------------------------------

pub fn socket_path_too_long(reason: String) -> Failure {
    Failure::new(
        FailureKind::Config,
        reason,
        "set MFAD_SOCKET to a shorter path, e.g. ~/.mfad/agent.sock",
    )
}

pub fn closed_without_answer() -> Failure {
    Failure::new(
        FailureKind::Internal,
        "the daemon closed the connection without answering",
        "see the daemon log; `mfad status` shows whether it runs",
    )
}

pub fn connection_lost(error: impl Display) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("lost the connection to the daemon ({error})"),
        "run the command again; if it persists, see the daemon log",
    )
}

pub fn no_daemon(socket: &Path, error: impl Display) -> Failure {
    Failure::new(
        FailureKind::NoDaemon,
        format!("no mfad daemon answers on {} ({error})", socket.display()),
        "any `mfad process PROFILE` command starts it; or run `mfad daemon`",
    )
}

/// A daemon that accepted the connection and then said nothing.
pub fn daemon_silent(socket: &Path, pid: Option<i32>, silence: Duration) -> Failure {
    let who = pid.map_or("the mfad daemon".to_owned(), |pid| {
        format!("the mfad daemon (pid {pid})")
    });
    let remedy = match pid {
        Some(pid) => format!(
            "it may be stopped (SIGSTOP) or stuck: resume it with `kill -CONT {pid}`, or stop it with `kill {pid}` and run the command again to start a new one"
        ),
        None => "it may be stopped or stuck: stop it and run the command again".to_owned(),
    };
    Failure::new(
        FailureKind::Unresponsive,
        format!(
            "{who} on {} did not answer within {}s",
            socket.display(),
            silence.as_secs_f64()
        ),
        remedy,
    )
}

pub fn daemon_not_started(what: impl Display, log: &Path) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("could not start the mfad daemon: {what}"),
        format!(
            "run `mfad daemon` in a terminal to see why; the log of background starts is {}",
            log.display()
        ),
    )
}

pub fn old_daemon_did_not_stop(pid: i32) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("the old daemon (pid {pid}) did not stop"),
        format!("stop it by hand: kill {pid}"),
    )
}

pub fn unexpected_answer(answer: impl std::fmt::Debug) -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        format!("unexpected answer from the daemon: {answer:?}"),
        "client and daemon may differ in version; restart the daemon",
    )
}

// --- Messages on the socket ----------------------------------------------------------

pub fn message_too_long(limit: usize) -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        format!("message longer than {limit} bytes"),
        "mfad messages are small; check what is writing to the mfad socket",
    )
}

pub fn garbled(reason: impl Display) -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        format!("garbled message on the mfad socket ({reason})"),
        "only mfad itself should write to the socket; if it did, client and daemon may differ in version",
    )
}

pub fn other_version(theirs: &str, their_protocol: u32, ours: &str, our_protocol: u32) -> Failure {
    Failure::new(
        FailureKind::VersionMismatch,
        format!(
            "the other side is mfad {theirs} (protocol {their_protocol}), this is mfad {ours} (protocol {our_protocol})"
        ),
        "any `mfad process PROFILE` command replaces a daemon of another version; or stop the old daemon (its pid is in the lock file next to the socket) and run `mfad daemon`",
    )
}

pub fn unreadable_request(error: impl Display) -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        format!("reading from the client failed ({error})"),
        "",
    )
}

pub fn code_not_asked_for() -> Failure {
    Failure::new(
        FailureKind::BadMessage,
        "a code arrived when none was asked for",
        "send a request first",
    )
}

pub fn other_uid(our_uid: u32) -> Failure {
    Failure::new(
        FailureKind::Untrusted,
        format!("this mfad daemon serves uid {our_uid} only"),
        "each user runs their own daemon; check MFAD_SOCKET",
    )
}

pub fn too_many_connections(limit: usize) -> Failure {
    Failure::new(
        FailureKind::Busy,
        format!("the mfad daemon is serving {limit} connections, its most at once"),
        "run the command again in a moment; if it persists, some program keeps connections to mfad open (max_connections in mfad's config.toml raises the cap)",
    )
}
