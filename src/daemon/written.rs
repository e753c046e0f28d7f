//! Profiles mfad keeps in shared credentials files (`mfad_write_profile`).
//!
//! After every renewal the section is rewritten with the new session. A watcher looks at
//! the files every second: when another program rewrote a file and dropped or garbled
//! mfad's section, it is put back. Every file operation runs off the async workers with a
//! time limit, and none runs under the lock of the bindings.

use super::clock::Clock;
use super::key::SessionKey;
use super::sessions::{Session, Sessions};
use crate::bounded::{self, FILE_TIME_LIMIT};
use crate::config::WriteTarget;
use crate::config::credfile::{self, CredfileError, FileStamp, SectionValues};
use crate::failure::Failure;
use crate::messages;
use crate::protocol::WrittenProfile;
use crate::timefmt::rfc3339;
use secrecy::ExposeSecret;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How often the watcher looks at the files mfad wrote.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// One section mfad keeps.
#[derive(Debug, Clone)]
struct Binding {
    /// The profile whose credentials go there.
    profile: String,
    /// The session they come from.
    key: SessionKey,
    /// The access key id last written, and the file's stamp after that write.
    written: Option<(String, Option<FileStamp>)>,
    /// Why the last write failed.
    error: Option<String>,
}

#[derive(Default)]
pub struct WrittenProfiles {
    bindings: Mutex<HashMap<WriteTarget, Binding>>,
    /// Sections whose last write failed (the person was told once); kept across logouts,
    /// cleared by a write that succeeds.
    failing: Mutex<HashSet<WriteTarget>>,
}

/// A write that failed, and whether the one before it failed too (nothing new to tell).
#[derive(Debug)]
pub struct WriteFailure {
    pub failure: Failure,
    pub repeated: bool,
}

/// Run a file operation on `path` off the async workers, within [`FILE_TIME_LIMIT`].
async fn on_file<T: Send + 'static>(
    path: &Path,
    operation: impl FnOnce() -> Result<T, CredfileError> + Send + 'static,
) -> Result<T, Failure> {
    let key = format!("credentials file {}", path.display());
    match bounded::offload(&key, FILE_TIME_LIMIT, operation).await {
        Ok(result) => Ok(result?),
        Err(stalled) => Err(messages::credentials_file_hangs(path, stalled)),
    }
}

/// The stamp of a file, looked at off the async workers (`None` when it cannot be).
async fn stamp_of(path: &Path) -> Option<FileStamp> {
    let owned = path.to_owned();
    on_file(path, move || Ok(credfile::stamp(&owned)))
        .await
        .ok()
        .flatten()
}

impl WrittenProfiles {
    /// Make sure `target` holds `session`; write it when it does not.
    pub async fn keep(
        &self,
        target: &WriteTarget,
        profile: &str,
        key: &SessionKey,
        session: &Arc<Session>,
    ) -> Result<(), WriteFailure> {
        let last_written = self.bindings.lock().unwrap().get(target).and_then(|b| {
            let (id, stamp) = b.written.as_ref()?;
            (&b.key == key && *id == session.credentials.access_key_id).then_some(*stamp)
        });
        if let Some(stamp) = last_written
            && stamp_of(&target.path).await == stamp
        {
            return Ok(());
        }
        let result = write(target, profile, session).await;
        let mut bindings = self.bindings.lock().unwrap();
        let binding = bindings.entry(target.clone()).or_insert_with(|| Binding {
            profile: profile.to_owned(),
            key: key.clone(),
            written: None,
            error: None,
        });
        binding.profile = profile.to_owned();
        binding.key = key.clone();
        let mut failing = self.failing.lock().unwrap();
        match result {
            Ok(stamp) => {
                binding.written = Some((session.credentials.access_key_id.clone(), stamp));
                binding.error = None;
                failing.remove(target);
                Ok(())
            }
            Err(failure) => {
                binding.error = Some(failure.to_string());
                let repeated = !failing.insert(target.clone());
                Err(WriteFailure { failure, repeated })
            }
        }
    }

