//! `mfad exec` and `mfad env`: credentials in a command's environment; and loops.

use crate::support::*;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn exec_sets_the_credentials_removes_the_profile_and_passes_the_exit_code() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let output = env
        .mfad(&["exec", "dev", "--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID $AWS_CREDENTIAL_EXPIRATION $AWS_REGION $AWS_DEFAULT_REGION ${AWS_PROFILE-none} ${#AWS_SESSION_TOKEN} $AWS_ACCOUNT_ID; exit 7"])
        .env("AWS_PROFILE", "dev")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    assert!(sts.is_live_session(fields[0]), "{stdout}");
    assert!(
        humantime::parse_rfc3339(fields[1]).is_ok() && fields[1].ends_with('Z'),
        "{stdout}"
    );
    assert_eq!(&fields[2..5], ["us-east-1", "us-east-1", "none"]);
    assert_ne!(fields[5], "0");
    assert_eq!(fields[6], "123456789012");
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI, boto3 and moto: run tests/run.sh"
)]
fn the_aws_cli_runs_under_exec_with_the_session() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let output = env
        .mfad(&[
            "exec",
            "dev",
            "--",
            AWS_CLI_V2,
            "sts",
            "get-caller-identity",
            "--endpoint-url",
            &sts.url,
        ])
        .output()
        .unwrap();
    assert_success(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("user/alice"));
}

/// SIGTERM sent to `mfad <exec…> sh -c …` reaches the command, whose exit code mfad's is.
pub fn termination_reaches_the_command(env: &TestEnv, exec: &[&str]) {
    let script = "sleep 30 & pid=$!; trap 'kill $pid; exit 42' TERM; echo ready; wait";
    let mut child = env
        .mfad(&[exec, &["sh", "-c", script]].concat())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(42));
}

#[test]
fn signals_reach_the_command() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    termination_reaches_the_command(&env, &["exec", "dev", "--"]);

    let mut child = env
        .mfad(&["exec", "dev", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    // Once mfad has become the command (exec), the signal can only reach the command.
    let comm = format!("/proc/{}/comm", child.id());
    assert!(wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&comm).is_ok_and(|name| name.trim() == "sleep")
    }));
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGINT));
}

#[test]
fn exec_refuses_to_nest_and_names_a_missing_command() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let output = env
        .mfad(&["exec", "dev", "--", MFAD, "exec", "dev", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("mfad exec dev: already inside mfad exec for profile dev"),
        "{error}"
    );

    let output = env
        .mfad(&["exec", "dev", "--", "no-such-command-here"])
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("cannot run no-such-command-here"), "{error}");
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs zsh and fish: run tests/run.sh"
)]
fn env_output_evaluates_in_sh_bash_and_fish() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let expected = env.process("dev")["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let sh = format!(
        "export AWS_PROFILE=dev; eval \"$({MFAD} env dev)\"; echo $AWS_ACCESS_KEY_ID ${{AWS_PROFILE-none}}"
    );
    for shell in ["sh", "bash"] {
        let output = env.command(shell).args(["-c", &sh]).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            format!("{expected} none"),
            "{shell}"
        );
    }
    let fish = format!(
        "set -gx AWS_PROFILE dev; {MFAD} env dev --shell fish | source; echo $AWS_ACCESS_KEY_ID (set -q AWS_PROFILE; and echo set; or echo none)"
    );
    let output = env
        .command("fish")
        .args(["--no-config", "-c", &fish])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("{expected} none"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI: run tests/run.sh"
)]
fn an_mfa_process_that_asks_mfad_for_its_own_session_fails_at_once() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {MFAD} process dev"),
    ));
    env.write_credentials(&alice_credentials());
    let started = Instant::now();
    let error = env.process_error("dev");
    assert!(
        error.contains("asks mfad for credentials that need that same session (a loop)"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    // The same through the AWS CLI's credential_process.
    let cli = format!(
        "{AWS_CLI_V2} sts get-caller-identity --profile dev --endpoint-url {}",
        sts.url
    );
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {cli}"),
    ));
    let error = env.process_error("dev");
    assert!(error.contains("(a loop)"), "{error}");
    assert_eq!(sts.counts().get_session_token, 0);
}
