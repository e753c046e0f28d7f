//! Renewal ahead of time: sessions whose code needs no person (a stored TOTP secret,
//! `mfa_process`) and the roles on them are renewed before they enter botocore's 15-minute
//! window, so no caller waits on STS; sessions that need a person are announced by a
//! notification with a "Renew now" action.

use super::Daemon;
use super::renewal::{self, Recipe};
use super::sessions::{Due, SessionKey};
use crate::notify::Event;
use std::sync::Arc;
use std::time::Duration;

/// How often the sessions are looked at.
pub const TICK: Duration = Duration::from_secs(1);

/// Look at the sessions every [`TICK`], forever.
pub async fn run(daemon: Arc<Daemon>) {
    let mut ticks = tokio::time::interval(TICK);
    loop {
        ticks.tick().await;
        let due = daemon.sessions.due(
            daemon.settings.renew_before,
            daemon.settings.notifications.expiry_lead,
        );
        for job in due {
            match job {
                Due::Renew { flight, recipe } => {
                    tracing::info!("renewing {} ahead of time", describe(&recipe));
                    // A renewal ahead of time never opens a dialog nobody expects.
                    renewal::start(&daemon, on_the_desktop(*recipe, false), flight);
                }
                Due::Announce { key, profile, left } => announce(&daemon, key, profile, left),
            }
        }
    }
}

/// The recipe, with its code asked on the desktop of its last caller or not.
fn on_the_desktop(recipe: Recipe, desktop: bool) -> Recipe {
    match recipe {
        Recipe::Mfa(mut request) => {
            request.desktop = desktop;
            Recipe::Mfa(request)
        }
        role => role,
    }
}

fn describe(recipe: &Recipe) -> String {
    match recipe {
        Recipe::Mfa(request) => format!("the MFA session of {}", request.profile),
        Recipe::Role { role, .. } => format!("role {}", role.role_arn),
    }
}

fn announce(daemon: &Arc<Daemon>, key: SessionKey, profile: String, left: Duration) {
    tracing::info!(
        "the session of {profile} ends in {}s and needs a code from a person",
        left.as_secs()
    );
    let runtime = tokio::runtime::Handle::current();
    let renewing = daemon.clone();
    daemon
        .notifier
        .announce_expiry(Event::Expiring { profile, left }, move || {
            runtime.spawn(renew_now(renewing, key));
        });
}

/// "Renew now": renew the session, asking on the desktop of its last caller.
async fn renew_now(daemon: Arc<Daemon>, key: SessionKey) {
    let Some((flight, recipe)) = daemon.sessions.start_flight(&key) else {
        return;
    };
    tracing::info!("renewing {} now, as asked", describe(&recipe));
    renewal::start(&daemon, on_the_desktop(recipe, true), flight);
}
