//! The encrypted file store, for machines without a Secret Service or Keychain (SSH
//! sessions, WSL, servers, containers): one file, `$XDG_DATA_HOME/mfad/store.age` (else
//! `~/.local/share/mfad/store.age`; directory 0700, file 0600).
//!
//! The file holds two age files in ASCII armor: an X25519 identity encrypted with the
//! passphrase (scrypt, about a second of work, done once per unlock), and the entries
//! encrypted to that identity (fast, so saving a session costs no scrypt). Both open with
//! the `age` command line tool too. Writes are atomic (temporary file, fsync, rename)
//! under a lock, so a process killed mid-write leaves the old file or the new one.
//! Entries are cached in memory and read again only when the file changed.

use super::error::StoreError;
use crate::bounded;
use crate::files;
use crate::peer::{self, CheckError};
use age::secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use zeroize::Zeroize;

/// What marks a file as mfad's store, and its layout version.
const FORMAT: &str = "mfad-store-1";
/// A store is a few kilobytes per session; anything far bigger is not one.
const MAX_STORE_BYTES: u64 = 16 << 20;

/// The file as written: two armored age files.
#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    /// The X25519 identity, encrypted with the passphrase.
    identity: String,
    /// The entries (a JSON map), encrypted to the identity.
    entries: String,
}

/// The decrypted entries; their values are zeroized when dropped.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Entries(BTreeMap<String, String>);

impl Drop for Entries {
    fn drop(&mut self) {
        for value in self.0.values_mut() {
            value.zeroize();
        }
    }
}

impl Entries {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        if let Some(mut old) = self.0.insert(name.to_owned(), value.to_owned()) {
            old.zeroize();
        }
    }

    pub fn remove(&mut self, name: &str) -> bool {
        self.0.remove(name).map(|mut old| old.zeroize()).is_some()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// An unlocked file store: its path, the identity its entries are encrypted to, and the
/// entries as last read or written.
pub struct FileStore {
    path: PathBuf,
    identity: age::x25519::Identity,
    /// The identity, encrypted with the passphrase, as it was when the store was opened
    /// (a write keeps the one in the file).
    sealed_identity: String,
    cache: Mutex<Option<(FileStamp, Entries)>>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileStore({})", self.path.display())
    }
}

/// What identifies a version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    len: u64,
    modified_ns: i128,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        inode: meta.ino(),
        len: meta.len(),
        modified_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
    })
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("{}: {error}", path.display()))
}

impl FileStore {
    /// Whether a store exists at `path`.
    pub fn exists(path: &Path) -> bool {
        path.exists()
    }

    /// Create a store at `path` with no entries; refuses to replace one.
    pub fn create(path: &Path, passphrase: &SecretString) -> Result<Self, StoreError> {
        if Self::exists(path) {
            return Err(StoreError::AlreadyThere(path.to_owned()));
        }
        let identity = age::x25519::Identity::generate();
        let sealed_identity = seal_identity(&identity, passphrase)?;
        let store = Self {
            path: path.to_owned(),
            identity,
            sealed_identity,
            cache: Mutex::new(None),
        };
        let _lock = store.lock()?;
        store.write(&Entries::default())?;
        Ok(store)
    }

