//! The daemon's own settings: `$XDG_CONFIG_HOME/mfad/config.toml` (else
//! `~/.config/mfad/config.toml`). Every key is optional; a missing file means defaults.
//!
//! ```toml
//! log_level = "info"       # error, warn, info, debug, trace
//! renew_before = "20m"     # renew sessions that need no person this long before they end
//! sts_timeout = "10s"      # the longest one STS call may take
//! max_connections = 4096   # connections served at once (at most the open-files limit)
//! share_cli_cache = false  # also write IAM Identity Center tokens to ~/.aws/sso/cache
//! store = "auto"           # auto, secret-service, keychain, file; or a [store] table:
//!                          # backend = "file", passphrase_command = "pass show mfad",
//!                          # lock_after = "8h" (forget the file store's key when idle)
//!
//! [prompt]
//! driver = "auto"          # auto, zenity, kdialog, osascript, pinentry, none
//! pinentry = "pinentry"    # the program for driver = "pinentry"
//! timeout = "2m"           # a dialog left open this long is closed
//!
//! [notifications]
//! enabled = true
//! expiry_lead = "30m"      # announce sessions that need a person this long before they end
//! expiring = true
//! renewed = true
//! code_needed = true
//! code_rejected = true
//! renewal_failed = true
//! write_failed = true
//! ```

use crate::failure::{Explain, FailureKind};
pub use crate::store::StoreBackend;
use crate::vocab::parse_duration;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// botocore refreshes below 15 minutes; renewing ahead of time must start earlier.
const MIN_RENEW_BEFORE: Duration = Duration::from_secs(15 * 60);
const MAX_RENEW_BEFORE: Duration = Duration::from_secs(2 * 3600);
const MIN_CONNECTIONS: i64 = 8;
const MAX_CONNECTIONS: i64 = 65_536;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A tracing filter such as `info` or `mfad=debug`.
    pub log_level: String,
    /// Sessions renewed without a person are renewed when less than this is left.
    pub renew_before: Duration,
    pub sts_timeouts: StsTimeouts,
    /// Connections served at once; past it, connections that have not sent their
    /// request yet are closed first, then new ones are refused with a message.
    pub max_connections: usize,
    pub store: StoreSettings,
    /// Also write sso-session tokens to the AWS CLI's cache (`~/.aws/sso/cache`), so the
    /// CLI's own SSO profiles ride on mfad's sign-in.
    pub share_cli_cache: bool,
    pub prompt: PromptSettings,
    pub notifications: NotificationSettings,
}

/// Where long-term keys, TOTP secrets and sessions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    pub backend: StoreBackend,
    /// A command that prints the file store's passphrase (`pass show mfad`, `op read …`);
    /// without it, a person is asked once per daemon start.
    pub passphrase_command: Option<String>,
    /// Forget the unlocked file store's key after it has not been used for this long
    /// (as rbw's lock_timeout and gpg-agent's cache TTL); `None`: keep it until the
    /// daemon stops.
    pub lock_after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSettings {
    pub driver: PromptDriver,
    pub timeout: Duration,
}

/// How a person at the desktop is asked for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptDriver {
    /// zenity or kdialog on Linux (whichever is installed), osascript on macOS.
    Auto,
    Zenity,
    Kdialog,
    Osascript,
    /// A pinentry program, spoken to in the Assuan protocol.
    Pinentry(String),
    /// Never ask on the desktop.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettings {
    pub enabled: bool,
    /// Sessions that need a person are announced this long before they end.
    pub expiry_lead: Duration,
    pub expiring: bool,
    pub renewed: bool,
    pub code_needed: bool,
    pub code_rejected: bool,
    pub renewal_failed: bool,
    /// A profile mfad keeps in a credentials file could not be written.
    pub write_failed: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            log_level: "info".into(),
            renew_before: Duration::from_secs(20 * 60),
            sts_timeouts: StsTimeouts::default(),
            max_connections: 4096,
            share_cli_cache: false,
            store: StoreSettings {
                backend: StoreBackend::Auto,
                passphrase_command: None,
                lock_after: None,
            },
            prompt: PromptSettings {
                driver: PromptDriver::Auto,
                timeout: Duration::from_secs(120),
            },
            notifications: NotificationSettings {
                enabled: true,
                expiry_lead: Duration::from_secs(30 * 60),
                expiring: true,
                renewed: true,
                code_needed: true,
                code_rejected: true,
                renewal_failed: true,
                write_failed: true,
            },
        }
    }
}

