//! The encrypted file store, and sessions that outlive the daemon: restarts, kill -9,
//! logout, a passphrase typed once, migration between stores, a suspend.

use crate::support::*;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn status_json(env: &TestEnv) -> serde_json::Value {
    serde_json::from_slice(&env.run(&["status", "--json"], "").stdout).unwrap()
}

fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn sessions_from_the_file_store_outlive_a_kill_and_logout_all_restores_nothing() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "mfad_write_profile = dev-mfa\n");
    // The long-term key in the store too, for a second profile.
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str(&format!(
        "[profile stored]\nmfa_serial = {SERIAL}\nregion = us-east-1\nendpoint_url = {}\n",
        sts.url
    ));
    env.write_config(&config);
    assert_success(&env.run(&["add", "stored"], &format!("{KEY_ID}\n{SECRET}\n")));
    let first = env.process("dev");
    let stored = env.process("stored");
    assert_eq!(
        sts.counts().get_session_token,
        1,
        "one MFA session for both"
    );
    let status = status_json(&env);
    assert!(
        status["store"].as_str().unwrap().starts_with("file store"),
        "{status}"
    );

    env.kill_daemon();
    let again = env.process("dev");
    assert_eq!(again["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(env.process("stored")["AccessKeyId"], stored["AccessKeyId"]);
    assert_eq!(
        sts.counts().get_session_token,
        1,
        "no STS call after the restart"
    );
    assert!(
        env.daemon_log().contains("loaded 1 saved sessions"),
        "{}",
        env.daemon_log()
    );
    // The written profile is kept again, and `mfad prompt` knows the session.
    let status = status_json(&env);
    assert_eq!(
        status["sessions"][0]["written_profiles"][0]["section"],
        "dev-mfa"
    );
    let prompt = env.run(&["prompt", "dev"], "");
    assert!(String::from_utf8_lossy(&prompt.stdout).starts_with("dev 11h"));

    // Nothing of a session, key or TOTP secret is on disk in plaintext, in the home, the
    // runtime directory or the log (the written profile holds the temporary credentials
    // by design).
    std::fs::remove_file(env.credentials_path()).unwrap();
    for secret in [
        SECRET,
        SEED,
        STORE_PASSPHRASE,
        first["SecretAccessKey"].as_str().unwrap(),
        first["SessionToken"].as_str().unwrap(),
    ] {
        let mut found = files_containing(env.home().parent().unwrap(), secret);
        // The file the test's passphrase_command reads.
        found.retain(|path| !path.ends_with("/passphrase"));
        assert!(found.is_empty(), "{found:?}");
    }
    env.write_credentials(&alice_credentials());

    assert_success(&env.run(&["logout", "--all"], ""));
    env.kill_daemon();
    let fresh = env.process("dev");
    assert_ne!(fresh["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(
        sts.counts().get_session_token,
        2,
        "logout --all restores nothing"
    );
}

#[test]
fn a_wrong_passphrase_is_named_and_changes_nothing() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "");
    let before = std::fs::read(env.store_file()).unwrap();
    std::fs::write(env.dir.path().join("passphrase"), "not it\n").unwrap();
    let error = env.process_error("dev");
    assert!(
        error.contains("printed a passphrase that does not open"),
        "{error}"
    );
    assert!(error.contains("passphrase_command"), "{error}");
    assert_eq!(std::fs::read(env.store_file()).unwrap(), before);
    let code = env.run(&["totp", "code", SERIAL], "");
    assert!(String::from_utf8_lossy(&code.stderr).contains("does not open"));
}