    /// Unlock the store at `path`; a wrong passphrase changes nothing.
    pub fn open(path: &Path, passphrase: &SecretString) -> Result<Self, StoreError> {
        let envelope = read_envelope(path)?;
        let armored = envelope.identity.as_bytes();
        let mut scrypt = age::scrypt::Identity::new(passphrase.clone());
        // Refuse files that would take minutes to open (a hostile or corrupt header).
        scrypt.set_max_work_factor(22);
        let mut secret = match age::decrypt(&scrypt, armored) {
            Ok(secret) => secret,
            Err(age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys) => {
                return Err(StoreError::WrongPassphrase(path.to_owned()));
            }
            Err(e) => return Err(StoreError::Garbled(format!("{}: {e}", path.display()))),
        };
        let text = std::str::from_utf8(&secret)
            .map_err(|_| StoreError::Garbled(path.display().to_string()))?;
        let identity: age::x25519::Identity = text
            .trim()
            .parse()
            .map_err(|_| StoreError::Garbled(path.display().to_string()))?;
        secret.zeroize();
        let store = Self {
            path: path.to_owned(),
            identity,
            sealed_identity: envelope.identity,
            cache: Mutex::new(None),
        };
        store.entries()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries, from the cache while the file has not changed.
    pub fn entries(&self) -> Result<Entries, StoreError> {
        let now = stamp(&self.path);
        if let Some((cached, entries)) = self.cache.lock().unwrap().as_ref()
            && Some(*cached) == now
        {
            return Ok(entries.clone());
        }
        let envelope = read_envelope(&self.path)?;
        let entries = self.decrypt_entries(&envelope.entries)?;
        if let Some(now) = now {
            *self.cache.lock().unwrap() = Some((now, entries.clone()));
        }
        Ok(entries)
    }

    /// Change the entries under the store's lock: read, change, write atomically.
    pub fn update<T>(&self, change: impl FnOnce(&mut Entries) -> T) -> Result<T, StoreError> {
        let _lock = self.lock()?;
        let mut entries = self.entries()?;
        let before = entries.clone();
        let answer = change(&mut entries);
        if entries != before {
            self.write(&entries)?;
        }
        Ok(answer)
    }

    /// Seal the identity with a new passphrase (the entries stay as they are).
    pub fn with_passphrase(&self, passphrase: &SecretString) -> Result<Self, StoreError> {
        let _lock = self.lock()?;
        let mut envelope = read_envelope(&self.path)?;
        envelope.identity = seal_identity(&self.identity, passphrase)?;
        let bytes = serde_json::to_vec_pretty(&envelope).expect("the envelope serializes");
        self.replace(&bytes)?;
        Ok(Self {
            path: self.path.clone(),
            identity: self.identity.clone(),
            sealed_identity: envelope.identity,
            cache: Mutex::new(None),
        })
    }

    fn decrypt_entries(&self, armored: &str) -> Result<Entries, StoreError> {
        let garbled = |e: String| StoreError::Garbled(format!("{}: {e}", self.path.display()));
        let mut plain =
            age::decrypt(&self.identity, armored.as_bytes()).map_err(|e| garbled(e.to_string()))?;
        let map: Result<BTreeMap<String, String>, _> = serde_json::from_slice(&plain);
        plain.zeroize();
        Ok(Entries(map.map_err(|e| garbled(e.to_string()))?))
    }

    /// Write the entries, encrypted to the identity.
    fn write(&self, entries: &Entries) -> Result<(), StoreError> {
        let mut json = serde_json::to_vec(&entries.0).expect("entries serialize");
        let sealed = age::encrypt_and_armor(&self.identity.to_public(), &json);
        json.zeroize();
        // The identity as sealed in the file now: `mfad store passwd` may have sealed it
        // with a new passphrase since this store was opened.
        let identity = match read_envelope(&self.path) {
            Ok(current) => current.identity,
            Err(_) => self.sealed_identity.clone(),
        };
        let envelope = Envelope {
            format: FORMAT.to_owned(),
            identity,
            entries: sealed.map_err(|e| StoreError::Other(e.to_string()))?,
        };
        let bytes = serde_json::to_vec_pretty(&envelope).expect("the envelope serializes");
        self.replace(&bytes)?;
        if let Some(now) = stamp(&self.path) {
            *self.cache.lock().unwrap() = Some((now, entries.clone()));
        }
        Ok(())
    }

    /// Replace the file atomically (0600).
    fn replace(&self, bytes: &[u8]) -> Result<(), StoreError> {
        files::replace(&self.path, bytes, 0o600).map_err(|e| io_error(&self.path, e))
    }

    /// The store's lock (a file next to it), created with its directory (0700); an
    /// existing directory others can write is refused.
    fn lock(&self) -> Result<files::Lock, StoreError> {
        if let Some(dir) = self.path.parent() {
            peer::ensure_own_dir(dir, "store directory").map_err(|e| match e {
                CheckError::Untrusted(untrusted) => {
                    StoreError::UnsafeDirectory(untrusted.to_string())
                }
                CheckError::Io(e) => io_error(dir, e),
            })?;
        }
        files::lock(&self.path).map_err(|e| io_error(&self.path, e))
    }
}

fn seal_identity(
    identity: &age::x25519::Identity,
    passphrase: &SecretString,
) -> Result<String, StoreError> {
    let recipient = age::scrypt::Recipient::new(passphrase.clone());
    let secret = identity.to_string();
    age::encrypt_and_armor(&recipient, secret.expose_secret().as_bytes())
        .map_err(|e| StoreError::Other(e.to_string()))
}

fn read_envelope(path: &Path) -> Result<Envelope, StoreError> {
    let bytes = match bounded::read_bytes(path, MAX_STORE_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(StoreError::NotThere(path.to_owned())),
        Err(e) => return Err(io_error(path, e)),
    };
    let envelope: Envelope = serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::Garbled(format!("{}: {e}", path.display())))?;
    if envelope.format != FORMAT {
        return Err(StoreError::Garbled(format!(
            "{}: format {} (this mfad reads {FORMAT})",
            path.display(),
            envelope.format
        )));
    }
    Ok(envelope)
}

