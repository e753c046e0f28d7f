//! mfad against an attacker and an unlucky user: another local user posing as the
//! daemon, inputs without bounds, connections without end, a stopped daemon.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The uid the impostor runs as.
const OTHER_UID: u32 = 12345;
const PROXY_PASSWORD: &str = "pr0xy-s3cret";

/// A directory every user may create entries in, like /tmp.
fn shared_tmp(env: &TestEnv) -> PathBuf {
    let shared = env.dir.path().join("shared-tmp");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    // The test's own temporary directory must let the other user through to it.
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    shared
}

/// Another user's process listening on `socket` (its directory made by that user),
/// recording what it receives in `received`.
struct Impostor(Child);

impl Impostor {
    fn start(socket: &Path, received: &Path) -> Self {
        let dir = socket.parent().unwrap();
        let mut child = Command::new("setpriv")
            .args([
                &format!("--reuid={OTHER_UID}"),
                &format!("--regid={OTHER_UID}"),
                "--clear-groups",
                "--",
                "/bin/sh",
                "-c",
                "mkdir -p \"$1\" && chmod 755 \"$1\" && exec /usr/bin/python3 \"$2\" \"$3\" \"$4\"",
                "sh",
            ])
            .arg(dir)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/integration/support/impostor.py"
            ))
            .arg(socket)
            .arg(received)
            .stdout(Stdio::piped())
            .spawn()
            .expect("setpriv (util-linux) runs the impostor as another uid");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "listening", "the impostor did not start");
        Self(child)
    }
}

