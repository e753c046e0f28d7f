//! `mfad status [--json]`.

use crate::client::{Client, Start};
use crate::failure::{Failure, FailureKind};
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::{Request, Response, StatusReport};
use crate::timefmt::{from_epoch_secs, rfc3339, short_duration};
use std::time::SystemTime;

pub fn run(json: bool) -> Result<(), Failure> {
    let paths = DaemonPaths::from_env();
    let report = report(&paths)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Failure::internal)?
        );
        return Ok(());
    }
    match report {
        None => println!("no mfad daemon runs on {}", paths.socket.display()),
        Some(report) => print!("{}", table(&report, SystemTime::now())),
    }
    Ok(())
}

/// The running daemon's report; `None` when no daemon runs (none is started for it).
pub fn report(paths: &DaemonPaths) -> Result<Option<StatusReport>, Failure> {
    match Client::connect(paths, Start::Never) {
        Ok(mut client) => match client.request(&Request::Status)? {
            Response::Status(report) => Ok(Some(report)),
            other => Err(messages::unexpected_answer(other)),
        },
        Err(failure) if failure.kind == FailureKind::NoDaemon => Ok(None),
        Err(failure) => Err(failure),
    }
}

/// `alice` of `arn:aws:iam::1:mfa/alice`, `admin` of `arn:aws:iam::1:role/admin`.
fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The status as a person reads it.
pub fn table(report: &StatusReport, now: SystemTime) -> String {
    let mut out = format!("mfad {} (pid {})", report.mfad, report.pid);
    if let Some(skew) = report.clock_skew_secs.filter(|s| s.abs() > 3) {
        out.push_str(&format!(", clock skew to STS {skew:+}s"));
    }
    out.push('\n');
    out.push_str(&format!("store: {}\n", report.store));
    for sso in &report.sso_sessions {
        let ends = from_epoch_secs(sso.expiration);
        let left = ends
            .duration_since(now)
            .map_or_else(|_| "expired".to_owned(), short_duration);
        out.push_str(&format!(
            "sso-session {}: signed in until {} ({left} left; refreshed ahead)\n",
            sso.name,
            rfc3339(ends)
        ));
    }
    if report.sessions.is_empty() {
        out.push_str("no sessions\n");
        return out;
    }
    let mut rows =
        vec![["PROFILES", "SESSION", "EXPIRES", "LEFT", "FROM", "RENEWED"].map(String::from)];
    for session in &report.sessions {
        let expiration = session.expiration.map(from_epoch_secs);
        let left = match expiration {
            Some(at) => match at.duration_since(now) {
                Ok(left) => short_duration(left),
                Err(_) => "expired".into(),
            },
            None => "-".into(),
        };
        let (kind, from) = match (&session.role_arn, &session.sso, &session.aws_login) {
            (Some(role), _, _) => (format!("role/{}", last_segment(role)), "role".to_owned()),
            (None, Some(_), _) => ("sso".to_owned(), "sso".to_owned()),
            (None, None, Some(_)) => ("aws-login".to_owned(), "aws login".to_owned()),
            (None, None, None) => (
                format!("mfa/{}", last_segment(&session.mfa_serial)),
                session.code_source.map_or("-".into(), |c| c.to_string()),
            ),
        };
        rows.push([
            session.profiles.join(","),
            kind,
            expiration.map_or("-".into(), rfc3339),
            if session.renewing {
                format!("{left} (renewing)")
            } else {
                left
            },
            from,
            session
                .renewed_at
                .map_or("-".into(), |at| rfc3339(from_epoch_secs(at))),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|col| {
            rows.iter()
                .map(|row| row[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    for session in &report.sessions {
        let who = session.profiles.join(",");
        let root = match (&session.sso, &session.aws_login) {
            (Some(sso), _) => format!("Identity Center role {sso}"),
            (None, Some(arn)) => format!("the aws login sign-in of {arn}"),
            (None, None) => format!("the MFA session of {}", session.mfa_serial),
        };
        match &session.role_arn {
            Some(role) => out.push_str(&format!("{who}: role {role}, on {root}\n")),
            None if session.sso.is_some() || session.aws_login.is_some() => {
                out.push_str(&format!("{who}: {root}\n"));
            }
            None => out.push_str(&format!(
                "{who}: serial {}, key {}\n",
                session.mfa_serial, session.long_term_key
            )),
        }
        for written in &session.written_profiles {
            out.push_str(&format!(
                "{who}: keeps [{}] in {}\n",
                written.section, written.path
            ));
            if let Some(error) = &written.error {
                out.push_str(&format!(
                    "{who}: writing [{}] failed: {error}\n",
                    written.section
                ));
            }
        }
        if let Some(note) = &session.note {
            out.push_str(&format!("{who}: note: {note}\n"));
        }
        if let Some(error) = &session.last_error {
            out.push_str(&format!("{who}: last renewal failed: {error}\n"));
        }
    }
    out
}
