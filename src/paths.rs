//! Where the daemon listens and keeps its lock and log.
//!
//! The socket is `$MFAD_SOCKET`, else `$XDG_RUNTIME_DIR/mfad/agent.sock`, else
//! `${TMPDIR:-/tmp}/mfad-$UID/agent.sock`. The lock and log files sit next to it and are
//! named after it, so a custom `MFAD_SOCKET` gets a daemon of its own.

use std::ffi::OsString;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The files one daemon owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonPaths {
    /// The Unix socket clients connect to.
    pub socket: PathBuf,
    /// Held with an exclusive lock while a daemon runs; holds its pid.
    pub lock: PathBuf,
    /// Where a daemon started in the background by a client writes its log.
    pub log: PathBuf,
    /// The MFA codes recently sent to STS, so a restarted daemon does not send one again.
    pub used_codes: PathBuf,
}

impl DaemonPaths {
    /// Paths for the current process's environment.
    pub fn from_env() -> Self {
        Self::for_socket(socket_path(|name| std::env::var_os(name)))
    }

    pub fn for_socket(socket: PathBuf) -> Self {
        let with_suffix = |suffix: &str| {
            let mut name = socket.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        Self {
            lock: with_suffix(".lock"),
            log: with_suffix(".log"),
            used_codes: with_suffix(".used-codes"),
            socket,
        }
    }

    /// Open the lock file (0600); a daemon holds it locked while it runs, with its pid in it.
    pub fn open_lock(&self) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.lock)
    }

    /// The directory holding the socket.
    pub fn dir(&self) -> &Path {
        self.socket.parent().unwrap_or(Path::new("/"))
    }

    /// Create the socket directory with mode 0700, or check that an existing one is ours
    /// and not open to others.
    pub fn ensure_private_dir(&self) -> io::Result<()> {
        let dir = self.dir();
        match DirBuilder::new().recursive(true).mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let meta = fs::metadata(dir)?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        if meta.uid() != uid {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} belongs to uid {}, not to you (uid {uid})",
                    dir.display(),
                    meta.uid()
                ),
            ));
        }
        if meta.mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
}

/// Resolve the socket path from an environment lookup (the process's own, or a test's).
pub fn socket_path(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(path) = set("MFAD_SOCKET") {
        return PathBuf::from(path);
    }
    if let Some(runtime) = set("XDG_RUNTIME_DIR") {
        return Path::new(&runtime).join("mfad").join("agent.sock");
    }
    let tmp = set("TMPDIR").unwrap_or_else(|| "/tmp".into());
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    Path::new(&tmp)
        .join(format!("mfad-{uid}"))
        .join("agent.sock")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)]) -> PathBuf {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        socket_path(|name| map.get(name).cloned())
    }

    #[test]
    fn socket_path_follows_the_contract_order() {
        assert_eq!(
            resolve(&[("MFAD_SOCKET", "/x/s"), ("XDG_RUNTIME_DIR", "/run/user/1")]),
            PathBuf::from("/x/s")
        );
        assert_eq!(
            resolve(&[("XDG_RUNTIME_DIR", "/run/user/1"), ("TMPDIR", "/t")]),
            PathBuf::from("/run/user/1/mfad/agent.sock")
        );
        let uid = unsafe { libc::getuid() };
        assert_eq!(
            resolve(&[("TMPDIR", "/t")]),
            PathBuf::from(format!("/t/mfad-{uid}/agent.sock"))
        );
        assert_eq!(
            resolve(&[("XDG_RUNTIME_DIR", "")]),
            PathBuf::from(format!("/tmp/mfad-{uid}/agent.sock"))
        );
    }

    #[test]
    fn lock_and_log_are_named_after_the_socket() {
        let paths = DaemonPaths::for_socket("/r/mfad/agent.sock".into());
        assert_eq!(paths.lock, PathBuf::from("/r/mfad/agent.sock.lock"));
        assert_eq!(paths.log, PathBuf::from("/r/mfad/agent.sock.log"));
        assert_eq!(paths.dir(), Path::new("/r/mfad"));
    }
}
