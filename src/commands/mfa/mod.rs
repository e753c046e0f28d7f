//! `mfad mfa enroll|list|resync|remove PROFILE`: the MFA devices of the IAM user behind a
//! profile, reached with the profile's long-term key (self-service actions an enforce-MFA
//! policy allows without MFA) or, to take a device away, with its MFA session.

mod enroll;
mod list;
mod remove;
mod resync;

use super::account::{Account, connect};
use super::read_secret;
use crate::cli::MfaCommand;
use crate::failure::Failure;
use crate::iam::Device;
use crate::messages;
use crate::mfa::totp::TotpSecret;
use crate::mfa::used::{Step, UsedCodes};
use crate::paths;
use secrecy::SecretString;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(command: &MfaCommand) -> Result<(), Failure> {
    let runtime = super::runtime()?;
    match command {
        MfaCommand::Enroll {
            profile,
            device_name,
            no_store,
            additional,
            show_secret,
        } => runtime.block_on(enroll::run(
            profile,
            &enroll::Enrolment {
                device_name: device_name.clone(),
                store_seed: !no_store,
                additional: *additional,
                show_secret: *show_secret,
            },
        )),
        MfaCommand::List { profile, json } => runtime.block_on(list::run(profile, *json)),
        MfaCommand::Resync { profile, ask } => runtime.block_on(resync::run(profile, *ask)),
        MfaCommand::Remove { profile, yes } => runtime.block_on(remove::run(profile, *yes)),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The previous and the current code, derived at once: no waiting for a new step. Both
/// are recorded as used, so that no later session sends them again.
fn derived_codes(totp: &TotpSecret, serial: &str) -> [SecretString; 2] {
    let (now, period) = (unix_now(), totp.period());
    let used = UsedCodes::kept_in(paths::used_codes_file());
    [now.saturating_sub(period), now].map(|at| {
        let code = totp.code_at(at);
        used.claim(serial, &code, Step { at, period });
        SecretString::from(code)
    })
}

/// Two consecutive codes typed by the person (from the phone app).
fn typed_codes(serial: &str) -> Result<[SecretString; 2], Failure> {
    let mut stdin = std::io::stdin().lock();
    let mut ask = |prompt: &str| {
        read_secret(&mut stdin, prompt)?.ok_or_else(|| messages::no_codes_typed(serial))
    };
    let first = ask("A code from the authenticator app: ")?;
    let second = ask("The next code (wait for it to change): ")?;
    Ok([first, second])
}

fn serials(devices: &[Device]) -> Vec<String> {
    devices.iter().map(|d| d.serial.clone()).collect()
}
