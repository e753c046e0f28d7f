//! `mfad daemon [--check-config]`: run the daemon in the foreground, or check its settings.

use crate::cli::DaemonArgs;
use crate::daemon;
use crate::paths::DaemonPaths;
use crate::settings::{self, Settings};
use anyhow::Context;
use std::time::Duration;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn run(args: &DaemonArgs) -> anyhow::Result<()> {
    let path = crate::paths::settings_file();
    let settings = settings::load(&path)
        .map_err(|e| anyhow::anyhow!("{e}\ncorrect it or remove the line to use the default"))?;
    if args.check_config {
        println!("{}: OK", path.display());
        println!("{}", summary(&settings));
        return Ok(());
    }
    init_logging(&settings);
    crate::resident::one_heap_arena();
    // One async worker: every request is a few microseconds of work between waits, and a
    // second worker only added wake-ups between threads (0.33 → 0.20 ms of CPU per cached
    // request, BENCHMARKS.md). Blocking work has its own pool, as before.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(daemon::run_foreground(DaemonPaths::from_env(), settings));
    // A blocking job stuck on a hung file system must not keep a stopping daemon alive.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    result
}

/// How long blocking work may hold up the exit of a daemon told to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The effective settings, one line each.
fn summary(settings: &Settings) -> String {
    let duration = |d| humantime::format_duration(d).to_string();
    let n = &settings.notifications;
    format!(
        "log_level = {}\nrenew_before = {}\nsts_timeout = {}\nmax_connections = {}\nprompt.driver = {:?}\nprompt.timeout = {}\nnotifications: enabled {}, expiry_lead {}, expiring {}, renewed {}, code_needed {}, code_rejected {}, renewal_failed {}, write_failed {}",
        settings.log_level,
        duration(settings.renew_before),
        duration(settings.sts_timeouts.call),
        settings.max_connections,
        settings.prompt.driver,
        duration(settings.prompt.timeout),
        n.enabled,
        duration(n.expiry_lead),
        n.expiring,
        n.renewed,
        n.code_needed,
        n.code_rejected,
        n.renewal_failed,
        n.write_failed,
    )
}

/// Log lines to stderr at the configured level (`MFAD_LOG` overrides it). Under systemd
/// the journal adds its own timestamps, so ours are left out there.
///
/// Whatever the level, other crates log at `info` at most: at `debug` and `trace` the
/// AWS SDK, its signer and the HTTP stack write requests and answers, which carry MFA
/// codes, signatures and session credentials.
fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MFAD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log_level));
    let format = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let format = if std::env::var_os("JOURNAL_STREAM").is_some() {
        format.without_time().boxed()
    } else {
        format.boxed()
    };
    tracing_subscriber::registry()
        .with(
            format
                .with_filter(filter)
                .with_filter(tracing_subscriber::filter::filter_fn(ours_or_quiet)),
        )
        .init();
}

/// mfad's own events at any level; other crates' at `info` and above only.
fn ours_or_quiet(event: &tracing::Metadata<'_>) -> bool {
    allowed(event.target(), *event.level())
}

fn allowed(target: &str, level: tracing::Level) -> bool {
    target.starts_with("mfad") || level <= tracing::Level::INFO
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn other_crates_never_log_below_info() {
        assert!(allowed("mfad::daemon::renewal", Level::TRACE));
        assert!(allowed("aws_smithy_runtime::client", Level::WARN));
        assert!(allowed("aws_sigv4", Level::INFO));
        assert!(!allowed("aws_sigv4", Level::DEBUG));
        assert!(!allowed(
            "aws_smithy_runtime::client::orchestrator",
            Level::TRACE
        ));
        assert!(!allowed("hyper_util::client", Level::DEBUG));
    }
}
