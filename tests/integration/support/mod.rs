//! What every integration test needs: an isolated home, socket and (when asked) a
//! Secret Service of its own, the STS double, and a pseudo-terminal for prompts.

#![allow(dead_code)]

pub mod http;
pub mod moto;
pub mod network;
pub mod notifications;
pub mod pty;
pub mod signin_double;
pub mod sso_double;
pub mod sts_double;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const MFAD: &str = env!("CARGO_BIN_EXE_mfad");

/// The Debian AWS CLI v2 (a PyPI `aws` v1 may come first on PATH).
pub const AWS_CLI_V2: &str = "/usr/bin/aws";

/// The test user of the STS double.
pub const USER: &str = "alice";
pub const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";
pub const KEY_ID: &str = "AKIADOUBLEALICE00001";
pub const SECRET: &str = "alice/long+term=secret";
/// Base32 seed of alice's virtual MFA device.
pub const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

pub fn totp_uri(period: u64) -> String {
    format!("otpauth://totp/AWS:alice?secret={SEED}&period={period}")
}

/// A private D-Bus session bus with an unlocked gnome-keyring Secret Service on it.
pub struct Keyring {
    pub bus_address: String,
    keyring: Child,
    /// Dropped after the keyring (fields drop in order).
    bus: BareBus,
}

impl Keyring {
    pub fn start(home: &Path, runtime_dir: &Path) -> Self {
        let bus = BareBus::start();
        let address = bus.address.clone();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", runtime_dir)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (Debian package gnome-keyring) is installed");
        keyring
            .stdin
            .take()
            .unwrap()
            .write_all(b"test-password")
            .unwrap();
        let ready = wait_until(Duration::from_secs(10), || {
            Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
        });
        assert!(ready, "gnome-keyring did not come up on {address}");
        Self {
            bus_address: address,
            keyring,
            bus,
        }
    }
}

impl Keyring {
    /// The pid of gnome-keyring-daemon (to stop it, as a provider that never answers).
    pub fn provider_pid(&self) -> u32 {
        self.keyring.id()
    }
}

/// A private D-Bus session bus with nothing on it.
pub struct BareBus {
    pub address: String,
    bus: Child,
}

impl BareBus {
    pub fn start() -> Self {
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) is installed");
        let mut address = String::new();
        let mut stdout = bus.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            address.push(byte[0] as char);
        }
        Self { address, bus }
    }

    pub fn pid(&self) -> u32 {
        self.bus.id()
    }
}

impl Drop for BareBus {
    fn drop(&mut self) {
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
    }
}

/// Check that a command succeeded; show what it said on stderr otherwise.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Poll `check` until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// An X server (Xvfb) on a display of its own. It listens on an abstract socket only:
/// parallel tests starting and stopping servers once clobbered each other's socket files
/// in /tmp/.X11-unix (zenity then could not open a display xdotool had just reached).
pub struct Display {
    pub name: String,
    server: Child,
}