impl Drop for Impostor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The victim's `mfad process`, with a proxy password in its environment: it must fail
/// and print no credentials. Returns what it said.
fn refused(mut victim: Command) -> String {
    let output = victim
        .env(
            "HTTPS_PROXY",
            format!("http://alice:{PROXY_PASSWORD}@proxy:3128"),
        )
        .output()
        .unwrap();
    assert!(!output.status.success(), "it took the impostor's answer");
    assert!(output.stdout.is_empty(), "credentials were printed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn received(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

#[test]
#[cfg_attr(not(feature = "system-tests"), ignore = "needs root: run tests/run.sh")]
fn a_socket_directory_of_another_user_gets_nothing() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let shared = shared_tmp(&env);
    // Without XDG_RUNTIME_DIR the socket is the predictable $TMPDIR/mfad-$UID/agent.sock,
    // and another user made that directory first.
    let socket = shared.join(format!(
        "mfad-{}/agent.sock",
        rustix::process::getuid().as_raw()
    ));
    let record = shared.join("received");
    let _impostor = Impostor::start(&socket, &record);
    let mut victim = env.mfad(&["process", "dev"]);
    victim.env_remove("XDG_RUNTIME_DIR").env("TMPDIR", &shared);
    let stderr = refused(victim);
    assert!(
        stderr.contains(&format!(
            "the socket directory {} belongs to uid {OTHER_UID}",
            socket.parent().unwrap().display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("mfad sent it nothing"), "{stderr}");
    assert!(stderr.contains("MFAD_SOCKET"), "{stderr}");
    assert!(
        received(&record).is_empty(),
        "the impostor received something"
    );
    // Every client refuses it: status and the prompt too.
    let status = env
        .mfad(&["status"])
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", &shared)
        .output()
        .unwrap();
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("belongs to uid 12345"));
    assert!(
        received(&record).is_empty(),
        "the impostor received something"
    );
}

#[test]
#[cfg_attr(not(feature = "system-tests"), ignore = "needs root: run tests/run.sh")]
fn a_listener_of_another_uid_in_our_own_directory_gets_nothing() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let shared = shared_tmp(&env);
    let theirs = shared.join("theirs/agent.sock");
    let record = shared.join("received");
    let _impostor = Impostor::start(&theirs, &record);
    // Its socket ends up in our private directory, owned by us (as by a mistake of ours
    // or a race): only the peer check stands between the client and the impostor.
    let ours = env.socket();
    std::fs::create_dir_all(ours.parent().unwrap()).unwrap();
    std::fs::set_permissions(
        ours.parent().unwrap(),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    std::fs::rename(&theirs, &ours).unwrap();
    std::os::unix::fs::chown(&ours, Some(0), Some(0)).unwrap();
    let stderr = refused(env.mfad(&["process", "dev"]));
    assert!(
        stderr.contains(&format!(
            "the process listening on {} runs as uid {OTHER_UID}",
            ours.display()
        )),
        "{stderr}"
    );
    assert!(
        received(&record).is_empty(),
        "the impostor received something"
    );
}

/// A FUSE file system whose file `config` hangs on read (tests/integration/support/slow_fs.py).
struct HungFileSystem {
    mountpoint: PathBuf,
    log: PathBuf,
    process: Child,
}

impl HungFileSystem {
    fn mount(dir: &Path) -> Self {
        assert!(
            Path::new("/dev/fuse").exists(),
            "this test needs /dev/fuse (a kernel with FUSE) to play a hung file system"
        );
        let mountpoint = dir.join("hung");
        std::fs::create_dir(&mountpoint).unwrap();
        let log = dir.join("hung.log");
        let process = Command::new("/usr/bin/python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/integration/support/slow_fs.py"
            ))
            .arg(&mountpoint)
            .arg(&log)
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-fusepy (Debian) plays a hung file system");
        let mounted = wait_until(Duration::from_secs(10), || {
            mountpoint.join("config").exists()
        });
        assert!(mounted, "the FUSE file system did not come up");
        Self {
            mountpoint,
            log,
            process,
        }
    }

    fn reads(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for HungFileSystem {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mountpoint)
            .status();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
#[cfg_attr(not(feature = "system-tests"), ignore = "needs root: run tests/run.sh")]
fn a_config_on_a_hung_file_system_fails_its_caller_only_and_the_daemon_still_stops() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    let hung = HungFileSystem::mount(env.dir.path());
    let stuck = hung.mountpoint.join("config");
    let started = Instant::now();
    let waiting = env
        .mfad(&["process", "dev"])
        .env("AWS_CONFIG_FILE", &stuck)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || hung.reads() > 0));
    // While that read hangs, everyone else is served.
    for _ in 0..5 {
        env.process("dev");
    }
    let output = waiting.wait_with_output().unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("reading {}", stuck.display()))
            && stderr.contains("it did not finish within 5s"),
        "{stderr}"
    );
    assert!(stderr.contains("file system"), "{stderr}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    // The same file again fails at once instead of tying up another thread.
    let again = env
        .mfad(&["process", "dev"])
        .env("AWS_CONFIG_FILE", &stuck)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("an earlier attempt is still stuck"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    env.process("dev");
    // Told to stop, the daemon exits although a thread of it is stuck in the kernel.
    let pid = env.daemon_pid().unwrap();
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(
        wait_until(Duration::from_secs(10), || !pid_alive(pid)),
        "the daemon did not exit"
    );
}

#[test]
fn files_without_end_or_writer_are_refused_with_a_clear_error() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    let fifo = env.dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let huge = env.dir.path().join("huge");
    // A 2 GB file (sparse: it takes no disk).
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let cases = [
        (
            "AWS_CONFIG_FILE",
            Path::new("/dev/zero"),
            "larger than 16 MiB",
        ),
        ("AWS_CONFIG_FILE", fifo.as_path(), "a FIFO (named pipe)"),
        ("AWS_CONFIG_FILE", huge.as_path(), "larger than 16 MiB"),
        ("AWS_CONFIG_FILE", env.dir.path(), "a directory"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            Path::new("/dev/zero"),
            "larger than 16 MiB",
        ),
    ];
    for (variable, path, reason) in cases {
        let started = Instant::now();
        let output = env
            .mfad(&["process", "dev"])
            .env(variable, path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{variable}={}", path.display());
        assert!(
            stderr.contains(&format!("cannot read {}: it is", path.display()))
                && stderr.contains(reason),
            "{stderr}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{stderr}");
        // The daemon keeps serving everyone else.
        env.process("dev");
    }
}

#[test]
fn idle_connections_do_not_delay_a_real_request() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.write_daemon_config("max_connections = 16\n");
    env.process("dev");
    // Far more connections than the cap, none of which ever says anything.
    let idle: Vec<UnixStream> = (0..100)
        .map(|_| UnixStream::connect(env.socket()).unwrap())
        .collect();
    let handed = env.process("dev");
    assert!(handed["AccessKeyId"].is_string());
    // The oldest idle connections were closed to make room, with the reason.
    let mut first = BufReader::new(&idle[0]);
    let mut line = String::new();
    first.read_line(&mut line).unwrap();
    assert!(line.contains("its most at once"), "{line}");
}

#[test]
fn past_the_cap_of_busy_connections_the_next_caller_is_told_why() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.write_daemon_config("max_connections = 8\n");
    env.process("dev");
    assert!(env.run(&["logout", "dev"], "").status.success());
    sts.set_latency(Duration::from_secs(4));
    // Eight callers whose request is being worked on (the daemon's keep-alive lines say
    // it has read them): none of them can be closed to make room.
    let busy: Vec<BufReader<UnixStream>> = (0..8).map(|_| credentials_request(&env)).collect();
    for mut caller in busy.into_iter() {
        let mut line = String::new();
        caller.read_line(&mut line).unwrap();
        assert!(line.contains("\"pending\""), "{line}");
    }
    let error = env.process_error("dev");
    assert!(
        error.contains("the mfad daemon is serving 8 connections, its most at once"),
        "{error}"
    );
    assert!(error.contains("max_connections"), "{error}");
}

