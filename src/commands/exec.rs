//! `mfad exec PROFILE -- CMD…` and `mfad env PROFILE`: credentials in the environment.

use crate::cli::Shell;
use crate::client::fetch_credentials;
use crate::exec_env::{EXEC_VAR, REMOVED, variables};
use crate::failure::Failure;
use crate::messages;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Replace this process with the command (so its exit code and the signals sent to it
/// are its own); returns only on failure.
pub fn exec(profile: &str, command: &[OsString]) -> Failure {
    if let Ok(outer) = std::env::var(EXEC_VAR) {
        return messages::nested_exec(&outer);
    }
    let credentials = match fetch_credentials(profile) {
        Ok(credentials) => credentials,
        Err(failure) => return failure,
    };
    let (program, args) = command.split_first().expect("clap requires a command");
    let mut child = Command::new(program);
    child
        .args(args)
        .envs(variables(&credentials))
        .env(EXEC_VAR, profile);
    for name in REMOVED {
        child.env_remove(name);
    }
    // SAFETY: restore_in_child makes one system call and touches no memory of its own.
    unsafe { child.pre_exec(crate::coredump::restore_in_child) };
    let error = child.exec();
    messages::cannot_run(&program.to_string_lossy(), error)
}

/// Print the assignments for `eval` in the given shell.
pub fn env(profile: &str, shell: Shell) -> Result<(), Failure> {
    let credentials = fetch_credentials(profile)?;
    print!("{}", assignments(&variables(&credentials), shell));
    Ok(())
}

fn assignments(vars: &[(&str, String)], shell: Shell) -> String {
    let mut out = String::new();
    for (name, value) in vars {
        out.push_str(&match shell {
            Shell::Sh => format!("export {name}={}\n", quote_sh(value)),
            Shell::Fish => format!("set -gx {name} {};\n", quote_fish(value)),
            Shell::Powershell => format!("$Env:{name} = {}\n", quote_powershell(value)),
        });
    }
    for name in REMOVED {
        out.push_str(&match shell {
            Shell::Sh => format!("unset {name}\n"),
            Shell::Fish => format!("set -e {name};\n"),
            Shell::Powershell => {
                format!("Remove-Item Env:{name} -ErrorAction SilentlyContinue\n")
            }
        });
    }
    out
}

fn quote_sh(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn quote_fish(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

fn quote_powershell(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_each_shell() {
        let vars = [("AWS_SESSION_TOKEN", "a'b\\c $d".to_owned())];
        assert_eq!(
            assignments(&vars, Shell::Sh),
            "export AWS_SESSION_TOKEN='a'\\''b\\c $d'\nunset AWS_PROFILE\nunset AWS_DEFAULT_PROFILE\n"
        );
        assert!(
            assignments(&vars, Shell::Fish)
                .starts_with("set -gx AWS_SESSION_TOKEN 'a\\'b\\\\c $d';\n")
        );
        assert!(
            assignments(&vars, Shell::Powershell)
                .starts_with("$Env:AWS_SESSION_TOKEN = 'a''b\\c $d'\n")
        );
        assert!(
            assignments(&vars, Shell::Powershell)
                .contains("Remove-Item Env:AWS_PROFILE -ErrorAction SilentlyContinue")
        );
    }
}
