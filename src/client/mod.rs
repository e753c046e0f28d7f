//! The lean blocking client used by `mfad process` and the other commands: std only, no
//! tokio runtime, no SDK. It talks only to a daemon of its own user (see [`crate::peer`]),
//! never waits on a silent daemon for long, starts the daemon when none answers and
//! restarts one that speaks another protocol version.

mod credentials;

pub use credentials::{ask_daemon, fetch_credentials};

use crate::failure::{Failure, FailureKind};
use crate::messages;
use crate::paths::DaemonPaths;
use crate::peer::{self, CheckError};
use crate::protocol::{self, Caller, MAX_LINE_BYTES, Request, Response};
use crate::tty::Terminal;
use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroize;

/// The caller's variables the daemon needs to resolve a request as the caller would.
pub const FORWARDED_VARS: &[&str] = &[
    "HOME",
    "PATH",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_ENDPOINT_URL_SIGNIN",
    "AWS_LOGIN_CACHE_DIRECTORY",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
    "DBUS_SESSION_BUS_ADDRESS",
    "BROWSER",
    crate::vocab::INSIDE_VAR,
];

/// How long a client waits for a daemon it started to answer.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest the daemon may stay silent. While it works on a request it sends
/// [`Response::Pending`] every [`protocol::KEEPALIVE`], so only a stopped or wedged daemon
/// is silent this long.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(10);

/// The calling process as the daemon should see it.
pub fn caller(terminal: Option<&Terminal>) -> Caller {
    let env = FORWARDED_VARS
        .iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect();
    Caller {
        env,
        tty: terminal.map(|t| t.name.clone()),
    }
}

/// Whether to start a daemon when none answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    IfNeeded,
    Never,
}

/// A connection to a daemon of this user.
pub struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    paths: DaemonPaths,
}

impl Client {
    /// Connect; with [`Start::IfNeeded`], start a daemon when none answers.
    pub fn connect(paths: &DaemonPaths, start: Start) -> Result<Self, Failure> {
        Self::connect_within(paths, start, SILENCE_LIMIT)
    }

    /// Connect, giving up on a silent daemon after `silence` (connecting, reading or
    /// writing).
    pub fn connect_within(
        paths: &DaemonPaths,
        start: Start,
        silence: Duration,
    ) -> Result<Self, Failure> {
        paths
            .check_socket_length()
            .map_err(messages::socket_path_too_long)?;
        let existing = match peer::check_private_dir(paths.dir(), &paths.socket) {
            Ok(()) => connect_socket(&paths.socket, Instant::now() + silence),
            Err(CheckError::Io(e)) => Err(e),
            Err(CheckError::Untrusted(untrusted)) => return Err(untrusted_failure(&untrusted)),
        };
        let stream = match existing {
            Ok(stream) => stream,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(silent(paths, silence)),
            Err(e) if start == Start::Never => return Err(no_daemon(paths, &e)),
            Err(_) => start_daemon(paths)?,
        };
        peer::check_peer(&paths.socket, &stream).map_err(|e| match e {
            CheckError::Untrusted(untrusted) => untrusted_failure(&untrusted),
            CheckError::Io(e) => Failure::internal(format!("cannot tell who listens ({e})")),
        })?;
        stream
            .set_read_timeout(Some(silence))
            .and_then(|()| stream.set_write_timeout(Some(silence)))
            .map_err(Failure::internal)?;
        let reader = BufReader::new(stream.try_clone().map_err(Failure::internal)?);
        Ok(Self {
            writer: stream,
            reader,
            paths: paths.clone(),
        })
    }

    pub fn send(&mut self, request: &Request) -> Result<(), Failure> {
        let mut line = protocol::encode(request);
        let result = self.writer.write_all(&line);
        line.zeroize();
        match result {
            Ok(()) => Ok(()),
            // A daemon that refuses the connection (too busy, another uid) writes why and
            // closes: its reason is still there to read.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) =>
            {
                match self.receive() {
                    Err(failure) if failure.kind != FailureKind::Internal => Err(failure),
                    _ => Err(self.lost(&e)),
                }
            }
            Err(e) => Err(self.lost(&e)),
        }
    }

    /// The daemon's next answer, past its keep-alive lines.
    pub fn receive(&mut self) -> Result<Response, Failure> {
        loop {
            let mut line = Vec::new();
            let limit = MAX_LINE_BYTES as u64 + 1;
            let read = (&mut self.reader).take(limit).read_until(b'\n', &mut line);
            let decoded = read
                .map_err(|e| self.lost(&e))
                .and_then(|_| protocol::decode(&line));
            line.zeroize();
            match decoded? {
                Some(Response::Pending) => continue,
                Some(Response::Error(failure)) => return Err(failure),
                Some(response) => return Ok(response),
                None => {
                    return Err(messages::closed_without_answer());
                }
            }
        }
    }

    /// Send a request and return its one answer.
    pub fn request(&mut self, request: &Request) -> Result<Response, Failure> {
        self.send(request)?;
        self.receive()
    }

    fn lost(&self, error: &io::Error) -> Failure {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                let silence = self.writer.read_timeout().ok().flatten();
                silent(&self.paths, silence.unwrap_or(SILENCE_LIMIT))
            }
            _ => messages::connection_lost(error),
        }
    }
}

