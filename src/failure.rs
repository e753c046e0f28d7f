//! The error a person sees: what failed, then what to do about it (rage's style).
//!
//! Library modules keep their own `thiserror` types; at the daemon's edge each becomes a
//! [`Failure`], which crosses the socket and is printed by the client on one line.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What went wrong, coarsely: the client and the session cache act on a few of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// `~/.aws/config` or the credentials file is wrong or lacks something.
    Config,
    /// The secret store could not be read or written, or holds nothing for the profile.
    Store,
    /// No code source could be used: no TOTP secret, no `mfa_process`, nobody to ask.
    NoCodeSource,
    /// The person cancelled the prompt or did not answer in time.
    PromptCancelled,
    /// STS refused the MFA code.
    CodeRejected,
    /// STS answered with an error.
    Sts,
    /// STS could not be reached, failed, throttled or did not answer in time.
    StsUnavailable,
    /// IAM refused, failed or could not be reached (`mfad mfa`).
    Iam,
    /// A garbled, oversized or out-of-order message on the socket.
    BadMessage,
    /// Client and daemon speak different protocol versions.
    VersionMismatch,
    /// No daemon listens on the socket (and the client was not to start one).
    NoDaemon,
    /// What listens on the socket, or the directory it is in, is not the user's own.
    Untrusted,
    /// The daemon accepted the connection but stayed silent (stopped or stuck).
    Unresponsive,
    /// The daemon has as many connections as it serves at once.
    Busy,
    /// Anything else (a bug, an I/O error on the daemon's side).
    Internal,
}

/// A message and its remedy, e.g. "AWS rejected the MFA code" / "type the next code".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// What failed, without a trailing period.
    pub message: String,
    /// What the person should do next.
    pub remedy: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>, remedy: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            remedy: remedy.into(),
        }
    }

    pub fn internal(message: impl fmt::Display) -> Self {
        Self::new(
            FailureKind::Internal,
            message.to_string(),
            "this is a bug in mfad; the daemon log (`mfad status` shows where) has details",
        )
    }
}

impl fmt::Display for Failure {
    /// One line: `message; remedy`. Clients print it after naming the profile.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.remedy.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}; {}", self.message, self.remedy)
        }
    }
}

impl std::error::Error for Failure {}

/// What every error a person may see tells besides its text: what kind of failure it is
/// and what to do next. The one conversion to the [`Failure`] shown is the [`From`] below;
/// the texts of errors of one domain live with their type, the others in
/// [`crate::messages`].
pub trait Explain: fmt::Display {
    fn kind(&self) -> FailureKind;
    fn remedy(&self) -> String;
}

impl<E: Explain> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::new(error.kind(), error.to_string(), error.remedy())
    }
}

/// The error and its sources in words, without the SDK's `Debug` dump of them.
pub fn in_words(error: &(dyn std::error::Error + 'static)) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !words.last().is_some_and(|last| last.contains(&text)) {
            words.push(text);
        }
        next = error.source();
    }
    words.join(": ")
}