/// Unlock the store at `path` with the passphrase `command` prints (the key derivation
/// blocks for about a second: callers on an async worker offload it).
pub fn open_with_passphrase_of(
    path: &Path,
    command: &str,
    passphrase: &SecretString,
) -> Result<FileStore, StoreError> {
    FileStore::open(path, passphrase).map_err(|e| match e {
        StoreError::WrongPassphrase(path) => StoreError::NoPassphrase(format!(
            "store.passphrase_command `{command}` printed a passphrase that does not open {}",
            path.display()
        )),
        other => other,
    })
}

/// Run `store.passphrase_command` through `sh -c` in the given environment and read the
/// passphrase it prints (without the final newline), within `timeout` (see
/// [`bounded::shell_stdout`]: what it leaves in the background neither delays the answer
/// nor outlives it).
pub async fn passphrase_from_command<K, V>(
    command: &str,
    env: impl IntoIterator<Item = (K, V)>,
    timeout: std::time::Duration,
) -> Result<SecretString, StoreError>
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let failed = |what: String| {
        StoreError::NoPassphrase(format!("store.passphrase_command `{command}` {what}"))
    };
    let printed = bounded::shell_stdout(command, env, timeout)
        .await
        .map_err(failed)?;
    let mut text = String::from_utf8(printed).map_err(|e| {
        let mut bytes = e.into_bytes();
        bytes.zeroize();
        failed("printed something that is not text".into())
    })?;
    let passphrase = SecretString::from(text.trim_end_matches(['\n', '\r']).to_owned());
    text.zeroize();
    if passphrase.expose_secret().is_empty() {
        return Err(failed("printed nothing".into()));
    }
    Ok(passphrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passphrase(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn entries_survive_a_reopen_and_a_wrong_passphrase_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfad/store.age");
        let store = FileStore::create(&path, &passphrase("correct horse")).unwrap();
        store
            .update(|entries| entries.insert("totp:arn", "otpauth://totp/mfad?secret=GEZD"))
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        let wrong = FileStore::open(&path, &passphrase("wrong"));
        assert!(matches!(wrong, Err(StoreError::WrongPassphrase(_))));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let again = FileStore::open(&path, &passphrase("correct horse")).unwrap();
        assert_eq!(
            again.entries().unwrap().get("totp:arn"),
            Some("otpauth://totp/mfad?secret=GEZD")
        );
        let text = String::from_utf8(before).unwrap();
        assert!(
            !text.contains("GEZD") && !text.contains("totp:arn"),
            "{text}"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

    #[test]
    fn a_new_passphrase_opens_the_same_entries_and_the_old_one_no_longer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.age");
        let store = FileStore::create(&path, &passphrase("old")).unwrap();
        store.update(|e| e.insert("aws-key:dev", "{}")).unwrap();
        store.with_passphrase(&passphrase("new")).unwrap();
        assert!(matches!(
            FileStore::open(&path, &passphrase("old")),
            Err(StoreError::WrongPassphrase(_))
        ));
        let reopened = FileStore::open(&path, &passphrase("new")).unwrap();
        assert_eq!(reopened.entries().unwrap().get("aws-key:dev"), Some("{}"));
    }

    #[test]
    fn another_writer_is_seen_and_create_refuses_to_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.age");
        let one = FileStore::create(&path, &passphrase("p")).unwrap();
        let other = FileStore::open(&path, &passphrase("p")).unwrap();
        other.update(|e| e.insert("x", "1")).unwrap();
        assert_eq!(one.entries().unwrap().get("x"), Some("1"));
        assert!(matches!(
            FileStore::create(&path, &passphrase("p")),
            Err(StoreError::AlreadyThere(_))
        ));
        assert!(matches!(
            FileStore::open(&dir.path().join("none.age"), &passphrase("p")),
            Err(StoreError::NotThere(_))
        ));
    }

    #[test]
    fn a_garbled_file_is_named_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.age");
        std::fs::write(&path, "not a store").unwrap();
        assert!(matches!(
            FileStore::open(&path, &passphrase("p")),
            Err(StoreError::Garbled(_))
        ));
        // A good envelope whose entries were cut short.
        std::fs::remove_file(&path).unwrap();
        FileStore::create(&path, &passphrase("p")).unwrap();
        let mut envelope: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let entries = envelope["entries"].as_str().unwrap().to_owned();
        envelope["entries"] = entries[..entries.len() / 2].into();
        let cut = serde_json::to_vec(&envelope).unwrap();
        std::fs::write(&path, &cut).unwrap();
        let opened = FileStore::open(&path, &passphrase("p")).and_then(|s| s.entries().map(drop));
        assert!(matches!(opened, Err(StoreError::Garbled(_))), "{opened:?}");
        assert_eq!(std::fs::read(&path).unwrap(), cut);
    }
}