/// Send a credentials request for `dev` over a connection of the test's own.
fn credentials_request(env: &TestEnv) -> BufReader<UnixStream> {
    use std::io::Write;
    let caller = mfad::protocol::Caller {
        env: [
            ("HOME", env.home()),
            ("AWS_CONFIG_FILE", env.config_path()),
            ("AWS_SHARED_CREDENTIALS_FILE", env.credentials_path()),
        ]
        .into_iter()
        .map(|(name, path)| (name.to_owned(), path.display().to_string()))
        .collect(),
        tty: None,
    };
    let request = mfad::protocol::Request::Credentials {
        profile: "dev".into(),
        caller,
    };
    let mut stream = UnixStream::connect(env.socket()).unwrap();
    stream.write_all(&mfad::protocol::encode(&request)).unwrap();
    BufReader::new(stream)
}

#[test]
fn a_stopped_daemon_makes_clients_fail_within_a_bound() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    let pid = env.daemon_pid().unwrap();
    let _stopped = Stopped::process(pid);
    let started = Instant::now();
    let clients: Vec<(&str, Child)> = [
        vec!["process", "dev"],
        vec!["status"],
        vec!["logout", "dev"],
    ]
    .into_iter()
    .map(|args| {
        let child = env
            .mfad(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (args[0], child)
    })
    .collect();
    for (command, child) in clients {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command}");
        assert!(
            stderr.contains(&format!(
                "the mfad daemon (pid {pid}) on {} did not answer within 10s",
                env.socket().display()
            )),
            "{command}: {stderr}"
        );
        assert!(stderr.contains(&format!("kill -CONT {pid}")), "{stderr}");
    }
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// A process stopped with SIGSTOP until this is dropped (even when the test fails, so
/// that the daemon can then be stopped).
struct Stopped(i32);

impl Stopped {
    fn process(pid: i32) -> Self {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        Self(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, openssl, socat and tinyproxy: run tests/run.sh"
)]
fn no_secret_reaches_the_log_at_any_level() {
    const PROXY_USER: &str = "corp";
    for level in ["trace", "debug", "info"] {
        let sts = double_with_alice(2);
        let env = alice_env_with_totp(
            &sts,
            2,
            "mfad_write_profile = dev-mfa\n\n[profile admin]\nmfad_source_profile = dev\nmfad_role_arn = arn:aws:iam::123456789012:role/admin\nendpoint_url = http://127.0.0.1:1\n",
        );
        // STS is reached through an authenticating proxy (the role through it too).
        let proxy = network::Proxy::start(env.dir.path(), PROXY_USER, PROXY_PASSWORD);
        let config = std::fs::read_to_string(env.config_path())
            .unwrap()
            .replace("http://127.0.0.1:1", &sts.url);
        env.write_config(&config);
        let run = |args: &[&str]| {
            let output = env
                .mfad(args)
                .env("MFAD_LOG", level)
                .env("HTTP_PROXY", proxy.url(PROXY_USER, PROXY_PASSWORD))
                .output()
                .unwrap();
            assert_success(&output);
            output
        };
        let mut secrets = vec![
            SECRET.to_owned(),
            SEED.to_owned(),
            PROXY_PASSWORD.to_owned(),
        ];
        for profile in ["dev", "admin"] {
            let output = run(&["process", profile]);
            let handed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            secrets.push(handed["SecretAccessKey"].as_str().unwrap().to_owned());
            secrets.push(handed["SessionToken"].as_str().unwrap().to_owned());
        }
        run(&["status", "--json"]);
        run(&["logout", "--all"]);
        run(&["process", "dev"]);
        let codes = sts.accepted_codes();
        assert!(codes.len() >= 2, "{codes:?}");
        assert!(
            !proxy.requests().is_empty(),
            "STS was not reached through the proxy"
        );
        let log = env.daemon_log();
        if level != "info" {
            let marker = level.to_uppercase();
            assert!(
                log.lines()
                    .any(|line| line.split_whitespace().take(2).any(|word| word == marker)),
                "no {level} lines in:\n{log}"
            );
        }
        for secret in secrets.iter().chain(&codes) {
            assert!(
                !log.contains(secret.as_str()),
                "{level}: a secret ({}…) reached the log:\n{log}",
                &secret[..3]
            );
        }
    }
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().mode() & 0o7777
}

#[test]
fn mfad_never_changes_the_mode_of_a_directory_it_did_not_create() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    // A socket in the home directory: served, and the home keeps its 0755.
    std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let in_home = env.home().join("x.sock");
    let output = env
        .mfad(&["process", "dev"])
        .env("MFAD_SOCKET", &in_home)
        .output()
        .unwrap();
    assert_success(&output);
    assert_eq!(mode_of(&env.home()), 0o755);
    // A socket in a directory like /tmp: refused, named, and the sticky bit stays.
    let shared = shared_tmp(&env);
    let output = env
        .mfad(&["process", "dev"])
        .env("MFAD_SOCKET", shared.join("x.sock"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        said.contains(&format!("{} can be written by others", shared.display())),
        "{said}"
    );
    assert_eq!(mode_of(&shared), 0o1777);
    assert!(!shared.join("x.sock").exists());
    // The file store's directory, left open to others by someone: refused, kept as it is.
    let data = env.home().join(".local/share/mfad");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let passphrase = env.dir.path().join("passphrase");
    std::fs::write(&passphrase, "long enough passphrase\n").unwrap();
    env.write_daemon_config(&format!(
        "[store]\nbackend = \"file\"\npassphrase_command = \"cat {}\"\n",
        passphrase.display()
    ));
    let output = env.run(&["store", "init"], "");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        said.contains(&format!(
            "store directory {} can be written by others",
            data.display()
        )),
        "{said}"
    );
    assert_eq!(mode_of(&data), 0o777);
    assert!(!data.join("store.age").exists());
}

