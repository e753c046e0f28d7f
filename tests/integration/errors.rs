//! What a person sees when the files are wrong: one line, naming the profile and the
//! file and line at fault, and a remedy; never a secret.

use crate::support::*;

fn error_for(config: &str) -> String {
    let env = TestEnv::new();
    env.write_config(config);
    env.write_credentials(&alice_credentials());
    let error = env.process_error("dev");
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(!error.contains(SECRET));
    error.replace(&env.home().display().to_string(), "~")
}

#[test]
fn an_unknown_profile_is_named_with_the_file_and_remedy() {
    let error = error_for(&format!("[profile prod]\nmfa_serial = {SERIAL}\n"));
    assert_eq!(
        error.trim(),
        "mfad process dev: no profile \"dev\" in ~/.aws/config; add [profile dev] with mfa_serial and credential_process = mfad process dev to ~/.aws/config"
    );
}

#[test]
fn a_malformed_line_is_named_by_file_and_line() {
    let error = error_for(&format!(
        "[profile dev]\nmfa_serial = {SERIAL}\n\nregion us-east-1\n"
    ));
    assert!(
        error.contains("~/.aws/config, line 4: expected `key = value`"),
        "{error}"
    );
}

#[test]
fn a_security_key_serial_gets_a_clear_error_not_a_403() {
    let error = error_for(
        "[profile dev]\nmfad_source_profile = base\nmfa_serial = arn:aws:iam::123456789012:u2f/user/alice/yubikey-ABCD\n",
    );
    assert!(
        error.contains("is a security key; AWS accepts security keys only in the console"),
        "{error}"
    );
    assert!(error.contains("line 3"), "{error}");
    assert!(
        error.contains("register a virtual (TOTP) MFA device"),
        "{error}"
    );
}

#[test]
fn an_out_of_range_duration_is_named() {
    let error = error_for(&format!(
        "[profile dev]\nmfad_source_profile = base\nmfa_serial = {SERIAL}\nmfad_session_duration = 48h\n"
    ));
    assert!(
        error.contains("mfad_session_duration = 48h (~/.aws/config, line 4)"),
        "{error}"
    );
    assert!(
        error.contains("STS allows 900 to 129600 seconds"),
        "{error}"
    );
}

#[test]
fn a_missing_serial_and_a_source_loop_are_named() {
    let error = error_for("[profile dev]\nmfad_source_profile = base\n");
    assert!(
        error.contains("profile \"dev\" has no mfa_serial"),
        "{error}"
    );
    let error = error_for(
        "[profile dev]\nmfad_source_profile = other\n[profile other]\nmfad_source_profile = dev\n",
    );
    assert!(
        error.contains("mfad_source_profile goes round in a loop: dev -> other -> dev"),
        "{error}"
    );
}

#[test]
fn a_root_account_session_is_asked_for_one_hour() {
    let sts = double_with_alice(30);
    let root = "arn:aws:iam::123456789012:mfa/root-account-mfa-device";
    sts.add_user(
        "root",
        "AKIADOUBLEROOT000001",
        "root-secret",
        root,
        &totp_uri(30),
    );
    let env = TestEnv::new();
    env.write_config(&format!(
        "[profile dev]\nmfa_serial = {root}\nmfad_source_profile = base\nendpoint_url = {}\nmfa_process = {}\n",
        sts.url,
        code_script(&env, 30)
    ));
    env.write_credentials(
        "[base]\naws_access_key_id = AKIADOUBLEROOT000001\naws_secret_access_key = root-secret\n",
    );
    env.process("dev");
    assert_eq!(sts.last_duration(), Some(3600));
    let status = String::from_utf8(env.run(&["status"], "").stdout).unwrap();
    assert!(
        status.contains("root account sessions last at most 1h; asked for 12h, using 1h"),
        "{status}"
    );
}

#[test]
fn the_fast_path_of_process_and_prompt_leaves_everything_else_to_clap() {
    let env = TestEnv::new();
    let run = |args: &[&str]| env.run(args, "");
    let missing = run(&["process"]);
    assert_eq!(missing.status.code(), Some(2), "clap's usage error");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("<PROFILE>"));
    let extra = run(&["process", "dev", "extra"]);
    assert_eq!(extra.status.code(), Some(2));
    let help = run(&["process", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("credential_process"));
    // The fast path: a profile that does not exist, named as clap would name it.
    let error = env.process_error("nosuch");
    assert!(
        error.starts_with("mfad process nosuch: no profile \"nosuch\""),
        "{error}"
    );
    let prompt = run(&["prompt", "dev"]);
    assert!(prompt.status.success() && prompt.stdout.is_empty());
    assert_eq!(run(&["prompt", "a", "b"]).status.code(), Some(2));
}
