//! Renewal ahead of time: sessions whose code needs no person (a stored TOTP secret,
//! `mfa_process`) and the roles on them are renewed before they enter botocore's 15-minute
//! window, so no caller waits on STS; sessions that need a person are announced by a
//! notification with a "Renew now" action. After a suspend both catch up at the first
//! look.

use super::key::SessionKey;
use super::persist;
use super::renewal;
use super::sessions::Due;
use super::sso;
use super::state::Daemon;
use crate::notify::Event;
use std::sync::Arc;
use std::time::Duration;

/// How often the sessions are looked at.
pub const TICK: Duration = Duration::from_secs(1);

/// Look at the sessions every [`TICK`], forever; sessions that ended are removed from
/// the store, sso-session tokens near their end are refreshed, and a file store unused for `store.lock_after` is locked (with the keys
/// read from it).
pub async fn run(daemon: Arc<Daemon>) {
    let mut ticks = tokio::time::interval(TICK);
    loop {
        ticks.tick().await;
        look_once(&daemon);
        persist::forget_ended(&daemon).await;
        sso::refresh_ahead(&daemon);
        if daemon.stores.lock_if_idle() {
            daemon.forget_keys(None);
        }
    }
}

/// Start what is due now: renewals, and announcements.
pub fn look_once(daemon: &Arc<Daemon>) {
    let due = daemon.sessions.due(
        daemon.settings.renew_before,
        daemon.settings.notifications.expiry_lead,
        daemon.now(),
    );
    for job in due {
        match job {
            Due::Renew { flight, recipe } => {
                tracing::info!("renewing {} ahead of time", recipe.describe());
                // A renewal ahead of time never opens a dialog nobody expects.
                renewal::start(daemon, recipe.on_the_desktop(false), flight);
            }
            Due::Announce { key, profile, left } => announce(daemon, *key, profile, left),
        }
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
    tracing::info!("renewing {} now, as asked", recipe.describe());
    renewal::start(&daemon, recipe.on_the_desktop(true), flight);
}
