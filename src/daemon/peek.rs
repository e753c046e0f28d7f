//! `Peek`: when the session last handed out for a profile expires, for `mfad prompt`.
//! Never renews, never prompts, never reads a file: it must answer in microseconds.

use super::state::Daemon;
use crate::protocol::Response;
use crate::timefmt::epoch_secs;

pub fn handle(daemon: &Daemon, profile: &str) -> Response {
    let found = daemon.sessions.expiration_of(profile);
    Response::Expiration {
        expiration: found.map(|(expiration, _)| epoch_secs(expiration)),
        renewal_window: found.map(|(_, window)| window.as_secs()),
    }
}
