//! What `mfad audit` concludes from what IAM says: the credential report parsed, and
//! each weakness as a finding with its severity and remedy. No calls here: the command
//! gathers, this module judges (and is tested with plain data).

use crate::iam::AccountSummary;
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// Access keys older than this should be rotated; unused this long, removed.
pub const KEY_AGE_LIMIT: Duration = Duration::from_secs(90 * 24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Self::Critical => "CRITICAL",
            Self::High => "HIGH",
            Self::Medium => "MEDIUM",
            Self::Low => "LOW",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Who or what: "root user", "user alice", "access key AKIA… of bob", a device serial.
    pub subject: String,
    pub finding: String,
    pub remedy: String,
}

/// One access key's columns in the credential report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyColumns {
    pub active: bool,
    pub last_rotated: Option<SystemTime>,
    pub last_used: Option<SystemTime>,
}

/// One user's row of the credential report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRow {
    pub user: String,
    pub password_enabled: bool,
    pub mfa_active: bool,
    pub keys: [KeyColumns; 2],
}

impl UserRow {
    /// Whether the user can act without MFA: a console password or an active key.
    pub fn lacks_mfa(&self) -> bool {
        !self.mfa_active && (self.password_enabled || self.keys.iter().any(|k| k.active))
    }
}

/// The users of a credential report (CSV with a header row); the root user's row
/// (`<root_account>`) is left out, GetAccountSummary speaks for it.
pub fn parse_report(csv: &str) -> Result<Vec<UserRow>, String> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or("the credential report is empty")?
        .split(',')
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("the credential report has no column {name}"))
    };
    let user = column("user")?;
    let password = column("password_enabled")?;
    let mfa = column("mfa_active")?;
    let key_columns = [1, 2].map(|n| {
        Ok::<_, String>((
            column(&format!("access_key_{n}_active"))?,
            column(&format!("access_key_{n}_last_rotated"))?,
            column(&format!("access_key_{n}_last_used_date"))?,
        ))
    });
    let [first, second] = key_columns;
    let key_columns = [first?, second?];
    let mut rows = Vec::new();
    for (number, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Err(format!(
                "line {} of the credential report has {} fields, not {}",
                number + 2,
                fields.len(),
                header.len()
            ));
        }
        if fields[user] == "<root_account>" {
            continue;
        }
        rows.push(UserRow {
            user: fields[user].to_owned(),
            password_enabled: fields[password] == "true",
            mfa_active: fields[mfa] == "true",
            keys: key_columns.map(|(active, rotated, used)| KeyColumns {
                active: fields[active] == "true",
                last_rotated: time(fields[rotated]),
                last_used: time(fields[used]),
            }),
        });
    }
    Ok(rows)
}

/// A time in the report; "N/A", "no_information" and the like are none.
fn time(field: &str) -> Option<SystemTime> {
    use aws_smithy_types::date_time::{DateTime, Format};
    DateTime::from_str(field, Format::DateTimeWithOffset)
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
}

/// Everything the audit found, most severe first. `enforced` maps each user without MFA
/// to the deny-without-MFA policy that applies to them, if one does.
pub fn findings(
    summary: &AccountSummary,
    users: &[UserRow],
    enforced: &HashMap<String, Option<String>>,
    unassigned_devices: &[String],
    now: SystemTime,
) -> Vec<Finding> {
    let mut found = Vec::new();
    if !summary.root_mfa {
        found.push(Finding {
            severity: Severity::Critical,
            subject: "root user".into(),
            finding: "the root user has no MFA".into(),
            remedy: "sign in as root and assign an MFA device (IAM console, Security credentials); a security key or a virtual device kept offline".into(),
        });
    }
    if summary.root_access_keys {
        found.push(Finding {
            severity: Severity::Critical,
            subject: "root user".into(),
            finding: "the root user has access keys".into(),
            remedy: "delete them (IAM console, Security credentials) and use an IAM user or role instead".into(),
        });
    }
    for row in users {
        found.extend(user_findings(
            row,
            enforced.get(&row.user).and_then(Option::as_ref),
        ));
        found.extend(key_findings(row, now));
    }
    for serial in unassigned_devices {
        found.push(Finding {
            severity: Severity::Low,
            subject: serial.clone(),
            finding: "a virtual MFA device assigned to nobody (an abandoned enrolment?)".into(),
            remedy: format!(
                "delete it: `aws iam delete-virtual-mfa-device --serial-number {serial}`"
            ),
        });
    }
    found.sort_by(|a, b| (a.severity, &a.subject).cmp(&(b.severity, &b.subject)));
    found
}

