//! The IAM user behind a profile, reached with its long-term key: what `mfad mfa` and
//! `mfad rotate` start from.

use crate::config::{self, CallerEnv, IamAccess, KeySource};
use crate::failure::Failure;
use crate::iam::{Device, Iam, User};
use crate::messages;
use crate::store::{LongTermKey, Store};

/// The IAM user of a profile, reached with its long-term key.
pub struct Account {
    pub access: IamAccess,
    pub store: Store,
    /// The long-term key, as stored (or the source profile's static key).
    pub key: LongTermKey,
    /// IAM signed with that key.
    pub iam: Iam,
    pub user: User,
}

pub async fn connect(profile: &str) -> Result<Account, Failure> {
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
        key,
        iam,
        user,
    })
}

impl Account {
    /// The device the profile names in `mfa_serial`, which must be one of the user's,
    /// and the user's other devices.
    pub async fn profile_device(&self) -> Result<(Device, Vec<Device>), Failure> {
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