#[test]
fn no_mfad_process_that_holds_a_secret_leaves_a_core_dump() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let cwd = env.dir.path().join("cores");
    std::fs::create_dir(&cwd).unwrap();
    // SIGQUIT with core dumps allowed leaves ./core here (kernel.core_pattern = core)…
    let control = Command::new("/bin/sh")
        .args(["-c", "ulimit -c unlimited; kill -QUIT $$"])
        .current_dir(&cwd)
        .status()
        .unwrap();
    assert!(!control.success());
    let cores = || {
        std::fs::read_dir(&cwd)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("core"))
            .count()
    };
    assert_eq!(
        cores(),
        1,
        "this machine writes no ./core on SIGQUIT (kernel.core_pattern is {:?}), so the test cannot tell",
        std::fs::read_to_string("/proc/sys/kernel/core_pattern")
    );
    for entry in std::fs::read_dir(&cwd).unwrap().flatten() {
        std::fs::remove_file(entry.path()).unwrap();
    }
    // …but not from `mfad serve`, which holds the endpoint's token and a session.
    let mut serve = env.command("/bin/sh");
    serve
        .args(["-c", "ulimit -c unlimited; exec \"$0\" serve dev", MFAD])
        .current_dir(&cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut serve = serve.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("AWS_CONTAINER_CREDENTIALS_FULL_URI="),
        "{first}"
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", serve.id())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(serve.id() as i32, libc::SIGQUIT) };
    let status = serve.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGQUIT));
    assert_eq!(cores(), 0, "mfad serve dumped core");
}

#[test]
fn an_mfad_process_cannot_be_read_by_other_processes_of_its_user() {
    // `mfad totp add` waits for the secret on stdin, as another uid; a process of that
    // same uid cannot read its memory or environment (PR_SET_DUMPABLE 0).
    let env = TestEnv::new();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let as_other = |program: &str| {
        let mut command = env.command("setpriv");
        command.args([
            &format!("--reuid={OTHER_UID}"),
            &format!("--regid={OTHER_UID}"),
            "--clear-groups",
            "--",
            program,
        ]);
        command
    };
    let mut waiting = as_other(MFAD)
        .args(["totp", "add", "arn:aws:iam::123456789012:mfa/alice"])
        .env("HOME", "/nonexistent")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = waiting.id();
    let reader = |path: &str| {
        as_other("/bin/cat")
            .arg(format!("/proc/{pid}/{path}"))
            .output()
            .unwrap()
    };
    // Wait until mfad runs (not setpriv): its command line names totp.
    assert!(wait_until(Duration::from_secs(5), || {
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
            .contains("totp")
    }));
    assert!(wait_until(Duration::from_secs(5), || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status.contains("State:\tS")
    }));
    let environ = reader("environ");
    assert!(
        !environ.status.success(),
        "another process of the same user read mfad's environment"
    );
    drop(waiting.stdin.take());
    let _ = waiting.kill();
    let _ = waiting.wait();
}
