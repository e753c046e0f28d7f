//! Desktop notifications: the freedesktop notification service on the daemon's session
//! bus (spoken to with zbus, as the Secret Service is), `osascript` on macOS. They name
//! profiles, devices and times, never a key or a code. Each kind can be switched off in
//! the daemon's settings.

use crate::settings::NotificationSettings;
use crate::timefmt::{rfc3339, short_duration};
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
    /// A person should sign in to an sso-session with the device flow.
    SsoSignIn {
        session: String,
        page: String,
        code: String,
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
                Event::SsoSignIn { .. } => s.code_needed,
            }
    }

    /// Show a notification, in the background; a missing notification service is logged
    /// and otherwise ignored.
    pub fn send(&self, event: Event) {
        if !self.wanted(&event) {
            tracing::debug!(?event, "notification switched off");
            return;
        }
        tokio::spawn(async move {
            if let Err(e) = show(&text_of(&event), false).await {
                tracing::debug!("no notification shown ({e})");
            }
        });
    }

    /// Announce that a session ends soon, with a "Renew now" action where the
    /// notification service offers actions; `renew_now` runs if the person clicks it
    /// before the notification is closed (or [`ACTION_WAIT`] passed).
    pub fn announce_expiry(&self, event: Event, renew_now: impl FnOnce() + Send + 'static) {
        if !self.wanted(&event) {
            return;
        }
        tokio::spawn(async move {
            match show(&text_of(&event), true).await {
                Ok(Some(shown)) => {
                    if let Ok(true) = tokio::time::timeout(ACTION_WAIT, shown.renew_clicked()).await
                    {
                        renew_now();
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::debug!("no notification shown ({e})"),
            }
        });
    }
}

/// How long an expiry notice's "Renew now" stays answered: the session ends by then.
const ACTION_WAIT: Duration = Duration::from_secs(3600);

/// A notification's title and text.
struct Text {
    summary: String,
    body: String,
}

/// A notification on the screen whose "Renew now" may be clicked.
#[cfg(not(target_os = "macos"))]
struct Shown {
    id: u32,
    signals: zbus::MessageStream,
}

#[cfg(not(target_os = "macos"))]
impl Shown {
    /// Whether "Renew now" was clicked (`false` once the notification closed).
    async fn renew_clicked(mut self) -> bool {
        use futures_util::StreamExt;
        while let Some(Ok(message)) = self.signals.next().await {
            let header = message.header();
            let ours = |id: u32| id == self.id;
            match header.member().map(|m| m.as_str()) {
                Some("ActionInvoked") => {
                    if let Ok((id, action)) = message.body().deserialize::<(u32, String)>()
                        && ours(id)
                        && action == RENEW_ACTION
                    {
                        return true;
                    }
                }
                Some("NotificationClosed")
                    if message
                        .body()
                        .deserialize::<(u32, u32)>()
                        .is_ok_and(|(id, _)| ours(id)) =>
                {
                    return false;
                }
                _ => {}
            }
        }
        false
    }
}

/// Show a notification; with `renew`, one with "Renew now" if the service offers actions
/// (then what to wait on).
#[cfg(not(target_os = "macos"))]
async fn show(text: &Text, renew: bool) -> zbus::Result<Option<Shown>> {
    const SERVICE: &str = "org.freedesktop.Notifications";
    const PATH: &str = "/org/freedesktop/Notifications";
    let connection = zbus::Connection::session().await?;
    let mut actions: Vec<&str> = Vec::new();
    let mut signals = None;
    if renew {
        let capabilities: Vec<String> = connection
            .call_method(Some(SERVICE), PATH, Some(SERVICE), "GetCapabilities", &())
            .await?
            .body()
            .deserialize()?;
        if capabilities.iter().any(|c| c == "actions") {
            actions = vec![RENEW_ACTION, "Renew now"];
            // Listening before the notification exists, so that no click is missed.
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .interface(SERVICE)?
                .path(PATH)?
                .build();
            signals = Some(zbus::MessageStream::for_match_rule(rule, &connection, None).await?);
        }
    }
    let hints = std::collections::HashMap::<&str, zbus::zvariant::Value<'_>>::new();
    let body = (
        "mfad",
        0u32,
        "",
        text.summary.as_str(),
        text.body.as_str(),
        actions,
        hints,
        -1i32,
    );
    let id: u32 = connection
        .call_method(Some(SERVICE), PATH, Some(SERVICE), "Notify", &body)
        .await?
        .body()
        .deserialize()?;
    Ok(signals.map(|signals| Shown { id, signals }))
}

/// On macOS: a notification through `osascript`, without actions.
#[cfg(target_os = "macos")]
struct Shown;

#[cfg(target_os = "macos")]
impl Shown {
    async fn renew_clicked(self) -> bool {
        false
    }
}

#[cfg(target_os = "macos")]
async fn show(text: &Text, _renew: bool) -> std::io::Result<Option<Shown>> {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let script = format!(
        "display notification \"{}\" with title \"{}\"",
        quote(&text.body),
        quote(&text.summary)
    );
    tokio::process::Command::new("osascript")
        .args(["-e", &script])
        .kill_on_drop(true)
        .status()
        .await?;
    Ok(None)
}

fn text_of(event: &Event) -> Text {
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
        Event::SsoSignIn {
            session,
            page,
            code,
        } => (
            format!("Sign in to IAM Identity Center ({session})"),
            format!("Open {page} in a browser and confirm the code {code}."),
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
    Text { summary, body }
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
