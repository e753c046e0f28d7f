//! The secret store against gnome-keyring's Secret Service on a private D-Bus bus.

use crate::support::*;
use std::path::Path;

const NEW_KEY_ID: &str = "AKIADOUBLEALICE00002";
const NEW_SECRET: &str = "alice/rotated+secret";

fn store_profile(env: &TestEnv, sts_url: &str) {
    env.write_config(&format!(
        "[profile dev]\nmfa_serial = {SERIAL}\nregion = us-east-1\nendpoint_url = {sts_url}\n"
    ));
}

fn ok(output: std::process::Output) -> String {
    assert_success(&output);
    String::from_utf8(output.stdout).unwrap()
}

fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
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
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn keys_and_totp_secrets_live_in_the_secret_service_and_drive_sessions() {
    let sts = double_with_alice(2);
    sts.add_user(USER, NEW_KEY_ID, NEW_SECRET, SERIAL, &totp_uri(2));
    let env = TestEnv::with_keyring();
    store_profile(&env, &sts.url);

    let added = ok(env.run(&["add", "dev"], &format!("{KEY_ID}\n{SECRET}\n")));
    assert_eq!(
        added.trim(),
        "stored the access key AKIA…0001 of profile dev in the secret store"
    );
    let stored = ok(env.run(&["totp", "add", SERIAL], &format!("{}\n", totp_uri(2))));
    assert!(stored.contains("its current code is"), "{stored}");
    // The code of the step `totp code` ran in (a 2 s step may turn over meanwhile).
    let before = sts.code_now(KEY_ID);
    let shown = ok(env.run(&["totp", "code", SERIAL], "")).trim().to_owned();
    let after = sts.code_now(KEY_ID);
    assert!(
        shown == before || shown == after,
        "{shown} vs {before}/{after}"
    );

    env.process("dev");
    assert_eq!(sts.counts().session_token_signers, [KEY_ID]);
    assert_eq!(env.run(&["status", "--json"], "").status.code(), Some(0));

    // A rotated key replaces the one the daemon cached.
    let rotated = env
        .mfad(&["add", "dev", "--env"])
        .env("AWS_ACCESS_KEY_ID", NEW_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", NEW_SECRET)
        .output()
        .unwrap();
    ok(rotated);
    ok(env.run(&["logout", "dev"], ""));
    env.process("dev");
    assert_eq!(sts.counts().session_token_signers, [KEY_ID, NEW_KEY_ID]);

    // Neither secret was written to a file in plain text (the keyring file is encrypted).
    for secret in [SECRET, NEW_SECRET, SEED] {
        assert_eq!(
            files_containing(env.dir.path(), secret),
            Vec::<String>::new(),
            "{secret}"
        );
    }

    ok(env.run(&["totp", "remove", SERIAL], ""));
    let gone = env.run(&["totp", "code", SERIAL], "");
    assert!(!gone.status.success());
    let error = String::from_utf8_lossy(&gone.stderr);
    assert!(
        error.contains(&format!(
            "no TOTP secret stored for {SERIAL}; store one with `mfad totp add"
        )),
        "{error}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn bad_input_is_refused_and_nothing_is_stored() {
    let env = TestEnv::with_keyring();
    let garbage = env.run(&["totp", "add", SERIAL], "this is not base32!\n");
    assert!(!garbage.status.success());
    let error = String::from_utf8_lossy(&garbage.stderr);
    assert!(
        error.contains("cannot use that TOTP secret") && error.contains("nothing was stored"),
        "{error}"
    );
    assert!(!env.run(&["totp", "code", SERIAL], "").status.success());

    let swapped = env.run(&["add", "dev"], &format!("{SECRET}\n{KEY_ID}\n"));
    assert!(!swapped.status.success());
    let error = String::from_utf8_lossy(&swapped.stderr);
    assert!(
        error.contains("does not look like an AWS access key"),
        "{error}"
    );
    assert!(!error.contains(SECRET), "the secret was echoed: {error}");

    let key = env.run(
        &[
            "totp",
            "add",
            "arn:aws:iam::123456789012:u2f/user/alice/yubikey-ABC",
        ],
        SEED,
    );
    assert!(
        String::from_utf8_lossy(&key.stderr).contains("is a security key"),
        "{key:?}"
    );
}

#[test]
fn without_a_secret_service_add_creates_the_file_store_before_the_key_is_typed() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    store_profile(&env, &sts.url);
    // Without any store, no key is stored: the remedy is to store one.
    let error = env.process_error("dev");
    assert!(
        error.starts_with("mfad process dev: no long-term access key stored for profile dev"),
        "{error}"
    );
    assert!(error.contains("`mfad add dev`"), "{error}");

    // The store comes first: the first two lines are the new store's passphrase, so a
    // key typed as the old order asked for it is refused before it is taken as a key.
    let add = env.run(&["add", "dev"], &format!("{KEY_ID}\n{SECRET}\n"));
    assert!(!add.status.success());
    let error = String::from_utf8_lossy(&add.stderr);
    assert!(
        error.contains("no session bus for a Secret Service"),
        "{error}"
    );
    assert!(error.contains("passphrases differ"), "{error}");
    assert!(!error.contains(SECRET));
    assert!(!env.store_file().exists());

    let typed = format!("{STORE_PASSPHRASE}\n{STORE_PASSPHRASE}\n{KEY_ID}\n{SECRET}\n");
    let add = env.run(&["add", "dev"], &typed);
    assert_success(&add);
    assert!(String::from_utf8_lossy(&add.stdout).contains("created the file store"));
    // Now it exists, it is opened (passphrase once) rather than created again.
    let totp = env.run(
        &["totp", "add", SERIAL],
        &format!("{STORE_PASSPHRASE}\n{SEED}\n"),
    );
    assert_success(&totp);

    let passphrase = env.dir.path().join("passphrase");
    std::fs::write(&passphrase, STORE_PASSPHRASE).unwrap();
    env.write_daemon_config(&format!(
        "[store]\npassphrase_command = \"cat {}\"\n",
        passphrase.display()
    ));
    env.stop_daemon(); // the daemon of the first request read config.toml without it
    env.process("dev");
    assert_eq!(sts.counts().sessions_issued, 1);
}

/// Lock the login collection of the test's keyring (no prompt: locking needs none).
fn lock_the_keyring(env: &TestEnv) {
    let locked = std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", env.bus_address())
        .output()
        .unwrap();
    assert_success(&locked);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_locked_keyring_is_reported_as_locked_not_as_a_missing_secret() {
    let sts = double_with_alice(2);
    let env = alice_env_with_totp(&sts, 2, "");
    lock_the_keyring(&env);
    let error = env.process_error("dev");
    assert!(error.contains("the secret store is locked"), "{error}");
    assert!(
        error.contains("its TOTP secret could not be read"),
        "{error}"
    );
    assert!(error.contains("unlock your keyring"), "{error}");
    assert_eq!(sts.counts().get_session_token, 0);
    let code = env.run(&["totp", "code", SERIAL], "");
    let error = String::from_utf8_lossy(&code.stderr);
    assert!(error.contains("the secret store is locked"), "{error}");
    let add = env.run(&["add", "dev"], &format!("{KEY_ID}\n{SECRET}\n"));
    let error = String::from_utf8_lossy(&add.stderr);
    assert!(error.contains("the secret store is locked"), "{error}");
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_daemon_started_without_a_bus_uses_the_bus_of_a_later_caller() {
    let sts = double_with_alice(2);
    let env = alice_env_with_totp(&sts, 2, "");
    let script = code_script(&env, 2);
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {script}"),
    ));
    // The first caller (a cron job, an SSH session) has no session bus: its code comes
    // from mfa_process, and the daemon it starts has no bus either.
    let first = env
        .mfad(&["process", "dev"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    assert_success(&first);
    let status = |env: &TestEnv| -> serde_json::Value {
        serde_json::from_slice(&env.run(&["status", "--json"], "").stdout).unwrap()
    };
    assert_eq!(status(&env)["sessions"][0]["code_source"], "mfa_process");
    ok(env.run(&["logout", "dev"], ""));
    // A caller with the bus: the same daemon reads the TOTP secret from its keyring.
    env.process("dev");
    assert_eq!(status(&env)["sessions"][0]["code_source"], "totp");
}

/// `mfad store status`, and how long deciding took.
fn store_status(env: &TestEnv, bus: Option<&str>) -> (String, std::time::Duration) {
    let mut command = env.mfad(&["store", "status"]);
    match bus {
        Some(bus) => command.env("DBUS_SESSION_BUS_ADDRESS", bus),
        None => command.env_remove("DBUS_SESSION_BUS_ADDRESS"),
    };
    let started = std::time::Instant::now();
    let output = command.output().unwrap();
    let took = started.elapsed();
    assert_success(&output);
    (String::from_utf8(output.stdout).unwrap(), took)
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs dbus-daemon and gnome-keyring: run tests/run.sh"
)]
fn auto_decides_within_three_seconds_whatever_the_bus_does() {
    use std::time::Duration;
    let env = TestEnv::with_keyring().with_file_store();
    env.write_daemon_config("store = \"auto\"\n");
    // A keyring on the bus: the Secret Service.
    let (said, took) = store_status(&env, Some(env.bus_address()));
    assert!(said.contains("Secret Service: on"), "{said}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // No bus at all.
    let (said, took) = store_status(&env, None);
    assert!(said.contains("Secret Service: no session bus"), "{said}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A bus without a provider.
    let bare = BareBus::start();
    let (said, took) = store_status(&env, Some(&bare.address));
    assert!(said.contains("Secret Service: none on"), "{said}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A bus that does not answer at all (its daemon stopped).
    let stopped = BareBus::start();
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(stopped.pid() as i32, libc::SIGSTOP) };
    let (said, took) = store_status(&env, Some(&stopped.address));
    // SAFETY: as above.
    unsafe { libc::kill(stopped.pid() as i32, libc::SIGCONT) };
    assert!(said.contains("Secret Service: none on"), "{said}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs dbus-daemon and gnome-keyring: run tests/run.sh"
)]
fn a_daemon_without_a_secret_service_uses_the_file_store_and_says_so() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "");
    env.write_daemon_config(&format!(
        "[store]\nbackend = \"auto\"\npassphrase_command = \"cat {}\"\n",
        env.dir.path().join("passphrase").display()
    ));
    let bare = BareBus::start();
    let output = env
        .mfad(&["process", "dev"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bare.address)
        .output()
        .unwrap();
    assert_success(&output);
    let status = String::from_utf8(env.run(&["status"], "").stdout).unwrap();
    assert!(status.contains("store: auto: file store"), "{status}");
    assert!(status.contains("(unlocked)"), "{status}");
    assert!(
        env.daemon_log().contains("has no a Secret Service")
            || env.daemon_log().contains("has no Secret Service"),
        "{}",
        env.daemon_log()
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs dbus-daemon and gnome-keyring: run tests/run.sh"
)]
fn a_secret_service_that_never_answers_fails_within_a_bound_and_is_named() {
    let sts = double_with_alice(2);
    let env = alice_env_with_totp(&sts, 2, "");
    let provider = env.keyring().provider_pid();
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(provider as i32, libc::SIGSTOP) };
    let started = std::time::Instant::now();
    let error = env.process_error("dev");
    let took = started.elapsed();
    // SAFETY: as above.
    unsafe { libc::kill(provider as i32, libc::SIGCONT) };
    assert!(took < std::time::Duration::from_secs(12), "{took:?}");
    assert!(error.contains("secret store"), "{error}");
}
