//! Running as a service: the systemd units (verified, and socket activation exercised with
//! systemd-socket-activate), the launchd agent and XDG autostart entry, the daemon's
//! settings check, and shell completions.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

fn contrib(path: &str) -> String {
    format!("{}/contrib/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// The units as a user installs them, with ExecStart pointing at the mfad under test.
fn installed_units(env: &TestEnv) -> std::path::PathBuf {
    let units = env.dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let service = std::fs::read_to_string(contrib("systemd/mfad.service")).unwrap();
    assert!(
        service.contains("ExecStart=%h/.local/bin/mfad daemon"),
        "{service}"
    );
    std::fs::write(
        units.join("mfad.service"),
        service.replace("%h/.local/bin/mfad", MFAD),
    )
    .unwrap();
    std::fs::copy(contrib("systemd/mfad.socket"), units.join("mfad.socket")).unwrap();
    units
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs systemd: run tests/run.sh"
)]
fn the_systemd_units_verify() {
    let env = TestEnv::new();
    let units = installed_units(&env);
    let verify = |units: &std::path::Path| {
        env.command("systemd-analyze")
            .args(["verify", "--user", "--man=no"])
            .arg(units.join("mfad.socket"))
            .arg(units.join("mfad.service"))
            .output()
            .unwrap()
    };
    let output = verify(&units);
    assert_success(&output);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The check would notice a broken unit.
    let socket = std::fs::read_to_string(units.join("mfad.socket")).unwrap();
    std::fs::write(
        units.join("mfad.socket"),
        socket.replace("ListenStream", "ListenStreem"),
    )
    .unwrap();
    assert!(!verify(&units).status.success());
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs systemd: run tests/run.sh"
)]
fn the_daemon_serves_a_socket_passed_by_systemd() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let dir = env.socket().parent().unwrap().to_owned();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // systemd-socket-activate listens, and on the first connection starts mfad with the
    // listening socket as fd 3 (LISTEN_FDS=1), as mfad.socket does.
    let mut activator = env
        .command("systemd-socket-activate")
        .arg("--listen")
        .arg(env.socket())
        .args([MFAD, "daemon"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || env
        .socket()
        .exists()));
    let creds = env.process("dev");
    assert!(sts.is_live_session(creds["AccessKeyId"].as_str().unwrap()));
    env.process("dev");
    assert_eq!(sts.counts().get_session_token, 1);

    // The daemon runs in the activator's place (it execs) and says where its socket came from.
    let log = BufReader::new(activator.stderr.take().unwrap());
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(activator.id() as i32, libc::SIGTERM) };
    let lines: Vec<String> = log.lines().map_while(Result::ok).collect();
    assert!(activator.wait().unwrap().success());
    assert!(
        lines
            .iter()
            .any(|l| l.contains("using the socket systemd passed")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("removed a stale socket")),
        "{lines:?}"
    );
    assert!(
        env.socket().exists(),
        "the socket belongs to systemd and stays"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs desktop-file-utils: run tests/run.sh"
)]
fn the_launchd_agent_and_the_autostart_entry_are_well_formed() {
    let check = Command::new("desktop-file-validate")
        .arg(contrib("autostart/mfad.desktop"))
        .output()
        .expect("desktop-file-validate (Debian package desktop-file-utils) is installed");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(
        check.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let script = "import plistlib, sys\nplist = plistlib.load(open(sys.argv[1], 'rb'))\nprint(plist['Label'], ' '.join(plist['ProgramArguments']), plist['RunAtLoad'])";
    let parsed = Command::new("python3")
        .args(["-c", script, &contrib("launchd/io.github.mfad.plist")])
        .output()
        .unwrap();
    assert_success(&parsed);
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        "io.github.mfad /usr/local/bin/mfad daemon True"
    );
}

#[test]
fn a_bad_setting_stops_the_daemon_with_its_line() {
    let env = TestEnv::new();
    env.write_daemon_config("log_level = \"info\"\n[notifications]\nexpiry_lead = \"soon\"\n");
    let config = env.home().join(".config/mfad/config.toml");
    for args in [&["daemon", "--check-config"][..], &["daemon"][..]] {
        let output = env.mfad(args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains(&format!(
                "{}, line 3: notifications.expiry_lead: not a duration",
                config.display()
            )),
            "{error}"
        );
    }
    assert!(
        !env.socket().exists(),
        "no daemon started with a bad setting"
    );
    env.write_daemon_config("renew_before = \"30m\"\n[prompt]\ndriver = \"none\"\n");
    let output = env.mfad(&["daemon", "--check-config"]).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert_success(&output);
    assert!(
        report.contains(": OK")
            && report.contains("renew_before = 30m")
            && report.contains("prompt.driver = None"),
        "{report}"
    );
}

#[test]
fn under_systemd_log_lines_leave_the_time_to_the_journal() {
    let env = TestEnv::new();
    let mut daemon = env
        .mfad(&["daemon"])
        .env("JOURNAL_STREAM", "8:12345")
        .env_remove("MFAD_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(daemon.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    daemon.wait().unwrap();
    assert!(
        first.starts_with(" INFO mfad ") || first.starts_with("INFO mfad "),
        "{first:?}"
    );
    assert!(first.contains("listening on"), "{first:?}");
    assert!(!first.contains('\u{1b}'), "no colour codes: {first:?}");
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs zsh and fish: run tests/run.sh"
)]
fn completions_load_in_bash_zsh_and_fish() {
    let env = TestEnv::new();
    let script = |shell: &str| {
        let path = env.dir.path().join(format!("mfad.{shell}"));
        let output = env.mfad(&["completions", shell]).output().unwrap();
        assert!(output.status.success());
        std::fs::write(&path, output.stdout).unwrap();
        path.display().to_string()
    };
    let bash = env
        .command("bash")
        .args([
            "-c",
            &format!("source {}; COMP_WORDS=(mfad pro); COMP_CWORD=1; _mfad mfad pro mfad; echo ${{COMPREPLY[@]}}", script("bash")),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&bash.stdout).trim(),
        "process prompt",
        "{bash:?}"
    );

    let fish = env
        .command("fish")
        .args([
            "--no-config",
            "-c",
            &format!("source {}; complete -C 'mfad pro'", script("fish")),
        ])
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&fish.stdout);
    assert!(
        offered.contains("process") && offered.contains("prompt"),
        "{offered}"
    );

    let zsh = env
        .command("zsh")
        .args([
            "-f",
            "-c",
            &format!(
                "autoload -Uz compinit && compinit -u && source {} && whence -w _mfad",
                script("zsh")
            ),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&zsh.stdout).contains("_mfad: function"),
        "{zsh:?}"
    );
}
