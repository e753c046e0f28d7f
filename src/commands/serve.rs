//! `mfad exec --server PROFILE -- CMD…` and `mfad serve PROFILE`: a local credential
//! endpoint instead of static keys, so commands that outlive a session keep working.

use crate::client::fetch_credentials;
use crate::endpoint::{Endpoint, TOKEN_VAR, URI_VAR};
use crate::exec_env::{EXEC_VAR, REMOVED, context};
use crate::failure::Failure;
use crate::messages;
use secrecy::ExposeSecret;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitCode};

/// Variables that would win over the endpoint in an SDK's credential chain.
const SHADOWING: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// Signals the terminal sends to the whole foreground group (the command gets them
/// itself) or that are meant to stop the command (passed on to it).
const FROM_TERMINAL: [libc::c_int; 2] = [libc::SIGINT, libc::SIGQUIT];
const PASSED_ON: [libc::c_int; 2] = [libc::SIGTERM, libc::SIGHUP];

/// Run the command beside the endpoint and exit as it exits.
pub fn exec(profile: &str, command: &[OsString]) -> Result<ExitCode, Failure> {
    if let Ok(outer) = std::env::var(EXEC_VAR) {
        return Err(messages::nested_exec(&outer));
    }
    // Ask for a code now, in front of the person, rather than on the first SDK call.
    let first = fetch_credentials(profile)?;
    let endpoint = Endpoint::bind(0).map_err(messages::endpoint_not_bound)?;
    let uri = endpoint.uri().map_err(messages::endpoint_not_bound)?;
    let (program, args) = command.split_first().expect("clap requires a command");
    let mut child = Command::new(program);
    child
        .args(args)
        .envs(context(&first))
        .env(URI_VAR, &uri)
        .env(TOKEN_VAR, endpoint.token().expose_secret())
        .env(EXEC_VAR, profile);
    for name in REMOVED.iter().chain(SHADOWING) {
        child.env_remove(name);
    }
    let signals = SignalSet::of(FROM_TERMINAL.iter().chain(&PASSED_ON));
    signals.block();
    // SAFETY: pre_exec runs in the forked child before exec; sigprocmask and setrlimit
    // are async-signal-safe and the set is a plain value copied into the child.
    unsafe {
        child.pre_exec(move || {
            signals.unblock();
            crate::coredump::restore_in_child()
        });
    }
    let mut running = match child.spawn() {
        Ok(running) => running,
        Err(error) => {
            signals.unblock();
            return Err(messages::cannot_run(&program.to_string_lossy(), error));
        }
    };
    let pid = running.id() as libc::pid_t;
    std::thread::spawn(move || signals.pass_on(pid));
    let profile = profile.to_owned();
    std::thread::spawn(move || {
        if let Err(error) = endpoint.serve(move || fetch_credentials(&profile)) {
            eprintln!("mfad: the credential endpoint stopped: {error}");
        }
    });
    let status = running.wait().map_err(Failure::internal)?;
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// Serve the endpoint in the foreground, for containers; its variables go to stdout in
/// the `KEY=value` form of `docker run --env-file`.
pub fn serve(profile: &str, port: u16) -> Result<(), Failure> {
    let first = fetch_credentials(profile)?;
    let endpoint = Endpoint::bind(port).map_err(|error| messages::port_not_bound(port, error))?;
    let uri = endpoint.uri().map_err(messages::endpoint_not_bound)?;
    let mut lines = format!(
        "{URI_VAR}={uri}\n{TOKEN_VAR}={}\n",
        endpoint.token().expose_secret()
    );
    for (name, value) in context(&first) {
        lines.push_str(&format!("{name}={value}\n"));
    }
    let mut stdout = std::io::stdout().lock();
    let printed = stdout
        .write_all(lines.as_bytes())
        .and_then(|()| stdout.flush());
    zeroize::Zeroize::zeroize(&mut lines);
    printed.map_err(Failure::internal)?;
    drop(stdout);
    eprintln!("mfad: serving the credentials of {profile} on {uri} until stopped");
    let profile = profile.to_owned();
    endpoint
        .serve(move || fetch_credentials(&profile))
        .map_err(messages::endpoint_not_bound)
}

/// Signals held back from mfad's threads, waited for by one of them.
#[derive(Clone, Copy)]
struct SignalSet(libc::sigset_t);

impl SignalSet {
    fn of<'a>(signals: impl Iterator<Item = &'a libc::c_int>) -> Self {
        // SAFETY: sigemptyset and sigaddset initialise and fill the set we own.
        unsafe {
            let mut set = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in signals {
                libc::sigaddset(&mut set, signal);
            }
            Self(set)
        }
    }

    /// Block these signals in this thread and the threads it starts from now on.
    fn block(&self) {
        // SAFETY: the set is initialised; no old mask is asked for.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &self.0, std::ptr::null_mut()) };
    }

    fn unblock(&self) {
        // SAFETY: as in `block`.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &self.0, std::ptr::null_mut()) };
    }

    /// Wait for the signals forever, passing on to `pid` those meant to stop it.
    fn pass_on(self, pid: libc::pid_t) {
        loop {
            let mut signal = 0;
            // SAFETY: the set is initialised and `signal` is a valid place to write.
            if unsafe { libc::sigwait(&self.0, &mut signal) } != 0 {
                return;
            }
            if PASSED_ON.contains(&signal) {
                // SAFETY: kill has no memory effects.
                unsafe { libc::kill(pid, signal) };
            }
        }
    }
}
