//! The daemon as a process: its socket, lock, peers, messages, signals and versions.

use crate::support::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `mfad daemon` run in the foreground; stopped and reaped when dropped.
fn send_raw(env: &TestEnv, bytes: &[u8]) -> serde_json::Value {
    let mut stream = UnixStream::connect(env.socket()).unwrap();
    stream.write_all(bytes).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

#[test]
fn socket_directory_and_files_are_private() {
    let env = TestEnv::new();
    let _daemon = start_daemon(&env);
    assert_eq!(mode(&env.runtime_dir().join("mfad")), 0o700);
    assert_eq!(mode(&env.socket()), 0o600);
    assert_eq!(mode(&env.lock_file()), 0o600);
}

const NOBODY: u32 = 65534;

/// Connect to a socket as uid nobody with the system python, print what comes back.
fn connect_as_nobody(socket: &std::path::Path) -> std::process::Output {
    let script = "import socket, sys\n\
        s = socket.socket(socket.AF_UNIX)\n\
        try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print('refused:', e.strerror); sys.exit(0)\n\
        s.sendall(b'{\"protocol\":1,\"mfad\":\"x\",\"body\":{\"type\":\"status\"}}\\n')\n\
        print(s.makefile().readline())";
    Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(socket)
        .uid(NOBODY)
        .gid(NOBODY)
        .current_dir("/")
        .output()
        .unwrap()
}

#[test]
#[cfg_attr(not(feature = "system-tests"), ignore = "needs root: run tests/run.sh")]
fn another_uid_cannot_reach_the_socket_directory() {
    let env = TestEnv::new();
    let _daemon = start_daemon(&env);
    let output = connect_as_nobody(&env.socket());
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("refused: Permission denied"),
        "{output:?}"
    );
}

#[test]
#[cfg_attr(not(feature = "system-tests"), ignore = "needs root: run tests/run.sh")]
fn another_uid_is_refused_by_the_peer_check() {
    // A socket anyone can open, so only the peer-credential check stands in the way.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let socket = dir.path().join("open.sock");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(async { tokio::net::UnixListener::bind(&socket) })
        .unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(mfad::daemon::server::run(listener, async {
        let _ = stopped.await;
    }));

    for _ in 0..20 {
        let output = connect_as_nobody(&socket);
        let answer = String::from_utf8_lossy(&output.stdout);
        assert!(
            answer.contains("serves uid 0 only"),
            "{answer}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // Our own uid is served by the same listener.
    let mut stream = UnixStream::connect(&socket).unwrap();
    stream
        .write_all(&mfad::protocol::encode(&mfad::protocol::Request::Ping))
        .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    assert!(line.contains("\"pong\""), "{line}");
    let _ = stop.send(());
    runtime.block_on(server).unwrap();
}

#[test]
fn garbled_and_oversized_messages_are_answered_and_the_daemon_keeps_serving() {
    let env = TestEnv::new();
    let _daemon = start_daemon(&env);
    let garbled = send_raw(&env, b"hello there\n");
    assert_eq!(garbled["body"]["type"], "error");
    assert_eq!(garbled["body"]["kind"], "bad_message");
    assert!(
        garbled["body"]["message"]
            .as_str()
            .unwrap()
            .contains("garbled message")
    );

    let oversized = send_raw(&env, &vec![b'x'; 70 * 1024]);
    assert!(
        oversized["body"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 65536 bytes")
    );

    let future = send_raw(
        &env,
        b"{\"protocol\":99,\"mfad\":\"9.0.0\",\"body\":{\"type\":\"warp\"}}\n",
    );
    assert_eq!(future["body"]["kind"], "version_mismatch");
    assert!(
        future["body"]["message"]
            .as_str()
            .unwrap()
            .contains("mfad 9.0.0 (protocol 99)")
    );

    let status = env.run(&["status"], "");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("no sessions"),
        "{status:?}"
    );
}

#[test]
fn only_one_daemon_runs_per_socket() {
    let env = TestEnv::new();
    let _first = start_daemon(&env);
    let second = env.mfad(&["daemon"]).output().unwrap();
    assert!(!second.status.success());
    let error = String::from_utf8_lossy(&second.stderr);
    let pid = env.daemon_pid().unwrap();
    assert!(
        error.contains(&format!("another mfad daemon (pid {pid}) already serves")),
        "{error}"
    );
}

#[test]
fn a_stale_socket_is_cleaned_up() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.socket().parent().unwrap()).unwrap();
    std::fs::set_permissions(
        env.socket().parent().unwrap(),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    // A socket file whose listener is gone, as a crashed daemon leaves it.
    drop(std::os::unix::net::UnixListener::bind(env.socket()).unwrap());
    assert!(UnixStream::connect(env.socket()).is_err());
    let sts = double_with_alice(30);
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {}", code_script(&env, 30)),
    ));
    env.write_credentials(&alice_credentials());
    env.process("dev");
    assert!(
        env.daemon_log().contains("removed a stale socket"),
        "{}",
        env.daemon_log()
    );
}

#[test]
fn sigterm_and_sigint_stop_the_daemon_and_remove_the_socket() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let env = TestEnv::new();
        let mut daemon = start_daemon(&env);
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(daemon.0.id() as i32, signal) };
        let status = daemon.0.wait().unwrap();
        assert!(status.success(), "{status:?}");
        assert!(!env.socket().exists(), "the socket was removed");
    }
}

