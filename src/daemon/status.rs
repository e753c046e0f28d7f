//! `Status`: the sessions the daemon holds, with the profiles written from them.

use super::Daemon;
use crate::protocol::{MFAD_VERSION, Response, StatusReport};

pub fn handle(daemon: &Daemon) -> Response {
    let sessions = daemon
        .sessions
        .status()
        .into_iter()
        .map(|(key, mut status)| {
            status.written_profiles = daemon.written.of(&key);
            status
        })
        .collect();
    Response::Status(StatusReport {
        mfad: MFAD_VERSION.to_owned(),
        pid: std::process::id(),
        clock_skew_secs: daemon.clock.skew_secs(),
        sessions,
    })
}
