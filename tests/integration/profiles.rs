//! Short-lived profiles in the shared credentials file (`mfad_write_profile`), read by
//! tools that never run credential_process.

use crate::support::*;
use mfad::config::credfile;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::Duration;

const OUT: &str = "dev-mfa";

/// The user's own credentials file: comments, odd spacing, another profile, the key
/// mfad uses, no final newline.
fn users_file() -> String {
    format!(
        "# my credentials\n\n[base]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n\n; old project\n[legacy]\naws_access_key_id=AKIALEGACY0000000000\n  aws_secret_access_key =   legacy/secret\nregion=eu-west-1"
    )
}

fn writing_env(sts: &sts_double::StsDouble, extra: &str) -> TestEnv {
    let env = alice_env(sts, &format!("mfad_write_profile = {OUT}\n{extra}"));
    env.write_credentials(&users_file());
    env
}

/// Like [`writing_env`], with codes from a TOTP secret of `period`-second steps.
fn writing_env_with_totp(sts: &sts_double::StsDouble, period: u64) -> TestEnv {
    let env = alice_env_with_totp(sts, period, &format!("mfad_write_profile = {OUT}"));
    env.write_credentials(&users_file());
    env
}

fn credentials(env: &TestEnv) -> String {
    std::fs::read_to_string(env.credentials_path()).unwrap()
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI, boto3 and moto: run tests/run.sh"
)]
fn the_aws_cli_and_boto3_read_the_written_profile_and_logout_removes_it() {
    let sts = double_with_alice(30);
    let env = writing_env(&sts, "");
    let handed = env.process("dev");
    let text = credentials(&env);
    assert_eq!(
        credfile::remove(&text, OUT).unwrap().unwrap(),
        users_file(),
        "bytes outside [{OUT}] unchanged"
    );
    assert!(
        text.contains(&format!(
            "expiration = {}\n",
            handed["Expiration"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(handed["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        std::fs::metadata(env.credentials_path()).unwrap().mode() & 0o777,
        0o600
    );

    // No credential_process: the profile exists only in the credentials file.
    let cli = env
        .command(AWS_CLI_V2)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            OUT,
            "--region",
            "us-east-1",
            "--endpoint-url",
            &sts.url,
        ])
        .output()
        .unwrap();
    assert_success(&cli);
    assert!(String::from_utf8_lossy(&cli.stdout).contains("arn:aws:iam::123456789012:user/alice"));
    let script = format!(
        "import boto3\ns = boto3.Session(profile_name='{OUT}', region_name='us-east-1')\nprint(s.get_credentials().access_key)\nprint(s.client('sts', endpoint_url='{}').get_caller_identity()['Arn'])",
        sts.url
    );
    let boto3 = env
        .command("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_success(&boto3);
    let lines: Vec<String> = String::from_utf8_lossy(&boto3.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines[0], handed["AccessKeyId"].as_str().unwrap());
    assert_eq!(lines[1], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(sts.counts().get_session_token, 1, "neither tool ran mfad");

    let status = String::from_utf8(env.run(&["status"], "").stdout).unwrap();
    assert!(
        status.contains(&format!(
            "dev: keeps [{OUT}] in {}",
            env.credentials_path().display()
        )),
        "{status}"
    );

    let out = env.run(&["logout", "dev"], "");
    assert_success(&out);
    assert_eq!(
        credentials(&env),
        users_file(),
        "logout gives back the exact bytes"
    );
}

/// `mfad status` as a person reads it.
fn status(env: &TestEnv) -> String {
    String::from_utf8(env.run(&["status"], "").stdout).unwrap()
}

#[test]
fn a_section_mfad_did_not_write_is_refused_and_left_alone() {
    let sts = double_with_alice(30);
    let env = writing_env(&sts, "");
    let theirs = format!(
        "{}\n[{OUT}]\naws_access_key_id = AKIASTATIC0000000000\naws_secret_access_key = static\n",
        users_file()
    );
    env.write_credentials(&theirs);
    // The session is handed out all the same; the refusal shows in status and the log.
    let handed = env.process("dev");
    assert!(handed["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let status = status(&env);
    assert!(
        status.contains(&format!(
            "writing [{OUT}] failed: [{OUT}] in {} was not written by mfad",
            env.credentials_path().display()
        )),
        "{status}"
    );
    assert!(
        env.daemon_log()
            .contains("rename or remove that section, or set mfad_write_profile to another name"),
        "{}",
        env.daemon_log()
    );
    assert_eq!(credentials(&env), theirs);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn each_renewal_rewrites_the_profile() {
    let sts = double_with_alice(1);
    sts.set_session_lifetime(Some(Duration::from_secs(14 * 60)));
    let env = writing_env_with_totp(&sts, 1);
    for _ in 0..3 {
        let handed = env.process("dev");
        let written = credfile::written_key_id(&credentials(&env), OUT);
        assert_eq!(written.as_deref(), handed["AccessKeyId"].as_str());
    }
    assert_eq!(sts.counts().sessions_issued, 3);
    assert!(
        env.daemon_log().contains("after the renewal"),
        "{}",
        env.daemon_log()
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, the Debian AWS CLI, boto3 and moto: run tests/run.sh"
)]
fn aws_configure_set_and_mfad_renewals_lose_no_finished_edit() {
    let sts = double_with_alice(1);
    sts.set_session_lifetime(Some(Duration::from_secs(14 * 60)));
    let env = writing_env_with_totp(&sts, 1);
    env.process("dev");

    const EDITS: usize = 12;
    let writer = {
        let commands: Vec<_> = (0..EDITS)
            .map(|i| {
                let mut command = env.command(AWS_CLI_V2);
                command
                    .args([
                        "configure",
                        "set",
                        "aws_access_key_id",
                        &format!("AKIAUSER{i:012}"),
                        "--profile",
                        &format!("p{i}"),
                    ])
                    .stdout(Stdio::null());
                command
            })
            .collect();
        std::thread::spawn(move || {
            for mut command in commands {
                assert!(command.status().unwrap().success());
            }
        })
    };
    let mut last_key = String::new();
    while !writer.is_finished() {
        last_key = env.process("dev")["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    writer.join().unwrap();
    assert!(
        sts.counts().sessions_issued >= 3,
        "renewals overlapped the edits: {:?}",
        sts.counts()
    );

    // The watcher puts mfad's section back if a CLI write dropped it.
    let settled = wait_until(Duration::from_secs(5), || {
        credfile::written_key_id(&credentials(&env), OUT).as_deref() == Some(last_key.as_str())
    });
    let text = credentials(&env);
    assert!(settled, "mfad's last write is in place: {text}");
    for i in 0..EDITS {
        assert!(
            text.contains(&format!("[p{i}]")),
            "edit {i} of the CLI was lost: {text}"
        );
        assert!(
            text.contains(&format!("AKIAUSER{i:012}")),
            "edit {i} of the CLI was lost: {text}"
        );
    }
    assert!(text.starts_with("# my credentials\n\n[base]\n"), "{text}");
    assert!(mfad::config::IniFile::parse(&env.credentials_path(), &text).is_ok());
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn killing_the_daemon_while_it_writes_leaves_a_valid_file() {
    let sts = double_with_alice(1);
    sts.set_session_lifetime(Some(Duration::from_secs(14 * 60)));
    let env = writing_env_with_totp(&sts, 1);
    // A large file, so that a write takes long enough to be interrupted.
    let padding: String = (0..200_000)
        .map(|i| format!("# line {i} of the user's notes\n"))
        .collect();
    let original = format!("{padding}{}", users_file());
    env.write_credentials(&original);
    let temporary = format!("{}.mfad-tmp", env.credentials_path().display());
    let mut interrupted = 0;
    for _ in 0..8 {
        let mut client = env
            .mfad(&["process", "dev"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill -9 as soon as the temporary file appears: mid-write, before the rename.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut caught = false;
        while !caught && std::time::Instant::now() < deadline {
            caught = std::path::Path::new(&temporary).exists();
        }
        if env.daemon_pid().is_some() {
            env.kill_daemon();
        }
        interrupted += usize::from(caught);
        let _ = client.wait();
        let text = credentials(&env);
        let users_part = credfile::remove(&text, OUT)
            .unwrap()
            .unwrap_or(text.clone());
        assert_eq!(users_part, original, "the user's bytes survived");
        assert!(mfad::config::IniFile::parse(&env.credentials_path(), &text).is_ok());
    }
    assert!(
        interrupted >= 4,
        "only {interrupted} kills landed mid-write"
    );
    // The next daemon finishes the job and cleans up.
    let handed = env.process("dev");
    assert_eq!(
        credfile::written_key_id(&credentials(&env), OUT).as_deref(),
        handed["AccessKeyId"].as_str()
    );
    assert!(!std::path::Path::new(&temporary).exists());
}

#[test]
fn a_failed_write_leaves_the_old_file_and_says_why() {
    let sts = double_with_alice(30);
    let env = writing_env(&sts, "");
    // The temporary file cannot be created: a directory stands in its place.
    let blocker = format!("{}.mfad-tmp", env.credentials_path().display());
    std::fs::create_dir(&blocker).unwrap();
    std::fs::write(format!("{blocker}/keep"), "").unwrap();
    // A write that fails does not withhold the valid session.
    let handed = env.process("dev");
    assert!(handed["SessionToken"].is_string());
    assert_eq!(credentials(&env), users_file());
    let status = status(&env);
    assert!(
        status.contains(&format!(
            "writing [{OUT}] failed: cannot update {}",
            env.credentials_path().display()
        )),
        "{status}"
    );
    assert!(status.contains("the file was left as it was"), "{status}");
}

/// Makes a directory immutable (`chattr +i`: not even root may add, rename or remove
/// entries in it) for as long as it lives.
struct ReadOnlyDir(std::path::PathBuf);

impl ReadOnlyDir {
    fn new(dir: &std::path::Path) -> Self {
        let made = std::process::Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .expect("chattr (e2fsprogs) makes a directory read-only, even for root");
        assert!(made.success(), "chattr +i {} failed", dir.display());
        Self(dir.to_owned())
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

#[test]
#[cfg_attr(not(feature = "system-tests"), ignore = "needs root: run tests/run.sh")]
fn a_read_only_directory_does_not_withhold_the_session() {
    let sts = double_with_alice(30);
    let env = writing_env(&sts, "");
    let aws_dir = env.credentials_path().parent().unwrap().to_owned();
    let read_only = ReadOnlyDir::new(&aws_dir);
    let handed = env.process("dev");
    assert!(handed["SessionToken"].is_string());
    assert_eq!(credentials(&env), users_file());
    let status = status(&env);
    assert!(
        status.contains(&format!("writing [{OUT}] failed: cannot update")),
        "{status}"
    );
    assert!(
        env.daemon_log()
            .contains(&format!("cannot keep [{OUT}] in")),
        "{}",
        env.daemon_log()
    );
    // Once the directory is writable again, the next request writes the profile.
    drop(read_only);
    let handed = env.process("dev");
    assert_eq!(
        credfile::written_key_id(&credentials(&env), OUT).as_deref(),
        handed["AccessKeyId"].as_str()
    );
    assert!(!status_of_written_errors(&env), "the error was not cleared");
}

fn status_of_written_errors(env: &TestEnv) -> bool {
    status(env).contains("failed:")
}

#[test]
fn the_files_own_mode_is_kept_when_stricter() {
    use std::os::unix::fs::PermissionsExt;
    let sts = double_with_alice(30);
    let env = writing_env(&sts, "");
    let mode = |env: &TestEnv| std::fs::metadata(env.credentials_path()).unwrap().mode() & 0o777;
    std::fs::set_permissions(
        env.credentials_path(),
        std::fs::Permissions::from_mode(0o400),
    )
    .unwrap();
    env.process("dev");
    assert!(credfile::written_key_id(&credentials(&env), OUT).is_some());
    assert_eq!(mode(&env), 0o400, "a stricter mode is kept");
    assert!(env.run(&["logout", "dev"], "").status.success());
    std::fs::set_permissions(
        env.credentials_path(),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    env.process("dev");
    assert_eq!(
        mode(&env),
        0o600,
        "never looser than 0600 with secrets in it"
    );
}

#[test]
fn a_hard_linked_file_is_refused_and_a_symlink_is_written_through() {
    let sts = double_with_alice(30);
    let env = writing_env(&sts, "");
    let other_name = env.dir.path().join("credentials-backup");
    std::fs::hard_link(env.credentials_path(), &other_name).unwrap();
    let handed = env.process("dev");
    assert!(handed["SessionToken"].is_string());
    let status = status(&env);
    assert!(status.contains("has 2 hard links"), "{status}");
    assert!(status.contains("remove the other links"), "{status}");
    assert_eq!(credentials(&env), users_file());
    assert_eq!(std::fs::read_to_string(&other_name).unwrap(), users_file());

    // A symbolic link is followed: the file it names gets the profile (at the next
    // request, as the last write failed), and the link stays a link.
    std::fs::remove_file(env.credentials_path()).unwrap();
    std::os::unix::fs::symlink(&other_name, env.credentials_path()).unwrap();
    let handed = env.process("dev");
    let through = std::fs::read_to_string(&other_name).unwrap();
    assert_eq!(
        credfile::written_key_id(&through, OUT).as_deref(),
        handed["AccessKeyId"].as_str()
    );
    assert!(
        std::fs::symlink_metadata(env.credentials_path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