/// Timeouts for one STS call; a call never hangs a caller for long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StsTimeouts {
    pub connect: Duration,
    pub call: Duration,
}

impl Default for StsTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            call: Duration::from_secs(10),
        }
    }
}

/// A bad setting, with the line it is on.
#[derive(Debug, thiserror::Error)]
#[error("{}, line {line}: {message}", .path.display())]
pub struct SettingsError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl Explain for SettingsError {
    fn kind(&self) -> FailureKind {
        FailureKind::Config
    }

    fn remedy(&self) -> String {
        "correct it or remove the line to use the default; `mfad daemon --check-config` checks the file".into()
    }
}

/// The file as written: every value with its position.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    log_level: Option<Spanned<String>>,
    renew_before: Option<Spanned<String>>,
    sts_timeout: Option<Spanned<String>>,
    max_connections: Option<Spanned<i64>>,
    share_cli_cache: Option<bool>,
    /// A backend name, or a table with `backend` and `passphrase_command`.
    store: Option<Spanned<toml::Value>>,
    #[serde(default)]
    prompt: PromptSection,
    #[serde(default)]
    notifications: NotificationSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PromptSection {
    driver: Option<Spanned<String>>,
    pinentry: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NotificationSection {
    enabled: Option<bool>,
    expiry_lead: Option<Spanned<String>>,
    expiring: Option<bool>,
    renewed: Option<bool>,
    code_needed: Option<bool>,
    code_rejected: Option<bool>,
    renewal_failed: Option<bool>,
    write_failed: Option<bool>,
}

/// A settings file is a few lines; anything bigger is not one.
const MAX_SETTINGS_BYTES: u64 = 1 << 20;

/// Read the settings; a missing file gives the defaults.
pub fn load(path: &Path) -> Result<Settings, SettingsError> {
    match crate::bounded::read_text(path, MAX_SETTINGS_BYTES) {
        Ok(Some(text)) => parse(path, &text),
        Ok(None) => Ok(Settings::default()),
        Err(e) => Err(SettingsError {
            path: path.to_owned(),
            line: 0,
            message: format!("cannot read it ({e})"),
        }),
    }
}

pub fn parse(path: &Path, text: &str) -> Result<Settings, SettingsError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let error = |offset: usize, message: String| SettingsError {
        path: path.to_owned(),
        line: line_of(offset),
        message,
    };
    let file: File = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        error(offset, e.message().to_owned())
    })?;
    let duration = |value: &Spanned<String>, key: &str, range: Option<(Duration, Duration)>| {
        let parsed = parse_duration(value.get_ref())
            .map_err(|reason| error(value.span().start, format!("{key}: {reason}")))?;
        if let Some((low, high)) = range
            && !(low..=high).contains(&parsed)
        {
            return Err(error(
                value.span().start,
                format!(
                    "{key} = {} is outside {} to {}",
                    value.get_ref(),
                    humantime::format_duration(low),
                    humantime::format_duration(high)
                ),
            ));
        }
        Ok(parsed)
    };
    let mut settings = Settings::default();
    if let Some(level) = &file.log_level {
        if tracing_subscriber::EnvFilter::try_new(level.get_ref()).is_err() {
            return Err(error(
                level.span().start,
                format!(
                    "log_level = {} is not a level such as info or debug",
                    level.get_ref()
                ),
            ));
        }
        settings.log_level = level.get_ref().clone();
    }
    if let Some(value) = &file.renew_before {
        let range = (MIN_RENEW_BEFORE + Duration::from_secs(1), MAX_RENEW_BEFORE);
        settings.renew_before = duration(value, "renew_before", Some(range))?;
    }
    if let Some(value) = &file.sts_timeout {
        let range = (Duration::from_secs(1), Duration::from_secs(120));
        settings.sts_timeouts.call = duration(value, "sts_timeout", Some(range))?;
    }
    if let Some(value) = &file.max_connections {
        let count = *value.get_ref();
        if !(MIN_CONNECTIONS..=MAX_CONNECTIONS).contains(&count) {
            return Err(error(
                value.span().start,
                format!(
                    "max_connections = {count} is outside {MIN_CONNECTIONS} to {MAX_CONNECTIONS}"
                ),
            ));
        }
        settings.max_connections = count as usize;
    }
    if let Some(share) = file.share_cli_cache {
        settings.share_cli_cache = share;
    }
    if let Some(store) = &file.store {
        settings.store =
            store_settings(store).map_err(|message| error(store.span().start, message))?;
    }
    if let Some(value) = &file.prompt.timeout {
        let range = (Duration::from_secs(1), Duration::from_secs(3600));
        settings.prompt.timeout = duration(value, "prompt.timeout", Some(range))?;
    }
    if let Some(driver) = &file.prompt.driver {
        settings.prompt.driver = match driver.get_ref().as_str() {
            "auto" => PromptDriver::Auto,
            "zenity" => PromptDriver::Zenity,
            "kdialog" => PromptDriver::Kdialog,
            "osascript" => PromptDriver::Osascript,
            "none" => PromptDriver::None,
            "pinentry" => PromptDriver::Pinentry(
                file.prompt
                    .pinentry
                    .as_ref()
                    .map_or_else(|| "pinentry".to_owned(), |p| p.get_ref().clone()),
            ),
            other => {
                return Err(error(
                    driver.span().start,
                    format!(
                        "prompt.driver = {other} is not one of auto, zenity, kdialog, osascript, pinentry, none"
                    ),
                ));
            }
        };
    }
    let section = &file.notifications;
    let notifications = &mut settings.notifications;
    if let Some(value) = &section.expiry_lead {
        let range = (Duration::from_secs(1), Duration::from_secs(12 * 3600));
        notifications.expiry_lead = duration(value, "notifications.expiry_lead", Some(range))?;
    }
    let switches = [
        (section.enabled, &mut notifications.enabled),
        (section.expiring, &mut notifications.expiring),
        (section.renewed, &mut notifications.renewed),
        (section.code_needed, &mut notifications.code_needed),
        (section.code_rejected, &mut notifications.code_rejected),
        (section.renewal_failed, &mut notifications.renewal_failed),
        (section.write_failed, &mut notifications.write_failed),
    ];
    for (value, switch) in switches {
        if let Some(value) = value {
            *switch = value;
        }
    }
    Ok(settings)
}

