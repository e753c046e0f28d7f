//! `mfad mfa enroll|list|resync|remove PROFILE`: the MFA devices of the IAM user behind a
//! profile, reached with the profile's long-term key (self-service actions an enforce-MFA
//! policy allows without MFA) or, to take a device away, with its MFA session.

mod enroll;
mod list;
mod remove;
mod resync;

use super::read_secret;
use crate::cli::MfaCommand;
use crate::config::{self, CallerEnv, IamAccess, KeySource};
use crate::failure::Failure;
use crate::iam::{Device, Iam, User};
use crate::messages;
use crate::mfa::totp::TotpSecret;
use crate::mfa::used::{Step, UsedCodes};
use crate::paths;
use crate::store::{LongTermKey, Store};
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

/// The IAM user of a profile, reached with its long-term key.
struct Account {
    access: IamAccess,
    store: Store,
    iam: Iam,
    user: User,
}

async fn connect(profile: &str) -> Result<Account, Failure> {
    let env: CallerEnv = std::env::vars().collect();
    let access = config::iam_access(profile, &env)?;
    let store = super::store::for_this_shell()?;
    let key: LongTermKey = match &access.key {
        KeySource::Store { profile } => store
            .load_key(profile)?
            .ok_or_else(|| messages::no_key_stored(profile))?,
        KeySource::Static { key, .. } => key.clone(),
    };
    let iam = Iam::with_key(&access.iam, &access.network, &key).await?;
    let user = iam.user().await?;
    Ok(Account {
        access,
        store,
        iam,
        user,
    })
}

impl Account {
    /// The device the profile names in `mfa_serial`, which must be one of the user's,
    /// and the user's other devices.
    async fn profile_device(&self) -> Result<(Device, Vec<Device>), Failure> {
        let serial = self
            .access
            .mfa_serial
            .clone()
            .ok_or_else(|| messages::no_device_named(&self.access.profile))?;
        let (named, others): (Vec<Device>, Vec<Device>) = self
            .iam
            .devices(&self.user.name)
            .await?
            .into_iter()
            .partition(|d| d.serial == serial);
        match named.into_iter().next() {
            Some(device) => Ok((device, others)),
            None => Err(messages::not_a_device_of(
                &self.access.profile,
                &serial,
                &self.user.name,
            )),
        }
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
