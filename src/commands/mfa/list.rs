//! `mfad mfa list PROFILE`: the user's devices, which one the profile uses and whether
//! mfad holds its seed.

use super::connect;
use crate::failure::Failure;

#[derive(serde::Serialize)]
struct Listed {
    serial: String,
    enabled: String,
    kind: &'static str,
    used_by_profile: bool,
    secret_in_mfad: bool,
}

pub async fn run(profile: &str, json: bool) -> Result<(), Failure> {
    let account = connect(profile).await?;
    let devices = account.iam.devices(&account.user.name).await?;
    let mut listed = Vec::new();
    for device in devices {
        let security_key = device.is_security_key();
        listed.push(Listed {
            used_by_profile: account.access.mfa_serial.as_deref() == Some(&device.serial),
            secret_in_mfad: !security_key && account.store.load_totp(&device.serial)?.is_some(),
            kind: if security_key {
                "security key (console only)"
            } else {
                "virtual"
            },
            serial: device.serial,
            enabled: device.enabled,
        });
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&listed).map_err(Failure::internal)?
        );
        return Ok(());
    }
    if listed.is_empty() {
        println!(
            "IAM user {} has no MFA device; set one up with `mfad mfa enroll {profile}`",
            account.user.name
        );
        return Ok(());
    }
    println!("MFA devices of IAM user {}:", account.user.name);
    for device in &listed {
        let mut notes = vec![device.kind.to_owned()];
        if device.used_by_profile {
            notes.push(format!("used by profile {profile}"));
        }
        if device.secret_in_mfad {
            notes.push("seed held by mfad".into());
        }
        println!(
            "  {}  enabled {}  ({})",
            device.serial,
            device.enabled,
            notes.join(", ")
        );
    }
    Ok(())
}
