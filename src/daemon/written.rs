//! Profiles mfad keeps in shared credentials files (`mfad_write_profile`).
//!
//! After every renewal the section is rewritten with the new session. A watcher looks at
//! the files every second: when another program rewrote a file and dropped or garbled
//! mfad's section, it is put back.

use super::sessions::{Session, SessionKey, Sessions};
use crate::config::WriteTarget;
use crate::credfile::{self, CredfileError, FileStamp, SectionValues};
use crate::failure::{Failure, FailureKind};
use crate::protocol::WrittenProfile;
use crate::timefmt::rfc3339;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

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
}

impl From<CredfileError> for Failure {
    fn from(error: CredfileError) -> Self {
        Failure::new(FailureKind::Config, error.to_string(), error.remedy())
    }
}

impl WrittenProfiles {
    /// Make sure `target` holds `session`; write it when it does not.
    pub async fn keep(
        &self,
        target: &WriteTarget,
        profile: &str,
        key: &SessionKey,
        session: &Arc<Session>,
    ) -> Result<(), Failure> {
        let up_to_date = self.bindings.lock().unwrap().get(target).is_some_and(|b| {
            &b.key == key
                && b.written.as_ref().is_some_and(|(id, stamp)| {
                    *id == session.credentials.access_key_id
                        && credfile::stamp(&target.path) == *stamp
                })
        });
        if up_to_date {
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
        match result {
            Ok(stamp) => {
                binding.written = Some((session.credentials.access_key_id.clone(), stamp));
                binding.error = None;
                Ok(())
            }
            Err(failure) => {
                binding.error = Some(failure.to_string());
                Err(failure)
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
            if let Err(failure) = self.keep(&target, &profile, key, session).await {
                tracing::warn!(
                    "cannot update [{}] in {}: {failure}",
                    target.section,
                    target.path.display()
                );
            }
        }
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
            let removal = tokio::task::spawn_blocking(move || {
                credfile::edit(&target.path, &target.section, |text| {
                    credfile::remove(text, &target.section)
                })
            })
            .await;
            match removal {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => failures.push(e.into()),
                Err(e) => failures.push(Failure::internal(e)),
            }
        }
        failures
    }

    /// Put back sections another program dropped, every [`WATCH_INTERVAL`], forever.
    pub async fn watch(self: Arc<Self>, sessions: Arc<Sessions>) {
        let mut ticks = tokio::time::interval(WATCH_INTERVAL);
        loop {
            ticks.tick().await;
            let changed: Vec<(WriteTarget, Binding)> = self
                .bindings
                .lock()
                .unwrap()
                .iter()
                .filter(|(target, b)| {
                    b.written
                        .as_ref()
                        .is_some_and(|(_, stamp)| credfile::stamp(&target.path) != *stamp)
                })
                .map(|(target, b)| (target.clone(), b.clone()))
                .collect();
            for (target, binding) in changed {
                let Some(session) = sessions.current(&binding.key) else {
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
        let path = target.path.clone();
        let text =
            tokio::task::spawn_blocking(move || std::fs::read_to_string(path).unwrap_or_default())
                .await
                .map_err(Failure::internal)?;
        if credfile::written_key_id(&text, &target.section).as_deref()
            == Some(session.credentials.access_key_id.as_str())
        {
            // Still there: remember the new stamp so the next look is cheap.
            if let Some(b) = self.bindings.lock().unwrap().get_mut(target) {
                b.written = Some((
                    session.credentials.access_key_id.clone(),
                    credfile::stamp(&target.path),
                ));
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
    }
}

/// Write a session into its section, on the blocking pool.
async fn write(
    target: &WriteTarget,
    profile: &str,
    session: &Arc<Session>,
) -> Result<Option<FileStamp>, Failure> {
    let (target, profile, session) = (target.clone(), profile.to_owned(), session.clone());
    let started = Instant::now();
    let written = tokio::task::spawn_blocking(move || {
        let credentials = &session.credentials;
        let expiration = rfc3339(credentials.expiration);
        let values = SectionValues {
            profile: &profile,
            access_key_id: &credentials.access_key_id,
            secret_access_key: credentials.secret_access_key.expose_secret(),
            session_token: credentials.session_token.expose_secret(),
            expiration: &expiration,
        };
        let stamp = credfile::edit(&target.path, &target.section, |text| {
            credfile::upsert(text, &target.section, &values).map(Some)
        })?;
        let since_renewal = SystemTime::now()
            .duration_since(session.renewed_at)
            .unwrap_or_default();
        tracing::info!(
            "wrote [{}] in {} ({:.1} ms after the renewal)",
            target.section,
            target.path.display(),
            since_renewal.as_secs_f64() * 1000.0
        );
        Ok::<_, CredfileError>(stamp)
    })
    .await
    .map_err(Failure::internal)?;
    tracing::debug!("credentials file edit took {:?}", started.elapsed());
    Ok(written?)
}
