//! `mfad store init|passwd|migrate|status`, and the store the other commands use: the
//! one the daemon would choose for this shell (`store` in config.toml), the file store
//! unlocked with `store.passphrase_command` or the passphrase typed here.

use super::read_secret;
use crate::cli::{MigrateTarget, StoreCommand};
use crate::client::{Client, Start};
use crate::failure::Failure;
use crate::messages;
use crate::paths::DaemonPaths;
use crate::protocol::{Request, Response};
use crate::settings::{self, Settings, StoreBackend};
use crate::store::{self, Chosen, FileStore, Store, StoreError, file, has_secret_service};
use secrecy::{ExposeSecret, SecretString};
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long deciding between the Secret Service and the file store may take.
const DECIDE_WITHIN: Duration = Duration::from_secs(3);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(command: &StoreCommand) -> Result<(), Failure> {
    let settings = load_settings()?;
    match command {
        StoreCommand::Init => init(&settings),
        StoreCommand::Passwd => passwd(&settings),
        StoreCommand::Migrate { to } => migrate(&settings, *to),
        StoreCommand::Status => status(&settings),
    }
}

fn load_settings() -> Result<Settings, Failure> {
    settings::load(&crate::paths::settings_file()).map_err(Failure::from)
}

/// The store for this shell, as the daemon would choose it.
pub fn for_this_shell() -> Result<Store, Failure> {
    let settings = load_settings()?;
    chosen(&settings, &mut std::io::stdin().lock())
}

/// The store for this shell, to keep a new secret in. When that is the file store and it
/// does not exist yet, it is created first, its passphrase typed twice, so that no key is
/// typed only to be refused for want of a store.
pub fn for_saving() -> Result<Store, Failure> {
    let settings = load_settings()?;
    let stdin = &mut std::io::stdin().lock();
    let path = crate::paths::store_file();
    let (choice, bus) = choice(&settings);
    if choice != Chosen::File || FileStore::exists(&path) {
        return chosen_as(choice, &settings, stdin);
    }
    eprintln!(
        "mfad keeps secrets in an encrypted file, {}, as {}; it is created now.",
        path.display(),
        match (settings.store.backend, bus) {
            (StoreBackend::File, _) => "store = \"file\" in config.toml".to_owned(),
            (_, Some(bus)) => format!("no Secret Service answers on {bus}"),
            (_, None) => "there is no session bus for a Secret Service".to_owned(),
        }
    );
    Ok(Store::File(Arc::new(create(&settings, &path, stdin)?)))
}

