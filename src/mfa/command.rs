//! `mfa_process`: a command that prints a code (same meaning as in aws-vault), e.g.
//! `ykman oath accounts code --single AWS` or a password manager's CLI.

use crate::failure::Failure;
use crate::messages;
use crate::vocab::CallerEnv;
use secrecy::SecretString;
use std::time::Duration;
use zeroize::Zeroize;

/// A hardware token may wait for a touch; a command that takes longer has hung.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Run the command through `sh -c` in the caller's environment and read the code it
/// prints. Its stderr is not read: it may hold anything, and mfad does not log it.
pub async fn run(
    command: &str,
    serial: &str,
    caller_env: &CallerEnv,
) -> Result<SecretString, Failure> {
    let failed = |what: String| messages::mfa_process_failed(command, what);
    let mut stdout = crate::bounded::shell_stdout(command, &caller_env.inside(serial), TIMEOUT)
        .await
        .map_err(failed)?;
    let printed = String::from_utf8_lossy(&stdout);
    let code = printed.trim();
    let result = if super::looks_like_code(code) {
        Ok(SecretString::from(code.to_owned()))
    } else {
        Err(failed(
            "printed something that is not a 6-digit code".into(),
        ))
    };
    drop(printed);
    stdout.zeroize();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::INSIDE_VAR;
    use secrecy::ExposeSecret;

    #[tokio::test]
    async fn reads_the_code_and_names_failures() {
        let env = CallerEnv::from([("MFAD_TEST_CODE".to_owned(), "123456".to_owned())]);
        let code = run("echo \"  $MFAD_TEST_CODE\"", "arn:a", &env)
            .await
            .unwrap();
        assert_eq!(code.expose_secret(), "123456");
        let err = run("exit 3", "arn:a", &env).await.unwrap_err();
        assert!(err.message.contains("exited"), "{err}");
        // What the command printed is not repeated: it could be anything.
        let err = run("echo abc$((40 + 2))", "arn:a", &env).await.unwrap_err();
        assert!(err.message.contains("not a 6-digit code"), "{err}");
        assert!(!err.message.contains("abc42"), "{err}");
        let seen = run(
            "case $MFAD_INSIDE in arn:o,arn:a) echo 654321;; esac",
            "arn:a",
            &CallerEnv::from([(INSIDE_VAR.to_owned(), "arn:o".to_owned())]),
        )
        .await
        .unwrap();
        assert_eq!(seen.expose_secret(), "654321");
    }

    #[tokio::test]
    async fn a_command_that_prints_without_end_is_cut_off() {
        let err = run("yes 123456", "arn:a", &CallerEnv::default())
            .await
            .unwrap_err();
        // Cut off after 64 KiB, it dies of SIGPIPE; mfad neither hangs nor fills memory.
        assert!(err.message.contains("mfa_process `yes 123456`"), "{err}");
    }
}
