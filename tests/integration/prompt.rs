//! `mfad prompt`: the shell-prompt segment, and the contrib snippets in their shells.

use crate::support::pty::Pty;
use crate::support::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn prompt(env: &TestEnv, args: &[&str], aws_profile: Option<&str>) -> String {
    let mut command = env.mfad(&[&["prompt"], args].concat());
    if let Some(profile) = aws_profile {
        command.env("AWS_PROFILE", profile);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "mfad prompt always exits 0");
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn nothing_to_say_prints_nothing_and_starts_no_daemon() {
    let env = TestEnv::new();
    assert_eq!(prompt(&env, &["dev"], None), "");
    assert_eq!(prompt(&env, &[], Some("dev")), "");
    assert_eq!(prompt(&env, &[], None), "");
    assert!(!env.socket().exists(), "the prompt started no daemon");
}

#[test]
fn segments_show_the_time_left() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    assert_eq!(prompt(&env, &["dev"], None), "dev 11h59m\n");
    assert_eq!(prompt(&env, &[], Some("dev")), "dev 11h59m\n");
    assert_eq!(
        prompt(&env, &["other"], None),
        "",
        "not a profile mfad serves"
    );
    let custom = prompt(
        &env,
        &["dev", "--format", "aws:{profile}/{state} until {expires}"],
        None,
    );
    assert!(custom.starts_with("aws:dev/ok until 20"), "{custom}");
    assert!(custom.trim_end().ends_with('Z'), "{custom}");
}

#[test]
fn the_renewal_window_and_expiry_are_marked() {
    let sts = double_with_alice(30);
    sts.set_session_lifetime(Some(Duration::from_secs(14 * 60)));
    let env = alice_env(&sts, "");
    env.process("dev");
    assert_eq!(prompt(&env, &["dev"], None), "dev 13m!\n");

    let sts = double_with_alice(30);
    sts.set_session_lifetime(Some(Duration::from_secs(1)));
    let env = alice_env(&sts, "");
    env.process("dev");
    assert!(
        wait_until(Duration::from_secs(5), || prompt(&env, &["dev"], None)
            == "dev expired\n"),
        "{}",
        prompt(&env, &["dev"], None)
    );
}

#[test]
fn a_daemon_that_does_not_answer_is_given_up_on() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.socket().parent().unwrap()).unwrap();
    // Accepts connections, never answers.
    let mut silent = Command::new("python3")
        .args(["-c", "import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); c=s.accept(); print('up', flush=True); time.sleep(60)"])
        .arg(env.socket())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || env
        .socket()
        .exists()));
    let started = Instant::now();
    assert_eq!(prompt(&env, &["dev"], None), "");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    silent.kill().unwrap();
    silent.wait().unwrap();
}

/// PATH with the mfad under test first, as a user who installed it would have.
fn path_with_mfad() -> String {
    let dir = std::path::Path::new(MFAD)
        .parent()
        .unwrap()
        .display()
        .to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

fn snippet(name: &str) -> String {
    format!("{}/contrib/prompt/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Start an interactive shell on a pty, source the snippet, and read the next prompt.
fn shell_prompt_shows_the_segment(shell: &[&str], source: &str) {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    let mut command = env.command(shell[0]);
    command
        .args(&shell[1..])
        .env("PATH", path_with_mfad())
        .env("AWS_PROFILE", "dev")
        .env("TERM", "dumb");
    let mut pty = Pty::attach(&mut command).for_stdio(&mut command);
    let mut child = command.spawn().unwrap();
    // The shell is ready for input once it has shown its first prompt.
    assert!(
        pty.expect_output(Duration::from_secs(10)),
        "{} printed nothing",
        shell[0]
    );
    pty.type_line(source);
    let shown = pty.expect("[dev 11h59m] ", Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    assert!(shown, "{} prompt: {:?}", shell[0], pty.seen);
}

#[test]
fn the_bash_snippet_shows_the_segment() {
    shell_prompt_shows_the_segment(
        &["bash", "--norc", "--noprofile", "-i"],
        &format!("source {}", snippet("mfad.bash")),
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs zsh and fish: run tests/run.sh"
)]
fn the_zsh_snippet_shows_the_segment() {
    shell_prompt_shows_the_segment(
        &["zsh", "-f", "-i"],
        &format!("source {}", snippet("mfad.zsh")),
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs zsh and fish: run tests/run.sh"
)]
fn the_fish_snippet_shows_the_segment() {
    shell_prompt_shows_the_segment(
        &["fish", "--no-config", "-i"],
        &format!("source {}", snippet("mfad.fish")),
    );
}

/// starship, as tests/run.sh installs it.
fn starship() -> String {
    let installed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/test-tools/bin/starship"
    );
    assert!(
        std::path::Path::new(installed).exists(),
        "starship is missing: tests/run.sh builds it into target/test-tools"
    );
    installed.to_owned()
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs starship: run tests/run.sh"
)]
fn the_starship_module_shows_the_segment() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    // Only our module in the prompt, configured exactly as contrib/ ships it.
    let config = env.dir.path().join("starship.toml");
    let module = std::fs::read_to_string(snippet("starship.toml")).unwrap();
    std::fs::write(
        &config,
        format!("format = \"${{custom.mfad}}\"\nadd_newline = false\n{module}"),
    )
    .unwrap();
    let render = |profile: &str| {
        let output = env
            .command(starship())
            .args(["prompt"])
            .env("PATH", path_with_mfad())
            .env("STARSHIP_CONFIG", &config)
            .env("AWS_PROFILE", profile)
            .env("TERM", "xterm")
            .output()
            .unwrap();
        assert_success(&output);
        strip_ansi(&String::from_utf8_lossy(&output.stdout))
    };
    assert_eq!(render("dev"), "dev 11h59m ");
    assert_eq!(
        render("other"),
        "",
        "nothing for a profile mfad does not serve"
    );
}

/// The text of a terminal string without its colour codes and shell markers.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ ... final byte in @..~
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\u{1}' | '\u{2}' => {}
            c => out.push(c),
        }
    }
    out
}
