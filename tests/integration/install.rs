//! contrib/install.sh: adds the profile, stores the key, starts the daemon with a session.

use crate::support::*;
use std::io::Write;
use std::process::Stdio;

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
