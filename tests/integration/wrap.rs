//! `mfad_wrap_process`: another credential helper run by the daemon, once for all
//! concurrent callers, its output kept until 15 minutes before it expires.

use crate::support::*;

/// A helper that counts its runs in `runs`, takes a moment, and prints credentials that
/// last `lifetime` (a `date -d` offset); its path.
fn counting_helper(env: &TestEnv, name: &str, lifetime: &str) -> String {
    let runs = env.dir.path().join(format!("{name}.runs"));
    let path = env.dir.path().join(format!("{name}.sh"));
    write_script(
        &path,
        &format!(
            "#!/bin/sh\necho run >> {runs}\nsleep 0.3\nn=$(wc -l < {runs} | tr -d ' ')\nprintf '{{\"Version\":1,\"AccessKeyId\":\"ASIAWRAPPED%s\",\"SecretAccessKey\":\"wrapped-secret\",\"SessionToken\":\"wrapped-token\",\"Expiration\":\"%s\",\"AccountId\":\"210987654321\"}}' \"$n\" \"$(date -u -d '+{lifetime}' +%Y-%m-%dT%H:%M:%SZ)\"\n",
            runs = runs.display()
        ),
    );
    path.display().to_string()
}

fn runs(env: &TestEnv, name: &str) -> usize {
    std::fs::read_to_string(env.dir.path().join(format!("{name}.runs")))
        .map_or(0, |text| text.lines().count())
}

fn wrapped_profile(name: &str, command: &str) -> String {
    format!(
        "[profile {name}]\nmfad_wrap_process = {command}\nregion = eu-west-1\ncredential_process = {MFAD} process {name}\n"
    )
}

#[test]
fn concurrent_callers_share_one_run_kept_until_15_minutes_before_it_expires() {
    let env = TestEnv::new();
    let long = counting_helper(&env, "long", "1 hour");
    let short = counting_helper(&env, "short", "10 minutes");
    env.write_config(&format!(
        "{}{}",
        wrapped_profile("long", &long),
        wrapped_profile("short", &short)
    ));
    let outputs: Vec<serde_json::Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| env.process("long")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(runs(&env, "long"), 1, "one run for twenty callers");
    assert!(outputs.iter().all(|o| o == &outputs[0]));
    assert_eq!(outputs[0]["AccessKeyId"], "ASIAWRAPPED1");
    assert_eq!(outputs[0]["SessionToken"], "wrapped-token");
    assert_eq!(outputs[0]["AccountId"], "210987654321");
    assert_eq!(env.process("long")["AccessKeyId"], "ASIAWRAPPED1");
    assert_eq!(runs(&env, "long"), 1, "kept");

    // Ten minutes left is inside the 15 the SDKs keep in hand: not kept.
    env.process("short");
    assert_eq!(env.process("short")["AccessKeyId"], "ASIAWRAPPED2");
    assert_eq!(runs(&env, "short"), 2);

    // Logout drops it; exec hands it out too.
    assert_success(&env.run(&["logout", "long"], ""));
    let exec = env
        .mfad(&[
            "exec",
            "long",
            "--",
            "sh",
            "-c",
            "echo $AWS_ACCESS_KEY_ID $AWS_REGION",
        ])
        .output()
        .unwrap();
    assert_success(&exec);
    assert_eq!(
        String::from_utf8_lossy(&exec.stdout),
        "ASIAWRAPPED2 eu-west-1\n"
    );
    assert_eq!(runs(&env, "long"), 2);
}

#[test]
fn a_helper_that_prints_garbage_fails_hangs_or_loops_is_named() {
    let env = TestEnv::new();
    env.write_daemon_config("sts_timeout = \"1s\"\n");
    let profiles = [
        ("garbage", "echo not-json-$((40 + 2))"),
        ("failing", "exit 3"),
        ("hanging", "sleep 30"),
        (
            "static",
            "echo '{\"Version\":1,\"AccessKeyId\":\"AKIA1\",\"SecretAccessKey\":\"s\"}'",
        ),
        ("loopy", &format!("{MFAD} process loopy")),
    ];
    let config: String = profiles
        .iter()
        .map(|(name, command)| wrapped_profile(name, command))
        .collect();
    env.write_config(&config);
    let expected = [
        (
            "garbage",
            "printed something that is not credential_process JSON",
        ),
        ("failing", "exited with exit status: 3"),
        ("hanging", "did not finish within 1s"),
        (
            "static",
            "printed no SessionToken: mfad hands out temporary credentials only",
        ),
        // The inner call is refused at once instead of waiting on the outer one.
        ("loopy", "exited with exit status: 1"),
    ];
    for ((name, command), (_, said)) in profiles.iter().zip(expected) {
        let error = env.process_error(name);
        assert!(
            error.contains(&format!("mfad_wrap_process `{command}` {said}"))
                && error.contains("run the command yourself"),
            "{name}: {error}"
        );
        assert!(!error.contains("not-json-42"), "{error}");
    }
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI: run tests/run.sh"
)]
fn the_aws_cli_uses_a_wrapped_helper() {
    // The helper here is mfad itself for another profile: any credential_process will do.
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str(&format!(
        "[profile wrapped]\nmfad_wrap_process = {MFAD} process dev\nregion = us-east-1\nendpoint_url = {}\ncredential_process = {MFAD} process wrapped\n",
        sts.url
    ));
    env.write_config(&config);
    let cli = env
        .command(AWS_CLI_V2)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "wrapped",
            "--query",
            "Arn",
            "--output",
            "text",
            "--endpoint-url",
            &sts.url,
        ])
        .output()
        .unwrap();
    assert_success(&cli);
    assert_eq!(
        String::from_utf8_lossy(&cli.stdout).trim(),
        "arn:aws:iam::123456789012:user/alice"
    );
    assert_eq!(sts.counts().get_session_token, 1);
}
