//! `mfad-core`, the whole program: every command but the two the front (`mfad`, in
//! src/main.rs) answers itself, and the daemon. The front hands a command over by exec,
//! so a person and the man pages only ever meet `mfad`.

use clap::Parser;
use mfad::cli::{Cli, Command};
use mfad::commands;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything: every mfad process may come to hold a secret.
    if let Err(error) = mfad::coredump::forbid() {
        eprintln!("mfad: cannot keep secrets out of core dumps (setrlimit, prctl): {error}");
        return ExitCode::FAILURE;
    }
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
        Command::Setup {
            profile,
            serial,
            totp_file,
            env,
        } => commands::setup::run(profile, serial.as_deref(), totp_file.as_deref(), *env)
            .map_err(|failure| format!("mfad setup {profile}: {failure}")),
        Command::Add { profile, env } => commands::add::run(profile, *env)
            .map_err(|failure| format!("mfad add {profile}: {failure}")),
        Command::Totp { command } => {
            commands::totp::run(command).map_err(|failure| format!("mfad totp: {failure}"))
        }
        Command::Status { json } => {
            commands::status::run(*json).map_err(|failure| format!("mfad status: {failure}"))
        }
        Command::Exec {
            profile,
            server: false,
            command,
        } => Err(format!(
            "mfad exec {profile}: {}",
            commands::exec::exec(profile, command)
        )),
        Command::Exec {
            profile,
            server: true,
            command,
        } => match commands::serve::exec(profile, command) {
            Ok(exit) => return exit,
            Err(failure) => Err(format!("mfad exec --server {profile}: {failure}")),
        },
        Command::Login {
            profile,
            print,
            destination,
        } => commands::login::run(profile, *print, destination.as_deref())
            .map_err(|failure| format!("mfad login {profile}: {failure}")),
        Command::AwsLogin {
            profile,
            remote,
            store,
        } => commands::aws_login::run(profile, *remote, *store)
            .map_err(|failure| format!("mfad aws-login {profile}: {failure}")),
        Command::Serve { profile, port } => commands::serve::serve(profile, *port)
            .map_err(|failure| format!("mfad serve {profile}: {failure}")),
        Command::Env { profile, shell } => commands::exec::env(profile, *shell)
            .map_err(|failure| format!("mfad env {profile}: {failure}")),
        Command::Prompt { profile, format } => {
            commands::prompt::run(profile.as_deref(), format);
            Ok(())
        }
        Command::Store { command } => {
            commands::store::run(command).map_err(|failure| format!("mfad store: {failure}"))
        }
        Command::Mfa { command } => {
            commands::mfa::run(command).map_err(|failure| format!("mfad mfa: {failure}"))
        }
        Command::Rotate { profile } => commands::rotate::run(profile)
            .map_err(|failure| format!("mfad rotate {profile}: {failure}")),
        Command::Audit { profile, json } => {
            return commands::audit::run(profile.as_deref(), *json);
        }
        Command::Policy {
            apply,
            group,
            user,
            profile,
        } => {
            use commands::policy::Target;
            let target = match (group, user) {
                (Some(group), _) => Some(Target::Group(group.clone())),
                (None, Some(user)) => Some(Target::User(user.clone())),
                (None, None) => None,
            };
            commands::policy::run(target.filter(|_| *apply), profile.as_deref())
                .map_err(|failure| format!("mfad policy: {failure}"))
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "mfad", &mut std::io::stdout());
            Ok(())
        }
        Command::Sso { command } => {
            commands::sso::run(command).map_err(|failure| format!("mfad sso: {failure}"))
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