/// Run a conversation with the daemon; if the daemon speaks another protocol version,
/// replace it with one of ours (when allowed to start one) and run it once more.
pub fn converse<T>(
    paths: &DaemonPaths,
    start: Start,
    mut conversation: impl FnMut(&mut Client) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut client = Client::connect(paths, start)?;
    match conversation(&mut client) {
        Err(failure)
            if failure.kind == FailureKind::VersionMismatch && start == Start::IfNeeded =>
        {
            eprintln!("mfad: {}; restarting the daemon", failure.message);
            drop(client);
            stop_daemon(paths)?;
            conversation(&mut Client::connect(paths, start)?)
        }
        other => other,
    }
}

/// Connect to a Unix socket without blocking past `deadline` (a stopped daemon's full
/// backlog would block `connect` for ever).
fn connect_socket(path: &Path, deadline: Instant) -> io::Result<UnixStream> {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let address = SocketAddrUnix::new(path)?;
    loop {
        let socket: OwnedFd = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )?;
        match rustix::net::connect(&socket, &address) {
            Ok(()) => {}
            // The listener's backlog is full: a stopped daemon, or a burst of callers.
            Err(rustix::io::Errno::AGAIN) => {
                if Instant::now() >= deadline {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(rustix::io::Errno::INPROGRESS) => wait_connected(&socket, deadline)?,
            Err(e) => return Err(e.into()),
        }
        rustix::io::ioctl_fionbio(&socket, false)?;
        return Ok(UnixStream::from(socket));
    }
}

/// Wait for a non-blocking connect in progress (BSDs, macOS) to finish.
fn wait_connected(socket: &OwnedFd, deadline: Instant) -> io::Result<()> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let left = deadline.saturating_duration_since(Instant::now());
    let timeout = Timespec::try_from(left).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut fds = [PollFd::new(socket, PollFlags::OUT)];
    if rustix::event::poll(&mut fds, Some(&timeout))? == 0 {
        return Err(io::ErrorKind::TimedOut.into());
    }
    rustix::net::sockopt::socket_error(socket)?.map_err(io::Error::from)
}

fn untrusted_failure(untrusted: &peer::Untrusted) -> Failure {
    untrusted.clone().into()
}

fn no_daemon(paths: &DaemonPaths, error: &io::Error) -> Failure {
    messages::no_daemon(&paths.socket, error)
}

/// A daemon that accepted the connection but then said nothing.
fn silent(paths: &DaemonPaths, silence: Duration) -> Failure {
    messages::daemon_silent(&paths.socket, daemon_pid(paths), silence)
}

/// The pid a running daemon recorded in its lock file.
fn daemon_pid(paths: &DaemonPaths) -> Option<i32> {
    let mut text = String::new();
    paths.open_lock().ok()?.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn daemon_lock_held(paths: &DaemonPaths) -> bool {
    paths.open_lock().is_ok_and(|file| file.try_lock().is_err())
}

/// Start a daemon detached from this process (its own session, stdio away from the
/// caller's pipes, which botocore waits to see closed) and wait for it to answer. Many
/// clients may get here at once: the daemon's lock lets one of them run.
fn start_daemon(paths: &DaemonPaths) -> Result<UnixStream, Failure> {
    let failed = |what: String| messages::daemon_not_started(what, &paths.log);
    paths.ensure_private_dir().map_err(|e| match e {
        CheckError::Untrusted(untrusted) => untrusted_failure(&untrusted),
        CheckError::Io(e) => failed(format!("{} ({e})", paths.dir().display())),
    })?;
    if !daemon_lock_held(paths) {
        spawn_daemon(paths).map_err(|e| failed(e.to_string()))?;
    }
    let deadline = Instant::now() + START_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    loop {
        match connect_socket(&paths.socket, deadline) {
            Ok(stream) => return Ok(stream),
            Err(e) if Instant::now() > deadline => {
                return Err(failed(format!(
                    "it did not answer within {}s ({e})",
                    START_TIMEOUT.as_secs()
                )));
            }
            Err(_) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

fn spawn_daemon(paths: &DaemonPaths) -> io::Result<()> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&paths.log)?;
    let mut command = Command::new(crate::paths::core_binary()?);
    command
        .arg0("mfad")
        .arg("daemon")
        .env_clear()
        .envs(std::env::vars_os().filter(|(name, _)| is_daemon_var(name)))
        .env("MFAD_SOCKET", &paths.socket)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: setsid is a single system call, async-signal-safe, touching no memory of
    // the parent.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        });
    }
    command.spawn()?;
    Ok(())
}

/// The variables a daemon started by a client keeps: what it needs to find its files,
/// the session bus and the desktop. The daemon serves every shell of the user, so nothing
/// of the one that happened to start it (keys exported by `mfad exec`, a profile, a
/// proxy) may reach what it does for the others; each request brings its caller's own.
const DAEMON_VARS: &[&str] = &[
    "HOME",
    "USER",
    "LOGNAME",
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CURRENT_DESKTOP",
    "DBUS_SESSION_BUS_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "MFAD_LOG",
];

fn is_daemon_var(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    DAEMON_VARS.contains(&name.as_ref()) || name.starts_with("LC_")
}

/// Stop the daemon recorded in the lock file and wait until its lock is free.
fn stop_daemon(paths: &DaemonPaths) -> Result<(), Failure> {
    let pid = daemon_pid(paths).ok_or_else(|| {
        Failure::internal(format!(
            "the lock file {} holds no pid",
            paths.lock.display()
        ))
    })?;
    if let Some(process) = rustix::process::Pid::from_raw(pid) {
        // A daemon that is already gone is what we want.
        let _ = rustix::process::kill_process(process, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + START_TIMEOUT;
    while daemon_lock_held(paths) {
        if Instant::now() > deadline {
            return Err(messages::old_daemon_did_not_stop(pid));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
