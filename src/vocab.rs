//! The words every layer shares: a caller's environment, where an MFA code came from,
//! durations as people write them, and the thresholds every part agrees on. This module
//! imports nothing else of the crate, so anything may import it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

/// botocore refreshes credentials with fewer than 15 minutes left, so a session is handed
/// out only while more than this is left (and renewed otherwise). Not to be confused
/// with the `renew_before` setting: how long before this mfad renews in the background.
pub const MIN_LEFT_TO_HAND_OUT: Duration = Duration::from_secs(15 * 60);

/// `aws login` credentials last 15 minutes and the SDKs refresh them from the cache file
/// themselves when fewer than 5 are left. mfad refreshes them when fewer than this are
/// left, ahead of every SDK, so that one refresh serves all and none races another.
pub const AWS_LOGIN_REFRESH_AHEAD: Duration = Duration::from_secs(10 * 60);

/// Set in the environment of an `mfa_process` command (the MFA serials whose renewal runs
/// it) and of an `mfad_wrap_process` helper (`wrap:PROFILE`). The client forwards it, so
/// a request from the command for what it is run for is refused as a loop instead of
/// waiting for itself.
pub const INSIDE_VAR: &str = "MFAD_INSIDE";

/// The allow-listed variables of a caller. Some may hold a secret (a proxy URL with a
/// password), so `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallerEnv(BTreeMap<String, String>);

impl Deref for CallerEnv {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for CallerEnv {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl FromIterator<(String, String)> for CallerEnv {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        Self(vars.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a CallerEnv {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<const N: usize> From<[(String, String); N]> for CallerEnv {
    fn from(vars: [(String, String); N]) -> Self {
        Self(BTreeMap::from(vars))
    }
}

impl CallerEnv {
    /// An environment of these variables (tests, and callers built by hand).
    pub fn of(vars: &[(&str, &str)]) -> Self {
        vars.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    /// A variable's value, if it is set and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The environment of a helper run on this caller's behalf: [`INSIDE_VAR`] with `mark`
    /// added to the marks of the helpers the caller itself runs inside.
    pub fn inside(&self, mark: &str) -> Self {
        let marks = match self.non_empty(INSIDE_VAR) {
            Some(outer) => format!("{outer},{mark}"),
            None => mark.to_owned(),
        };
        let mut env = self.clone();
        env.insert(INSIDE_VAR.to_owned(), marks);
        env
    }

    /// Whether this caller runs inside a helper that set `mark`.
    pub fn is_inside(&self, mark: &str) -> bool {
        self.non_empty(INSIDE_VAR)
            .is_some_and(|marks| marks.split(',').any(|m| m == mark))
    }
}

impl fmt::Debug for CallerEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// How the code of a session was obtained (shown by `mfad status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSource {
    Totp,
    MfaProcess,
    Terminal,
    Desktop,
}

impl CodeSource {
    /// Whether a person had to give the code (such a session is announced before it ends
    /// rather than renewed in the background).
    pub fn needs_person(self) -> bool {
        matches!(self, Self::Terminal | Self::Desktop)
    }
}

impl fmt::Display for CodeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Totp => "totp",
            Self::MfaProcess => "mfa_process",
            Self::Terminal => "terminal",
            Self::Desktop => "desktop",
        })
    }
}

/// Seconds (`43200`) or a humantime span (`12h`, `1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("not a duration ({e}); write seconds or e.g. 12h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_an_environment_shows_names_only() {
        let caller = CallerEnv::of(&[("HTTPS_PROXY", "http://alice:s3cr3t@proxy.corp:3128")]);
        assert_eq!(format!("{caller:?}"), r#"{"HTTPS_PROXY"}"#);
        assert_eq!(caller.non_empty("HTTPS_PROXY").map(str::len), Some(35));
        assert_eq!(CallerEnv::of(&[("X", "")]).non_empty("X"), None);
    }

    #[test]
    fn durations_as_people_write_them() {
        assert_eq!(parse_duration("43200"), Ok(Duration::from_secs(43200)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("write seconds")
        );
    }
}