#[test]
fn a_daemon_whose_socket_was_removed_stops() {
    let env = TestEnv::new();
    let mut daemon = start_daemon(&env);
    std::fs::remove_file(env.socket()).unwrap();
    let mut exit = None;
    // It looks every 5 s; a loaded machine may take a few more to stop it.
    wait_until(Duration::from_secs(30), || {
        exit = daemon.0.try_wait().unwrap();
        exit.is_some()
    });
    let exit = exit.expect("the daemon kept running without its socket");
    assert!(exit.success(), "it stopped cleanly: {exit:?}");
}

#[test]
fn the_daemon_cannot_dump_core() {
    let env = TestEnv::new();
    let _daemon = start_daemon(&env);
    let limits =
        std::fs::read_to_string(format!("/proc/{}/limits", env.daemon_pid().unwrap())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
}

/// A daemon of another version: holds the lock like mfad, answers in protocol 99.
const FAKE_OLD_DAEMON: &str = r#"
import fcntl, os, socket, sys
lock = open(sys.argv[2], 'a+')
fcntl.flock(lock, fcntl.LOCK_EX)
lock.truncate(0); lock.write(f"{os.getpid()}\n"); lock.flush()
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1]); server.listen()
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    conn.makefile().readline()
    conn.sendall(b'{"protocol":99,"mfad":"9.9.9","body":{"type":"pong","pid":1}}\n')
    conn.close()
"#;

#[test]
fn a_daemon_of_another_version_is_noticed_and_replaced() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {}", code_script(&env, 30)),
    ));
    env.write_credentials(&alice_credentials());
    std::fs::create_dir_all(env.socket().parent().unwrap()).unwrap();
    let mut fake = Command::new("python3")
        .args(["-c", FAKE_OLD_DAEMON])
        .arg(env.socket())
        .arg(env.lock_file())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(fake.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let fake_pid = env.daemon_pid().unwrap();

    let output = env.run(&["process", "dev"], "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{}", env.daemon_log());
    assert!(
        stderr.contains("the other side is mfad 9.9.9 (protocol 99)"),
        "{stderr}"
    );
    assert!(stderr.contains("restarting the daemon"), "{stderr}");
    assert!(fake.wait().is_ok());
    assert_ne!(env.daemon_pid(), Some(fake_pid));
}

#[test]
fn no_secret_reaches_the_daemon_log_or_stderr() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {}", code_script(&env, 30)),
    ));
    env.write_credentials(&alice_credentials());
    let creds = env.process("dev");
    env.run(&["status"], "");
    env.run(&["status", "--json"], "");
    let log = env.daemon_log();
    assert!(log.contains("new MFA session"), "{log}");
    for secret in [
        SECRET,
        creds["SecretAccessKey"].as_str().unwrap(),
        creds["SessionToken"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

#[test]
fn a_relative_mfad_socket_is_taken_from_the_callers_directory() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {}", code_script(&env, 30)),
    ));
    env.write_credentials(&alice_credentials());
    let work = env.dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    // A name of this test's own, so that nothing else could have made /NAME.
    let name = format!(
        "sockets-{}",
        env.dir.path().file_name().unwrap().to_string_lossy()
    );
    let relative = format!("{name}/agent.sock");
    let in_work = |args: &[&str]| {
        env.mfad(args)
            .env("MFAD_SOCKET", &relative)
            .current_dir(&work)
            .output()
            .unwrap()
    };
    let output = in_work(&["process", "dev"]);
    assert_success(&output);
    // The daemon (which runs in /) listens where the client looked, and nowhere else.
    let socket = work.join(&relative);
    assert!(UnixStream::connect(&socket).is_ok());
    assert!(!std::path::Path::new("/").join(&name).exists());
    let status = String::from_utf8(in_work(&["status"]).stdout).unwrap();
    assert!(status.contains("dev"), "{status}");
    let pid = std::fs::read_to_string(work.join(format!("{relative}.lock"))).unwrap();
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(pid.trim().parse().unwrap(), libc::SIGTERM) };
}

#[test]
fn a_socket_path_too_long_for_the_kernel_is_refused_at_once() {
    let env = TestEnv::new();
    let long = env.dir.path().join("d".repeat(120)).join("agent.sock");
    for args in [&["process", "dev"][..], &["status"], &["daemon"]] {
        let output = env.mfad(args).env("MFAD_SOCKET", &long).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr.contains("bytes long; Unix sockets allow at most 107"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("set MFAD_SOCKET to a shorter path"),
            "{stderr}"
        );
    }
    // Nothing was left behind: no directory, no daemon.
    assert!(!long.parent().unwrap().exists());
}

fn rss_file_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Once it settles after its start and first renewal, the daemon hands back the code
/// pages serving does not use (its file-backed RSS falls), and serves on from the pages
/// it faults back in.
#[test]
fn a_settled_daemon_hands_back_its_start_pages_and_serves_on() {
    let sts = double_with_alice(2);
    let env = alice_env_with_file_store(&sts, 2, "");
    env.process("dev");
    let pid = env.daemon_pid().unwrap();
    let started = rss_file_kib(pid);
    assert!(
        wait_until(Duration::from_secs(30), || env
            .daemon_log()
            .contains("settled: handed back")),
        "{}",
        env.daemon_log()
    );
    let settled = rss_file_kib(pid);
    assert!(
        settled < started,
        "RssFile {started} KiB, then {settled} KiB"
    );
    env.process("dev");
    assert_eq!(sts.counts().sessions_issued, 1);
}
