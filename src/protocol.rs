//! The messages between client and daemon: one JSON object per line, each in an
//! [`Envelope`] carrying the protocol version, so either side notices a peer of another
//! version and says so instead of misreading it.
//!
//! A conversation is short: the client sends one [`Request`]; the daemon answers with one
//! [`Response`], except that a credentials request may first get [`Response::AskCode`]
//! or [`Response::AskSecret`],
//! which the client answers with [`Request::Code`] or [`Request::Cancel`].

use crate::failure::Failure;
use crate::messages;
use crate::vocab::{CallerEnv, CodeSource};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

/// Bumped whenever a message changes shape (2: [`Response::Pending`]; 3:
/// [`Response::AskSecret`]; 4: [`Response::Notice`]).
pub const PROTOCOL_VERSION: u32 = 4;

/// While a request is being worked on, the daemon sends [`Response::Pending`] this often,
/// so a client can tell a busy daemon from a stopped one.
pub const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(1);

/// The version of this mfad build, sent along so a mismatch can name both sides.
pub const MFAD_VERSION: &str = env!("CARGO_PKG_VERSION");

/// No legitimate message comes near this; a longer line is refused unread.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub protocol: u32,
    pub mfad: String,
    pub body: T,
}

/// The caller of a request: its environment, and whether a person can be asked on its
/// terminal. The daemon serves many shells and resolves each request in its caller's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Caller {
    pub env: CallerEnv,
    /// The caller's terminal, when it opened `/dev/tty` and will relay a prompt.
    pub tty: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Credentials for a profile (`mfad process`, `mfad env`, `mfad exec`).
    Credentials {
        profile: String,
        caller: Caller,
    },
    /// The person's answer to [`Response::AskCode`].
    Code {
        #[serde(serialize_with = "expose")]
        code: SecretString,
    },
    /// The person could not or would not answer [`Response::AskCode`].
    Cancel,
    Status,
    /// Drop the sessions of one profile, or all of them.
    Logout {
        profile: Option<String>,
    },
    /// Forget what the daemon cached from the secret store for a profile, or for all, and
    /// the failures of its renewals (after `mfad add`, `mfad store migrate`, an enrolment).
    Forget {
        profile: Option<String>,
    },
    /// `mfad rotate` replaced the long-term key `old_key_id` with `new_key_id` (whose
    /// secret is in the store already): keep the sessions the old key made.
    KeyRotated {
        old_key_id: String,
        new_key_id: String,
        #[serde(serialize_with = "expose")]
        new_secret: SecretString,
    },
    /// When the session last handed out for a profile expires (`mfad prompt`).
    Peek {
        profile: String,
    },
    /// Sign in to an sso-session (named, or a profile's), asking this caller.
    SsoLogin {
        target: SsoTarget,
        caller: Caller,
    },
    /// Sign out of an sso-session, or of all.
    SsoLogout {
        session: Option<String>,
        caller: Caller,
    },
    /// The accounts and roles the person of an sso-session may take.
    SsoAccounts {
        session: String,
        caller: Caller,
    },
    Ping,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Credentials(Credentials),
    /// Ask the person at the caller's terminal for an MFA code.
    AskCode {
        prompt: String,
    },
    /// Ask the person for a secret, read without echo (the file store's passphrase);
    /// answered like [`Response::AskCode`].
    AskSecret {
        prompt: String,
    },
    /// Tell the person at the caller's terminal something to do (where to sign in); not
    /// answered.
    Notice {
        text: String,
    },
    Status(StatusReport),
    /// Answer to [`Request::Peek`]: seconds since the epoch, `None` if mfad has no session
    /// for the profile.
    Expiration {
        expiration: Option<u64>,
        /// Seconds before the end that the session is renewed in (15 minutes, 10 for an
        /// `aws login` session); absent from older daemons.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        renewal_window: Option<u64>,
    },
    Done {
        message: String,
    },
    Pong {
        pid: u32,
    },
    /// Answer to [`Request::SsoAccounts`].
    SsoAccounts {
        accounts: Vec<SsoAccount>,
    },
    /// Still working on the request (sent every [`KEEPALIVE`]).
    Pending,
    Error(Failure),
}

/// Which sso-session a request means: by its name or through a profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoTarget {
    Session(String),
    Profile(String),
}

/// An account of an sso-session and the roles the person may take in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoAccount {
    pub account_id: String,
    pub name: String,
    pub roles: Vec<String>,
}

/// Temporary credentials as handed to a caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub access_key_id: String,
    #[serde(serialize_with = "expose")]
    pub secret_access_key: SecretString,
    #[serde(serialize_with = "expose")]
    pub session_token: SecretString,
    /// Seconds since the epoch.
    pub expiration: u64,
    /// The region of the profile (or the caller's environment), if one is set.
    pub region: Option<String>,
    /// The account the credentials act in (from the role ARN or the MFA device's ARN).
    #[serde(default)]
    pub account_id: Option<String>,
}