    /// Write a renewed session into every section kept with it.
    pub async fn refresh(&self, key: &SessionKey, session: &Arc<Session>) {
        let targets: Vec<(WriteTarget, String)> = self
            .bindings
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b)| &b.key == key)
            .map(|(target, b)| (target.clone(), b.profile.clone()))
            .collect();
        for (target, profile) in targets {
            if let Err(failed) = self.keep(&target, &profile, key, session).await {
                tracing::warn!(
                    "cannot update [{}] in {}: {}",
                    target.section,
                    target.path.display(),
                    failed.failure
                );
            }
        }
    }

    /// Follow sessions moved to a new key (`Sessions::rekey`).
    pub fn rekey(&self, moved: &[(SessionKey, SessionKey)]) {
        for binding in self.bindings.lock().unwrap().values_mut() {
            if let Some((_, new_key)) = moved.iter().find(|(old, _)| *old == binding.key) {
                binding.key = new_key.clone();
            }
        }
    }

    /// The sections kept with a session, and the profile of each.
    pub fn kept_with(&self, key: &SessionKey) -> Vec<(WriteTarget, String)> {
        self.bindings
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b)| &b.key == key)
            .map(|(target, b)| (target.clone(), b.profile.clone()))
            .collect()
    }

    /// The sections kept with a session (for status).
    pub fn of(&self, key: &SessionKey) -> Vec<WrittenProfile> {
        let bindings = self.bindings.lock().unwrap();
        let mut written: Vec<WrittenProfile> = bindings
            .iter()
            .filter(|(_, b)| &b.key == key)
            .map(|(target, b)| WrittenProfile {
                section: target.section.clone(),
                path: target.path.display().to_string(),
                error: b.error.clone(),
            })
            .collect();
        written.sort_by(|a, b| (&a.path, &a.section).cmp(&(&b.path, &b.section)));
        written
    }

    /// Stop keeping the sections of these sessions and remove them from their files.
    pub async fn remove_for(&self, keys: &[SessionKey]) -> Vec<Failure> {
        let targets: Vec<WriteTarget> = {
            let mut bindings = self.bindings.lock().unwrap();
            let targets: Vec<WriteTarget> = bindings
                .iter()
                .filter(|(_, b)| keys.contains(&b.key))
                .map(|(target, _)| target.clone())
                .collect();
            for target in &targets {
                bindings.remove(target);
            }
            targets
        };
        let mut failures = Vec::new();
        for target in targets {
            let path = target.path.clone();
            let removal = on_file(&path, move || {
                match credfile::edit(&target.path, &target.section, |text| {
                    credfile::remove(text, &target.section)
                }) {
                    // A section that is not mfad's was never written: nothing to remove.
                    Err(CredfileError::NotOurs { .. }) => Ok(None),
                    other => other,
                }
            })
            .await;
            if let Err(failure) = removal {
                failures.push(failure);
            }
        }
        failures
    }

    /// Put back sections another program dropped, every [`WATCH_INTERVAL`], forever.
    pub async fn watch(self: Arc<Self>, sessions: Arc<Sessions>, clock: Arc<dyn Clock>) {
        let mut ticks = tokio::time::interval(WATCH_INTERVAL);
        loop {
            ticks.tick().await;
            let written: Vec<(WriteTarget, Binding, Option<FileStamp>)> = self
                .bindings
                .lock()
                .unwrap()
                .iter()
                .filter_map(|(target, b)| {
                    let (_, stamp) = b.written.as_ref()?;
                    Some((target.clone(), b.clone(), *stamp))
                })
                .collect();
            for (target, binding, stamp) in written {
                if stamp_of(&target.path).await == stamp {
                    continue;
                }
                let Some(session) = sessions.current(&binding.key, clock.now().wall) else {
                    continue;
                };
                if let Err(failure) = self.restore(&target, &binding, &session).await {
                    tracing::warn!(
                        "cannot keep [{}] in {}: {failure}",
                        target.section,
                        target.path.display()
                    );
                }
            }
        }
    }

    /// After another program wrote the file: if mfad's section is gone or stale, write it.
    async fn restore(
        &self,
        target: &WriteTarget,
        binding: &Binding,
        session: &Arc<Session>,
    ) -> Result<(), Failure> {
        let path: PathBuf = target.path.clone();
        let (text, stamp) = on_file(&target.path, move || {
            let text = bounded::read_text(&path, bounded::MAX_FILE_BYTES)
                .ok()
                .flatten()
                .unwrap_or_default();
            Ok((text, credfile::stamp(&path)))
        })
        .await?;
        if credfile::written_key_id(&text, &target.section).as_deref()
            == Some(session.credentials.access_key_id.as_str())
        {
            // Still there: remember the new stamp so the next look is cheap.
            if let Some(b) = self.bindings.lock().unwrap().get_mut(target) {
                b.written = Some((session.credentials.access_key_id.clone(), stamp));
            }
            return Ok(());
        }
        tracing::info!(
            "[{}] in {} was changed by another program; writing it again",
            target.section,
            target.path.display()
        );
        self.keep(target, &binding.profile, &binding.key, session)
            .await
            .map_err(|failed| failed.failure)
    }
}

/// Write a session into its section, off the async workers.
async fn write(
    target: &WriteTarget,
    profile: &str,
    session: &Arc<Session>,
) -> Result<Option<FileStamp>, Failure> {
    let (owned, profile, session) = (target.clone(), profile.to_owned(), session.clone());
    on_file(&target.path, move || {
        let credentials = &session.credentials;
        let expiration = rfc3339(credentials.expiration);
        let values = SectionValues {
            profile: &profile,
            access_key_id: &credentials.access_key_id,
            secret_access_key: credentials.secret_access_key.expose_secret(),
            session_token: credentials.session_token.expose_secret(),
            expiration: &expiration,
        };
        let stamp = credfile::edit(&owned.path, &owned.section, |text| {
            credfile::upsert(text, &owned.section, &values).map(Some)
        })?;
        let since_renewal = SystemTime::now()
            .duration_since(session.renewed_at)
            .unwrap_or_default();
        tracing::info!(
            "wrote [{}] in {} ({:.1} ms after the renewal)",
            owned.section,
            owned.path.display(),
            since_renewal.as_secs_f64() * 1000.0
        );
        Ok(stamp)
    })
    .await
}
