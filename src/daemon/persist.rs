//! Sessions that outlive the daemon. Each MFA or role session is saved in the secret
//! store of the caller that obtained it (the Secret Service, the Keychain or the encrypted
//! file store: never a plaintext file), under an id derived from its key; saved again
//! when it is renewed, handed to another profile or written into a credentials file;
//! removed on logout and once it has ended. The next daemon (after a crash, a restart,
//! an upgrade, a reboot) loads them, drops the ended ones, and builds each one's recipe
//! again from its profile, so it serves callers and renews ahead as before, with no STS
//! call and no prompt.

use super::key::SessionKey;
use super::recipe::{AwsLoginRecipe, Recipe, RenewalRequest, RoleRecipe, SsoRecipe};
use super::sessions::{Origin, Session};
use super::state::Daemon;
use super::stores::Asking;
use crate::config::{self, CredentialPlan, KeySource, ProfilePlan, WriteTarget};
use crate::store::Store;
use crate::sts::TemporaryCredentials;
use crate::timefmt::{epoch_secs, from_epoch_secs};
use crate::vocab::{CallerEnv, CodeSource};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use zeroize::Zeroize;

/// A session as saved.
#[derive(Serialize, Deserialize)]
struct SavedSession {
    key: SessionKey,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    /// Seconds since the epoch.
    expiration: u64,
    renewed_at: u64,
    /// Where the code came from; `None` for a role.
    code_source: Option<CodeSource>,
    /// The profiles whose settings define it.
    profiles: Vec<String>,
    /// The profiles it was handed to (what `mfad prompt` shows).
    handed_out_to: Vec<String>,
    /// The profile its recipe is resolved from, and in which caller environment.
    defined_by: String,
    caller_env: CallerEnv,
    /// Sections of credentials files kept with it: (file, section, profile).
    written: Vec<(PathBuf, String, String)>,
}

impl Drop for SavedSession {
    fn drop(&mut self) {
        self.secret_access_key.zeroize();
        self.session_token.zeroize();
    }
}

