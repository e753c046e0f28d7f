//! Asking a person at the desktop of the caller's session, when no waiting caller has a
//! terminal: zenity or kdialog (X11/Wayland), osascript (macOS), or a pinentry program
//! spoken to in the Assuan protocol. The dialog runs with the caller's `DISPLAY`,
//! `WAYLAND_DISPLAY`, `DBUS_SESSION_BUS_ADDRESS`…, so it opens where the caller sits.

use super::askers::AskError;
use crate::settings::PromptDriver;
use crate::vocab::CallerEnv;
use secrecy::SecretString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// The title of every dialog (the tests find the window by it).
pub const TITLE: &str = "mfad";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Zenity,
    Kdialog,
    Osascript,
    Pinentry(String),
}

/// The dialog to use for a caller, if its session has a desktop and one is available.
pub fn choose(driver: &PromptDriver, env: &CallerEnv) -> Option<Dialog> {
    let graphical = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| env.get(*var).is_some_and(|v| !v.is_empty()));
    match driver {
        PromptDriver::None => None,
        PromptDriver::Pinentry(program) => Some(Dialog::Pinentry(program.clone())),
        PromptDriver::Osascript => Some(Dialog::Osascript),
        PromptDriver::Zenity => graphical.then_some(Dialog::Zenity),
        PromptDriver::Kdialog => graphical.then_some(Dialog::Kdialog),
        PromptDriver::Auto if cfg!(target_os = "macos") => Some(Dialog::Osascript),
        PromptDriver::Auto if !graphical => None,
        PromptDriver::Auto => [("zenity", Dialog::Zenity), ("kdialog", Dialog::Kdialog)]
            .into_iter()
            .find(|(program, _)| in_path(program))
            .map(|(_, dialog)| dialog),
    }
}

fn in_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether what is typed is shown (a single-use code) or hidden (a passphrase).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    Shown,
    Hidden,
}

/// Show the dialog and wait for the answer, at most `timeout`.
pub async fn ask(
    dialog: &Dialog,
    prompt: &str,
    echo: Echo,
    env: &CallerEnv,
    timeout: Duration,
) -> Result<SecretString, AskError> {
    let asked = async {
        match dialog {
            // pinentry never shows what is typed.
            Dialog::Pinentry(program) => pinentry(program, prompt, env).await,
            other => run_dialog(other, prompt, echo, env, timeout).await,
        }
    };
    match tokio::time::timeout(timeout, asked).await {
        Ok(answer) => answer,
        Err(_) => Err(AskError::TimedOut),
    }
}

fn command(program: &str, env: &CallerEnv) -> Command {
    let mut command = Command::new(program);
    command
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// zenity, kdialog or osascript: one process, the code on stdout.
async fn run_dialog(
    dialog: &Dialog,
    prompt: &str,
    echo: Echo,
    env: &CallerEnv,
    timeout: Duration,
) -> Result<SecretString, AskError> {
    let hidden = echo == Echo::Hidden;
    let mut command = match dialog {
        Dialog::Zenity => {
            let mut c = command("zenity", env);
            c.args([
                "--entry",
                &format!("--title={TITLE}"),
                &format!("--text={prompt}"),
            ])
            .arg(format!("--timeout={}", timeout.as_secs().max(1)));
            if hidden {
                c.arg("--hide-text");
            }
            c
        }
        Dialog::Kdialog => {
            let mut c = command("kdialog", env);
            let kind = if hidden { "--password" } else { "--inputbox" };
            c.args(["--title", TITLE, kind, prompt]);
            c
        }
        Dialog::Osascript => {
            let quoted = prompt.replace('\\', "\\\\").replace('"', "\\\"");
            let script = format!(
                "text returned of (display dialog \"{quoted}\" default answer \"\" with title \"{TITLE}\"{} giving up after {})",
                if hidden { " with hidden answer" } else { "" },
                timeout.as_secs().max(1)
            );
            let mut c = command("osascript", env);
            c.args(["-e", &script]);
            c
        }
        Dialog::Pinentry(_) => unreachable!("pinentry speaks Assuan"),
    };
    let child = command
        .spawn()
        .map_err(|e| AskError::DialogFailed(format!("cannot start {dialog:?}: {e}")))?;
    let output = crate::bounded::child_output(child)
        .await
        .map_err(|_| AskError::Cancelled)?;
    let code = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let said = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) if !code.is_empty() => Ok(SecretString::from(code)),
        // zenity exits 5 on --timeout; osascript's "giving up" returns an empty text.
        Some(5) | Some(0) => Err(AskError::TimedOut),
        // Cancel exits 1 too, quietly (osascript says "User canceled. (-128)").
        _ if said.trim().is_empty() || said.contains("(-128)") => Err(AskError::Cancelled),
        _ => Err(AskError::DialogFailed(last_line(&said))),
    }
}

