//! `mfad mfa enroll PROFILE`: a short transaction against IAM. Create the virtual device,
//! enable it with two consecutive codes, keep its seed, name it in the profile, fetch a
//! first session. Whatever fails after the device exists undoes what was done before it,
//! device first, so no orphan device, stray secret or dangling `mfa_serial` is left
//! behind, and a device AWS will not let go of stays usable.

use super::{Account, connect, derived_codes, serials, typed_codes, unix_now};
use crate::client::{Client, Start};
use crate::config::{IamAccess, edit};
use crate::failure::Failure;
use crate::iam::{IamError, NewDevice, User};
use crate::messages;
use crate::mfa::totp::TotpSecret;
use crate::paths::DaemonPaths;
use crate::protocol::Request;
use crate::timefmt::{from_epoch_secs, rfc3339};
use crate::tty::Terminal;
use secrecy::{ExposeSecret, SecretString};

/// How many MFA devices AWS lets one IAM user have.
const MAX_DEVICES: usize = 8;

pub struct Enrolment {
    pub device_name: Option<String>,
    pub store_seed: bool,
    pub additional: bool,
    pub show_secret: bool,
}

pub async fn run(profile: &str, options: &Enrolment) -> Result<(), Failure> {
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
    device: &NewDevice,
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

fn set_mfa_serial(access: &IamAccess, serial: &str) -> Result<(), Failure> {
    let header = edit::header_of(&access.profile);
    crate::config::credfile::edit(&access.config, &header, |text| {
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
    forget_in_daemon(profile);
    Ok(crate::client::fetch_credentials(profile)?.expiration)
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

    /// Undo in the reverse order of doing: deactivate the device, delete it, and only
    /// once it is gone forget its seed and `mfa_serial`. A device AWS keeps enabled keeps
    /// them too, so it stays usable. Returns the failure that caused the undo, saying in
    /// which state the account is left and what finishes the job.
    async fn run(self, failure: Failure) -> Failure {
        let (account, serial) = (self.account, self.serial);
        let profile = account.access.profile.clone();
        let outcome = self.undo_device().await;
        // The next command for this profile is a fresh attempt, not this failure again.
        forget_in_daemon(&profile);
        match outcome {
            Ok(left) => messages::enrolment_undone(failure, serial, &left),
            Err(DeviceLeft::Enabled { user, error }) => {
                let uses_it = self.config_before.is_some();
                messages::enrolment_kept_enabled(
                    failure,
                    serial,
                    &user,
                    &profile,
                    self.stored_seed,
                    uses_it,
                    &error,
                )
            }
            Err(DeviceLeft::Deactivated { error, left }) => {
                messages::enrolment_left_deactivated(failure, serial, &error, &left)
            }
        }
    }

    /// Take the device back, then what named it here; what could not be forgotten.
    async fn undo_device(&self) -> Result<Vec<String>, DeviceLeft> {
        let (account, serial) = (self.account, self.serial);
        if let Some(user) = &self.enabled_for
            && let Err(error) = account.iam.deactivate(user, serial).await
        {
            return Err(DeviceLeft::Enabled {
                user: user.clone(),
                error: error.to_string(),
            });
        }
        let deleted = account.iam.delete_virtual_device(serial).await;
        let left = self.forget_seed_and_serial();
        match deleted {
            Ok(()) => Ok(left),
            Err(error) => Err(DeviceLeft::Deactivated {
                error: error.to_string(),
                left,
            }),
        }
    }

    /// Forget the seed and restore `mfa_serial` (the device can no longer be used); what
    /// could not be.
    fn forget_seed_and_serial(&self) -> Vec<String> {
        let (account, serial) = (self.account, self.serial);
        let mut left = Vec::new();
        if let Some(before) = &self.config_before {
            let access = &account.access;
            let header = edit::header_of(&access.profile);
            let restored = crate::config::credfile::edit(&access.config, &header, |text| {
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
        left
    }
}

/// What is left of a device the undo could not take back.
enum DeviceLeft {
    /// AWS refused to deactivate it: enabled, with its seed and `mfa_serial` kept.
    Enabled { user: String, error: String },
    /// Deactivated but not deleted: unusable, an unassigned device in the account.
    Deactivated { error: String, left: Vec<String> },
}

/// Tell a running daemon to forget what it remembers of the profile (a failed first
/// session above all).
fn forget_in_daemon(profile: &str) {
    if let Ok(mut client) = Client::connect(&DaemonPaths::from_env(), Start::Never) {
        let _ = client.request(&Request::Forget {
            profile: Some(profile.to_owned()),
        });
    }
}
