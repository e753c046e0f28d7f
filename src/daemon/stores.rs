//! Which secret store serves a request, and unlocking the file store once per daemon start.
//!
//! With `store = "auto"`, a request whose session bus (the daemon's own, else its
//! caller's) has a Secret Service uses it; otherwise the Keychain on macOS, otherwise the
//! file store. The bus is asked only whether a provider owns `org.freedesktop.secrets`,
//! within [`DECIDE_WITHIN`], so the choice is made in bounded time
//! whatever the bus does: no bus, a bus without a provider, a provider that never answers
//! (its calls then fail with a timeout, naming the store).
//!
//! The file store's passphrase comes from `store.passphrase_command`, else from a person:
//! a waiting caller's terminal, else a dialog on its desktop. Unlocking is single-flight:
//! however many callers wait, one is asked, once per daemon start; the passphrase is kept
//! only inside the unlocked store (zeroized on drop), never on disk.

use crate::bounded;
use crate::mfa::askers::{AskError, Askers};
use crate::mfa::desktop::{self, Dialog, Echo};
use crate::settings::{StoreBackend, StoreSettings};
use crate::store::{self, Chosen, FileStore, Store, StoreError, file};
use crate::vocab::CallerEnv;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest the choice of the store may take.
pub const DECIDE_WITHIN: Duration = Duration::from_secs(3);
/// Deriving the key from a passphrase takes about a second; a slow machine gets more.
const UNLOCK_TIME_LIMIT: Duration = Duration::from_secs(30);
/// A person gets this many tries at the passphrase.
const PASSPHRASE_TRIES: usize = 3;
/// How long `store.passphrase_command` may take (it may wait for a touch or a PIN).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Who can be asked for the file store's passphrase, if it must be unlocked.
pub struct Asking<'a> {
    /// Waiting callers with a terminal.
    pub askers: &'a Askers,
    /// A dialog on the caller's desktop, where a person may be asked.
    pub dialog: Option<Dialog>,
    pub timeout: Duration,
}

pub struct Stores {
    settings: StoreSettings,
    /// The daemon's own session bus, if it was started with one.
    own_bus: Option<String>,
    /// Whether a bus has a Secret Service, as found out once per bus.
    probed: Mutex<HashMap<String, bool>>,
    /// Where the file store is.
    file_path: std::path::PathBuf,
    /// The file store once unlocked; the lock makes unlocking single-flight.
    file: tokio::sync::Mutex<Option<Arc<FileStore>>>,
    /// When the unlocked file store was last used, for `store.lock_after`.
    last_used: Mutex<Option<tokio::time::Instant>>,
    /// One store whoever asks (the daemon's unit tests).
    fixed: Option<Store>,
}

impl Stores {
    pub fn new(settings: StoreSettings, own_bus: Option<String>) -> Self {
        Self {
            settings,
            own_bus,
            probed: Mutex::default(),
            file_path: crate::paths::store_file(),
            file: tokio::sync::Mutex::default(),
            last_used: Mutex::default(),
            fixed: None,
        }
    }

    /// The same, with the file store at `path` (tests).
    #[cfg(test)]
    fn with_file_at(self, path: std::path::PathBuf) -> Self {
        Self {
            file_path: path,
            ..self
        }
    }

    /// Forget the unlocked file store's key once `store.lock_after` has passed since it
    /// was last used; the next need unlocks it again. `true` if it was forgotten.
    pub fn lock_if_idle(&self) -> bool {
        let Some(after) = self.settings.lock_after else {
            return false;
        };
        let idle_since = *self.last_used.lock().unwrap();
        if idle_since.is_none_or(|last| last.elapsed() < after) {
            return false;
        }
        // Held: an unlock or a use is under way.
        let Ok(mut unlocked) = self.file.try_lock() else {
            return false;
        };
        *self.last_used.lock().unwrap() = None;
        let forgotten = unlocked.take().is_some();
        if forgotten {
            tracing::info!(
                "locked the file store {} after {} unused",
                self.file_path.display(),
                humantime::format_duration(after)
            );
        }
        forgotten
    }

