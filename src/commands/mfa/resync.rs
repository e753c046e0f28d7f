//! `mfad mfa resync PROFILE`: tell AWS where the device's codes are now, with two
//! consecutive codes derived from the stored seed (or typed from the phone app).

use super::{connect, derived_codes, typed_codes};
use crate::failure::Failure;
use crate::messages;
use crate::mfa::totp::TotpSecret;
use secrecy::ExposeSecret;

pub async fn run(profile: &str, ask: bool) -> Result<(), Failure> {
    let account = connect(profile).await?;
    let (device, _) = account.profile_device().await?;
    let serial = &device.serial;
    if device.is_security_key() {
        return Err(messages::security_key_not_synced(serial));
    }
    let stored = match ask {
        true => None,
        false => account.store.load_totp(serial)?,
    };
    let codes = match stored {
        Some(uri) => {
            let totp = TotpSecret::parse(uri.expose_secret())
                .map_err(|e| messages::totp_secret_unusable(serial, e))?;
            println!("deriving two consecutive codes from the seed mfad holds for {serial}");
            derived_codes(&totp, serial)
        }
        None => typed_codes(serial)?,
    };
    account
        .iam
        .resync(&account.user.name, serial, [&codes[0], &codes[1]])
        .await?;
    println!("resynchronised {serial}: AWS accepts its current codes again");
    Ok(())
}
