//! `mfad setup PROFILE [--serial ARN] [--totp-file FILE] [--env]`: everything a profile
//! needs, in the order that never wastes a person's typing: the secret store first (the
//! file store created, its passphrase typed twice, when there is no Secret Service), then
//! `[profile PROFILE]` in ~/.aws/config, then the access key and the TOTP secret, each
//! asked only when it is not stored already.

use super::read_secret;
use crate::config::{self, AwsFiles, CallerEnv, edit};
use crate::failure::Failure;
use crate::messages;
use crate::store::Store;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use zeroize::Zeroize;

/// A TOTP secret file is a line or an otpauth:// URI; anything larger is not one.
const MAX_TOTP_FILE_BYTES: u64 = 4096;

pub fn run(
    profile: &str,
    serial: Option<&str>,
    totp_file: Option<&Path>,
    from_env: bool,
) -> Result<(), Failure> {
    // A file that cannot be read fails before anything is asked.
    let totp_from_file = totp_file.map(read_totp_file).transpose()?;
    let store = super::store::for_saving()?;
    let serial = profile_in_config(profile, serial)?;
    access_key(&store, profile, from_env)?;
    totp_secret(&store, &serial, totp_from_file)?;
    super::add::tell_the_daemon(profile);
    println!(
        "{profile} is set up: `aws sts get-caller-identity --profile {profile}` starts its first session"
    );
    Ok(())
}

/// The profile's `mfa_serial`: the one in ~/.aws/config, else `serial`, written into the
/// profile (a new one also gets `credential_process`). A profile that is there is
/// otherwise left as it is.
fn profile_in_config(profile: &str, serial: Option<&str>) -> Result<String, Failure> {
    let env: CallerEnv = std::env::vars().collect();
    let path = config::config_path(&env);
    let files = AwsFiles::load(&env)?;
    let header = edit::header_of(profile);
    let exists = files.config.sections_named(&header).next().is_some();
    let configured = files
        .profile(profile)
        .filter(|_| exists)
        .and_then(|settings| settings.get("mfa_serial").map(|s| s.value.clone()));
    match (configured, serial) {
        (Some(configured), given) => {
            let other = given.filter(|given| *given != configured);
            println!(
                "{} has [{header}] already; left as it is (mfa_serial {configured}{})",
                path.display(),
                other.map_or(String::new(), |other| format!(", not {other}"))
            );
            Ok(configured)
        }
        (None, Some(serial)) => {
            let mut settings = vec![("mfa_serial", serial.to_owned())];
            if !exists {
                let front = crate::paths::front_binary().map_err(Failure::internal)?;
                settings.push((
                    "credential_process",
                    format!("{} process {profile}", front.display()),
                ));
            }
            write_settings(&path, &header, &settings)?;
            let done = if exists { "set mfa_serial in" } else { "added" };
            println!("{done} [{header}] in {}", path.display());
            Ok(serial.to_owned())
        }
        (None, None) => Err(messages::setup_needs_serial(profile, &path)),
    }
}

fn write_settings(path: &Path, header: &str, settings: &[(&str, String)]) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| messages::profile_not_added(path, e))?;
    }
    config::credfile::edit(path, header, |text| {
        let mut text = text.to_owned();
        for (key, value) in settings {
            text = edit::set(&text, header, key, value).unwrap_or(text);
        }
        Ok(Some(text))
    })
    .map_err(|e| messages::profile_not_added(path, e))?;
    Ok(())
}

fn access_key(store: &Store, profile: &str, from_env: bool) -> Result<(), Failure> {
    if let Some(stored) = store.load_key(profile)? {
        println!(
            "the access key {} of {profile} is stored already; kept (`mfad add {profile}` replaces it)",
            stored.short_id()
        );
        return Ok(());
    }
    let key = super::add::given_key(profile, from_env)?;
    store.save_key(profile, &key)?;
    println!(
        "stored the access key {} of {profile} in the {}",
        key.short_id(),
        store.describe()
    );
    Ok(())
}

fn totp_secret(
    store: &Store,
    serial: &str,
    from_file: Option<SecretString>,
) -> Result<(), Failure> {
    if serial.contains(":u2f/") {
        println!("{serial} is a security key: it has no TOTP secret; mfad cannot derive its codes");
        return Ok(());
    }
    if store.load_totp(serial)?.is_some() {
        println!("the TOTP secret of {serial} is stored already; kept");
        return Ok(());
    }
    let given = match from_file {
        Some(secret) => Some(secret),
        None => read_secret(
            &mut std::io::stdin().lock(),
            &format!(
                "TOTP secret of {serial} (base32 or otpauth:// URI; Enter to type codes instead): "
            ),
        )?,
    };
    match given.filter(|secret| !secret.expose_secret().is_empty()) {
        Some(secret) => super::totp::save(store, serial, &secret),
        None => {
            println!(
                "no TOTP secret stored: mfad will ask for a code when a session starts (`mfad totp add {serial}` stores one later)"
            );
            Ok(())
        }
    }
}

fn read_totp_file(path: &Path) -> Result<SecretString, Failure> {
    match crate::bounded::read_text(path, MAX_TOTP_FILE_BYTES) {
        Ok(Some(mut text)) => {
            let secret = SecretString::from(text.trim().to_owned());
            text.zeroize();
            Ok(secret)
        }
        Ok(None) => Err(messages::totp_file_unreadable(path, "no such file")),
        Err(e) => Err(messages::totp_file_unreadable(path, e)),
    }
}
