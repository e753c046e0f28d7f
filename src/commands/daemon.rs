//! `mfad daemon [--check-config]`: run the daemon in the foreground, or check its settings.

use crate::cli::DaemonArgs;
use crate::daemon;
use crate::paths::DaemonPaths;
use crate::settings::{self, Settings};
use anyhow::Context;

pub fn run(args: &DaemonArgs) -> anyhow::Result<()> {
    let path = settings::settings_path();
    let settings = settings::load(&path)
        .map_err(|e| anyhow::anyhow!("{e}\ncorrect it or remove the line to use the default"))?;
    if args.check_config {
        println!("{}: OK", path.display());
        println!("{}", summary(&settings));
        return Ok(());
    }
    init_logging(&settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(daemon::run_foreground(DaemonPaths::from_env(), settings))
}

/// The effective settings, one line each.
fn summary(settings: &Settings) -> String {
    let duration = |d| humantime::format_duration(d).to_string();
    let n = &settings.notifications;
    format!(
        "log_level = {}\nrenew_before = {}\nsts_timeout = {}\nprompt.driver = {:?}\nprompt.timeout = {}\nnotifications: enabled {}, expiry_lead {}, expiring {}, renewed {}, code_needed {}, code_rejected {}, renewal_failed {}",
        settings.log_level,
        duration(settings.renew_before),
        duration(settings.sts_timeouts.call),
        settings.prompt.driver,
        duration(settings.prompt.timeout),
        n.enabled,
        duration(n.expiry_lead),
        n.expiring,
        n.renewed,
        n.code_needed,
        n.code_rejected,
        n.renewal_failed,
    )
}

/// Log lines to stderr at the configured level (`MFAD_LOG` overrides it). Under systemd
/// the journal adds its own timestamps, so ours are left out there.
fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MFAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log_level));
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
