//! The command line, as clap definitions (also the source of man pages and completions).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(
    name = "mfad",
    version,
    about = "MFA-aware AWS credential helper daemon",
    long_about = "mfad keeps AWS MFA sessions (sts:GetSessionToken) in a small daemon and hands them to \
the AWS CLI, SDKs and Terraform through credential_process: one MFA code per session, however \
many processes ask at once.\n\nIn ~/.aws/config:\n\n  [profile dev]\n  mfa_serial = arn:aws:iam::123456789012:mfa/alice\n  credential_process = mfad process dev"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (clients start it in the background when needed)
    Daemon(DaemonArgs),
    /// Print credentials of PROFILE as credential_process JSON
    Process {
        /// The profile in ~/.aws/config
        profile: String,
    },
    /// Store the long-term access key of PROFILE in the OS secret store
    Add {
        profile: String,
        /// Read the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
        #[arg(long)]
        env: bool,
    },
    /// Store, show or remove TOTP secrets of MFA devices
    Totp {
        #[command(subcommand)]
        command: TotpCommand,
    },
    /// Show the sessions the daemon holds
    Status {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Run a command with PROFILE's credentials in its environment
    Exec {
        profile: String,
        /// The command and its arguments, after --
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
    /// Print PROFILE's credentials as variable assignments for eval
    Env {
        profile: String,
        /// The shell whose syntax to print
        #[arg(long, value_enum, default_value_t = Shell::Sh)]
        shell: Shell,
    },
    /// Print a short segment for the shell prompt: the profile and its time left
    Prompt {
        /// The profile (default: $AWS_PROFILE)
        profile: Option<String>,
        /// A template with {profile}, {left}, {mark} (! when renewal is due), {expires}, {state}
        #[arg(long, default_value = "{profile} {left}{mark}")]
        format: String,
    },
    /// Print shell completions for mfad
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Drop the session of PROFILE, or all sessions
    Logout {
        #[arg(required_unless_present = "all")]
        profile: Option<String>,
        /// Drop every session
        #[arg(long, conflicts_with = "profile")]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Check the daemon's config file ($XDG_CONFIG_HOME/mfad/config.toml) and exit
    #[arg(long)]
    pub check_config: bool,
}

/// Shells whose variable syntax `mfad env` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Sh,
    Fish,
    Powershell,
}

#[derive(Debug, Subcommand)]
pub enum TotpCommand {
    /// Store the TOTP secret of SERIAL (base32 or otpauth:// URI, from stdin or the terminal)
    Add { serial: String },
    /// Print the current code of SERIAL
    Code { serial: String },
    /// Remove the TOTP secret of SERIAL
    Remove { serial: String },
}
