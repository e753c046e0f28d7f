//! The lean blocking client used by `mfad process` and the other commands: std only, no
//! tokio runtime, no SDK. It starts the daemon when none answers and restarts one that
//! speaks another protocol version.

use crate::failure::{Failure, FailureKind};
use crate::paths::DaemonPaths;
use crate::protocol::{self, Caller, MAX_LINE_BYTES, Request, Response};
use crate::tty::Terminal;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroize;

/// The caller's variables the daemon needs to resolve a request as the caller would.
pub const FORWARDED_VARS: &[&str] = &[
    "HOME",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
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
    crate::mfa::process::INSIDE_VAR,
];

/// How long a client waits for a daemon it started to answer.
const START_TIMEOUT: Duration = Duration::from_secs(5);

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

/// A connection to the daemon.
pub struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Client {
    /// Connect; with [`Start::IfNeeded`], start a daemon when none answers.
    pub fn connect(paths: &DaemonPaths, start: Start) -> Result<Self, Failure> {
        let stream = match UnixStream::connect(&paths.socket) {
            Ok(stream) => stream,
            Err(e) if start == Start::Never => return Err(no_daemon(paths, &e)),
            Err(_) => start_daemon(paths)?,
        };
        let reader = BufReader::new(stream.try_clone().map_err(Failure::internal)?);
        Ok(Self {
            writer: stream,
            reader,
        })
    }

    pub fn send(&mut self, request: &Request) -> Result<(), Failure> {
        let mut line = protocol::encode(request);
        let result = self.writer.write_all(&line);
        line.zeroize();
        result.map_err(|e| lost(&e))
    }

    pub fn receive(&mut self) -> Result<Response, Failure> {
        let mut line = Vec::new();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader).take(limit).read_until(b'\n', &mut line);
        let decoded = read
            .map_err(|e| lost(&e))
            .and_then(|_| protocol::decode(&line));
        line.zeroize();
        match decoded? {
            Some(Response::Error(failure)) => Err(failure),
            Some(response) => Ok(response),
            None => Err(Failure::new(
                FailureKind::Internal,
                "the daemon closed the connection without answering",
                "see the daemon log; mfad status shows whether it runs",
            )),
        }
    }

    /// Send a request and return its one answer.
    pub fn request(&mut self, request: &Request) -> Result<Response, Failure> {
        self.send(request)?;
        self.receive()
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

fn no_daemon(paths: &DaemonPaths, error: &std::io::Error) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!(
            "no mfad daemon answers on {} ({error})",
            paths.socket.display()
        ),
        "any mfad process command starts it; or run `mfad daemon`",
    )
}

fn lost(error: &std::io::Error) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("lost the connection to the daemon ({error})"),
        "run the command again; if it persists, see the daemon log",
    )
}

fn daemon_lock_held(paths: &DaemonPaths) -> bool {
    paths.open_lock().is_ok_and(|file| file.try_lock().is_err())
}

/// Start a daemon detached from this process (its own session, stdio away from the
/// caller's pipes, which botocore waits to see closed) and wait for it to answer. Many
/// clients may get here at once: the daemon's lock lets one of them run.
fn start_daemon(paths: &DaemonPaths) -> Result<UnixStream, Failure> {
    let failed = |what: String| {
        Failure::new(
            FailureKind::Internal,
            format!("could not start the mfad daemon: {what}"),
            format!(
                "run `mfad daemon` in a terminal to see why; the log of background starts is {}",
                paths.log.display()
            ),
        )
    };
    paths
        .ensure_private_dir()
        .map_err(|e| failed(format!("{} ({e})", paths.dir().display())))?;
    if !daemon_lock_held(paths) {
        spawn_daemon(paths).map_err(|e| failed(e.to_string()))?;
    }
    let deadline = Instant::now() + START_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    loop {
        match UnixStream::connect(&paths.socket) {
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

fn spawn_daemon(paths: &DaemonPaths) -> std::io::Result<()> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&paths.log)?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("daemon")
        .env("MFAD_SOCKET", &paths.socket)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    command.spawn()?;
    Ok(())
}

/// Stop the daemon recorded in the lock file and wait until its lock is free.
fn stop_daemon(paths: &DaemonPaths) -> Result<(), Failure> {
    let mut pid = String::new();
    paths
        .open_lock()
        .and_then(|mut file| file.read_to_string(&mut pid))
        .map_err(Failure::internal)?;
    let pid: libc::pid_t = pid.trim().parse().map_err(|_| {
        Failure::internal(format!(
            "the lock file {} holds no pid",
            paths.lock.display()
        ))
    })?;
    // SAFETY: kill has no memory effects; a wrong pid yields an error, not UB.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + START_TIMEOUT;
    while daemon_lock_held(paths) {
        if Instant::now() > deadline {
            return Err(Failure::new(
                FailureKind::Internal,
                format!("the old daemon (pid {pid}) did not stop"),
                format!("stop it by hand: kill {pid}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
