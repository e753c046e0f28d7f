//! The programs the daemon runs for a caller (`store.passphrase_command`, `mfa_process`,
//! `mfad_wrap_process`): answered as soon as they exit whatever they leave in the
//! background, ended with everything they started, and run in the environment of the
//! caller they serve, never in that of the shell that happened to start the daemon.

use crate::support::*;
use std::time::Duration;

/// Live processes whose command line holds `marker` (zombies count as ended).
fn running(marker: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().into_owned();
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let alive = pid_alive(pid.parse().ok()?);
            (alive && cmdline.contains(marker)).then_some(pid)
        })
        .collect()
}

/// A wrapped helper that leaves `background` running with its stdout open (its pid in
/// `NAME.pid`), then prints credentials; its path.
fn helper_leaving(env: &TestEnv, name: &str, background: &str) -> String {
    let path = env.dir.path().join(format!("{name}.sh"));
    let pid = env.dir.path().join(format!("{name}.pid"));
    write_script(
        &path,
        &format!(
            "#!/bin/sh\n({background} & echo $! > {})\nprintf '{{\"Version\":1,\"AccessKeyId\":\"ASIAWRAPPED\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"%s\"}}' \"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"\n",
            pid.display()
        ),
    );
    path.display().to_string()
}

/// The pid a helper recorded in `NAME.pid`: its background child started.
fn recorded_pid(env: &TestEnv, name: &str) -> i32 {
    let recorded = std::fs::read_to_string(env.dir.path().join(format!("{name}.pid")))
        .expect("the helper's background child started");
    recorded.trim().parse().unwrap()
}

fn wrapped(name: &str, command: &str) -> String {
    format!(
        "[profile {name}]\nmfad_wrap_process = {command}\ncredential_process = {MFAD} process {name}\n"
    )
}

#[test]
fn a_helper_is_answered_when_it_exits_and_what_it_left_running_is_ended() {
    let env = TestEnv::new();
    // Waiting for the background child to close stdout would run into sts_timeout.
    env.write_daemon_config("sts_timeout = \"20s\"\n");
    env.write_config(&wrapped("bg", &helper_leaving(&env, "bg", "sleep 130.25")));
    assert_eq!(env.process("bg")["AccessKeyId"], "ASIAWRAPPED");
    let child = recorded_pid(&env, "bg");
    assert!(
        wait_until(Duration::from_secs(5), || !pid_alive(child)),
        "the helper's background child {child} outlived it"
    );
}

#[test]
fn a_helper_that_hangs_is_killed_at_its_bound_with_its_children() {
    let env = TestEnv::new();
    env.write_daemon_config("sts_timeout = \"1s\"\n");
    let path = env.dir.path().join("hangs.sh");
    let pid = env.dir.path().join("hangs.pid");
    write_script(
        &path,
        &format!(
            "#!/bin/sh\nsleep 1000.25 &\necho $! > {}\nsleep 1000.5\necho x\n",
            pid.display()
        ),
    );
    env.write_config(&wrapped("hangs", &path.display().to_string()));
    let error = env.process_error("hangs");
    assert!(error.contains("did not finish within 1s"), "{error}");
    let child = recorded_pid(&env, "hangs");
    assert!(
        wait_until(Duration::from_secs(5), || !pid_alive(child)
            && running("sleep 1000.5").is_empty()),
        "still running: {:?}",
        running("sleep 1000.")
    );
}

#[test]
fn a_passphrase_command_that_leaves_a_child_behind_unlocks_at_once() {
    let sts = double_with_alice(30);
    let env = alice_env_with_file_store(&sts, 30, "");
    let passphrase = env.dir.path().join("passphrase");
    let pid = env.dir.path().join("unlock.pid");
    // Waiting for the child's stdout to close would fail the unlock after 60 s.
    env.write_daemon_config(&format!(
        "[store]\nbackend = \"file\"\npassphrase_command = \"(sleep 130.75 & echo $! > {}); cat {}\"\n",
        pid.display(),
        passphrase.display()
    ));
    let credentials = env.process("dev");
    assert!(credentials["SessionToken"].is_string());
    let child = recorded_pid(&env, "unlock");
    assert!(
        wait_until(Duration::from_secs(5), || !pid_alive(child)),
        "the passphrase command's child {child} outlived it"
    );
}

#[test]
fn a_daemon_started_inside_mfad_exec_keeps_nothing_of_that_shell() {
    let env = TestEnv::new();
    let seen = env.dir.path().join("seen-env");
    let helper = env.dir.path().join("env-helper.sh");
    write_script(
        &helper,
        &format!(
            "#!/bin/sh\nenv > {}\nprintf '{{\"Version\":1,\"AccessKeyId\":\"ASIAWRAPPED\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"%s\"}}' \"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"\n",
            seen.display()
        ),
    );
    let first = helper_leaving(&env, "first", "true");
    env.write_config(&format!(
        "{}{}",
        wrapped("first", &first),
        wrapped("other", &helper.display().to_string())
    ));
    // The shell `mfad exec dev -- bash` leaves: dev's session and the exec mark. The
    // first command run there starts the daemon.
    let leaked = [
        ("AWS_ACCESS_KEY_ID", "ASIALEAKEDFROMDEV"),
        ("AWS_SECRET_ACCESS_KEY", "leaked-secret-of-dev"),
        ("AWS_SESSION_TOKEN", "leaked-token-of-dev"),
        ("MFAD_EXEC", "dev"),
        ("AWS_PROFILE", "dev"),
    ];
    let output = env
        .mfad(&["process", "first"])
        .envs(leaked)
        .output()
        .expect("mfad runs");
    assert_success(&output);
    let daemon = env.daemon_pid().expect("the daemon started");
    let environ = std::fs::read(format!("/proc/{daemon}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
    assert!(environ.contains("HOME="), "{environ}");
    // Another caller's helper, run by that daemon.
    assert_eq!(env.process("other")["AccessKeyId"], "ASIAWRAPPED");
    let helper_env = std::fs::read_to_string(&seen).unwrap();
    assert!(
        helper_env.contains("MFAD_INSIDE=wrap:other"),
        "{helper_env}"
    );
    for (name, value) in leaked {
        assert!(!environ.contains(value), "the daemon has {name}: {environ}");
        assert!(
            !helper_env.contains(&format!("{name}=")),
            "the helper has {name}: {helper_env}"
        );
    }
}
