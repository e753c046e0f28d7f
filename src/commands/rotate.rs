//! `mfad rotate PROFILE`: replace the profile's long-term key. The new key is created with
//! the MFA session (no second code), proven with GetCallerIdentity (retried while IAM's
//! eventual consistency catches up, within a bound), stored, and only then is the old
//! one deleted. Any failure leaves the old key stored and working and deletes the new
//! one. The daemon's sessions stay valid and move under the new key.

use super::account::{Account, connect};
use crate::client::{Client, Start};
use crate::config::KeySource;
use crate::failure::{Failure, FailureKind};
use crate::iam::Iam;
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::Request;
use crate::settings::StsTimeouts;
use crate::store::LongTermKey;
use crate::sts::{self, Route, StsClock, StsError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a new key may take to work everywhere (AWS documents "a few seconds").
const PROOF_WAIT: Duration = Duration::from_secs(30);

pub fn run(profile: &str) -> Result<(), Failure> {
    super::runtime()?.block_on(rotate(profile))
}

async fn rotate(profile: &str) -> Result<(), Failure> {
    let account = connect(profile).await?;
    if let KeySource::Static {
        profile: source, ..
    } = &account.access.key
    {
        return Err(messages::rotate_needs_stored_key(profile, source));
    }
    if account.access.mfa_serial.is_none() {
        return Err(messages::no_device_named(profile));
    }
    let user = &account.user.name;
    let session = crate::client::fetch_credentials(profile)?;
    let iam = Iam::with_session(&account.access.iam, &account.access.network, &session).await?;
    let keys = iam.access_keys(user).await?;
    if keys.len() >= 2 {
        let ids: Vec<String> = keys.into_iter().map(|k| k.id).collect();
        return Err(messages::two_keys_already(
            user,
            &account.key.access_key_id,
            &ids,
        ));
    }
    let new = iam.create_access_key(user).await?;
    println!("created the access key {} for {user}", new.access_key_id);
    if let Err(failure) = switch_to(&account, &iam, &new).await {
        let deleted = iam.delete_access_key(user, &new.access_key_id).await;
        return Err(messages::rotation_undone(
            failure,
            &account.key.access_key_id,
            &new.access_key_id,
            deleted.err(),
        ));
    }
    tell_the_daemon(&account.key, &new)?;
    println!(
        "profile {profile} now uses {}; {} is deleted; sessions made with it stay valid",
        new.access_key_id, account.key.access_key_id
    );
    Ok(())
}

/// Prove the new key, store it, delete the old one; on failure the old key is stored
/// again (if it was replaced) and still exists in IAM.
async fn switch_to(account: &Account, iam: &Iam, new: &LongTermKey) -> Result<(), Failure> {
    prove(account, new).await?;
    let store = &account.store;
    store.save_key(&account.access.profile, new)?;
    if let Err(error) = iam
        .delete_access_key(&account.user.name, &account.key.access_key_id)
        .await
    {
        store.save_key(&account.access.profile, &account.key)?;
        return Err(error.into());
    }
    Ok(())
}

/// GetCallerIdentity with the new key until it answers as the same user: a new key is
/// refused as unknown for a few seconds while IAM propagates it. Any other failure
/// (throttling, the network) ends the rotation at once.
async fn prove(account: &Account, new: &LongTermKey) -> Result<(), Failure> {
    let clock = Arc::new(StsClock::default());
    let route = Route {
        endpoint: &account.access.sts,
        network: &account.access.network,
        clock: &clock,
        timeouts: StsTimeouts::default(),
    };
    let deadline = Instant::now() + PROOF_WAIT;
    let mut pause = Duration::from_millis(250);
    loop {
        match sts::caller_identity(route, new).await {
            Ok(arn) if arn == account.user.arn => return Ok(()),
            Ok(arn) => return Err(messages::new_key_is_someone_else(&arn, &account.user.arn)),
            Err(StsError::BadKey { .. }) if Instant::now() + pause <= deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(4));
            }
            Err(error) => return Err(messages::new_key_never_worked(PROOF_WAIT, error)),
        }
    }
}

/// The daemon keeps the sessions the old key made, under the new key.
fn tell_the_daemon(old: &LongTermKey, new: &LongTermKey) -> Result<(), Failure> {
    let mut client = match Client::connect(&DaemonPaths::from_env(), Start::Never) {
        Ok(client) => client,
        Err(failure) if failure.kind == FailureKind::NoDaemon => return Ok(()),
        Err(failure) => return Err(failure),
    };
    client.request(&Request::KeyRotated {
        old_key_id: old.access_key_id.clone(),
        new_key_id: new.access_key_id.clone(),
        new_secret: new.secret_access_key.clone(),
    })?;
    Ok(())
}
