//! `mfad mfa remove PROFILE`: deactivate and delete the profile's device with its MFA
//! session (an enforce-MFA policy allows that only with MFA), then forget its seed, its
//! `mfa_serial` line and the sessions made with it.

use super::{Account, connect};
use crate::client::{Client, Start};
use crate::config::edit;
use crate::failure::{Failure, FailureKind};
use crate::iam::enforce::Enforcement;
use crate::iam::{Device, Iam};
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::Request;
use crate::tty::Terminal;
use secrecy::ExposeSecret;

pub async fn run(profile: &str, yes: bool) -> Result<(), Failure> {
    let account = connect(profile).await?;
    let (device, others) = account.profile_device().await?;
    let serial = &device.serial;
    if device.is_security_key() {
        return Err(messages::security_key_not_removed(serial));
    }
    let session = crate::client::fetch_credentials(profile)?;
    let iam = Iam::with_session(&account.access.iam, &account.access.network, &session).await?;
    println!(
        "This deactivates and deletes {serial} of IAM user {}, and removes its seed from mfad, mfa_serial from profile {profile} and the profile's sessions.",
        account.user.name
    );
    if let Some(warning) = lock_out_warning(&iam, &account, &others).await {
        println!("{warning}");
    }
    if !yes {
        confirm(serial)?;
    }
    iam.deactivate(&account.user.name, serial).await?;
    let deleted = iam.delete_virtual_device(serial).await;
    forget_locally(&account, &device)?;
    match deleted {
        Ok(()) => {
            println!("removed {serial}");
            Ok(())
        }
        Err(error) => Err(messages::device_not_deleted(serial, error)),
    }
}

/// What the user can still do once the device is gone, when an enforce-MFA policy
/// applies and no other device is left.
async fn lock_out_warning(iam: &Iam, account: &Account, others: &[Device]) -> Option<String> {
    if others.iter().any(|d| !d.is_security_key()) {
        return None;
    }
    let user = &account.user.name;
    match Enforcement::default().applying_to(iam, user).await {
        Ok(Some(policy)) => Some(format!(
            "warning: the enforce-MFA policy {policy} applies to {user}, who then has no MFA device for API sessions: everything but setting up a new device will be denied (`mfad mfa enroll {}` sets one up)",
            account.access.profile
        )),
        Ok(None) => None,
        Err(error) => Some(format!(
            "warning: could not tell whether an enforce-MFA policy would lock {user} out ({error})"
        )),
    }
}

fn confirm(serial: &str) -> Result<(), Failure> {
    let mut terminal = Terminal::open().ok_or_else(|| messages::removal_not_confirmed(serial))?;
    let answer = terminal
        .ask(&format!("Remove {serial}? [y/N] "))
        .map_err(Failure::internal)?;
    match answer {
        Some(text) if text.expose_secret().trim().eq_ignore_ascii_case("y") => Ok(()),
        _ => Err(messages::removal_not_confirmed(serial)),
    }
}

/// The device is gone in IAM: drop its seed, the profile's `mfa_serial` and sessions.
fn forget_locally(account: &Account, device: &Device) -> Result<(), Failure> {
    let access = &account.access;
    if account.store.delete_totp(&device.serial)? {
        println!("removed its seed from the {}", account.store.describe());
    }
    let header = edit::header_of(&access.profile);
    crate::config::credfile::edit(&access.config, &header, |text| {
        Ok(edit::unset(text, &header, "mfa_serial"))
    })
    .map_err(|e| messages::config_not_updated(&access.config, e))?;
    println!(
        "removed mfa_serial from [{header}] of {}",
        access.config.display()
    );
    match Client::connect(&DaemonPaths::from_env(), Start::Never) {
        Ok(mut client) => {
            client.request(&Request::Logout {
                profile: Some(access.profile.clone()),
            })?;
        }
        Err(failure) if failure.kind == FailureKind::NoDaemon => {}
        Err(failure) => return Err(failure),
    }
    Ok(())
}
