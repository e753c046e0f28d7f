//! The daemon: how it starts ([`run_foreground`]: lock, socket, signals), the state it
//! keeps ([`state`]), and one module per job. Arrows point down this list:
//!
//! - [`server`] accepts connections, checks the peer, caps them and dispatches;
//! - [`credentials`], [`status`], [`logout`], [`peek`] answer the requests of those
//!   names, over a [`connection`];
//! - [`ahead`] renews sessions before they run out, or announces those that need a person;
//! - [`renewal`] renews a session (MFA or role) and publishes the outcome;
//! - [`persist`] saves sessions in the store and loads them in the next daemon
//!   ([`saved`] keeps which are saved where);
//! - [`codes`] gets MFA codes and sends them with GetSessionToken;
//! - [`state`] holds everything shared, and the seams to the world (clock, STS, store);
//! - [`stores`] chooses the secret store of a request and unlocks the file store;
//! - [`aws_files`] keeps the AWS files parsed until inotify reports a change;
//! - [`written`] keeps the profiles mfad writes into credentials files;
//! - [`sessions`] caches sessions and makes renewal single-flight, with time passed in;
//! - [`recipe`], [`key`], [`loops`], [`clock`]: how a session is renewed, what names it,
//!   the guard against loops through `mfa_process`, and time.

pub mod ahead;
pub mod aws_files;
pub mod aws_login;
pub mod callback;
pub mod clock;
pub mod codes;
pub mod connection;
pub mod credentials;
pub mod key;
pub mod logout;
pub mod loops;
pub mod peek;
pub mod persist;
pub mod recipe;
pub mod rekey;
pub mod renewal;
pub mod saved;
pub mod server;
pub mod sessions;
pub mod signin;
pub mod sso;
pub mod sso_requests;
pub mod state;
pub mod status;
pub mod stores;
pub mod tokens;
pub mod wrapped;
pub mod written;

#[cfg(test)]
mod tests;

use crate::failure::Explain;
use crate::mfa::used::UsedCodes;
use crate::paths::DaemonPaths;
use crate::settings::Settings;
use anyhow::{Context, bail};
use state::Daemon;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;

/// Raise the soft limit of open files to the hard one (connections are capped below
/// it, so running out of descriptors never delays a real request). Returns the limit.
fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = rustix::process::Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => limit.maximum.unwrap_or(u64::MAX),
        Err(e) => {
            tracing::warn!("cannot raise the open-files limit ({e})");
            limit.current.unwrap_or(u64::MAX)
        }
    }
}

/// Descriptors kept free for what is not a connection: files, STS sockets, D-Bus.
const RESERVED_FILES: u64 = 64;

/// Clients probe the lock for an instant before starting a daemon; a starting daemon
/// waits this long rather than mistake a probe for a running daemon.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(300);