/// An sso-session the daemon holds a token of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SsoSessionStatus {
    pub name: String,
    /// When the token ends, seconds since the epoch (it is refreshed ahead).
    pub expiration: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    /// The sso-sessions signed in to, with when their token ends.
    #[serde(default)]
    pub sso_sessions: Vec<SsoSessionStatus>,
    pub mfad: String,
    pub pid: u32,
    /// Seconds STS's clock is ahead of ours (negative: behind), when measured.
    pub clock_skew_secs: Option<i64>,
    /// The secret store the daemon uses.
    pub store: String,
    pub sessions: Vec<SessionStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionStatus {
    /// The profiles that asked for this session.
    pub profiles: Vec<String>,
    pub mfa_serial: String,
    /// The long-term access key id, shortened (`AKIA…WXYZ`).
    pub long_term_key: String,
    /// The role, for a session assumed with an MFA session.
    pub role_arn: Option<String>,
    /// The Identity Center role at the root of the chain, in words.
    #[serde(default)]
    pub sso: Option<String>,
    /// The sso-session that role is taken through.
    #[serde(default)]
    pub sso_session: Option<String>,
    /// The `aws login` sign-in at the root of the chain (its login_session ARN).
    #[serde(default)]
    pub aws_login: Option<String>,
    /// Seconds since the epoch; `None` before the first session was obtained.
    pub expiration: Option<u64>,
    pub code_source: Option<CodeSource>,
    pub renewed_at: Option<u64>,
    pub renewing: bool,
    pub last_error: Option<String>,
    /// Something worth knowing, e.g. that a root session was capped at 1 h.
    pub note: Option<String>,
    /// Sections of credentials files kept current with this session.
    pub written_profiles: Vec<WrittenProfile>,
    /// How many requests had to wait for a renewal of this session (the others were
    /// served from the cache).
    pub callers_waited: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrittenProfile {
    pub section: String,
    pub path: String,
    /// Why the last write failed, if it did.
    pub error: Option<String>,
}

fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// One message as a line, newline included. The caller zeroizes it after writing when it
/// carries a secret.
pub fn encode<T: Serialize>(body: &T) -> Vec<u8> {
    let envelope = Envelope {
        protocol: PROTOCOL_VERSION,
        mfad: MFAD_VERSION.to_owned(),
        body,
    };
    let mut line = serde_json::to_vec(&envelope).expect("protocol messages always serialize");
    line.push(b'\n');
    line
}

/// Parse one line read with a cap of [`MAX_LINE_BYTES`] + 1 bytes. `None` means the peer
/// closed the connection before sending anything.
pub fn decode<T: DeserializeOwned>(line: &[u8]) -> Result<Option<T>, Failure> {
    if line.is_empty() {
        return Ok(None);
    }
    if line.len() > MAX_LINE_BYTES {
        return Err(messages::message_too_long(MAX_LINE_BYTES));
    }
    if line.last() != Some(&b'\n') {
        return Err(messages::garbled("the message ended before its newline"));
    }
    #[derive(Deserialize)]
    struct Probe {
        protocol: u32,
        mfad: String,
    }
    let probe: Probe = serde_json::from_slice(line).map_err(messages::garbled)?;
    if probe.protocol != PROTOCOL_VERSION {
        return Err(messages::other_version(
            &probe.mfad,
            probe.protocol,
            MFAD_VERSION,
            PROTOCOL_VERSION,
        ));
    }
    let envelope: Envelope<T> = serde_json::from_slice(line).map_err(messages::garbled)?;
    Ok(Some(envelope.body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureKind;

    #[test]
    fn credentials_round_trip_and_debug_hides_secrets() {
        let creds = Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG"),
            session_token: SecretString::from("FQoGZXIvYXdzEJr"),
            expiration: 1_795_000_000,
            region: None,
            account_id: Some("123456789012".into()),
        };
        let line = encode(&Response::Credentials(creds));
        let back: Response = decode(&line).unwrap().unwrap();
        let Response::Credentials(back) = back else {
            panic!("wrong variant")
        };
        assert_eq!(
            back.secret_access_key.expose_secret(),
            "wJalrXUtnFEMI/K7MDENG"
        );
        let debug = format!("{back:?}");
        assert!(!debug.contains("wJalr"), "{debug}");
        assert!(!debug.contains("FQoG"), "{debug}");
    }

    #[test]
    fn a_code_never_shows_in_debug() {
        let request = Request::Code {
            code: SecretString::from("123456"),
        };
        assert!(!format!("{request:?}").contains("123456"));
        let line = encode(&request);
        assert!(String::from_utf8_lossy(&line).contains("123456"));
    }

    #[test]
    fn garbled_oversized_and_other_versions_are_named() {
        let garbage = decode::<Request>(b"{not json\n").unwrap_err();
        assert_eq!(garbage.kind, FailureKind::BadMessage);
        let cut = decode::<Request>(br#"{"protocol":1"#).unwrap_err();
        assert_eq!(cut.kind, FailureKind::BadMessage);
        let big = vec![b' '; MAX_LINE_BYTES + 1];
        assert!(
            decode::<Request>(&big)
                .unwrap_err()
                .message
                .contains("longer")
        );
        let other =
            decode::<Request>(b"{\"protocol\":99,\"mfad\":\"9.0.0\",\"body\":{}}\n").unwrap_err();
        assert_eq!(other.kind, FailureKind::VersionMismatch);
        assert!(other.message.contains("9.0.0"), "{}", other.message);
        assert!(decode::<Request>(b"").unwrap().is_none());
    }
}
