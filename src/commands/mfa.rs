//! `mfad mfa enroll|list PROFILE`: the MFA devices of the IAM user behind a profile.
//!
//! Enrolment is a short transaction against IAM: create the virtual device, enable it
//! with two consecutive codes, keep its seed, name it in the profile, fetch a first
//! session. Whatever fails after the device exists undoes what was done before it, so no
//! orphan device, stray secret or dangling `mfa_serial` is left behind.

use super::read_secret;
use crate::cli::MfaCommand;
use crate::client::{Client, Start};
use crate::config::{self, CallerEnv, IamAccess, KeySource, edit};
use crate::failure::{Failure, FailureKind};
use crate::iam::{Device, Iam, IamError, User};
use crate::messages;
use crate::mfa::totp::TotpSecret;
use crate::mfa::used::{Step, UsedCodes};
use crate::paths::{self, DaemonPaths};
use crate::protocol::Request;
use crate::store::{LongTermKey, Store};
use crate::timefmt::{from_epoch_secs, rfc3339};
use crate::tty::Terminal;
use secrecy::{ExposeSecret, SecretString};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many MFA devices AWS lets one IAM user have.
const MAX_DEVICES: usize = 8;

pub fn run(command: &MfaCommand) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::internal)?;
    match command {
        MfaCommand::Enroll {
            profile,
            device_name,
            no_store,
            additional,
            show_secret,
        } => runtime.block_on(enroll(
            profile,
            &Enrolment {
                device_name: device_name.clone(),
                store_seed: !no_store,
                additional: *additional,
                show_secret: *show_secret,
            },
        )),
        MfaCommand::List { profile, json } => runtime.block_on(list(profile, *json)),
    }
}

