//! The rule that a code reaches STS once, whatever the clock does and however many daemons
//! of the user there are; `mfad totp code` keeps to it too.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Wait until the current step of `period` seconds has at least `left` seconds to run, so
/// that what follows happens within one step.
fn at_the_start_of_a_step(period: u64, left: u64) {
    assert!(wait_until(Duration::from_secs(period + 1), || {
        period - unix_now() % period >= left
    }));
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn two_daemons_of_one_user_never_send_the_same_code() {
    let sts = double_with_alice(3);
    let env = alice_env_with_totp(&sts, 3, "");
    let sockets = ["one", "two"].map(|name| env.dir.path().join(format!("{name}.sock")));
    for _ in 0..3 {
        let callers: Vec<_> = sockets
            .iter()
            .map(|socket| {
                env.mfad(&["process", "dev"])
                    .env("MFAD_SOCKET", socket)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for caller in callers {
            let output = caller.wait_with_output().unwrap();
            assert_success(&output);
        }
        for socket in &sockets {
            let out = env
                .mfad(&["logout", "--all"])
                .env("MFAD_SOCKET", socket)
                .output();
            assert!(out.unwrap().status.success());
        }
    }
    let counts = sts.counts();
    assert_eq!(counts.get_session_token, 6, "{counts:?}");
    assert_eq!(counts.reused_codes + counts.wrong_codes, 0, "{counts:?}");
    for socket in sockets {
        let stop = env
            .mfad(&["status", "--json"])
            .env("MFAD_SOCKET", &socket)
            .output();
        let pid =
            serde_json::from_slice::<serde_json::Value>(&stop.unwrap().stdout).unwrap()["pid"]
                .as_i64()
                .unwrap();
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    }
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn totp_code_never_prints_a_code_a_daemon_sent() {
    const PERIOD: u64 = 6;
    let sts = double_with_alice(PERIOD);
    let env = alice_env_with_totp(&sts, PERIOD, "");
    at_the_start_of_a_step(PERIOD, 4);
    env.process("dev");
    let sent = sts.accepted_codes();
    assert_eq!(sent.len(), 1);
    let output = env.run(&["totp", "code", SERIAL], "");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let note = String::from_utf8_lossy(&output.stderr);
    assert_ne!(printed, sent[0], "it printed the code the daemon sent");
    assert_eq!(printed.len(), 6);
    assert!(note.contains("was already sent to AWS by mfad"), "{note}");
    assert!(note.contains("this one is valid from"), "{note}");
}

/// libfaketime (Debian `faketime`), multi-threaded flavour.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, libfaketime: run tests/run.sh"
)]
fn a_forward_clock_jump_does_not_make_the_daemon_send_a_code_again() {
    const PERIOD: u64 = 10;
    assert!(
        std::path::Path::new(LIBFAKETIME).exists(),
        "this test needs {LIBFAKETIME} (Debian package faketime)"
    );
    let sts = double_with_alice(PERIOD);
    let env = alice_env_with_totp(&sts, PERIOD, "");
    let offset = env.dir.path().join("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    // The daemon and the clients read the clock through libfaketime, which rereads the
    // offset file on every call.
    let faked = |args: &[&str]| {
        let mut command = env.mfad(args);
        command
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME_TIMESTAMP_FILE", &offset)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        command
    };
    let run = |mut command: Command| {
        let output = command.stdin(Stdio::null()).output().unwrap();
        assert!(
            output.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            env.daemon_log()
        );
    };
    // A daemon started by a client keeps none of libfaketime's variables: start it here.
    let _daemon = start_daemon_from(&env, faked(&["daemon"]));
    at_the_start_of_a_step(PERIOD, 7);
    run(faked(&["process", "dev"]));
    run(faked(&["logout", "dev"]));
    // The clock jumps ten minutes ahead, within the step of the code just sent.
    std::fs::File::create(&offset)
        .unwrap()
        .write_all(b"+600\n")
        .unwrap();
    run(faked(&["process", "dev"]));
    let log = env.daemon_log();
    assert!(log.contains("clock skew of -60"), "{log}");
    assert!(log.contains("already used"), "{log}");
    let counts = sts.counts();
    assert_eq!(
        counts.reused_codes, 0,
        "a code went to STS twice: {counts:?}"
    );
    assert_eq!(counts.sessions_issued, 2, "{counts:?}");
}

#[test]
fn callers_behind_a_throttling_and_a_500_share_one_session_and_no_code_goes_twice() {
    const PERIOD: u64 = 2;
    let sts = double_with_alice(PERIOD);
    let env = alice_env_with_file_store(&sts, PERIOD, "");
    sts.queue_faults(&[
        sts_double::Fault::Throttle,
        sts_double::Fault::ServerError(500),
    ]);
    let callers: Vec<_> = (0..20)
        .map(|_| {
            env.mfad(&["process", "dev"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut keys = std::collections::HashSet::new();
    for caller in callers {
        let output = caller.wait_with_output().unwrap();
        assert_success(&output);
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        keys.insert(answer["AccessKeyId"].as_str().unwrap().to_owned());
    }
    assert_eq!(keys.len(), 1, "one session for all: {keys:?}");
    let counts = sts.counts();
    assert_eq!(counts.sessions_issued, 1, "{counts:?}");
    assert_eq!(counts.codes_presented.len(), 3, "{counts:?}");
    let distinct: std::collections::HashSet<_> = counts.codes_presented.iter().collect();
    assert_eq!(distinct.len(), 3, "a code went to STS twice: {counts:?}");
    let log = env.daemon_log();
    assert!(log.contains("trying again in"), "{log}");
}

#[test]
fn a_garbled_record_of_used_codes_never_makes_mfad_send_a_code_twice() {
    const PERIOD: u64 = 10;
    let sts = double_with_alice(PERIOD);
    let env = alice_env_with_file_store(&sts, PERIOD, "");
    // Unlocking the file store takes a second: do it before the step starts.
    env.process("dev");
    assert_success(&env.run(&["logout", "dev"], ""));
    at_the_start_of_a_step(PERIOD, 7);
    env.process("dev");
    assert_success(&env.run(&["logout", "dev"], ""));
    // Half-written: the code just sent is no longer on record.
    std::fs::write(env.used_codes_file(), "[{\"serial\":").unwrap();
    env.process("dev");
    let counts = sts.counts();
    assert_eq!(
        counts.reused_codes, 0,
        "a code went to STS twice: {counts:?}"
    );
    assert_eq!(counts.sessions_issued, 3, "{counts:?}");
    let kept: Vec<_> = std::fs::read_dir(env.used_codes_file().parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".garbled-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read_to_string(kept[0].path()).unwrap(),
        "[{\"serial\":"
    );
    let log = env.daemon_log();
    assert_eq!(log.matches("was garbled").count(), 1, "{log}");
    // The third session really was asked for in the step of the second one's code.
    assert!(log.contains("already used"), "{log}");
}