#[test]
fn the_passphrase_is_asked_once_on_the_terminal_and_never_shown() {
    let sts = double_with_alice(2);
    let env = TestEnv::new().with_file_store();
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    assert_success(&env.run(&["totp", "add", SERIAL], &totp_uri(2)));
    // From now on the passphrase must be typed.
    env.write_daemon_config("store = \"file\"\n");
    let (child, mut pty) = env.process_on_a_terminal("dev");
    assert!(
        pty.expect("Passphrase of mfad's file store", Duration::from_secs(10)),
        "{:?}\n{}",
        pty.seen,
        env.daemon_log()
    );
    pty.type_line("wrong one");
    assert!(
        pty.expect("Wrong passphrase (2 tries left)", Duration::from_secs(15)),
        "{:?}",
        pty.seen
    );
    pty.type_line(STORE_PASSPHRASE);
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    assert!(
        !pty.seen.contains(STORE_PASSPHRASE),
        "the passphrase was echoed"
    );
    assert!(!pty.seen.contains("wrong one"), "the passphrase was echoed");
    // Unlocked once per daemon start: the next callers, without a terminal, are served.
    assert!(env.run(&["logout", "dev"], "").status.success());
    env.process("dev");
}

#[test]
fn without_anyone_to_ask_the_locked_file_store_says_what_to_do() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "");
    env.write_daemon_config("store = \"file\"\n");
    let started = Instant::now();
    let error = env.process_error("dev");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(error.contains("the file store is locked"), "{error}");
    assert!(
        error.contains("passphrase_command") && error.contains("terminal"),
        "{error}"
    );
}

#[test]
fn a_new_passphrase_replaces_the_old_and_the_daemon_keeps_working() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "");
    env.process("dev");
    let passphrase = env.dir.path().join("passphrase");
    let config = env.home().join(".config/mfad/config.toml");
    // passwd reads the old passphrase from the command, the new one twice from stdin.
    env.write_daemon_config("store = \"file\"\n");
    let changed = env.run(
        &["store", "passwd"],
        &format!("{STORE_PASSPHRASE}\nthe new passphrase\nthe new passphrase\n"),
    );
    assert_success(&changed);
    std::fs::write(&passphrase, "the new passphrase\n").unwrap();
    std::fs::write(
        &config,
        format!(
            "[store]\nbackend = \"file\"\npassphrase_command = \"cat {}\"\n",
            passphrase.display()
        ),
    )
    .unwrap();
    assert_success(&env.run(&["totp", "code", SERIAL], ""));
    assert_success(&env.run(&["logout", "dev"], ""));
    env.process("dev");
    std::fs::write(&passphrase, format!("{STORE_PASSPHRASE}\n")).unwrap();
    let old = env.run(&["totp", "code", SERIAL], "");
    let said = String::from_utf8_lossy(&old.stderr);
    assert!(said.contains("does not open"), "{said}");
}

#[test]
fn a_store_write_killed_half_way_leaves_the_old_or_the_new_store() {
    let env = TestEnv::new().with_file_store();
    let serial = |n: usize| format!("arn:aws:iam::123456789012:mfa/user{n}");
    assert_success(&env.run(&["totp", "add", &serial(0)], &format!("{SEED}\n")));
    let temporary = format!("{}.mfad-tmp", env.store_file().display());
    let mut interrupted = 0;
    for round in 1..=8 {
        let mut writer = env
            .mfad(&["totp", "add", &serial(round)])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        writer
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{SEED}\n").as_bytes())
            .unwrap();
        // Kill -9 as soon as the temporary file appears: mid-write, before the rename.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut caught = false;
        while !caught && Instant::now() < deadline && writer.try_wait().unwrap().is_none() {
            caught = std::path::Path::new(&temporary).exists();
        }
        let _ = writer.kill();
        let _ = writer.wait();
        interrupted += usize::from(caught);
        // Whatever happened, the store opens and holds what was written before.
        assert_success(&env.run(&["totp", "code", &serial(0)], ""));
    }
    assert!(
        interrupted >= 3,
        "only {interrupted} kills landed mid-write"
    );
    // The next write cleans up after the killed ones.
    assert_success(&env.run(&["totp", "add", &serial(9)], &format!("{SEED}\n")));
    assert_success(&env.run(&["totp", "code", &serial(9)], ""));
}