/// The shortest and longest `store.lock_after`.
const MIN_LOCK_AFTER: Duration = Duration::from_secs(60);
const MAX_LOCK_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// `store = "file"`, or `[store]` with `backend`, `passphrase_command` and `lock_after`.
fn store_settings(value: &Spanned<toml::Value>) -> Result<StoreSettings, String> {
    let backend = |name: &str| match name {
        "auto" => Ok(StoreBackend::Auto),
        "secret-service" => Ok(StoreBackend::SecretService),
        "keychain" => Ok(StoreBackend::Keychain),
        "file" => Ok(StoreBackend::File),
        other => Err(format!(
            "store = {other} is not one of auto, secret-service, keychain, file"
        )),
    };
    match value.get_ref() {
        toml::Value::String(name) => Ok(StoreSettings {
            backend: backend(name)?,
            passphrase_command: None,
            lock_after: None,
        }),
        toml::Value::Table(table) => {
            let mut settings = StoreSettings {
                backend: StoreBackend::Auto,
                passphrase_command: None,
                lock_after: None,
            };
            for (key, value) in table {
                match (key.as_str(), value) {
                    ("backend", toml::Value::String(name)) => settings.backend = backend(name)?,
                    ("passphrase_command", toml::Value::String(command)) => {
                        settings.passphrase_command = Some(command.clone());
                    }
                    ("lock_after", toml::Value::String(text)) => {
                        let after = parse_duration(text)
                            .map_err(|reason| format!("store.lock_after: {reason}"))?;
                        if !(MIN_LOCK_AFTER..=MAX_LOCK_AFTER).contains(&after) {
                            return Err(format!(
                                "store.lock_after = {text} is outside {} to {}",
                                humantime::format_duration(MIN_LOCK_AFTER),
                                humantime::format_duration(MAX_LOCK_AFTER)
                            ));
                        }
                        settings.lock_after = Some(after);
                    }
                    ("backend" | "passphrase_command" | "lock_after", _) => {
                        return Err(format!("store.{key} must be a string"));
                    }
                    (other, _) => {
                        return Err(format!(
                            "unknown key store.{other}; expected backend, passphrase_command or lock_after"
                        ));
                    }
                }
            }
            Ok(settings)
        }
        _ => Err("store must be a name (auto, secret-service, keychain, file) or a table".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Settings, SettingsError> {
        parse(Path::new("/home/u/.config/mfad/config.toml"), text)
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        assert_eq!(parse_text("").unwrap(), Settings::default());
    }

    #[test]
    fn every_key_is_read() {
        let settings = parse_text(
            "log_level = \"debug\"\nrenew_before = \"25m\"\nsts_timeout = \"5s\"\n[prompt]\ndriver = \"pinentry\"\npinentry = \"/usr/bin/pinentry-gnome3\"\ntimeout = \"45s\"\n[notifications]\nexpiry_lead = \"1h\"\nrenewed = false\n",
        )
        .unwrap();
        assert_eq!(settings.log_level, "debug");
        assert_eq!(settings.renew_before, Duration::from_secs(25 * 60));
        assert_eq!(settings.sts_timeouts.call, Duration::from_secs(5));
        assert_eq!(
            settings.prompt.driver,
            PromptDriver::Pinentry("/usr/bin/pinentry-gnome3".into())
        );
        assert_eq!(settings.prompt.timeout, Duration::from_secs(45));
        assert_eq!(
            settings.notifications.expiry_lead,
            Duration::from_secs(3600)
        );
        assert!(!settings.notifications.renewed);
        let file = parse_text(
            "[store]\nbackend = \"file\"\npassphrase_command = \"pass show mfad\"\nlock_after = \"8h\"\n",
        )
        .unwrap();
        assert_eq!(file.store.lock_after, Some(Duration::from_secs(8 * 3600)));
        assert!(
            parse_text("[store]\nlock_after = \"5s\"\n")
                .unwrap_err()
                .to_string()
                .contains("store.lock_after = 5s is outside 1m to 7days")
        );
        assert_eq!(file.store.backend, StoreBackend::File);
        assert_eq!(
            file.store.passphrase_command.as_deref(),
            Some("pass show mfad")
        );
        assert_eq!(
            parse_text("store = \"secret-service\"\n")
                .unwrap()
                .store
                .backend,
            StoreBackend::SecretService
        );
        assert!(settings.notifications.enabled && settings.notifications.code_needed);
    }

    #[test]
    fn the_readme_example_is_valid_and_shows_the_defaults() {
        let readme = include_str!("../README.md");
        let start = readme
            .find("```toml\nlog_level")
            .expect("a settings example in the README")
            + 8;
        let example = &readme[start..start + readme[start..].find("```").unwrap()];
        assert_eq!(parse_text(example).unwrap(), Settings::default());
    }

    #[test]
    fn bad_values_are_named_with_their_line() {
        let cases = [
            (
                "log_level = \"info\"\nrenew_before = \"10m\"\n",
                2,
                "outside",
            ),
            ("[prompt]\n\ndriver = \"dialog\"\n", 3, "not one of"),
            (
                "[notifications]\nexpiry_lead = \"soon\"\n",
                2,
                "not a duration",
            ),
            ("[notifications]\nrenewd = false\n", 2, "unknown field"),
            ("log_level = \"info\n", 1, ""),
            ("renew_before = 20\n", 1, "invalid type"),
            ("max_connections = 2\n", 1, "outside 8 to 65536"),
            ("store = \"vault\"\n", 1, "not one of auto"),
            (
                "[store]\nbackend = \"file\"\npassword = \"x\"\n",
                1,
                "unknown key store.password",
            ),
        ];
        for (text, line, words) in cases {
            let error = parse_text(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
            assert!(error.message.contains(words), "{text:?}: {error}");
            assert!(
                error
                    .to_string()
                    .starts_with("/home/u/.config/mfad/config.toml, line")
            );
        }
    }
}