impl Display {
    pub fn start() -> Self {
        let mut server = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
                "-nolisten",
                "unix",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (Debian package xvfb) is installed");
        let mut number = String::new();
        let mut stdout = server.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            number.push(byte[0] as char);
        }
        let display = Self {
            name: format!(":{}", number.trim()),
            server,
        };
        let ready = wait_until(Duration::from_secs(10), || {
            !display.xdotool(&["getdisplaygeometry"]).trim().is_empty()
        });
        assert!(ready, "Xvfb {} does not accept clients", display.name);
        display
    }

    /// Run xdotool on this display; returns its stdout.
    pub fn xdotool(&self, args: &[&str]) -> String {
        let output = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.name)
            .output()
            .expect("xdotool is installed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The windows named exactly `name`, once there is one (none if `limit` passes
    /// first). One xdotool waits, polling on its own connection: a new client connecting
    /// every few milliseconds made Xvfb refuse one in about eight of the dialogs (zenity:
    /// "cannot open display"), measured by launching zenity beside such a loop.
    pub fn wait_for_windows(&self, name: &str, limit: Duration) -> Vec<String> {
        let output = Command::new("timeout")
            .arg(limit.as_secs().max(1).to_string())
            .args([
                "xdotool",
                "search",
                "--sync",
                "--name",
                &format!("^{name}$"),
            ])
            .env("DISPLAY", &self.name)
            .output()
            .expect("xdotool is installed");
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// The windows whose name is exactly `name`.
    pub fn windows_named(&self, name: &str) -> Vec<String> {
        self.xdotool(&["search", "--name", &format!("^{name}$")])
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb clean up after itself (its lock file); SIGKILL would not.
        // SAFETY: kill(2) on the pid of a child this value owns and has not reaped.
        unsafe { libc::kill(self.server.id() as i32, libc::SIGTERM) };
        let _ = self.server.wait();
    }
}

/// `dbus-monitor` watching Notify calls on a bus, its output kept for the test to read.
pub struct Monitor {
    process: Child,
    output: PathBuf,
}

impl Monitor {
    pub fn notify_calls(bus_address: &str, output: PathBuf) -> Self {
        let file = fs::File::create(&output).unwrap();
        let process = Command::new("dbus-monitor")
            .args(["--address", bus_address])
            .arg("type='method_call',interface='org.freedesktop.Notifications',member='Notify'")
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (Debian package dbus) is installed");
        // dbus-monitor is watching once it has printed its NameAcquired signal.
        wait_until(Duration::from_secs(5), || {
            fs::read_to_string(&output).is_ok_and(|text| text.contains("NameAcquired"))
        });
        Self { process, output }
    }

    pub fn seen(&self) -> String {
        fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// An isolated user: home, AWS files, runtime dir (hence socket), optional keyring.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    keyring: Option<Keyring>,
    /// The X display the user's commands see, if any.
    display: Option<String>,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("home/.aws")).unwrap();
        let run = dir.path().join("run");
        fs::create_dir_all(&run).unwrap();
        fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).unwrap();
        Self {
            dir,
            keyring: None,
            display: None,
        }
    }

    /// Give the user's commands a desktop: `DISPLAY` of this X server.
    pub fn on_display(mut self, display: &Display) -> Self {
        self.display = Some(display.name.clone());
        self
    }

    /// The keyring of a `TestEnv::with_keyring`.
    pub fn keyring(&self) -> &Keyring {
        self.keyring.as_ref().expect("a TestEnv::with_keyring")
    }

    /// The private session bus (with the keyring on it).
    pub fn bus_address(&self) -> &str {
        &self
            .keyring
            .as_ref()
            .expect("a TestEnv::with_keyring")
            .bus_address
    }

    /// The daemon's own settings file.
    pub fn write_daemon_config(&self, text: &str) {
        let dir = self.home().join(".config/mfad");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.toml"), text).unwrap();
    }

    pub fn with_keyring() -> Self {
        let mut env = Self::new();
        env.keyring = Some(Keyring::start(&env.home(), &env.runtime_dir()));
        env
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime_dir().join("mfad/agent.sock")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.runtime_dir().join("mfad/agent.sock.lock")
    }

    pub fn daemon_log(&self) -> String {
        fs::read_to_string(self.runtime_dir().join("mfad/agent.sock.log")).unwrap_or_default()
    }

    /// The user's record of MFA codes sent to STS, shared by all their daemons.
    pub fn used_codes_file(&self) -> PathBuf {
        self.home().join(".local/state/mfad/used-codes.json")
    }

    pub fn config_path(&self) -> PathBuf {
        self.home().join(".aws/config")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.home().join(".aws/credentials")
    }

    pub fn write_config(&self, text: &str) {
        fs::write(self.config_path(), text).unwrap();
    }

    pub fn write_credentials(&self, text: &str) {
        fs::write(self.credentials_path(), text).unwrap();
    }

    /// A command in this user's environment only, in a session of its own (so no
    /// controlling terminal: nobody can be asked unless a test gives it a pty).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("AWS_CONFIG_FILE", self.config_path())
            .env("AWS_SHARED_CREDENTIALS_FILE", self.credentials_path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("MFAD_LOG", "debug")
            .stdin(Stdio::null());
        if let Some(keyring) = &self.keyring {
            command.env("DBUS_SESSION_BUS_ADDRESS", &keyring.bus_address);
        }
        if let Some(display) = &self.display {
            command.env("DISPLAY", display).env("NO_AT_BRIDGE", "1");
        }
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        command
    }

    pub fn mfad(&self, args: &[&str]) -> Command {
        let mut command = self.command(MFAD);
        command.args(args);
        command
    }

    /// Run mfad to completion, feeding `stdin`.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .mfad(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // mfad may refuse its arguments and exit before reading stdin: a broken pipe then
        // is the expected outcome, not a failure of the test.
        let fed = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        if let Err(error) = fed {
            assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
        }
        child.wait_with_output().unwrap()
    }

    /// `mfad process PROFILE` started with a pseudo-terminal as its controlling terminal,
    /// where a person could be asked; stdout and stderr piped.
    pub fn process_on_a_terminal(&self, profile: &str) -> (Child, pty::Pty) {
        let mut command = self.mfad(&["process", profile]);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let pty = pty::Pty::attach(&mut command);
        (command.spawn().unwrap(), pty)
    }

    /// `mfad process PROFILE`, parsed; panics with stderr on failure.
    pub fn process(&self, profile: &str) -> serde_json::Value {
        let output = self.run(&["process", profile], "");
        assert!(
            output.status.success(),
            "mfad process {profile} failed: {}\ndaemon log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.daemon_log()
        );
        serde_json::from_slice(&output.stdout).expect("credential_process JSON")
    }

    /// `mfad process PROFILE` expected to fail; returns its stderr.
    pub fn process_error(&self, profile: &str) -> String {
        let output = self.run(&["process", profile], "");
        assert!(
            !output.status.success(),
            "mfad process {profile} unexpectedly succeeded"
        );
        assert!(output.stdout.is_empty());
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// The pid of the daemon serving this environment: the pid in its lock file, while a
    /// daemon holds that lock (a dead daemon's pid may belong to another process by now).
    pub fn daemon_pid(&self) -> Option<i32> {
        let lock = fs::File::open(self.lock_file()).ok()?;
        if lock.try_lock_shared().is_ok() {
            return None;
        }
        fs::read_to_string(self.lock_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn stop_daemon(&self) {
        if let Some(pid) = self.daemon_pid() {
            self.signal_and_wait_until_gone(pid, libc::SIGTERM);
        }
    }

    /// Kill the daemon as a crash would, and wait until it is gone.
    pub fn kill_daemon(&self) {
        let pid = self.daemon_pid().expect("a daemon runs");
        assert!(self.signal_and_wait_until_gone(pid, libc::SIGKILL));
    }

    /// Whether the daemon ended within 5 s. The leader thread turns zombie before the
    /// other threads let go of the shared file table; until then the listening socket
    /// still accepts, and the next caller would be reset, so wait for the socket too.
    fn signal_and_wait_until_gone(&self, pid: i32, signal: libc::c_int) -> bool {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(pid, signal) };
        let socket = self.socket();
        wait_until(Duration::from_secs(5), || {
            !pid_alive(pid) && std::os::unix::net::UnixStream::connect(&socket).is_err()
        })
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.stop_daemon();
    }
}

pub fn pid_alive(pid: i32) -> bool {
    // A zombie still answers kill(0); look at its state instead.
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// A daemon the test runs in the foreground; stopped when dropped.
pub struct Foreground(pub Child);

impl Drop for Foreground {
    fn drop(&mut self) {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// Run `mfad daemon` in the foreground and wait until it listens.
pub fn start_daemon(env: &TestEnv) -> Foreground {
    start_daemon_from(env, env.mfad(&["daemon"]))
}

/// Run a prepared `mfad daemon` command (its own variables, say), logging where a daemon
/// started by a client would, and wait until it listens.
pub fn start_daemon_from(env: &TestEnv, mut command: Command) -> Foreground {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(env.runtime_dir().join("mfad"))
        .unwrap();
    let log = fs::File::create(env.runtime_dir().join("mfad/agent.sock.log")).unwrap();
    let child = command.stderr(log).spawn().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(env.socket()).is_ok()
        }),
        "the daemon did not start"
    );
    Foreground(child)
}

/// Config lines for alice's MFA profile `name`, its long-term key in profile `base` of
/// the credentials file, and STS at the double.
pub fn alice_profile(name: &str, sts_url: &str, extra: &str) -> String {
    format!(
        "[profile {name}]\nmfa_serial = {SERIAL}\nmfad_source_profile = base\nregion = us-east-1\nendpoint_url = {sts_url}\ncredential_process = {MFAD} process {name}\n{extra}\n"
    )
}

pub fn alice_credentials() -> String {
    format!("[base]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
}

/// A double with alice registered, her device stepping every `period` seconds.
pub fn double_with_alice(period: u64) -> sts_double::StsDouble {
    let sts = sts_double::StsDouble::start();
    sts.add_user(USER, KEY_ID, SECRET, SERIAL, &totp_uri(period));
    sts
}

/// Write a pinentry program (Assuan) that answers GETPIN with the code alice's device
/// shows next, as a person who waited for a fresh code would; returns its path.
pub fn fake_pinentry(env: &TestEnv, period: u64) -> String {
    let path = env.dir.path().join("pinentry");
    let code = format!(
        "python3 {}/tests/integration/support/totp_code.py {SEED} {period} 1",
        env!("CARGO_MANIFEST_DIR")
    );
    write_script(
        &path,
        &format!(
            "#!/bin/sh\necho 'OK pinentry for tests'\nwhile read -r command rest; do\n  case $command in\n    GETPIN) echo \"D $({code})\"; echo OK;;\n    BYE) echo OK; exit 0;;\n    *) echo OK;;\n  esac\ndone\n"
        ),
    );
    path.display().to_string()
}

/// Held by the tests that set this process's own environment for an SDK that reads it.
/// nextest runs each test in a process of its own; plain `cargo test` runs them as threads
/// of one, where the other tests read the environment only through std, which locks it.
pub static PROCESS_ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Write an executable script at `path`.
pub fn write_script(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Write an `mfa_process` script that prints alice's current code; returns its command.
pub fn code_script(env: &TestEnv, period: u64) -> String {
    let path = env.dir.path().join("code.sh");
    write_script(
        &path,
        &format!(
            "#!/bin/sh\nexec python3 {}/tests/integration/support/totp_code.py {SEED} {period}\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    );
    path.display().to_string()
}

/// alice's profile `dev` at the double, codes from an `mfa_process` script (30 s steps).
pub fn alice_env(sts: &sts_double::StsDouble, extra: &str) -> TestEnv {
    let env = TestEnv::new();
    let script = code_script(&env, 30);
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {script}\n{extra}"),
    ));
    env.write_credentials(&alice_credentials());
    env
}

/// The passphrase of the file stores tests create.
pub const STORE_PASSPHRASE: &str = "test passphrase, long enough";

impl TestEnv {
    /// Use the encrypted file store, its passphrase printed by a command, and create it.
    pub fn with_file_store(self) -> Self {
        let passphrase = self.dir.path().join("passphrase");
        fs::write(&passphrase, format!("{STORE_PASSPHRASE}\n")).unwrap();
        self.write_daemon_config(&format!(
            "[store]\nbackend = \"file\"\npassphrase_command = \"cat {}\"\n",
            passphrase.display()
        ));
        let created = self.run(&["store", "init"], "");
        assert_success(&created);
        self
    }

    /// The encrypted file store.
    pub fn store_file(&self) -> PathBuf {
        self.home().join(".local/share/mfad/store.age")
    }
}

/// alice's profile `dev` at the double, codes derived from her TOTP secret (steps of
/// `period` seconds) stored in an encrypted file store of the test's own (needs nothing
/// but mfad).
pub fn alice_env_with_file_store(sts: &sts_double::StsDouble, period: u64, extra: &str) -> TestEnv {
    let env = TestEnv::new().with_file_store();
    env.write_config(&alice_profile("dev", &sts.url, extra));
    env.write_credentials(&alice_credentials());
    assert_success(&env.run(&["totp", "add", SERIAL], &totp_uri(period)));
    env
}

/// alice's profile `dev` at the double, codes derived from her TOTP secret (steps of
/// `period` seconds) stored in a keyring of the test's own.
pub fn alice_env_with_totp(sts: &sts_double::StsDouble, period: u64, extra: &str) -> TestEnv {
    let env = TestEnv::with_keyring();
    env.write_config(&alice_profile("dev", &sts.url, extra));
    env.write_credentials(&alice_credentials());
    let stored = env.run(&["totp", "add", SERIAL], &totp_uri(period));
    assert!(
        stored.status.success(),
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );
    env
}