/// Callers started at once.
fn callers(env: &TestEnv, count: usize) -> Vec<Child> {
    (0..count)
        .map(|_| {
            env.mfad(&["process", "dev"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

#[test]
fn fifty_callers_at_a_restart_get_the_restored_session() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "");
    let first = env.process("dev");
    env.kill_daemon();
    for caller in callers(&env, 50) {
        let output = caller.wait_with_output().unwrap();
        assert_success(&output);
        let handed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(handed["AccessKeyId"], first["AccessKeyId"]);
    }
    assert_eq!(sts.counts().get_session_token, 1);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI and boto3: run tests/run.sh"
)]
fn the_aws_cli_and_boto3_are_served_from_restored_sessions() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "");
    env.process("dev");
    env.kill_daemon();
    let cli = env
        .command(AWS_CLI_V2)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "dev",
            "--endpoint-url",
            &sts.url,
        ])
        .output()
        .unwrap();
    assert_success(&cli);
    let boto3 = env
        .command("python3")
        .args(["-c", "import boto3, os; print(boto3.Session(profile_name='dev').client('sts', endpoint_url=os.environ['STS']).get_caller_identity()['Arn'])"])
        .env("STS", &sts.url)
        .output()
        .unwrap();
    assert_success(&boto3);
    assert_eq!(
        sts.counts().get_session_token,
        1,
        "both used the restored session"
    );
    assert_eq!(sts.counts().get_caller_identity, 2);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn sessions_in_the_secret_service_outlive_a_kill_too() {
    let sts = double_with_alice(2);
    let env = alice_env_with_totp(&sts, 2, "");
    let first = env.process("dev");
    env.kill_daemon();
    assert_eq!(env.process("dev")["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(sts.counts().get_session_token, 1);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn migrating_to_the_file_store_and_back_moves_every_entry() {
    let sts = double_with_alice(2);
    let env = alice_env_with_totp(&sts, 2, "");
    assert_success(&env.run(&["add", "other"], &format!("{KEY_ID}\n{SECRET}\n")));
    env.process("dev");
    let passphrase = env.dir.path().join("passphrase");
    std::fs::write(&passphrase, format!("{STORE_PASSPHRASE}\n")).unwrap();
    let command = format!("passphrase_command = \"cat {}\"\n", passphrase.display());
    env.write_daemon_config(&format!("[store]\nbackend = \"auto\"\n{command}"));
    let moved = env.run(&["store", "migrate", "--to", "file"], "");
    assert_success(&moved);
    let said = String::from_utf8_lossy(&moved.stdout);
    assert!(said.contains("moved 3 entries"), "{said}");
    env.write_daemon_config(&format!("[store]\nbackend = \"file\"\n{command}"));
    assert_success(&env.run(&["totp", "code", SERIAL], ""));
    env.stop_daemon();
    env.process("dev");
    assert_eq!(sts.counts().get_session_token, 1, "the session moved too");
    // And back again.
    let back = env.run(&["store", "migrate", "--to", "secret-service"], "");
    assert_success(&back);
    assert!(String::from_utf8_lossy(&back.stdout).contains("moved 3 entries"));
    env.write_daemon_config(&format!("[store]\nbackend = \"secret-service\"\n{command}"));
    assert_success(&env.run(&["totp", "code", SERIAL], ""));
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_migration_killed_half_way_loses_nothing_and_finishes_when_run_again() {
    let env = TestEnv::with_keyring();
    for i in 0..40 {
        let serial = format!("arn:aws:iam::123456789012:mfa/user{i}");
        assert_success(&env.run(&["totp", "add", &serial], &format!("{SEED}\n")));
    }
    let passphrase = env.dir.path().join("passphrase");
    std::fs::write(&passphrase, format!("{STORE_PASSPHRASE}\n")).unwrap();
    let command = format!("passphrase_command = \"cat {}\"\n", passphrase.display());
    env.write_daemon_config(&format!("[store]\nbackend = \"auto\"\n{command}"));
    let mut migration = env
        .mfad(&["store", "migrate", "--to", "file"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the file store holds some of the entries, while it still runs.
    let store = env.store_file();
    let partly = wait_until(Duration::from_secs(30), || {
        std::fs::metadata(&store).is_ok_and(|m| m.len() > 3000)
    });
    assert!(partly, "the file store never got its first entries");
    assert!(
        migration.try_wait().unwrap().is_none(),
        "the migration finished before it could be killed half-way"
    );
    let _ = migration.kill();
    let _ = migration.wait();
    let finished = env.run(&["store", "migrate", "--to", "file"], "");
    assert_success(&finished);
    env.write_daemon_config(&format!("[store]\nbackend = \"file\"\n{command}"));
    for i in 0..40 {
        let serial = format!("arn:aws:iam::123456789012:mfa/user{i}");
        assert_success(&env.run(&["totp", "code", &serial], ""));
    }
}

/// libfaketime (Debian `faketime`), multi-threaded flavour.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs libfaketime: run tests/run.sh"
)]
fn after_a_suspend_longer_than_the_session_a_real_daemon_renews_at_once() {
    assert!(
        std::path::Path::new(LIBFAKETIME).exists(),
        "needs {LIBFAKETIME}"
    );
    let sts = double_with_alice(10);
    let env = alice_env_with_file_store(&sts, 10, "");
    let offset = env.dir.path().join("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    let faked = |args: &[&str]| {
        let mut command = env.mfad(args);
        command
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME_TIMESTAMP_FILE", &offset)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        command
    };
    // A daemon started by a client keeps none of libfaketime's variables: start it here.
    let _daemon = start_daemon_from(&env, faked(&["daemon"]));
    let process = || {
        let output = faked(&["process", "dev"]).output().unwrap();
        assert_success(&output);
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let first = process();
    // The machine sleeps 13 hours: the daemon's wall clock and STS's move on together.
    const SUSPEND: i64 = 13 * 3600;
    sts.set_clock_skew(SUSPEND);
    std::fs::write(&offset, format!("+{SUSPEND}\n")).unwrap();
    // Renewal ahead catches up at its first look after the resume, with no caller.
    assert!(
        wait_until(Duration::from_secs(10), || sts.counts().sessions_issued
            == 2),
        "{}",
        env.daemon_log()
    );
    assert!(
        env.daemon_log().contains("ahead of time"),
        "{}",
        env.daemon_log()
    );
    // And the first caller gets that new session, never the expired one.
    let after = process();
    assert_ne!(after["AccessKeyId"], first["AccessKeyId"]);
    let (before, now) = (
        first["Expiration"].as_str().unwrap(),
        after["Expiration"].as_str().unwrap(),
    );
    assert!(now > before, "{now} is not after {before}");
    assert_eq!(sts.counts().sessions_issued, 2, "{}", env.daemon_log());
    assert_eq!(sts.counts().reused_codes + sts.counts().wrong_codes, 0);
}

#[test]
fn without_a_terminal_the_passphrase_is_asked_through_pinentry_once() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "");
    let pinentry = env.dir.path().join("pinentry");
    let asked = env.dir.path().join("asked");
    write_script(
        &pinentry,
        &format!(
            "#!/bin/sh\necho 'OK pinentry for tests'\nwhile read -r command rest; do\n  case $command in\n    SETDESC) echo \"$rest\" >> {asked}; echo OK;;\n    GETPIN) echo 'D {STORE_PASSPHRASE}'; echo OK;;\n    BYE) echo OK; exit 0;;\n    *) echo OK;;\n  esac\ndone\n",
            asked = asked.display()
        ),
    );
    env.write_daemon_config(&format!(
        "store = \"file\"\n[prompt]\ndriver = \"pinentry\"\npinentry = \"{}\"\n",
        pinentry.display()
    ));
    for caller in callers(&env, 10) {
        assert_success(&caller.wait_with_output().unwrap());
    }
    let questions = std::fs::read_to_string(&asked).unwrap();
    assert_eq!(questions.lines().count(), 1, "asked once: {questions}");
    assert!(questions.contains("Passphrase of mfad"), "{questions}");
}
