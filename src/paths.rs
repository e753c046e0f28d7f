//! Every path mfad uses, decided here with one rule for the home directory: `HOME` as
//! the environment asked has it, else the home `/etc/passwd` gives the user (cron, a
//! service without `HOME`), else `/`.
//!
//! - The socket is `$MFAD_SOCKET`, else `$XDG_RUNTIME_DIR/mfad/agent.sock`, else
//!   `${TMPDIR:-/tmp}/mfad-$UID/agent.sock`. The lock and log files sit next to it and are
//!   named after it, so a custom `MFAD_SOCKET` gets a daemon of its own. A relative
//!   `MFAD_SOCKET` is taken relative to the working directory of the command that reads
//!   it, so the daemon it starts (which runs in `/`) listens where the client looks.
//! - mfad's settings: `$XDG_CONFIG_HOME/mfad/config.toml` (`~/.config`); its file store:
//!   `$XDG_DATA_HOME/mfad/store.age` (`~/.local/share`); its record of used codes:
//!   `$XDG_STATE_HOME/mfad/used-codes.json` (`~/.local/state`).
//! - The caller's AWS files: `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` (a
//!   leading `~/` is the home), else `~/.aws/config` and `~/.aws/credentials`.
//! - The whole program, `mfad-core`, lies beside the front `mfad` that hands over to it.

use crate::peer::{self, CheckError};
use crate::vocab::CallerEnv;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
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
}

impl DaemonPaths {
    /// Paths for the current process's environment.
    pub fn from_env() -> Self {
        let socket = socket_path(|name| std::env::var_os(name));
        let socket = match std::env::current_dir() {
            Ok(cwd) if socket.is_relative() => cwd.join(socket),
            _ => socket,
        };
        Self::for_socket(socket)
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

    /// Refuse a socket path the kernel cannot bind or connect to, before anything else.
    pub fn check_socket_length(&self) -> Result<(), String> {
        let length = self.socket.as_os_str().len();
        if length > MAX_SOCKET_PATH {
            return Err(format!(
                "the socket path {} is {length} bytes long; Unix sockets allow at most {MAX_SOCKET_PATH}",
                self.socket.display()
            ));
        }
        Ok(())
    }

    /// Create the socket directory with mode 0700, or check that an existing one is ours
    /// and not writable by others (its mode is never changed), and that a socket in it is
    /// ours.
    pub fn ensure_private_dir(&self) -> Result<(), CheckError> {
        peer::ensure_own_dir(self.dir(), peer::SOCKET_DIR)?;
        peer::check_private_dir(self.dir(), &self.socket)
    }
}

/// The longest socket path `sun_path` holds, without its terminating NUL.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const MAX_SOCKET_PATH: usize = 107;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const MAX_SOCKET_PATH: usize = 103;

/// The record of MFA codes already sent to STS, shared by every daemon of the user
/// (whatever socket each serves) and by `mfad totp code`.
pub fn used_codes_file() -> PathBuf {
    own_dir("XDG_STATE_HOME", ".local/state").join("used-codes.json")
}

/// The daemon's settings file.
pub fn settings_file() -> PathBuf {
    own_dir("XDG_CONFIG_HOME", ".config").join("config.toml")
}

/// The encrypted file store.
pub fn store_file() -> PathBuf {
    own_dir("XDG_DATA_HOME", ".local/share").join("store.age")
}

/// `$XDG_…/mfad` from this process's environment, else `HOME/fallback/mfad`.
fn own_dir(xdg_var: &str, fallback: &str) -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    var(xdg_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| home_from(var).join(fallback))
        .join("mfad")
}

/// The home directory as an environment (this process's, or a caller's) has it: `HOME`,
/// else the user's entry in `/etc/passwd`, else `/`.
pub fn home_from(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    var("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(|| peer::home_of(peer::my_uid()))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The caller's shared config file.
pub fn aws_config_file(env: &CallerEnv) -> PathBuf {
    aws_file(env, "AWS_CONFIG_FILE", "config")
}

/// The caller's shared credentials file.
pub fn aws_credentials_file(env: &CallerEnv) -> PathBuf {
    aws_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

fn aws_file(env: &CallerEnv, var: &str, default_name: &str) -> PathBuf {
    match env.get(var).filter(|v| !v.is_empty()) {
        Some(path) => expand_home(env, path),
        None => caller_home(env).join(".aws").join(default_name),
    }
}

/// A path from a caller's settings, its leading `~/` the caller's home.
pub fn expand_home(env: &CallerEnv, path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => caller_home(env).join(rest),
        None => PathBuf::from(path),
    }
}

/// The home of a caller, by the one rule.
pub fn caller_home(env: &CallerEnv) -> PathBuf {
    home_from(|name| env.get(name).map(OsString::from))
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
    let uid = rustix::process::getuid().as_raw();
    Path::new(&tmp)
        .join(format!("mfad-{uid}"))
        .join("agent.sock")
}

/// The name of the binary that runs every command but the front's two, and the daemon.
pub const CORE_BINARY: &str = "mfad-core";

/// `mfad-core` beside the running executable (the running one, when it is `mfad-core`).
pub fn core_binary() -> io::Result<PathBuf> {
    let running = std::env::current_exe()?;
    if running.file_name() == Some(CORE_BINARY.as_ref()) {
        return Ok(running);
    }
    Ok(running.with_file_name(CORE_BINARY))
}

/// `mfad`, the front, beside the running executable: what `credential_process` names.
pub fn front_binary() -> io::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name("mfad"))
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
        let uid = rustix::process::getuid().as_raw();
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
    fn without_home_the_passwd_entry_decides_and_caller_files_follow_one_rule() {
        let from_passwd = home_from(|_| None);
        let expected = peer::home_of(peer::my_uid()).unwrap_or_else(|| PathBuf::from("/"));
        assert_eq!(from_passwd, expected);
        assert_eq!(
            home_from(|name| (name == "HOME").then(|| OsString::from(""))),
            expected,
            "an empty HOME counts as none"
        );
        let caller = CallerEnv::of(&[("HOME", "/home/c"), ("AWS_CONFIG_FILE", "~/aws.cfg")]);
        assert_eq!(aws_config_file(&caller), PathBuf::from("/home/c/aws.cfg"));
        assert_eq!(
            aws_credentials_file(&caller),
            PathBuf::from("/home/c/.aws/credentials")
        );
        let homeless = CallerEnv::default();
        assert_eq!(
            aws_credentials_file(&homeless),
            expected.join(".aws/credentials")
        );
    }

    #[test]
    fn lock_and_log_are_named_after_the_socket() {
        let paths = DaemonPaths::for_socket("/r/mfad/agent.sock".into());
        assert_eq!(paths.lock, PathBuf::from("/r/mfad/agent.sock.lock"));
        assert_eq!(paths.log, PathBuf::from("/r/mfad/agent.sock.log"));
        assert_eq!(paths.dir(), Path::new("/r/mfad"));
    }

    #[test]
    fn a_socket_path_too_long_for_the_kernel_is_refused() {
        let path = |length: usize| PathBuf::from(format!("/{}", "s".repeat(length - 1)));
        let fits = DaemonPaths::for_socket(path(MAX_SOCKET_PATH));
        assert!(fits.check_socket_length().is_ok());
        let long = DaemonPaths::for_socket(path(MAX_SOCKET_PATH + 1));
        let error = long.check_socket_length().unwrap_err();
        let expected = format!("{} bytes long", MAX_SOCKET_PATH + 1);
        assert!(error.contains(&expected), "{error}");
    }
}
