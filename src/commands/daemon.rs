//! `mfad daemon`: run the daemon in the foreground.

use crate::cli::DaemonArgs;
use crate::daemon::{self, Settings};
use crate::paths::DaemonPaths;

pub fn run(_args: &DaemonArgs) -> anyhow::Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(daemon::run_foreground(
        DaemonPaths::from_env(),
        Settings::default(),
    ))
}

/// Log lines to stderr; `MFAD_LOG` (e.g. `debug`) sets the level. Under systemd the
/// journal adds its own timestamps, so ours are left out there.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MFAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().init();
    } else {
        builder.init();
    }
}
