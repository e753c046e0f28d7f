//! `mfad sso status [SESSION] [--json]`: the Identity Center part of `mfad status`, by
//! sso-session, with an exit status a script can test before it signs in.

use super::status::report;
use crate::failure::Failure;
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::StatusReport;
use crate::timefmt::{from_epoch_secs, rfc3339, short_duration};
use serde::Serialize;
use std::time::SystemTime;

/// One sso-session as this command reports it.
#[derive(Debug, Serialize, PartialEq)]
pub struct SessionState {
    pub name: String,
    /// When the token ends (it is refreshed ahead); `None` when not signed in.
    pub signed_in_until: Option<u64>,
    /// The roles taken through it: what, for which profiles, until when.
    pub roles: Vec<RoleState>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct RoleState {
    pub role: String,
    pub profiles: Vec<String>,
    pub expiration: Option<u64>,
}

pub fn run(session: Option<&str>, json: bool) -> Result<(), Failure> {
    let report = report(&DaemonPaths::from_env())?;
    let states = states(report.as_ref(), session);
    if json {
        let text = serde_json::to_string_pretty(&states).map_err(Failure::internal)?;
        println!("{text}");
    } else {
        print!("{}", table(&states, SystemTime::now()));
    }
    match states.iter().find(|s| s.signed_in_until.is_none()) {
        Some(state) => Err(messages::sso_not_signed_in(&state.name)),
        None => Ok(()),
    }
}

/// The sso-sessions signed in to (or only `only`, signed in or not), with their roles.
pub fn states(report: Option<&StatusReport>, only: Option<&str>) -> Vec<SessionState> {
    let mut names: Vec<String> = report
        .map(|r| r.sso_sessions.iter().map(|s| s.name.clone()).collect())
        .unwrap_or_default();
    if let Some(only) = only {
        names.retain(|name| name == only);
        if names.is_empty() {
            names.push(only.to_owned());
        }
    }
    names
        .into_iter()
        .map(|name| {
            let Some(report) = report else {
                return SessionState {
                    name,
                    signed_in_until: None,
                    roles: Vec::new(),
                };
            };
            let signed_in_until = report
                .sso_sessions
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.expiration);
            let roles = report
                .sessions
                .iter()
                .filter(|s| s.sso_session.as_deref() == Some(name.as_str()))
                .map(|s| RoleState {
                    role: s
                        .role_arn
                        .clone()
                        .or_else(|| s.sso.clone())
                        .unwrap_or_default(),
                    profiles: s.profiles.clone(),
                    expiration: s.expiration,
                })
                .collect();
            SessionState {
                name,
                signed_in_until,
                roles,
            }
        })
        .collect()
}

fn left(until: u64, now: SystemTime) -> String {
    let ends = from_epoch_secs(until);
    let left = ends
        .duration_since(now)
        .map_or_else(|_| "expired".to_owned(), short_duration);
    format!("until {} ({left} left)", rfc3339(ends))
}

/// The states as a person reads them.
pub fn table(states: &[SessionState], now: SystemTime) -> String {
    if states.is_empty() {
        return "no sso-session is signed in\n".to_owned();
    }
    let mut out = String::new();
    for state in states {
        match state.signed_in_until {
            Some(until) => out.push_str(&format!(
                "sso-session {}: signed in {}, refreshed ahead\n",
                state.name,
                left(until, now)
            )),
            None => out.push_str(&format!("sso-session {}: not signed in\n", state.name)),
        }
        for role in &state.roles {
            let until = role
                .expiration
                .map_or_else(|| "not fetched yet".to_owned(), |at| left(at, now));
            out.push_str(&format!(
                "  {} ({}): {until}\n",
                role.role,
                role.profiles.join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{SessionStatus, SsoSessionStatus};
    use std::time::{Duration, UNIX_EPOCH};

    fn role(profile: &str, sso_session: Option<&str>, expiration: u64) -> SessionStatus {
        SessionStatus {
            profiles: vec![profile.to_owned()],
            mfa_serial: String::new(),
            long_term_key: String::new(),
            role_arn: None,
            sso: sso_session.map(|s| format!("Admin in 111122223333 (sso-session {s})")),
            sso_session: sso_session.map(str::to_owned),
            aws_login: None,
            expiration: Some(expiration),
            code_source: None,
            renewed_at: None,
            renewing: false,
            last_error: None,
            note: None,
            written_profiles: Vec::new(),
            callers_waited: 0,
        }
    }

    fn report() -> StatusReport {
        StatusReport {
            sso_sessions: vec![SsoSessionStatus {
                name: "corp".into(),
                expiration: 8 * 3600,
            }],
            mfad: "0".into(),
            pid: 1,
            clock_skew_secs: None,
            store: "file".into(),
            sessions: vec![
                role("prod", Some("corp"), 3600),
                role("dev", None, 3600),
                role("other", Some("lab"), 3600),
            ],
        }
    }

    #[test]
    fn a_session_lists_only_the_roles_taken_through_it() {
        let states = states(Some(&report()), None);
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].signed_in_until, Some(8 * 3600));
        assert_eq!(states[0].roles.len(), 1);
        assert_eq!(states[0].roles[0].profiles, ["prod"]);
        let now = UNIX_EPOCH + Duration::from_secs(1800);
        let text = table(&states, now);
        assert!(
            text.starts_with("sso-session corp: signed in until 1970-01-01T08:00:00Z"),
            "{text}"
        );
        assert!(
            text.contains("  Admin in 111122223333 (sso-session corp) (prod): until"),
            "{text}"
        );
    }

    #[test]
    fn a_named_session_the_daemon_does_not_hold_is_not_signed_in() {
        let held = states(Some(&report()), Some("lab"));
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].signed_in_until, None);
        assert_eq!(
            held[0].roles[0].profiles,
            ["other"],
            "its roles still cached"
        );
        let no_daemon = states(None, Some("lab"));
        assert_eq!(
            no_daemon,
            [SessionState {
                name: "lab".into(),
                signed_in_until: None,
                roles: Vec::new()
            }]
        );
        assert_eq!(
            table(&[], SystemTime::now()),
            "no sso-session is signed in\n"
        );
    }
}
