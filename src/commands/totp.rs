//! `mfad totp add|code|remove SERIAL`: TOTP secrets in the secret store.

use super::read_secret;
use crate::cli::TotpCommand;
use crate::failure::{Failure, FailureKind};
use crate::mfa::totp::TotpSecret;
use crate::store;
use secrecy::ExposeSecret;
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
        return Err(Failure::new(
            FailureKind::Config,
            format!(
                "{serial} is a security key, which has no TOTP secret and works only in the console"
            ),
            "register a virtual (TOTP) MFA device and store its secret",
        ));
    }
    let input = read_secret(
        &mut std::io::stdin().lock(),
        "TOTP secret (base32 or otpauth:// URI): ",
    )?
    .ok_or_else(|| {
        Failure::new(
            FailureKind::Config,
            "no TOTP secret given",
            format!("pipe it in: mfad totp add {serial} < secret.txt, or type it when asked"),
        )
    })?;
    let totp = TotpSecret::parse(input.expose_secret()).map_err(|e| {
        Failure::new(
            FailureKind::Config,
            format!("cannot use that TOTP secret: {e}"),
            "give the base32 secret shown when the virtual MFA device was created, or its otpauth:// URI; nothing was stored",
        )
    })?;
    store::save_totp(serial, &totp.to_uri())?;
    println!(
        "stored the TOTP secret of {serial}; its current code is {} (compare with your authenticator app)",
        totp.code_at(unix_now())
    );
    Ok(())
}

fn code(serial: &str) -> Result<(), Failure> {
    let uri = store::load_totp(serial)?.ok_or_else(|| no_secret(serial))?;
    let totp = TotpSecret::parse(uri.expose_secret()).map_err(|e| {
        Failure::new(
            FailureKind::Store,
            format!("the TOTP secret stored for {serial} is unusable ({e})"),
            format!("store it again with mfad totp add {serial}"),
        )
    })?;
    println!("{}", totp.code_at(unix_now()));
    Ok(())
}

fn remove(serial: &str) -> Result<(), Failure> {
    if !store::delete_totp(serial)? {
        return Err(no_secret(serial));
    }
    println!("removed the TOTP secret of {serial}");
    Ok(())
}

fn no_secret(serial: &str) -> Failure {
    Failure::new(
        FailureKind::Store,
        format!("no TOTP secret stored for {serial}"),
        format!("store one with mfad totp add {serial}"),
    )
}
