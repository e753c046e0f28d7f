//! Files mfad rewrites: the shared credentials and config files, the record of used codes
//! and the file store. Each is replaced atomically (a temporary sibling written with its
//! exact mode and fsynced, renamed over the file, the directory fsynced), so a crash at any
//! moment leaves the old or the new file; and each read-modify-write holds a lock on a
//! sibling, so mfad's own writers (two daemons, a command beside a daemon) never
//! interleave.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `path` with `suffix` appended to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The lock of a read-modify-write of `path` (`PATH.mfad-lock`, 0600), held until
/// dropped.
pub struct Lock {
    _held: File,
}

/// Wait for, and take, the lock of `path`.
pub fn lock(path: &Path) -> io::Result<Lock> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(sibling(path, ".mfad-lock"))?;
    file.lock()?;
    Ok(Lock { _held: file })
}

/// New contents of `path`, written to a temporary sibling (`PATH.mfad-tmp`) and not yet
/// in place; removed if dropped before [`Replacement::commit`].
pub struct Replacement {
    temporary: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Replacement {
    /// Write `bytes`, with exactly `mode` whatever the umask, and fsync them. A temporary
    /// file left by a writer killed half-way is replaced.
    pub fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<Self> {
        let temporary = sibling(path, ".mfad-tmp");
        // It may be read-only (mode 0400), or hold an old session: start afresh.
        let _ = fs::remove_file(&temporary);
        let replacement = Self {
            temporary,
            target: path.to_owned(),
            committed: false,
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&replacement.temporary)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(replacement)
    }

    /// Put it in place: rename over the file, then fsync the directory so that the rename
    /// itself survives a crash.
    pub fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.temporary, &self.target)?;
        self.committed = true;
        if let Some(dir) = self.target.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temporary);
        }
    }
}

/// Replace `path` with `bytes` atomically (see [`Replacement`]).
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    Replacement::write(path, bytes, mode)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_replacement_is_in_place_only_once_committed_with_its_exact_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        fs::write(&path, "old").unwrap();
        let abandoned = Replacement::write(&path, b"never", 0o600).unwrap();
        assert!(sibling(&path, ".mfad-tmp").exists());
        drop(abandoned);
        assert!(!sibling(&path, ".mfad-tmp").exists());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        // A read-only temporary file left by a writer killed half-way is no obstacle.
        fs::write(sibling(&path, ".mfad-tmp"), "stale").unwrap();
        fs::set_permissions(
            sibling(&path, ".mfad-tmp"),
            fs::Permissions::from_mode(0o400),
        )
        .unwrap();
        replace(&path, b"new", 0o640).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o640);
        assert!(!sibling(&path, ".mfad-tmp").exists());
    }

    #[test]
    fn the_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        let held = lock(&path).unwrap();
        let other = File::open(sibling(&path, ".mfad-lock")).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        assert!(other.try_lock().is_ok());
    }
}