fn own_bus() -> Option<String> {
    std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Whether the bus has a Secret Service, decided within [`DECIDE_WITHIN`] whatever the
/// bus does.
fn bus_has_secret_service(bus: &str) -> bool {
    let (answer, answered) = std::sync::mpsc::channel();
    let bus = bus.to_owned();
    std::thread::spawn(move || {
        let _ = answer.send(has_secret_service(&bus, DECIDE_WITHIN));
    });
    answered.recv_timeout(DECIDE_WITHIN).unwrap_or(false)
}

/// The store the daemon would choose for this shell, and this shell's session bus.
fn choice(settings: &Settings) -> (Chosen, Option<String>) {
    let bus = own_bus();
    let choice = store::choose(
        settings.store.backend,
        bus.as_deref(),
        bus_has_secret_service,
    );
    (choice, bus)
}

fn chosen(settings: &Settings, stdin: &mut impl BufRead) -> Result<Store, Failure> {
    chosen_as(choice(settings).0, settings, stdin)
}

fn chosen_as(
    choice: Chosen,
    settings: &Settings,
    stdin: &mut impl BufRead,
) -> Result<Store, Failure> {
    match choice {
        Chosen::SecretService { bus } => Ok(Store::SecretService { bus }),
        Chosen::Keychain => Ok(Store::Keychain),
        Chosen::File => {
            let store = unlock(settings, &crate::paths::store_file(), stdin)?;
            Ok(Store::File(Arc::new(store)))
        }
    }
}

/// A passphrase: from `store.passphrase_command`, else typed (a line of stdin when it is
/// not a terminal).
fn passphrase(
    settings: &Settings,
    stdin: &mut impl BufRead,
    prompt: &str,
) -> Result<SecretString, Failure> {
    if let Some(command) = &settings.store.passphrase_command {
        return passphrase_of(command);
    }
    let typed = read_secret(stdin, prompt)?
        .ok_or_else(|| Failure::from(StoreError::NoPassphrase("no passphrase was given".into())))?;
    Ok(typed)
}

/// What `store.passphrase_command` prints, run in this shell's environment.
fn passphrase_of(command: &str) -> Result<SecretString, Failure> {
    let asked = file::passphrase_from_command(command, std::env::vars(), COMMAND_TIMEOUT);
    Ok(super::runtime()?.block_on(asked)?)
}

fn unlock(
    settings: &Settings,
    path: &Path,
    stdin: &mut impl BufRead,
) -> Result<FileStore, Failure> {
    if !FileStore::exists(path) {
        return Err(StoreError::NotThere(path.to_owned()).into());
    }
    if let Some(command) = &settings.store.passphrase_command {
        let passphrase = passphrase_of(command)?;
        return Ok(file::open_with_passphrase_of(path, command, &passphrase)?);
    }
    let prompt = format!("Passphrase of mfad's file store {}: ", path.display());
    let passphrase = passphrase(settings, stdin, &prompt)?;
    Ok(FileStore::open(path, &passphrase)?)
}

/// A new passphrase, typed twice (or from the passphrase command).
fn new_passphrase(settings: &Settings, stdin: &mut impl BufRead) -> Result<SecretString, Failure> {
    if settings.store.passphrase_command.is_some() {
        return passphrase(settings, stdin, "");
    }
    let first = passphrase(settings, stdin, "New passphrase of mfad's file store: ")?;
    let again = passphrase(settings, stdin, "The same passphrase again: ")?;
    if first.expose_secret() != again.expose_secret() {
        return Err(messages::passphrases_differ());
    }
    if first.expose_secret().chars().count() < 8 {
        return Err(messages::passphrase_too_short());
    }
    Ok(first)
}

/// A new file store at `path`, its passphrase typed twice (or from the command).
fn create(
    settings: &Settings,
    path: &Path,
    stdin: &mut impl BufRead,
) -> Result<FileStore, Failure> {
    let passphrase = new_passphrase(settings, stdin)?;
    let store = FileStore::create(path, &passphrase)?;
    println!("created the file store {}", path.display());
    Ok(store)
}

fn init(settings: &Settings) -> Result<(), Failure> {
    let path = crate::paths::store_file();
    if FileStore::exists(&path) {
        return Err(StoreError::AlreadyThere(path).into());
    }
    create(settings, &path, &mut std::io::stdin().lock())?;
    if settings.store.backend == StoreBackend::SecretService {
        println!(
            "note: store = \"secret-service\" in {}: set it to \"file\" or \"auto\" to use it",
            crate::paths::settings_file().display()
        );
    }
    Ok(())
}

fn passwd(settings: &Settings) -> Result<(), Failure> {
    let path = crate::paths::store_file();
    let stdin = &mut std::io::stdin().lock();
    let store = unlock(settings, &path, stdin)?;
    let new = new_passphrase(settings, stdin)?;
    store.with_passphrase(&new)?;
    println!("changed the passphrase of {}", path.display());
    Ok(())
}

/// Copy every entry, check each, then remove it from the old store. Killed half-way, the
/// entries are in one store or in both, never in neither; running it again finishes.
fn migrate(settings: &Settings, to: MigrateTarget) -> Result<(), Failure> {
    let stdin = &mut std::io::stdin().lock();
    let mut file_store = || -> Result<Store, Failure> {
        let path = crate::paths::store_file();
        // Moving to a file store that is not there yet: create it.
        let store = if FileStore::exists(&path) {
            unlock(settings, &path, stdin)?
        } else {
            create(settings, &path, stdin)?
        };
        Ok(Store::File(Arc::new(store)))
    };
    let secret_service = Store::SecretService { bus: own_bus() };
    let (from, to_store) = match to {
        MigrateTarget::File => (secret_service, file_store()?),
        MigrateTarget::SecretService => (file_store()?, secret_service),
    };
    let entries = from.entries()?;
    let count = entries.len();
    for (name, value) in entries {
        to_store.put(&name, &value)?;
        let copied = to_store.entries()?.into_iter().find(|(n, _)| n == &name);
        if copied.is_none_or(|(_, v)| v.expose_secret() != value.expose_secret()) {
            return Err(messages::copy_does_not_read_back(
                &name,
                &to_store.describe(),
            ));
        }
        from.remove(&name)?;
    }
    println!(
        "moved {count} entries from the {} to the {}",
        from.describe(),
        to_store.describe()
    );
    let backend = match to {
        MigrateTarget::File => "file",
        MigrateTarget::SecretService => "secret-service",
    };
    println!(
        "set store = \"{backend}\" in {} so that mfad uses it",
        crate::paths::settings_file().display()
    );
    tell_the_daemon();
    Ok(())
}

/// A running daemon caches keys: have it read the store again.
fn tell_the_daemon() {
    if let Ok(mut client) = Client::connect(&DaemonPaths::from_env(), Start::Never) {
        let _ = client.request(&Request::Forget { profile: None });
    }
}

fn status(settings: &Settings) -> Result<(), Failure> {
    println!("setting: store = {}", settings.store.backend.name());
    if let Some(command) = &settings.store.passphrase_command {
        println!("passphrase from: {command}");
    }
    let path = crate::paths::store_file();
    println!(
        "file store: {} ({})",
        path.display(),
        if FileStore::exists(&path) {
            "exists"
        } else {
            "not created"
        }
    );
    match own_bus() {
        Some(bus) if bus_has_secret_service(&bus) => println!("Secret Service: on {bus}"),
        Some(bus) => println!("Secret Service: none on {bus}"),
        None => println!("Secret Service: no session bus"),
    }
    if let Ok(mut client) = Client::connect(&DaemonPaths::from_env(), Start::Never)
        && let Ok(Response::Status(report)) = client.request(&Request::Status)
    {
        println!("the daemon uses: {}", report.store);
    }
    Ok(())
}