    /// Always this store (tests).
    pub fn fixed(store: Store) -> Self {
        Self {
            fixed: Some(store),
            ..Self::new(crate::settings::Settings::default().store, None)
        }
    }

    /// What is chosen, for `mfad status`.
    pub async fn describe(&self) -> String {
        match (&self.fixed, self.settings.backend) {
            (Some(store), _) => store.describe(),
            (None, StoreBackend::File) => self.describe_file().await,
            (None, StoreBackend::Keychain) => Store::Keychain.describe(),
            (None, StoreBackend::SecretService) => Store::SecretService {
                bus: self.own_bus.clone(),
            }
            .describe(),
            (None, StoreBackend::Auto) => match &self.own_bus {
                Some(bus) if self.probed.lock().unwrap().get(bus) == Some(&true) => {
                    format!(
                        "auto: {}",
                        Store::SecretService {
                            bus: Some(bus.clone())
                        }
                        .describe()
                    )
                }
                Some(_) | None if cfg!(target_os = "macos") => "auto: macOS Keychain".into(),
                _ => format!(
                    "auto: {}, or a caller's Secret Service",
                    self.describe_file().await
                ),
            },
        }
    }

    /// The file store and its state. Whether it exists is asked off the async workers,
    /// within the bound of every file access (its directory may hang).
    async fn describe_file(&self) -> String {
        let unlocked = self
            .file
            .try_lock()
            .map(|file| file.is_some())
            .unwrap_or(false);
        let path = self.file_path.clone();
        let exists = unlocked
            || bounded::offload(
                &path.display().to_string(),
                bounded::FILE_TIME_LIMIT,
                move || path.exists(),
            )
            .await
            .unwrap_or(true);
        let state = if unlocked {
            "unlocked"
        } else if exists {
            "locked"
        } else {
            "not created yet: `mfad store init`"
        };
        format!("file store {} ({state})", self.file_path.display())
    }

    /// The store for a caller, unlocking the file store with `asking` when it must.
    pub async fn for_caller(
        &self,
        env: &CallerEnv,
        asking: Option<&Asking<'_>>,
    ) -> Result<Store, StoreError> {
        if let Some(store) = &self.fixed {
            return Ok(store.clone());
        }
        let bus = self
            .own_bus
            .clone()
            .or_else(|| env.non_empty("DBUS_SESSION_BUS_ADDRESS").map(str::to_owned));
        // The probe is async here: found out first, only when the rule will ask for it.
        let backend = self.settings.backend;
        let has_service = match &bus {
            Some(bus) if backend == StoreBackend::Auto && !cfg!(target_os = "macos") => {
                self.has_secret_service(bus).await
            }
            _ => false,
        };
        match store::choose(backend, bus.as_deref(), |_| has_service) {
            Chosen::SecretService { bus } => Ok(Store::SecretService { bus }),
            Chosen::Keychain => Ok(Store::Keychain),
            Chosen::File => self.file_store(env, asking).await,
        }
    }

    /// Whether the bus has a Secret Service, found out once per bus, within
    /// [`DECIDE_WITHIN`]; a bus that does not answer in time has none.
    async fn has_secret_service(&self, bus: &str) -> bool {
        if let Some(known) = self.probed.lock().unwrap().get(bus) {
            return *known;
        }
        let address = bus.to_owned();
        let found = bounded::offload(&format!("probe {bus}"), DECIDE_WITHIN, move || {
            store::has_secret_service(&address, DECIDE_WITHIN)
        })
        .await
        .unwrap_or(false);
        tracing::info!(
            "the session bus {bus} has {}",
            if found {
                "a Secret Service"
            } else {
                "no Secret Service"
            }
        );
        self.probed.lock().unwrap().insert(bus.to_owned(), found);
        found
    }

