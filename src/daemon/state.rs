//! Everything the daemon knows, shared by all connections and background tasks, and the
//! seams its logic reaches the world through: the clocks, STS and the secret store.

use super::aws_files::AwsFilesCache;
use super::clock::{Clock, Now, SystemClock};
use super::loops::LoopGuard;
use super::saved::Saved;
use super::sessions::Sessions;
use super::stores::{Asking, Stores};
use super::tokens::SsoTokens;
use super::wrapped::WrappedHelpers;
use super::written::WrittenProfiles;
use crate::bounded::{self, Stalled};
use crate::config::{AwsLoginSession, KeySource};
use crate::failure::Failure;
use crate::messages;
use crate::mfa::used::UsedCodes;
use crate::notify::Notifier;
use crate::settings::Settings;
use crate::sso::{AwsSso, Sso};
use crate::store::{LongTermKey, Store, StoreError};
use crate::sts::{AwsSts, Sts, StsClock};
use crate::vocab::CallerEnv;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one secret store call may take (a provider that never answers, an unlock
/// prompt nobody sees).
pub const STORE_TIME_LIMIT: Duration = Duration::from_secs(5);

pub struct Daemon {
    pub settings: Settings,
    /// The AWS files profiles are resolved in, parsed once per change.
    pub aws_files: AwsFilesCache,
    pub notifier: Notifier,
    /// Cached sessions: MFA sessions per (long-term key, serial, endpoint), and roles.
    pub sessions: Arc<Sessions>,
    /// Sections of credentials files kept current with sessions.
    pub written: Arc<WrittenProfiles>,
    /// Codes already sent to STS, per serial, shared with the user's other daemons;
    /// survives logout on purpose.
    pub used_codes: Arc<UsedCodes>,
    /// STS's clock relative to ours, for derived codes.
    pub sts_clock: Arc<StsClock>,
    /// The loops through `mfa_process` that were refused.
    pub loops: LoopGuard,
    /// The local clocks.
    pub clock: Arc<dyn Clock>,
    pub sts: Arc<dyn Sts>,
    /// IAM Identity Center.
    pub sso: Arc<dyn Sso>,
    /// The tokens of sso-sessions, and mfad's client registrations with them.
    pub sso_tokens: SsoTokens,
    /// The secret stores, and the file store once unlocked.
    pub stores: Stores,
    /// Sessions saved in the store, to outlive the daemon.
    pub saved: Saved,
    /// The output of `mfad_wrap_process` helpers.
    pub wrapped: WrappedHelpers,
    /// Told when a renewal ends: a renewal runs much of the program that serving a cached
    /// session does not (the SDK, TLS), so once the daemon settles, the server hands
    /// those code pages back ([`crate::resident`]).
    pub renewed: tokio::sync::Notify,
    /// `aws login` sessions refreshed (or signed in) but not yet written back, their
    /// cache file or store having failed: the rotated refresh token lives only here until
    /// a write succeeds (the cache's JSON).
    pub unwritten_logins: Mutex<HashMap<AwsLoginSession, SecretString>>,
    /// Long-term keys read from the secret store, per profile (a D-Bus round trip saved
    /// on every request). `mfad add` and `mfad logout` clear an entry.
    store_keys: Mutex<HashMap<String, LongTermKey>>,
}

impl Default for Daemon {
    /// The real world: the machine's clocks, AWS STS, the platform's secret store, codes
    /// recorded in memory.
    fn default() -> Self {
        Self::new(Settings::default(), UsedCodes::default())
    }
}

impl Daemon {
    /// The daemon of this process, with the seams to the real world.
    pub fn new(settings: Settings, used_codes: UsedCodes) -> Self {
        let own_bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")
            .ok()
            .filter(|v| !v.is_empty());
        let stores = Stores::new(settings.store.clone(), own_bus);
        Self::with_seams(
            settings,
            used_codes,
            Arc::new(SystemClock),
            Arc::new(AwsSts),
            stores,
        )
    }

    /// A daemon with the given clocks, STS and secret store (tests pass doubles).
    pub fn with_seams(
        settings: Settings,
        used_codes: UsedCodes,
        clock: Arc<dyn Clock>,
        sts: Arc<dyn Sts>,
        stores: Stores,
    ) -> Self {
        Self {
            notifier: Notifier::new(settings.notifications.clone()),
            settings,
            aws_files: AwsFilesCache::default(),
            sessions: Arc::default(),
            written: Arc::default(),
            used_codes: Arc::new(used_codes),
            sts_clock: Arc::default(),
            loops: LoopGuard::default(),
            clock,
            sts,
            sso: Arc::new(AwsSso),
            sso_tokens: SsoTokens::default(),
            stores,
            saved: Saved::default(),
            wrapped: WrappedHelpers::default(),
            renewed: tokio::sync::Notify::new(),
            unwritten_logins: Mutex::default(),
            store_keys: Mutex::default(),
        }
    }

    /// Both local clocks, read once.
    pub fn now(&self) -> Now {
        self.clock.now()
    }

    /// Run a secret store call off the async workers, within [`STORE_TIME_LIMIT`].
    pub async fn in_store<T: Send + 'static>(
        &self,
        store: Store,
        call: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let key = format!("secret-store:{store:?}");
        bounded::offload(&key, STORE_TIME_LIMIT, move || call(&store))
            .await
            .unwrap_or_else(|stalled| {
                Err(StoreError::Unavailable(match stalled {
                    Stalled::TimedOut(_) => {
                        format!("it did not answer within {}s", STORE_TIME_LIMIT.as_secs())
                    }
                    Stalled::StillStuck => "an earlier call to it has not returned".into(),
                }))
            })
    }
    /// The long-term key of a source, if it is known without asking the store.
    pub fn known_key(&self, source: &KeySource) -> Option<LongTermKey> {
        match source {
            KeySource::Static { key, .. } => Some(key.clone()),
            KeySource::Store { profile } => self.store_keys.lock().unwrap().get(profile).cloned(),
        }
    }

    /// The long-term key a profile's session is obtained with.
    pub async fn long_term_key(
        &self,
        source: &KeySource,
        caller: &CallerEnv,
        asking: Option<&Asking<'_>>,
    ) -> Result<LongTermKey, Failure> {
        let profile = match source {
            KeySource::Static { key, .. } => return Ok(key.clone()),
            KeySource::Store { profile } => profile,
        };
        if let Some(key) = self.store_keys.lock().unwrap().get(profile) {
            return Ok(key.clone());
        }
        let name = profile.clone();
        let loaded = match self.stores.for_caller(caller, asking).await {
            Ok(store) => {
                self.in_store(store, move |store| store.load_key(&name))
                    .await?
            }
            // No store at all holds no key either.
            Err(StoreError::NotThere(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let key = loaded.ok_or_else(|| messages::no_key_stored(profile))?;
        self.remember_key(profile, &key);
        Ok(key)
    }

    /// Keep a key read from the store, so the next session of the profile needs no read.
    pub fn remember_key(&self, profile: &str, key: &LongTermKey) {
        self.store_keys
            .lock()
            .unwrap()
            .insert(profile.to_owned(), key.clone());
    }

    /// Forget what was cached for a profile (or all): its keys from the store and the
    /// failures of its renewals.
    pub fn forget(&self, profile: Option<&str>) {
        self.forget_keys(profile);
        self.sessions.forget_failures(profile);
    }

    /// Forget cached store keys: of one profile, or all.
    pub fn forget_keys(&self, profile: Option<&str>) {
        let mut keys = self.store_keys.lock().unwrap();
        match profile {
            Some(profile) => {
                keys.remove(profile);
            }
            None => keys.clear(),
        }
    }
}
