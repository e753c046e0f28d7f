//! `mfad totp add|code|remove SERIAL`: TOTP secrets in the secret store.

use super::read_secret;
use crate::cli::TotpCommand;
use crate::failure::Failure;
use crate::messages;
use crate::mfa::totp::TotpSecret;
use crate::mfa::used::{Step, UsedCodes};
use crate::paths;
use crate::store::Store;
use crate::timefmt::{from_epoch_secs, rfc3339};
use secrecy::{ExposeSecret, SecretString};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(command: &TotpCommand) -> Result<(), Failure> {
    match command {
        TotpCommand::Add { serial } => add(serial),
        TotpCommand::Code { serial } => code(serial),
        TotpCommand::Remove { serial } => remove(serial),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn add(serial: &str) -> Result<(), Failure> {
    if serial.contains(":u2f/") {
        return Err(messages::security_key_has_no_secret(serial));
    }
    let store = super::store::for_saving()?;
    let input = read_secret(
        &mut std::io::stdin().lock(),
        "TOTP secret (base32 or otpauth:// URI): ",
    )?
    .ok_or_else(|| messages::no_totp_secret_given(serial))?;
    save(&store, serial, &input)
}

/// Parse a TOTP secret and keep it for `serial`, showing its current code to compare.
pub fn save(store: &Store, serial: &str, input: &SecretString) -> Result<(), Failure> {
    let totp = TotpSecret::parse(input.expose_secret()).map_err(messages::not_a_totp_secret)?;
    store.save_totp(serial, &totp.to_uri())?;
    println!(
        "stored the TOTP secret of {serial}; its current code is {} (compare with your authenticator app)",
        totp.code_at(unix_now())
    );
    Ok(())
}

/// How many steps ahead `mfad totp code` looks for a code no daemon has sent.
const STEPS_AHEAD: u64 = 10;

/// Print a code no daemon has sent (the current one, else the first of the next steps,
/// saying when it becomes valid), and record it as used: the person is about to type it.
fn code(serial: &str) -> Result<(), Failure> {
    let uri = super::store::for_this_shell()?
        .load_totp(serial)?
        .ok_or_else(|| no_secret(serial))?;
    let totp = TotpSecret::parse(uri.expose_secret())
        .map_err(|e| messages::totp_secret_unusable(serial, e))?;
    let used = UsedCodes::kept_in(paths::used_codes_file());
    let (now, period) = (unix_now(), totp.period());
    for ahead in 0..=STEPS_AHEAD {
        let at = if ahead == 0 {
            now
        } else {
            now - now % period + ahead * period
        };
        let code = totp.code_at(at);
        if !used.claim(serial, &code, Step { at, period }) {
            continue;
        }
        if ahead > 0 {
            eprintln!(
                "mfad totp: the current code of {serial} was already sent to AWS by mfad; this one is valid from {} (in {}s)",
                rfc3339(from_epoch_secs(at)),
                at - now
            );
        }
        println!("{code}");
        return Ok(());
    }
    Err(messages::all_codes_ahead_used(serial, STEPS_AHEAD))
}

fn remove(serial: &str) -> Result<(), Failure> {
    if !super::store::for_this_shell()?.delete_totp(serial)? {
        return Err(no_secret(serial));
    }
    println!("removed the TOTP secret of {serial}");
    Ok(())
}

fn no_secret(serial: &str) -> Failure {
    messages::no_totp_secret(serial)
}
