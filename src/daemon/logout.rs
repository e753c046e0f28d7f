//! `Logout`: drop sessions, the roles built on them, the store keys cached for them and
//! the profiles written from them.

use super::persist;
use super::state::Daemon;
use crate::protocol::Response;

pub async fn handle(daemon: &Daemon, profile: Option<&str>) -> Response {
    let (dropped, mut profiles) = daemon.sessions.logout(profile);
    profiles.extend(daemon.wrapped.forget(profile));
    daemon.forget_keys(profile);
    persist::forget(daemon, &dropped).await;
    let failures = daemon.written.remove_for(&dropped).await;
    if let Some(failure) = failures.into_iter().next() {
        return Response::Error(failure);
    }
    let message = match (profile, profiles.is_empty()) {
        (Some(profile), true) => format!("no session held for {profile}"),
        (None, true) => "no sessions held".to_owned(),
        (_, false) => format!(
            "logged out: {}",
            profiles.into_iter().collect::<Vec<_>>().join(", ")
        ),
    };
    Response::Done { message }
}