fn user_findings(row: &UserRow, enforced_by: Option<&String>) -> Vec<Finding> {
    if row.mfa_active {
        return Vec::new();
    }
    let user = &row.user;
    let (severity, enforcement) = match enforced_by {
        Some(policy) => (
            Severity::Medium,
            format!(
                "; the enforce-MFA policy {policy} applies, so only self-service works until then"
            ),
        ),
        None => (
            Severity::High,
            format!(
                "; no deny-without-MFA policy applies to {user}: `mfad policy --apply --user {user}` attaches one"
            ),
        ),
    };
    let enroll = format!("the user sets up a device with `mfad mfa enroll PROFILE`{enforcement}");
    let mut found = Vec::new();
    if row.password_enabled {
        found.push(Finding {
            severity,
            subject: format!("user {user}"),
            finding: "console password without MFA".into(),
            remedy: enroll.clone(),
        });
    }
    if row.keys.iter().any(|k| k.active) {
        found.push(Finding {
            severity,
            subject: format!("user {user}"),
            finding: "active access keys without MFA".into(),
            remedy: enroll,
        });
    }
    found
}

fn key_findings(row: &UserRow, now: SystemTime) -> Vec<Finding> {
    let older_than_limit =
        |t: SystemTime| now.duration_since(t).is_ok_and(|age| age > KEY_AGE_LIMIT);
    let mut found = Vec::new();
    for (index, key) in row.keys.iter().enumerate().filter(|(_, k)| k.active) {
        let subject = format!("access key {} of {}", index + 1, row.user);
        let unused = match key.last_used {
            Some(used) => older_than_limit(used),
            None => key.last_rotated.is_some_and(older_than_limit),
        };
        if unused {
            found.push(Finding {
                severity: Severity::Medium,
                subject: subject.clone(),
                finding: "active but unused for more than 90 days".into(),
                remedy: format!(
                    "deactivate or delete it (`aws iam list-access-keys --user-name {}` names it)",
                    row.user
                ),
            });
        } else if key.last_rotated.is_some_and(older_than_limit) {
            found.push(Finding {
                severity: Severity::Low,
                subject,
                finding: "older than 90 days".into(),
                remedy: "rotate it: `mfad rotate PROFILE` with the user's profile".into(),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn report(rows: &[&str]) -> String {
        format!("{HEADER}\n{}\n", rows.join("\n"))
    }

    fn at(text: &str) -> SystemTime {
        time(text).unwrap()
    }

    const NOW: &str = "2026-11-23T12:00:00+00:00";

    #[test]
    fn the_report_is_read_by_column_name_and_the_root_row_left_out() {
        let csv = report(&[
            "<root_account>,arn:aws:iam::1:root,2020-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            "bob,arn:aws:iam::1:user/bob,2020-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,true,2026-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        ]);
        let rows = parse_report(&csv).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].user, "bob");
        assert!(rows[0].password_enabled && !rows[0].mfa_active && rows[0].lacks_mfa());
        assert_eq!(
            rows[0].keys[0].last_rotated,
            Some(at("2026-01-01T00:00:00Z"))
        );
        assert_eq!(rows[0].keys[0].last_used, None);
        let short = format!("{HEADER}\nbob,too,few\n");
        assert!(parse_report(&short).unwrap_err().contains("line 2"));
        assert!(
            parse_report("user,arn\n")
                .unwrap_err()
                .contains("password_enabled")
        );
    }

    #[test]
    fn findings_are_sorted_by_severity_with_their_remedies() {
        let csv = report(&[
            "carol,a,t,false,N/A,N/A,N/A,true,true,2026-11-01T00:00:00+00:00,2026-11-20T00:00:00+00:00,r,s,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            "dave,a,t,false,N/A,N/A,N/A,false,true,2025-01-01T00:00:00+00:00,2026-11-20T00:00:00+00:00,r,s,true,2025-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
            "erin,a,t,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        ]);
        let users = parse_report(&csv).unwrap();
        let enforced = HashMap::from([
            ("dave".to_owned(), None),
            ("erin".to_owned(), Some("arn:p through group g".to_owned())),
        ]);
        let summary = AccountSummary {
            root_mfa: false,
            root_access_keys: false,
        };
        let found = findings(
            &summary,
            &users,
            &enforced,
            &["arn:mfa/old".into()],
            at(NOW),
        );
        let seen: Vec<(Severity, &str, &str)> = found
            .iter()
            .map(|f| (f.severity, f.subject.as_str(), f.finding.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (Severity::Critical, "root user", "the root user has no MFA"),
                (
                    Severity::High,
                    "user dave",
                    "active access keys without MFA"
                ),
                (
                    Severity::Medium,
                    "access key 2 of dave",
                    "active but unused for more than 90 days"
                ),
                (
                    Severity::Medium,
                    "user erin",
                    "console password without MFA"
                ),
                (Severity::Low, "access key 1 of dave", "older than 90 days"),
                (
                    Severity::Low,
                    "arn:mfa/old",
                    "a virtual MFA device assigned to nobody (an abandoned enrolment?)"
                ),
            ]
        );
        assert!(
            found[1]
                .remedy
                .contains("`mfad policy --apply --user dave`")
        );
        assert!(found[3].remedy.contains("arn:p through group g applies"));
    }
}
