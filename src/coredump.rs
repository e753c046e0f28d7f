//! Keeping secrets out of core dumps. Every mfad process may hold one (a long-term key
//! typed into `mfad add`, a session in `mfad process`, the endpoint's token in `mfad
//! serve`), so each makes itself undumpable before it does anything: no core file on
//! SIGQUIT or a crash, and no ptrace or `/proc/PID/mem` by other processes of the user.
//!
//! A command that runs the person's own program (`mfad exec`) hands that program the core
//! limit the person had, so only mfad's own image is protected.

use std::io;
use std::sync::OnceLock;

/// The soft core-size limit this process started with, given back to commands it runs.
static STARTING_LIMIT: OnceLock<rustix::process::Rlimit> = OnceLock::new();

/// Make this process undumpable: soft core limit 0 (the hard one stays, so a command run
/// from here can have its limit back) and, on Linux, `PR_SET_DUMPABLE 0`.
pub fn forbid() -> io::Result<()> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Core);
    let _ = STARTING_LIMIT.set(limit);
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: limit.maximum,
        },
    )?;
    undumpable()
}

/// The daemon's stronger form: the hard limit goes to 0 too, for as long as it runs.
pub fn forbid_for_good() -> io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let none = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    setrlimit(Resource::Core, none)?;
    undumpable()
}

fn undumpable() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// For `CommandExt::pre_exec`: give the command about to run the core limit this process
/// started with. Only a `setrlimit` system call, so it is safe between fork and exec.
pub fn restore_in_child() -> io::Result<()> {
    if let Some(limit) = STARTING_LIMIT.get() {
        rustix::process::setrlimit(rustix::process::Resource::Core, *limit)?;
    }
    Ok(())
}
