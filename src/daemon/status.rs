//! `Status`: the sessions the daemon holds.

use super::Daemon;
use crate::protocol::{MFAD_VERSION, Response, StatusReport};

pub fn handle(daemon: &Daemon) -> Response {
    Response::Status(StatusReport {
        mfad: MFAD_VERSION.to_owned(),
        pid: std::process::id(),
        clock_skew_secs: daemon.clock.skew_secs(),
        sessions: daemon.sessions.status(),
    })
}
