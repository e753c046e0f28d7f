//! `Status`: the sessions the daemon holds, with the profiles written from them, as the
//! wire type.

use super::key::SessionKey;
use super::sessions::{Origin, SessionView};
use super::state::Daemon;
use crate::protocol::{MFAD_VERSION, Response, SessionStatus, SsoSessionStatus, StatusReport};
use crate::timefmt::epoch_secs;

pub async fn handle(daemon: &Daemon) -> Response {
    let sessions = daemon
        .sessions
        .status()
        .into_iter()
        .map(|view| {
            let written = daemon.written.of(&view.key);
            let mut status = wire(view);
            status.written_profiles = written;
            status
        })
        .collect();
    let sso_sessions = daemon
        .sso_tokens
        .expirations()
        .into_iter()
        .map(|(name, expiration)| SsoSessionStatus { name, expiration })
        .collect();
    Response::Status(StatusReport {
        sso_sessions,
        mfad: MFAD_VERSION.to_owned(),
        pid: std::process::id(),
        clock_skew_secs: daemon.sts_clock.skew_secs(),
        store: daemon.stores.describe().await,
        sessions,
    })
}

fn wire(view: SessionView) -> SessionStatus {
    let (access_key_id, mfa_serial) = view.key.root().unwrap_or(("", ""));
    let current = view.current.as_ref();
    SessionStatus {
        profiles: view.profiles,
        mfa_serial: mfa_serial.to_owned(),
        long_term_key: crate::store::short_key_id(access_key_id),
        role_arn: match &view.key {
            SessionKey::Role { role_arn, .. } => Some(role_arn.clone()),
            SessionKey::Mfa { .. } | SessionKey::Sso { .. } | SessionKey::AwsLogin { .. } => None,
        },
        sso: match view.key.sso_root() {
            Some(SessionKey::Sso {
                session,
                account_id,
                role_name,
            }) => Some(format!(
                "{role_name} in {account_id} (sso-session {})",
                session.name
            )),
            _ => None,
        },
        sso_session: match view.key.sso_root() {
            Some(SessionKey::Sso { session, .. }) => Some(session.name.clone()),
            _ => None,
        },
        aws_login: view
            .key
            .aws_login_root()
            .map(|session| session.login_session.clone()),
        expiration: current.map(|s| epoch_secs(s.credentials.expiration)),
        code_source: current.and_then(|s| match s.origin {
            Origin::Code(source) => Some(source),
            Origin::Role | Origin::Sso | Origin::AwsLogin => None,
        }),
        renewed_at: current.map(|s| epoch_secs(s.renewed_at)),
        renewing: view.renewing,
        last_error: view.last_error,
        note: view.note,
        written_profiles: Vec::new(),
        callers_waited: view.callers_waited,
    }
}