impl From<IamError> for Failure {
    fn from(error: IamError) -> Self {
        let remedy = error.remedy();
        Failure::new(FailureKind::Iam, error.to_string(), remedy)
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
    let iam = Iam::new(&access.iam, &access.network, &key).await?;
    let user = iam.user().await?;
    Ok(Account {
        access,
        store,
        iam,
        user,
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// --- enroll --------------------------------------------------------------------------

struct Enrolment {
    device_name: Option<String>,
    store_seed: bool,
    additional: bool,
    show_secret: bool,
}

async fn enroll(profile: &str, options: &Enrolment) -> Result<(), Failure> {
    let account = connect(profile).await?;
    let user = &account.user;
    let devices = account.iam.devices(&user.name).await?;
    if !devices.is_empty() && !options.additional {
        return Err(messages::already_enrolled(
            profile,
            &user.name,
            &serials(&devices),
        ));
    }
    if devices.len() >= MAX_DEVICES {
        return Err(IamError::DeviceLimit {
            message: format!("{} has {}", user.name, devices.len()),
        }
        .into());
    }
    let name = options
        .device_name
        .clone()
        .unwrap_or_else(|| match devices.len() {
            0 => user.name.clone(),
            n => format!("{}-{}", user.name, n + 1),
        });
    let device = account.iam.create_virtual_device(&name).await?;
    println!(
        "created the virtual MFA device {} for IAM user {}",
        device.serial, user.name
    );
    let mut undo = Undo::new(&account, &device.serial);
    let result = finish_enrolment(&account, options, &device, &mut undo).await;
    if let Err(failure) = result {
        return Err(undo.run(failure).await);
    }
    Ok(())
}

async fn finish_enrolment(
    account: &Account,
    options: &Enrolment,
    device: &crate::iam::NewDevice,
    undo: &mut Undo<'_>,
) -> Result<(), Failure> {
    let (user, serial, profile) = (&account.user, &device.serial, &account.access.profile);
    let uri = otpauth_uri(user, device.seed.expose_secret());
    let totp = TotpSecret::parse(uri.expose_secret())
        .map_err(|e| messages::totp_secret_unusable(serial, e))?;
    show_qr_code(&uri, options.show_secret)?;
    if options.show_secret {
        println!("seed: {}", device.seed.expose_secret());
        println!("otpauth URI: {}", uri.expose_secret());
    }
    let codes = if options.store_seed {
        derived_codes(&totp, serial)
    } else {
        typed_codes(serial)?
    };
    account
        .iam
        .enable(&user.name, serial, [&codes[0], &codes[1]])
        .await?;
    undo.enabled_for = Some(user.name.clone());
    println!("enabled {serial} with two consecutive codes");
    if options.store_seed {
        account.store.save_totp(serial, &totp.to_uri())?;
        undo.stored_seed = true;
        println!("stored its seed in the {}", account.store.describe());
    }
    if account.access.mfa_serial.is_none() || !options.additional {
        set_mfa_serial(&account.access, serial)?;
        undo.config_before = Some(account.access.mfa_serial.clone());
        println!(
            "set mfa_serial in [{}] of {}",
            edit::header_of(profile),
            account.access.config.display()
        );
    }
    if undo.config_before.is_some() {
        let expires = first_session(profile, &totp)?;
        println!(
            "profile {profile} has an MFA session until {}",
            rfc3339(from_epoch_secs(expires))
        );
    }
    Ok(())
}

/// The URI a phone app reads from the QR code, with the label the AWS console uses.
fn otpauth_uri(user: &User, seed: &str) -> SecretString {
    let label = percent_encode(&format!("{}@{}", user.name, user.account()));
    SecretString::from(format!(
        "otpauth://totp/Amazon%20Web%20Services:{label}?secret={seed}&issuer=Amazon%20Web%20Services"
    ))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The QR code goes to the terminal only, never to a redirected stdout or a log file,
/// unless the person asked for the secret with `--show-secret`.
fn show_qr_code(uri: &SecretString, show_secret: bool) -> Result<(), Failure> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(uri.expose_secret().as_bytes()).map_err(Failure::internal)?;
    let image = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    let text = format!("Scan this with your authenticator app to hold the same device:\n{image}\n");
    if show_secret {
        println!("{text}");
    } else if let Some(mut terminal) = Terminal::open() {
        terminal.show(&text).map_err(Failure::internal)?;
    } else {
        println!(
            "no terminal to show the QR code on; `mfad mfa enroll PROFILE --show-secret` prints it, or add the device to an app later from the seed in the store"
        );
    }
    Ok(())
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

fn typed_codes(serial: &str) -> Result<[SecretString; 2], Failure> {
    let mut stdin = std::io::stdin().lock();
    let mut ask = |prompt: &str| {
        read_secret(&mut stdin, prompt)?.ok_or_else(|| messages::no_codes_typed(serial))
    };
    let first = ask("A code from the authenticator app: ")?;
    let second = ask("The next code (wait for it to change): ")?;
    Ok([first, second])
}

fn set_mfa_serial(access: &IamAccess, serial: &str) -> Result<(), Failure> {
    let header = edit::header_of(&access.profile);
    crate::credfile::edit(&access.config, &header, |text| {
        Ok(edit::set(text, &header, "mfa_serial", serial))
    })
    .map_err(|e| messages::config_not_updated(&access.config, e))?;
    Ok(())
}

/// A first session, from the daemon (which reads the new `mfa_serial` and the stored
/// seed); returns its expiry. The enabling codes are spent, so it waits for the next one.
fn first_session(profile: &str, totp: &TotpSecret) -> Result<u64, Failure> {
    let period = totp.period();
    println!(
        "fetching a first session (the next code is valid in {}s)",
        period - unix_now() % period
    );
    if let Ok(mut client) = Client::connect(&DaemonPaths::from_env(), Start::Never) {
        let _ = client.request(&Request::Forget {
            profile: Some(profile.to_owned()),
        });
    }
    Ok(super::process::fetch(profile)?.expiration)
}

/// What enrolment did so far, undone in reverse when a later step fails.
struct Undo<'a> {
    account: &'a Account,
    serial: &'a str,
    enabled_for: Option<String>,
    stored_seed: bool,
    /// The profile's `mfa_serial` before enrolment set it (`Some(None)`: it had none).
    config_before: Option<Option<String>>,
}

impl<'a> Undo<'a> {
    fn new(account: &'a Account, serial: &'a str) -> Self {
        Self {
            account,
            serial,
            enabled_for: None,
            stored_seed: false,
            config_before: None,
        }
    }

    /// Undo everything, then return the failure that caused it with what was undone (or
    /// what could not be, and how to finish by hand).
    async fn run(self, failure: Failure) -> Failure {
        let (account, serial) = (self.account, self.serial);
        let mut left = Vec::new();
        if let Some(before) = &self.config_before {
            let access = &account.access;
            let header = edit::header_of(&access.profile);
            let restored = crate::credfile::edit(&access.config, &header, |text| {
                Ok(match before {
                    Some(old) => edit::set(text, &header, "mfa_serial", old),
                    None => edit::unset(text, &header, "mfa_serial"),
                })
            });
            if let Err(e) = restored {
                left.push(format!("mfa_serial in {} ({e})", access.config.display()));
            }
        }
        if self.stored_seed
            && let Err(e) = account.store.delete_totp(serial)
        {
            left.push(format!("its seed in the store ({e})"));
        }
        if let Some(user) = &self.enabled_for
            && let Err(e) = account.iam.deactivate(user, serial).await
        {
            left.push(format!("the device, still enabled ({e})"));
        }
        if let Err(e) = account.iam.delete_virtual_device(serial).await {
            left.push(format!("the device in IAM ({e})"));
        }
        messages::enrolment_undone(failure, serial, &left)
    }
}

fn serials(devices: &[Device]) -> Vec<String> {
    devices.iter().map(|d| d.serial.clone()).collect()
}

// --- list ----------------------------------------------------------------------------

#[derive(serde::Serialize)]
struct Listed {
    serial: String,
    enabled: String,
    kind: &'static str,
    used_by_profile: bool,
    secret_in_mfad: bool,
}

async fn list(profile: &str, json: bool) -> Result<(), Failure> {
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
