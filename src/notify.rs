//! Desktop notifications through notify-rust (the freedesktop notification service on
//! Linux, the notification center on macOS). They name profiles, devices and times,
//! never a key or a code. Each kind can be switched off in the daemon's settings.

use crate::settings::NotificationSettings;
use crate::timefmt::{rfc3339, short_duration};
use notify_rust::Notification;
use std::time::{Duration, SystemTime};

/// What a notification is about.
#[derive(Debug, Clone)]
pub enum Event {
    /// A session that needs a person will end soon.
    Expiring {
        profile: String,
        left: Duration,
    },
    Renewed {
        profile: String,
        expires: SystemTime,
    },
    CodeNeeded {
        profile: String,
        serial: String,
    },
    CodeRejected {
        profile: String,
        serial: String,
    },
    RenewalFailed {
        profile: String,
        reason: String,
    },
    /// A profile mfad keeps in a credentials file could not be written.
    WriteFailed {
        profile: String,
        section: String,
        reason: String,
    },
}

/// The action id of "Renew now" on an expiry notification.
const RENEW_ACTION: &str = "renew";

#[derive(Debug, Clone)]
pub struct Notifier {
    settings: NotificationSettings,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new(crate::settings::Settings::default().notifications)
    }
}

impl Notifier {
    pub fn new(settings: NotificationSettings) -> Self {
        Self { settings }
    }

    fn wanted(&self, event: &Event) -> bool {
        let s = &self.settings;
        s.enabled
            && match event {
                Event::Expiring { .. } => s.expiring,
                Event::Renewed { .. } => s.renewed,
                Event::CodeNeeded { .. } => s.code_needed,
                Event::CodeRejected { .. } => s.code_rejected,
                Event::RenewalFailed { .. } => s.renewal_failed,
                Event::WriteFailed { .. } => s.write_failed,
            }
    }

    /// Show a notification, in the background; a missing notification service is logged
    /// and otherwise ignored.
    pub fn send(&self, event: Event) {
        if !self.wanted(&event) {
            tracing::debug!(?event, "notification switched off");
            return;
        }
        tokio::task::spawn_blocking(move || {
            if let Err(e) = build(&event).show() {
                tracing::debug!("no notification shown ({e})");
            }
        });
    }

    /// Announce that a session ends soon, with a "Renew now" action where the
    /// notification service offers actions; `renew_now` runs if the person clicks it.
    pub fn announce_expiry(&self, event: Event, renew_now: impl FnOnce() + Send + 'static) {
        if !self.wanted(&event) {
            return;
        }
        tokio::task::spawn_blocking(move || {
            let mut notification = build(&event);
            if offers_actions() {
                notification.action(RENEW_ACTION, "Renew now");
            }
            match notification.show() {
                Ok(handle) => wait_for_renew(handle, renew_now),
                Err(e) => tracing::debug!("no notification shown ({e})"),
            }
        });
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn offers_actions() -> bool {
    notify_rust::get_capabilities().is_ok_and(|caps| caps.iter().any(|c| c == "actions"))
}

#[cfg(target_os = "macos")]
fn offers_actions() -> bool {
    false
}

#[cfg(all(unix, not(target_os = "macos")))]
fn wait_for_renew(handle: notify_rust::NotificationHandle, renew_now: impl FnOnce()) {
    handle.wait_for_action(|action| {
        if action == RENEW_ACTION {
            renew_now();
        }
    });
}

#[cfg(target_os = "macos")]
fn wait_for_renew(_handle: notify_rust::NotificationHandle, _renew_now: impl FnOnce()) {}

fn build(event: &Event) -> Notification {
    let (summary, body) = match event {
        Event::Expiring { profile, left } => (
            format!("AWS session {profile} ends in {}", short_duration(*left)),
            "Renew it now, or the next command that needs it will ask for an MFA code.".to_owned(),
        ),
        Event::Renewed { profile, expires } => (
            format!("AWS session {profile} renewed"),
            format!("It lasts until {}.", rfc3339(*expires)),
        ),
        Event::CodeNeeded { profile, serial } => (
            format!("MFA code needed for {profile}"),
            format!(
                "mfad asks for the code of {serial}: on the terminal of the command that needs it, or in a dialog."
            ),
        ),
        Event::CodeRejected { profile, serial } => (
            format!("AWS rejected the MFA code for {profile}"),
            format!("Check that the code is from {serial} and that the device's clock is right."),
        ),
        Event::RenewalFailed { profile, reason } => (
            format!("Renewing AWS session {profile} failed"),
            reason.clone(),
        ),
        Event::WriteFailed {
            profile,
            section,
            reason,
        } => (
            format!("mfad cannot update [{section}] for {profile}"),
            format!("Commands that run credential_process still work. {reason}"),
        ),
    };
    let mut notification = Notification::new();
    notification.appname("mfad").summary(&summary).body(&body);
    notification
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn switches_decide_what_is_shown() {
        let mut settings = Settings::default().notifications;
        settings.renewed = false;
        let notifier = Notifier::new(settings.clone());
        let renewed = Event::Renewed {
            profile: "dev".into(),
            expires: SystemTime::now(),
        };
        let needed = Event::CodeNeeded {
            profile: "dev".into(),
            serial: "arn:a".into(),
        };
        assert!(!notifier.wanted(&renewed));
        assert!(notifier.wanted(&needed));
        settings.enabled = false;
        assert!(!Notifier::new(settings).wanted(&needed));
    }
}
