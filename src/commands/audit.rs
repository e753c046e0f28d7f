//! `mfad audit [--profile P] [--json]`: the account's MFA posture. The root user (from
//! GetAccountSummary), the credential report (generated, waited for, parsed), virtual
//! devices nobody holds, and for each user without MFA whether a deny-without-MFA policy
//! applies, looked up for many users at once with a bound on calls in flight; and the
//! users whose only MFA is a security key (which the CLI can use only through a browser
//! sign-in), found among those without a virtual device.
//!
//!
//! Exit status: 0 nothing found, 1 findings, 2 the audit could not be done.

use super::any_profile;
use crate::failure::Failure;
use crate::iam::audit::{self, Finding};
use crate::iam::enforce::Enforcement;
use crate::iam::{Iam, ReportState};
use crate::messages;
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How many IAM calls the policy lookups keep in flight (IAM throttles bursts).
const CALLS_IN_FLIGHT: usize = 16;
/// How long to wait for IAM to generate the credential report.
const REPORT_WAIT: Duration = Duration::from_secs(120);

#[derive(serde::Serialize)]
struct Audit {
    profile: String,
    users: usize,
    findings: Vec<Finding>,
    /// Users whose only MFA is a security key: not a weakness, but they need a browser
    /// sign-in (`aws login`) for CLI access.
    security_key_only: Vec<String>,
}

pub fn run(profile: Option<&str>, json: bool) -> ExitCode {
    let audit = super::runtime().and_then(|runtime| runtime.block_on(gather(profile)));
    let audit = match audit {
        Ok(audit) => audit,
        Err(failure) => {
            eprintln!("mfad audit: could not audit: {failure}");
            return ExitCode::from(2);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&audit).expect("findings serialize")
        );
    } else {
        print_table(&audit);
    }
    match audit.findings.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    }
}

async fn gather(profile: Option<&str>) -> Result<Audit, Failure> {
    let (iam, profile) = any_profile::iam(profile).await?;
    let (summary, report, unassigned) = tokio::try_join!(
        async { Ok::<_, Failure>(iam.account_summary().await?) },
        credential_report(&iam),
        async { Ok(iam.unassigned_virtual_devices().await?) },
    )?;
    let users = audit::parse_report(&report).map_err(messages::report_unreadable)?;
    let without_mfa: Vec<String> = users
        .iter()
        .filter(|u| u.lacks_mfa())
        .map(|u| u.user.clone())
        .collect();
    let iam = Arc::new(iam);
    let with_virtual = iam.users_with_virtual_devices().await?;
    let other_mfa: Vec<String> = users
        .iter()
        .filter(|u| u.mfa_active && !with_virtual.contains(&u.user))
        .map(|u| u.user.clone())
        .collect();
    let mut security_key_only = security_key_only(iam.clone(), other_mfa).await?;
    security_key_only.sort();
    let enforced = enforcement_of(iam, without_mfa).await?;
    let findings = audit::findings(&summary, &users, &enforced, &unassigned, SystemTime::now());
    Ok(Audit {
        profile,
        users: users.len(),
        findings,
        security_key_only,
    })
}

/// Generate the credential report and wait until IAM has it complete.
async fn credential_report(iam: &Iam) -> Result<String, Failure> {
    let deadline = Instant::now() + REPORT_WAIT;
    let mut pause = Duration::from_millis(100);
    while iam.generate_credential_report().await? != ReportState::Complete {
        if Instant::now() + pause > deadline {
            return Err(messages::report_not_ready(REPORT_WAIT));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
    Ok(iam.credential_report().await?)
}

/// Of these users, those whose every MFA device is a security key.
async fn security_key_only(iam: Arc<Iam>, users: Vec<String>) -> Result<Vec<String>, Failure> {
    let slots = Arc::new(tokio::sync::Semaphore::new(CALLS_IN_FLIGHT));
    let mut lookups = tokio::task::JoinSet::new();
    for user in users {
        let (iam, slots) = (iam.clone(), slots.clone());
        lookups.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("never closed");
            let devices = iam.devices(&user).await;
            (user, devices)
        });
    }
    let mut found = Vec::new();
    while let Some(done) = lookups.join_next().await {
        let (user, devices) = done.map_err(Failure::internal)?;
        let devices = devices?;
        if !devices.is_empty() && devices.iter().all(|d| d.is_security_key()) {
            found.push(user);
        }
    }
    Ok(found)
}

/// For each user, the deny-without-MFA policy that applies to them, if any.
async fn enforcement_of(
    iam: Arc<Iam>,
    users: Vec<String>,
) -> Result<HashMap<String, Option<String>>, Failure> {
    let enforcement = Arc::new(Enforcement::default());
    let slots = Arc::new(tokio::sync::Semaphore::new(CALLS_IN_FLIGHT));
    let mut lookups = tokio::task::JoinSet::new();
    for user in users {
        let (iam, enforcement, slots) = (iam.clone(), enforcement.clone(), slots.clone());
        lookups.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("never closed");
            let policy = enforcement.applying_to(&iam, &user).await;
            (user, policy)
        });
    }
    let mut enforced = HashMap::new();
    while let Some(done) = lookups.join_next().await {
        let (user, policy) = done.map_err(Failure::internal)?;
        enforced.insert(user, policy?);
    }
    Ok(enforced)
}

fn print_table(audit: &Audit) {
    print_findings(audit);
    if !audit.security_key_only.is_empty() {
        let count = audit.security_key_only.len();
        println!(
            "NOTE      {count} {} with a security key as the only MFA ({}): AWS accepts security keys only in the browser, so CLI access needs a browser sign-in: `aws login`, served to every tool through mfad_login_profile",
            if count == 1 { "user" } else { "users" },
            audit.security_key_only.join(", ")
        );
    }
}

fn print_findings(audit: &Audit) {
    if audit.findings.is_empty() {
        println!(
            "no findings: the root user has MFA and no keys, and all {} users have MFA",
            audit.users
        );
        return;
    }
    let width = audit
        .findings
        .iter()
        .map(|f| f.subject.len())
        .max()
        .unwrap_or(0);
    for finding in &audit.findings {
        println!(
            "{:<8}  {:<width$}  {}",
            finding.severity.label(),
            finding.subject,
            finding.finding
        );
        println!("{:<8}  {:<width$}  → {}", "", "", finding.remedy);
    }
    println!(
        "{} findings in an account of {} users (profile {})",
        audit.findings.len(),
        audit.users,
        audit.profile
    );
}
