use clap::Parser;
use mfad::cli::{Cli, Command};
use mfad::commands;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Daemon(args) => {
            return match commands::daemon::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mfad daemon: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Process { profile } => commands::process::run(profile)
            .map_err(|failure| format!("mfad process {profile}: {failure}")),
        Command::Add { profile, env } => commands::add::run(profile, *env)
            .map_err(|failure| format!("mfad add {profile}: {failure}")),
        Command::Totp { command } => {
            commands::totp::run(command).map_err(|failure| format!("mfad totp: {failure}"))
        }
        Command::Status { json } => {
            commands::status::run(*json).map_err(|failure| format!("mfad status: {failure}"))
        }
        Command::Logout { profile, .. } => commands::logout::run(profile.as_deref())
            .map_err(|failure| format!("mfad logout: {failure}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(line) => {
            eprintln!("{line}");
            ExitCode::FAILURE
        }
    }
}