/// The last non-empty line a program printed (its error, as a rule).
fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    line.chars().take(200).collect()
}

/// Percent-escape a string for an Assuan command line.
fn assuan_escape(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\n', "%0A")
        .replace('\r', "%0D")
}

/// Ask through a pinentry program: SETTITLE, SETDESC, SETPROMPT, GETPIN.
async fn pinentry(program: &str, prompt: &str, env: &CallerEnv) -> Result<SecretString, AskError> {
    let mut child = command(program, env)
        .spawn()
        .map_err(|e| AskError::DialogFailed(format!("cannot start {program}: {e}")))?;
    let mut input = child.stdin.take().ok_or(AskError::Cancelled)?;
    let stdout = child.stdout.take().ok_or(AskError::Cancelled)?;
    let mut output = BufReader::new(stdout.take(crate::bounded::MAX_CHILD_OUTPUT)).lines();
    let expect_ok = async |output: &mut tokio::io::Lines<_>| -> Result<Option<String>, AskError> {
        let mut data = None;
        while let Some(line) = output.next_line().await.map_err(|_| AskError::Cancelled)? {
            if let Some(value) = line.strip_prefix("D ") {
                data = Some(value.to_owned());
            } else if line.starts_with("OK") {
                return Ok(data);
            } else if line.starts_with("ERR") {
                return Err(AskError::Cancelled);
            }
        }
        Err(AskError::Cancelled)
    };
    expect_ok(&mut output).await?;
    let commands = [
        format!("SETTITLE {TITLE}"),
        format!("SETDESC {}", assuan_escape(prompt)),
        "SETPROMPT Code:".to_owned(),
    ];
    for line in commands {
        input
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|_| AskError::Cancelled)?;
        expect_ok(&mut output).await?;
    }
    input
        .write_all(b"GETPIN\n")
        .await
        .map_err(|_| AskError::Cancelled)?;
    let pin = expect_ok(&mut output).await?;
    let _ = input.write_all(b"BYE\n").await;
    match pin {
        Some(pin) if !pin.trim().is_empty() => Ok(SecretString::from(pin.trim().to_owned())),
        _ => Err(AskError::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dialog_that_cannot_open_says_why_and_a_quiet_exit_is_a_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let fake = |name: &str, body: &str| {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        fake(
            "zenity",
            "echo 'Gtk-WARNING: cannot open display: :99' >&2; exit 1",
        );
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap()
        );
        let env = CallerEnv::of(&[("PATH", &path)]);
        let failed = ask(
            &Dialog::Zenity,
            "code",
            Echo::Shown,
            &env,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(
            failed.err(),
            Some(AskError::DialogFailed(
                "Gtk-WARNING: cannot open display: :99".into()
            ))
        );
        fake("zenity", "exit 1");
        let cancelled = ask(
            &Dialog::Zenity,
            "code",
            Echo::Shown,
            &env,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(cancelled.err(), Some(AskError::Cancelled));
    }

    #[test]
    fn no_desktop_no_dialog() {
        assert_eq!(choose(&PromptDriver::Zenity, &CallerEnv::of(&[])), None);
        assert_eq!(
            choose(&PromptDriver::Zenity, &CallerEnv::of(&[("DISPLAY", ":5")])),
            Some(Dialog::Zenity)
        );
        assert_eq!(
            choose(&PromptDriver::None, &CallerEnv::of(&[("DISPLAY", ":5")])),
            None
        );
        assert_eq!(
            choose(&PromptDriver::Pinentry("pe".into()), &CallerEnv::of(&[])),
            Some(Dialog::Pinentry("pe".into()))
        );
    }

    #[tokio::test]
    async fn a_pinentry_program_is_spoken_to_in_assuan() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("pinentry");
        std::fs::write(
            &script,
            "#!/bin/sh\necho 'OK hello'\nwhile read cmd rest; do\n  case $cmd in\n    GETPIN) echo 'D 123456'; echo OK;;\n    SETDESC) echo \"$rest\" > \"$0.desc\"; echo OK;;\n    BYE) echo OK; exit 0;;\n    *) echo OK;;\n  esac\ndone\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let program = script.display().to_string();
        let code = ask(
            &Dialog::Pinentry(program.clone()),
            "code for\ndev",
            Echo::Hidden,
            &CallerEnv::of(&[]),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(code.expose_secret(), "123456");
        let desc = std::fs::read_to_string(format!("{program}.desc")).unwrap();
        assert_eq!(desc.trim(), "code for%0Adev");
    }
}
