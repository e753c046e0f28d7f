//! contrib/install.sh and `mfad setup`: the profile added, the store chosen (and the file
//! store created) before any secret is asked, the key and the TOTP secret asked only when
//! they are not stored, the daemon started with a session.

use crate::support::*;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn the_install_script_sets_up_a_profile_and_starts_the_daemon() {
    let sts = double_with_alice(30);
    let env = TestEnv::with_keyring();
    env.write_config("# my settings\n[default]\nregion = eu-west-1\n");
    assert!(env.run(&["totp", "add", SERIAL], SEED).status.success());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/install.sh");
    let mut child = env
        .command(script)
        .args(["dev", SERIAL])
        .env("MFAD_BIN", MFAD)
        .env("AWS_ENDPOINT_URL_STS", &sts.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{KEY_ID}\n{SECRET}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("added [profile dev]"), "{stdout}");
    assert!(
        stdout.contains(
            "the TOTP secret of arn:aws:iam::123456789012:mfa/alice is stored already; kept"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("totp"),
        "status shows the session: {stdout}"
    );
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        config.starts_with("# my settings\n[default]\nregion = eu-west-1\n"),
        "{config}"
    );
    assert!(
        config.contains(&format!("credential_process = {MFAD} process dev")),
        "{config}"
    );
    assert_eq!(sts.counts().sessions_issued, 1);
}

const ASKED_WITHIN: Duration = Duration::from_secs(20);

/// No Secret Service: the file store is created (passphrase twice) before the key and
/// the TOTP secret are asked, on the person's terminal, and they then drive a session.
#[test]
fn setup_without_a_secret_service_creates_the_file_store_before_asking_any_secret() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    let mut command = env.mfad(&["setup", "dev", "--serial", SERIAL]);
    let mut terminal = pty::Pty::attach(&mut command).for_stdio(&mut command);
    let mut setup = command.spawn().unwrap();
    for (question, answer) in [
        ("New passphrase of mfad's file store", STORE_PASSPHRASE),
        ("The same passphrase again", STORE_PASSPHRASE),
        ("Access key ID of dev", KEY_ID),
        ("Secret access key", SECRET),
        ("TOTP secret of", SEED),
    ] {
        assert!(
            terminal.expect(question, ASKED_WITHIN),
            "not asked {question:?} next: {}",
            terminal.seen
        );
        terminal.type_line(answer);
    }
    assert!(setup.wait().unwrap().success(), "{}", terminal.seen);
    assert!(
        terminal.seen.contains("no Secret Service") || terminal.seen.contains("no session bus"),
        "says why the file store: {}",
        terminal.seen
    );
    assert!(env.store_file().exists());
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        config.contains(&format!("mfa_serial = {SERIAL}"))
            && config.contains(&format!("credential_process = {MFAD} process dev")),
        "{config}"
    );

    // The daemon opens the store with the passphrase typed, and derives the code.
    std::fs::write(env.dir.path().join("passphrase"), STORE_PASSPHRASE).unwrap();
    env.write_daemon_config(&format!(
        "[store]\npassphrase_command = \"cat {}\"\n",
        env.dir.path().join("passphrase").display()
    ));
    let output = env
        .mfad(&["process", "dev"])
        .env("AWS_ENDPOINT_URL_STS", &sts.url)
        .output()
        .unwrap();
    assert_success(&output);
    assert_eq!(sts.counts().sessions_issued, 1);
}

/// What is stored already is kept and not asked again: a second setup reads nothing.
#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn setup_asks_only_for_what_is_not_stored() {
    let sts = double_with_alice(30);
    let env = TestEnv::with_keyring();
    env.write_config(&format!(
        "[profile dev]\nmfa_serial = {SERIAL}\nregion = us-east-1\nendpoint_url = {}\n",
        sts.url
    ));
    let first = env.run(&["setup", "dev"], &format!("{KEY_ID}\n{SECRET}\n\n"));
    assert_success(&first);
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(said.contains("has [profile dev] already"), "{said}");
    assert!(said.contains("no TOTP secret stored"), "{said}");

    let seed_file = env.dir.path().join("seed.txt");
    std::fs::write(&seed_file, format!("{SEED}\n")).unwrap();
    let file = seed_file.display().to_string();
    let second = env.run(&["setup", "dev", "--totp-file", &file], "");
    assert_success(&second);
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("stored already; kept"), "{said}");
    assert!(said.contains("stored the TOTP secret"), "{said}");

    let third = env.run(&["setup", "dev"], "");
    assert_success(&third);
    let said = String::from_utf8_lossy(&third.stdout);
    assert_eq!(said.matches("stored already; kept").count(), 2, "{said}");
    env.process("dev");
    assert_eq!(sts.counts().sessions_issued, 1);
}

#[test]
fn setup_of_a_profile_not_in_the_config_needs_its_device() {
    let env = TestEnv::new().with_file_store();
    let output = env.run(&["setup", "dev"], "");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("has no [profile dev]"), "{error}");
    assert!(error.contains("`mfad setup dev --serial"), "{error}");
    let missing = env.run(
        &[
            "setup",
            "dev",
            "--serial",
            SERIAL,
            "--totp-file",
            "/nonexistent/seed",
        ],
        &format!("{KEY_ID}\n{SECRET}\n"),
    );
    let error = String::from_utf8_lossy(&missing.stderr);
    assert!(
        error.contains("cannot read the TOTP secret from /nonexistent/seed"),
        "{error}"
    );
}