/// The entry id of a session: a hash of its key (stable across versions of mfad).
pub fn id(key: &SessionKey) -> String {
    let digest = Sha256::digest(serde_json::to_vec(key).expect("keys serialize"));
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Write the sessions marked, as they are when written, forever.
pub async fn saver(daemon: Arc<Daemon>) {
    loop {
        daemon.saved.wake.notified().await;
        let keys: Vec<SessionKey> = daemon.saved.dirty.lock().unwrap().drain().collect();
        for key in keys {
            save(&daemon, &key).await;
        }
    }
}

async fn save(daemon: &Arc<Daemon>, key: &SessionKey) {
    if let Some((session, profiles, recipe)) = daemon.sessions.snapshot(key) {
        write(daemon, key, &session, profiles, &recipe, None).await;
    }
}

/// Save a session just obtained, before its callers get it, so that a daemon killed right
/// after still has it. `requested_by` is the profile it is being handed to.
pub async fn save_obtained(
    daemon: &Daemon,
    key: &SessionKey,
    session: &Session,
    recipe: &Recipe,
    requested_by: &str,
) {
    let profiles = daemon.sessions.profiles_of(key);
    write(daemon, key, session, profiles, recipe, Some(requested_by)).await;
}

async fn write(
    daemon: &Daemon,
    key: &SessionKey,
    session: &Session,
    profiles: Vec<String>,
    recipe: &Recipe,
    requested_by: Option<&str>,
) {
    let (defined_by, caller_env) = recipe.origin();
    let written = daemon
        .written
        .kept_with(key)
        .into_iter()
        .map(|(target, profile)| (target.path, target.section, profile))
        .collect();
    let mut handed_out_to = daemon.sessions.handed_out_to(key);
    if let Some(profile) = requested_by
        && profiles.iter().any(|p| p == profile)
        && !handed_out_to.iter().any(|p| p == profile)
    {
        handed_out_to.push(profile.to_owned());
    }
    let credentials = &session.credentials;
    let saved = SavedSession {
        key: key.clone(),
        access_key_id: credentials.access_key_id.clone(),
        secret_access_key: credentials.secret_access_key.expose_secret().to_owned(),
        session_token: credentials.session_token.expose_secret().to_owned(),
        expiration: epoch_secs(credentials.expiration),
        renewed_at: epoch_secs(session.renewed_at),
        code_source: match session.origin {
            Origin::Code(source) => Some(source),
            Origin::Role | Origin::Sso | Origin::AwsLogin => None,
        },
        profiles,
        handed_out_to,
        defined_by: defined_by.to_owned(),
        caller_env: caller_env.clone(),
        written,
    };
    let mut json = serde_json::to_string(&saved).expect("a saved session serializes");
    let secret = SecretString::from(json.clone());
    json.zeroize();
    // Never ask anyone: a file store that is still locked is written once it is unlocked.
    let store = match daemon.stores.for_caller(&saved.caller_env, None).await {
        Ok(store) => store,
        Err(e) => {
            tracing::info!("session of {} not saved: {e}", saved.defined_by);
            return;
        }
    };
    let id = id(key);
    let target = store.clone();
    match daemon
        .in_store(store, move |store| store.save_session(&id, &secret))
        .await
    {
        Ok(()) => {
            tracing::debug!(
                "saved the session of {} in the {}",
                saved.defined_by,
                target.describe()
            );
            daemon
                .saved
                .saved_in
                .lock()
                .unwrap()
                .insert(key.clone(), target);
        }
        Err(e) => tracing::warn!("cannot save the session of {}: {e}", saved.defined_by),
    }
}

/// Remove the saved entries of these sessions (logout), waiting for the store.
pub async fn forget(daemon: &Daemon, keys: &[SessionKey]) {
    for key in keys {
        daemon.saved.dirty.lock().unwrap().remove(key);
        let Some(store) = daemon.saved.saved_in.lock().unwrap().remove(key) else {
            continue;
        };
        let id = id(key);
        if let Err(e) = daemon
            .in_store(store, move |store| store.delete_session(&id))
            .await
        {
            tracing::warn!("cannot remove a saved session: {e}");
        }
    }
}

/// Remove the saved entries of sessions that have ended.
pub async fn forget_ended(daemon: &Daemon) {
    let saved: Vec<SessionKey> = daemon
        .saved
        .saved_in
        .lock()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let ended = daemon.sessions.ended(&saved, daemon.now().wall);
    if !ended.is_empty() {
        forget(daemon, &ended).await;
    }
}

/// Load the sessions a previous daemon saved, once: from the store of this caller,
/// unlocking it with `asking` if it must. A store that cannot be reached now is tried
/// again with the next caller.
pub async fn restore_once(daemon: &Arc<Daemon>, env: &CallerEnv, asking: Option<&Asking<'_>>) {
    let mut restored = daemon.saved.restored.lock().await;
    if *restored {
        return;
    }
    let store = match daemon.stores.for_caller(env, asking).await {
        Ok(store) => store,
        Err(e) => {
            tracing::debug!("no saved sessions loaded yet: {e}");
            return;
        }
    };
    let from = store.clone();
    let started = std::time::Instant::now();
    let listed = daemon.in_store(store, |store| store.sessions()).await;
    *restored = true;
    daemon
        .saved
        .done
        .store(true, std::sync::atomic::Ordering::Release);
    let saved = match listed {
        Ok(saved) => saved,
        Err(e) => {
            tracing::warn!(
                "cannot read the saved sessions from the {}: {e}",
                from.describe()
            );
            return;
        }
    };
    let (mut live, mut ended) = (Vec::new(), Vec::new());
    for (id, json) in saved {
        let Ok(saved) = serde_json::from_str::<SavedSession>(json.expose_secret()) else {
            tracing::warn!("a saved session ({id}) is garbled; it is removed");
            ended.push(id);
            continue;
        };
        if from_epoch_secs(saved.expiration) <= daemon.now().wall {
            ended.push(id);
            continue;
        }
        live.push(saved);
    }
    let loaded = live.len();
    let wanted: Vec<_> = live
        .iter()
        .map(|saved| (saved.defined_by.clone(), saved.caller_env.clone()))
        .collect();
    let plans = crate::bounded::offload(
        "saved session profiles",
        crate::bounded::FILE_TIME_LIMIT,
        move || config::resolve_each(&wanted),
    )
    .await
    .unwrap_or_default();
    let mut plans = plans.into_iter();
    for saved in live {
        put_back(daemon, &from, saved, plans.next().flatten()).await;
    }
    for id in ended {
        let _ = daemon
            .in_store(from.clone(), move |store| store.delete_session(&id))
            .await;
    }
    tracing::info!(
        "loaded {loaded} saved sessions from the {} in {:.1} ms",
        from.describe(),
        started.elapsed().as_secs_f64() * 1000.0
    );
}

/// One saved session back in the cache, with its recipe and its written profiles.
async fn put_back(
    daemon: &Arc<Daemon>,
    store: &Store,
    saved: SavedSession,
    plan: Option<ProfilePlan>,
) {
    let session = Session {
        credentials: TemporaryCredentials {
            access_key_id: saved.access_key_id.clone(),
            secret_access_key: SecretString::from(saved.secret_access_key.clone()),
            session_token: SecretString::from(saved.session_token.clone()),
            expiration: from_epoch_secs(saved.expiration),
        },
        origin: match (&saved.key, saved.code_source) {
            (SessionKey::Sso { .. }, _) => Origin::Sso,
            (SessionKey::AwsLogin { .. }, _) => Origin::AwsLogin,
            (_, source) => source.map_or(Origin::Role, Origin::Code),
        },
        renewed_at: from_epoch_secs(saved.renewed_at),
    };
    let recipe = match plan {
        Some(plan) => recipe(daemon, store, &saved, plan).await,
        None => None,
    };
    if recipe.is_none() {
        tracing::info!(
            "the saved session of {} is served, but cannot be renewed ahead (its profile changed?)",
            saved.defined_by
        );
    }
    if !daemon
        .sessions
        .restore(&saved.key, session, &saved.profiles, recipe)
    {
        return;
    }
    daemon
        .saved
        .saved_in
        .lock()
        .unwrap()
        .insert(saved.key.clone(), store.clone());
    for profile in &saved.handed_out_to {
        daemon.sessions.record_handout(profile, &saved.key);
    }
    let Some(current) = daemon.sessions.current(&saved.key, daemon.now().wall) else {
        return;
    };
    for (path, section, profile) in &saved.written {
        let target = WriteTarget {
            path: path.clone(),
            section: section.clone(),
        };
        if let Err(failed) = daemon
            .written
            .keep(&target, profile, &saved.key, &current)
            .await
        {
            tracing::warn!(
                "cannot keep [{section}] in {}: {}",
                path.display(),
                failed.failure
            );
        }
    }
}

/// The recipe of a saved session, from its profile resolved again in its caller's
/// environment.
async fn recipe(
    daemon: &Daemon,
    store: &Store,
    saved: &SavedSession,
    plan: ProfilePlan,
) -> Option<Recipe> {
    match (plan.credentials, &saved.key) {
        (CredentialPlan::Session(plan), SessionKey::Mfa { .. }) => {
            // Keys in the store are read once per profile, not once per session.
            let long_term = match (daemon.known_key(&plan.key), &plan.key) {
                (Some(key), _) => key,
                (None, KeySource::Store { profile }) => {
                    let name = profile.clone();
                    let key = daemon
                        .in_store(store.clone(), move |store| store.load_key(&name))
                        .await
                        .ok()??;
                    daemon.remember_key(profile, &key);
                    key
                }
                (None, KeySource::Static { .. }) => return None,
            };
            Some(Recipe::Mfa(RenewalRequest {
                key: saved.key.clone(),
                plan,
                long_term,
                profile: saved.defined_by.clone(),
                caller_env: saved.caller_env.clone(),
                desktop: true,
            }))
        }
        (CredentialPlan::Role(role), SessionKey::Role { .. }) => Some(Recipe::Role(RoleRecipe {
            key: saved.key.clone(),
            role,
            caller_env: saved.caller_env.clone(),
        })),
        (CredentialPlan::Sso(plan), SessionKey::Sso { .. }) => Some(Recipe::Sso(SsoRecipe {
            key: saved.key.clone(),
            plan,
            caller_env: saved.caller_env.clone(),
            interactive: true,
        })),
        (CredentialPlan::AwsLogin(plan), SessionKey::AwsLogin { .. }) => {
            Some(Recipe::AwsLogin(AwsLoginRecipe {
                key: saved.key.clone(),
                plan,
                caller_env: saved.caller_env.clone(),
                interactive: true,
            }))
        }
        _ => None,
    }
}
