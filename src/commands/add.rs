//! `mfad add PROFILE [--env]`: store a long-term access key in the secret store.

use super::read_secret;
use crate::client::{Client, Start};
use crate::failure::Failure;
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::Request;
use crate::store::LongTermKey;
use secrecy::{ExposeSecret, SecretString};

pub fn run(profile: &str, from_env: bool) -> Result<(), Failure> {
    // The store first: a file store still to be created is, before the key is typed.
    let store = super::store::for_saving()?;
    let key = given_key(profile, from_env)?;
    store.save_key(profile, &key)?;
    tell_the_daemon(profile);
    println!(
        "stored the access key {} of profile {profile} in the secret store",
        key.short_id()
    );
    Ok(())
}

/// The access key given for `profile`, from the environment or typed, checked for shape.
pub fn given_key(profile: &str, from_env: bool) -> Result<LongTermKey, Failure> {
    let key = if from_env {
        from_environment()?
    } else {
        from_input(profile)?
    };
    check_shape(&key)?;
    Ok(key)
}

/// A running daemon may hold the previous key or failure; have it read the store again.
pub fn tell_the_daemon(profile: &str) {
    if let Ok(mut client) = Client::connect(&DaemonPaths::from_env(), Start::Never) {
        let _ = client.request(&Request::Forget {
            profile: Some(profile.to_owned()),
        });
    }
}

fn missing(what: &str) -> Failure {
    messages::no_key_given(what)
}

fn from_environment() -> Result<LongTermKey, Failure> {
    let access_key_id =
        std::env::var("AWS_ACCESS_KEY_ID").map_err(|_| missing("AWS_ACCESS_KEY_ID"))?;
    let secret =
        std::env::var("AWS_SECRET_ACCESS_KEY").map_err(|_| missing("AWS_SECRET_ACCESS_KEY"))?;
    Ok(LongTermKey {
        access_key_id,
        secret_access_key: SecretString::from(secret),
    })
}

fn from_input(profile: &str) -> Result<LongTermKey, Failure> {
    let mut stdin = std::io::stdin().lock();
    let id = read_secret(&mut stdin, &format!("Access key ID of {profile}: "))?
        .ok_or_else(|| missing("access key id"))?;
    let secret = read_secret(&mut stdin, "Secret access key: ")?
        .ok_or_else(|| missing("secret access key"))?;
    Ok(LongTermKey {
        access_key_id: id.expose_secret().to_owned(),
        secret_access_key: secret,
    })
}

/// Catch a swapped or truncated paste before it reaches the store.
fn check_shape(key: &LongTermKey) -> Result<(), Failure> {
    let id = &key.access_key_id;
    let id_ok = (16..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    let secret = key.secret_access_key.expose_secret();
    let secret_ok = !secret.is_empty() && !secret.contains(char::is_whitespace);
    if id_ok && secret_ok {
        return Ok(());
    }
    Err(messages::not_an_access_key())
}