fn lock_within(file: &File, patience: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + patience;
    loop {
        if file.try_lock().is_ok() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The exclusive lock that makes one daemon per socket; held until the process exits.
pub struct DaemonLock {
    _file: File,
}

impl DaemonLock {
    /// Take the lock and record our pid in it, or say which daemon holds it.
    pub fn acquire(paths: &DaemonPaths) -> anyhow::Result<Self> {
        let mut file = paths
            .open_lock()
            .with_context(|| format!("cannot open the lock file {}", paths.lock.display()))?;
        if !lock_within(&file, LOCK_PATIENCE) {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            bail!(
                "another mfad daemon (pid {}) already serves {}",
                pid.trim(),
                paths.socket.display()
            );
        }
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        Ok(Self { _file: file })
    }
}

/// `mfad daemon`: lock, bind, serve until SIGTERM or SIGINT, then remove the socket.
pub async fn run_foreground(paths: DaemonPaths, mut settings: Settings) -> anyhow::Result<()> {
    let signals = shutdown_signals()?;
    crate::coredump::forbid_for_good()
        .context("cannot keep secrets out of core dumps (setrlimit, prctl PR_SET_DUMPABLE)")?;
    paths.check_socket_length().map_err(|reason| {
        anyhow::anyhow!("{reason}\nset MFAD_SOCKET to a shorter path, e.g. ~/.mfad/agent.sock")
    })?;
    paths.ensure_private_dir().map_err(|e| match e {
        crate::peer::CheckError::Untrusted(untrusted) => {
            anyhow::anyhow!("{untrusted}\n{}", untrusted.remedy())
        }
        crate::peer::CheckError::Io(e) => anyhow::anyhow!(
            "cannot use the socket directory {} ({e})",
            paths.dir().display()
        ),
    })?;
    let open_files = raise_open_files_limit();
    settings.max_connections = settings
        .max_connections
        .min(usize::try_from(open_files.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX))
        .max(1);
    let _lock = DaemonLock::acquire(&paths)?;
    let activated = socket_from_systemd()?;
    let bound_here = activated.is_none();
    let listener = match activated {
        Some(listener) => {
            tracing::info!("using the socket systemd passed (socket activation)");
            listener
        }
        None => bind(&paths)?,
    };
    tracing::info!(
        "mfad {} listening on {} (pid {})",
        crate::protocol::MFAD_VERSION,
        paths.socket.display(),
        std::process::id()
    );
    let used_codes = UsedCodes::kept_in(crate::paths::used_codes_file());
    let daemon = Arc::new(Daemon::new(settings, used_codes));
    let socket = std::fs::metadata(&paths.socket).map(|m| m.ino()).ok();
    let shutdown = async {
        tokio::select! {
            () = signals => {}
            () = socket_gone(&paths.socket, socket) => {}
        }
    };
    server::serve(listener, daemon, shutdown).await;
    // A socket systemd passed stays with systemd, which listens on it for the next start.
    if bound_here {
        let _ = std::fs::remove_file(&paths.socket);
    }
    tracing::info!("stopped");
    Ok(())
}

/// Bind the socket (mode 0600), replacing one a dead daemon left behind.
fn bind(paths: &DaemonPaths) -> anyhow::Result<tokio::net::UnixListener> {
    // We hold the lock, so a socket file left behind belongs to a daemon that died.
    match std::fs::remove_file(&paths.socket) {
        Ok(()) => tracing::info!("removed a stale socket at {}", paths.socket.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).context("cannot remove the stale socket"),
    }
    let listener = tokio::net::UnixListener::bind(&paths.socket)
        .with_context(|| format!("cannot listen on {}", paths.socket.display()))?;
    std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// The socket systemd passed as fd 3 (`sd_listen_fds`), when `LISTEN_PID` names us.
fn socket_from_systemd() -> anyhow::Result<Option<tokio::net::UnixListener>> {
    let number = |var: &str| std::env::var(var).ok().and_then(|v| v.parse::<u32>().ok());
    if number("LISTEN_PID") != Some(std::process::id()) {
        return Ok(None);
    }
    match number("LISTEN_FDS").unwrap_or(0) {
        0 => Ok(None),
        1 => {
            /// The first file descriptor systemd passes (`SD_LISTEN_FDS_START`).
            const FIRST_PASSED_FD: std::os::fd::RawFd = 3;
            // SAFETY: systemd hands this process the listening socket as fd 3; nothing else
            // in mfad owns that descriptor.
            let socket = unsafe {
                <std::os::unix::net::UnixListener as std::os::fd::FromRawFd>::from_raw_fd(
                    FIRST_PASSED_FD,
                )
            };
            socket.set_nonblocking(true)?;
            Ok(Some(tokio::net::UnixListener::from_std(socket)?))
        }
        many => bail!(
            "systemd passed {many} sockets; mfad listens on one (one ListenStream= in mfad.socket)"
        ),
    }
}

/// How often the daemon checks that its socket is still there.
const SOCKET_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Completes when the socket file was removed or replaced (the runtime directory was
/// cleaned, another daemon took over): nobody can reach this daemon any more, and it
/// should not keep sessions in memory for nobody.
async fn socket_gone(path: &std::path::Path, inode: Option<u64>) {
    let mut ticks = tokio::time::interval(SOCKET_CHECK_INTERVAL);
    loop {
        ticks.tick().await;
        let owned = path.to_owned();
        let looked =
            crate::bounded::offload("socket", crate::bounded::FILE_TIME_LIMIT, move || {
                std::fs::metadata(owned).map(|m| m.ino()).ok()
            })
            .await;
        // A look that did not finish says nothing either way.
        let Ok(now) = looked else { continue };
        if now != inode {
            tracing::info!(
                "the socket {} was removed or replaced: stopping",
                path.display()
            );
            return;
        }
    }
}

/// SIGTERM and SIGINT, caught from the moment this is called: a signal that arrives
/// while the daemon starts stops it cleanly too (it is not killed with its socket left).
fn shutdown_signals() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot catch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot catch SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    })
}