    /// The file store, unlocked: at once if it already is, else with the passphrase from
    /// the command or a person (one unlock at a time; the others wait for it).
    async fn file_store(
        &self,
        env: &CallerEnv,
        asking: Option<&Asking<'_>>,
    ) -> Result<Store, StoreError> {
        let mut unlocked = self.file.lock().await;
        *self.last_used.lock().unwrap() = Some(tokio::time::Instant::now());
        if let Some(store) = unlocked.as_ref() {
            return Ok(Store::File(store.clone()));
        }
        let path = self.file_path.clone();
        if !FileStore::exists(&path) {
            return Err(StoreError::NotThere(path));
        }
        let started = std::time::Instant::now();
        let store = Arc::new(self.unlock(&path, env, asking).await?);
        // With a person typing the passphrase, the time includes theirs.
        tracing::info!(
            "unlocked the file store {} in {:.1} ms",
            path.display(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        *unlocked = Some(store.clone());
        *self.last_used.lock().unwrap() = Some(tokio::time::Instant::now());
        Ok(Store::File(store))
    }

    async fn unlock(
        &self,
        path: &std::path::Path,
        env: &CallerEnv,
        asking: Option<&Asking<'_>>,
    ) -> Result<FileStore, StoreError> {
        if let Some(command) = &self.settings.passphrase_command {
            return open_with_command(path, command, env).await;
        }
        let Some(asking) = asking else {
            return Err(StoreError::NoPassphrase(
                "no one is there to type its passphrase".into(),
            ));
        };
        let question = format!("Passphrase of mfad's file store {}", path.display());
        let mut remark = String::new();
        for attempt in 1..=PASSPHRASE_TRIES {
            let prompt = format!("{remark}{question}: ");
            let passphrase = match asking.askers.ask_hidden(&prompt, asking.timeout).await {
                Ok(passphrase) => passphrase,
                Err(AskError::NobodyToAsk) => match &asking.dialog {
                    Some(dialog) => {
                        desktop::ask(dialog, &prompt, Echo::Hidden, env, asking.timeout)
                            .await
                            .map_err(|e| asked_failure(&e))?
                    }
                    None => {
                        return Err(StoreError::NoPassphrase(
                            "there is no terminal or desktop to ask its passphrase on".into(),
                        ));
                    }
                },
                Err(e) => return Err(asked_failure(&e)),
            };
            match open(path, passphrase).await {
                Err(StoreError::WrongPassphrase(_)) if attempt < PASSPHRASE_TRIES => {
                    remark = format!(
                        "Wrong passphrase ({} tries left). ",
                        PASSPHRASE_TRIES - attempt
                    );
                }
                other => return other,
            }
        }
        unreachable!("the last try returns")
    }
}

fn asked_failure(error: &AskError) -> StoreError {
    StoreError::NoPassphrase(match error {
        AskError::Cancelled => "the passphrase prompt was cancelled".into(),
        AskError::TimedOut => "nobody typed its passphrase in time".into(),
        AskError::NobodyToAsk => "there is no terminal to ask its passphrase on".into(),
        AskError::DialogFailed(said) => {
            format!("the passphrase dialog could not be shown ({said})")
        }
    })
}

/// Open the store off the async workers (the key derivation takes about a second).
async fn open(path: &std::path::Path, passphrase: SecretString) -> Result<FileStore, StoreError> {
    let owned = path.to_owned();
    bounded::offload(
        &format!("unlock {}", path.display()),
        UNLOCK_TIME_LIMIT,
        move || FileStore::open(&owned, &passphrase),
    )
    .await
    .unwrap_or_else(|stalled| Err(StoreError::Other(format!("unlocking it: {stalled}"))))
}

/// Unlock with the passphrase `store.passphrase_command` prints. The command runs as a
/// child of the daemon within [`COMMAND_TIMEOUT`] (nothing of it is left running after),
/// so a command that hangs fails its callers only and never blocks a later attempt.
async fn open_with_command(
    path: &std::path::Path,
    command: &str,
    env: &CallerEnv,
) -> Result<FileStore, StoreError> {
    let passphrase = file::passphrase_from_command(command, env, COMMAND_TIMEOUT).await?;
    let (owned, command) = (path.to_owned(), command.to_owned());
    bounded::offload(
        &format!("unlock {}", path.display()),
        UNLOCK_TIME_LIMIT,
        move || file::open_with_passphrase_of(&owned, &command, &passphrase),
    )
    .await
    .unwrap_or_else(|stalled| Err(StoreError::Other(format!("unlocking it: {stalled}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In virtual time the command's 60 s run out at once, while `sleep 1000` still runs;
    /// the unlocks after it run in real time (the key derivation is blocking work).
    #[tokio::test]
    async fn a_hung_passphrase_command_fails_and_never_blocks_a_later_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.age");
        FileStore::create(&path, &SecretString::from("correct horse".to_owned())).unwrap();
        let env = CallerEnv::default();
        tokio::time::pause();
        let hung = open_with_command(&path, "sleep 1000; echo x", &env).await;
        tokio::time::resume();
        let Err(StoreError::NoPassphrase(why)) = hung else {
            panic!("a hung command unlocked the store");
        };
        assert!(why.contains("did not finish within 60s"), "{why}");
        let fixed = open_with_command(&path, "echo 'correct horse'", &env)
            .await
            .unwrap();
        assert_eq!(fixed.path(), path);
        let wrong = open_with_command(&path, "echo nope", &env).await;
        let Err(StoreError::NoPassphrase(why)) = wrong else {
            panic!("a wrong passphrase unlocked the store");
        };
        assert!(why.contains("does not open"), "{why}");
    }

    #[tokio::test]
    async fn a_file_store_that_does_not_exist_is_not_created_yet_rather_than_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.age");
        let mut settings = crate::settings::Settings::default().store;
        settings.backend = StoreBackend::File;
        let stores = Stores::new(settings, None).with_file_at(path.clone());
        let said = stores.describe().await;
        assert!(
            said.ends_with("(not created yet: `mfad store init`)"),
            "{said}"
        );
        FileStore::create(&path, &SecretString::from("correct horse".to_owned())).unwrap();
        assert!(
            stores.describe().await.ends_with("(locked)"),
            "{}",
            stores.describe().await
        );
    }

    #[tokio::test]
    async fn the_file_store_is_locked_after_lock_after_unused_and_unlocked_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.age");
        FileStore::create(&path, &SecretString::from("correct horse".to_owned())).unwrap();
        let runs = dir.path().join("runs");
        let mut settings = crate::settings::Settings::default().store;
        settings.backend = StoreBackend::File;
        settings.passphrase_command = Some(format!(
            "echo run >> {}; echo 'correct horse'",
            runs.display()
        ));
        settings.lock_after = Some(Duration::from_secs(600));
        let stores = Stores::new(settings, None).with_file_at(path);
        let env = CallerEnv::default();
        let unlocks = || {
            std::fs::read_to_string(&runs)
                .unwrap_or_default()
                .lines()
                .count()
        };
        stores.for_caller(&env, None).await.unwrap();
        assert_eq!(unlocks(), 1);
        assert!(
            stores.describe().await.contains("(unlocked)"),
            "{}",
            stores.describe().await
        );
        tokio::time::pause();
        tokio::time::advance(Duration::from_secs(599)).await;
        assert!(!stores.lock_if_idle(), "locked before lock_after");
        stores.for_caller(&env, None).await.unwrap();
        tokio::time::advance(Duration::from_secs(599)).await;
        assert!(!stores.lock_if_idle(), "a use starts the idle time again");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(stores.lock_if_idle());
        assert!(
            stores.describe().await.contains("(locked)"),
            "{}",
            stores.describe().await
        );
        tokio::time::resume();
        stores.for_caller(&env, None).await.unwrap();
        assert_eq!(unlocks(), 2, "unlocked again at the next need");
    }
}
