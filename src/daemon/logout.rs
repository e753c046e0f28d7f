//! `Logout`: drop sessions, and the store keys cached for them.

use super::Daemon;
use crate::protocol::Response;

pub fn handle(daemon: &Daemon, profile: Option<&str>) -> Response {
    let dropped = daemon.sessions.logout(profile);
    daemon.forget_keys(profile);
    let message = match (profile, dropped.is_empty()) {
        (Some(profile), true) => format!("no session held for {profile}"),
        (None, true) => "no sessions held".to_owned(),
        (_, false) => format!(
            "logged out: {}",
            dropped.into_iter().collect::<Vec<_>>().join(", ")
        ),
    };
    Response::Done { message }
}
