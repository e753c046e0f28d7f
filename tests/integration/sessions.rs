//! MFA sessions through real `mfad process` processes and the STS double: caching,
//! single-flight renewal, code sources, prompts, clock skew and STS outages.

use crate::support::sts_double::Fault;
use crate::support::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn status_json(env: &TestEnv) -> serde_json::Value {
    let output = env.run(&["status", "--json"], "");
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_session_is_cached_while_more_than_15_minutes_remain() {
    let sts = double_with_alice(30);
    sts.set_session_lifetime(Some(Duration::from_secs(16 * 60)));
    let env = alice_env(&sts, "");
    let first = env.process("dev");
    let second = env.process("dev");
    assert_eq!(first["AccessKeyId"], second["AccessKeyId"]);
    assert_eq!(sts.counts().get_session_token, 1);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_session_inside_the_15_minute_window_is_renewed() {
    let sts = double_with_alice(2);
    sts.set_session_lifetime(Some(Duration::from_secs(14 * 60)));
    let env = alice_env_with_totp(&sts, 2, "");
    let first = env.process("dev");
    let second = env.process("dev");
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
    assert_eq!(sts.counts().sessions_issued, 2);
    assert_eq!(sts.counts().reused_codes, 0);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_hundred_cold_processes_cause_one_get_session_token() {
    let sts = double_with_alice(30);
    let env = TestEnv::with_keyring();
    env.write_config(&format!(
        "[profile dev]\nmfa_serial = {SERIAL}\nregion = us-east-1\nendpoint_url = {}\n",
        sts.url
    ));
    let add = env
        .mfad(&["add", "dev", "--env"])
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .output()
        .unwrap();
    assert_success(&add);
    let totp = env.run(&["totp", "add", SERIAL], &totp_uri(30));
    assert_success(&totp);
    assert!(
        env.daemon_pid().is_none(),
        "no daemon yet: the cache is cold"
    );

    let children: Vec<_> = (0..100)
        .map(|_| {
            env.mfad(&["process", "dev"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let failures: Vec<_> = outputs
        .iter()
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}\n{}",
        failures.len(),
        failures.first(),
        env.daemon_log()
    );
    let keys: std::collections::HashSet<String> = outputs
        .iter()
        .map(|o| {
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["AccessKeyId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys.len(), 1, "every process got the same session");
    let counts = sts.counts();
    assert_eq!(counts.get_session_token, 1, "{counts:?}");
    assert_eq!(counts.bad_signatures, 0);
    // However many clients raced to start it, one daemon serves.
    assert_eq!(
        env.daemon_log().matches("listening on").count(),
        1,
        "{}",
        env.daemon_log()
    );
    assert_eq!(status_json(&env)["sessions"][0]["code_source"], "totp");
}

#[test]
fn logout_then_a_new_session_never_reuses_a_code() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    let logout = env.run(&["logout", "dev"], "");
    assert_eq!(
        String::from_utf8_lossy(&logout.stdout).trim(),
        "logged out: dev"
    );
    // The script prints the same code within this 30 s step: mfad waits for the next one.
    let again = env.process("dev");
    assert!(sts.is_live_session(again["AccessKeyId"].as_str().unwrap()));
    let counts = sts.counts();
    assert_eq!(counts.sessions_issued, 2, "{counts:?}");
    assert_eq!(counts.reused_codes, 0, "{counts:?}");
    assert_eq!(counts.wrong_codes, 0, "{counts:?}");
}

#[test]
fn a_wrong_code_from_mfa_process_is_named() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    env.write_config(&alice_profile("dev", &sts.url, "mfa_process = echo 000000"));
    env.write_credentials(&alice_credentials());
    let error = env.process_error("dev");
    assert!(
        error.starts_with("mfad process dev: AWS rejected the code printed by mfa_process"),
        "{error}"
    );
    assert!(error.contains("check that mfa_process prints"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
    assert_eq!(sts.counts().wrong_codes, 1);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_derived_code_that_aws_rejects_points_at_the_secret_or_clock() {
    let sts = double_with_alice(30);
    let env = TestEnv::with_keyring();
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    // Not alice's seed.
    let stored = env.run(&["totp", "add", SERIAL], "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert!(stored.status.success());
    let error = env.process_error("dev");
    assert!(
        error.contains("AWS rejected the code derived from the TOTP secret"),
        "{error}"
    );
    assert!(error.contains("system clock"), "{error}");
    assert_eq!(sts.counts().wrong_codes, 1);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_skewed_clock_is_measured_from_sts_and_corrected() {
    let sts = double_with_alice(30);
    sts.set_clock_skew(150);
    let env = alice_env_with_totp(&sts, 30, "");
    let creds = env.process("dev");
    assert!(sts.is_live_session(creds["AccessKeyId"].as_str().unwrap()));
    let counts = sts.counts();
    assert_eq!(
        counts.get_session_token, 2,
        "one code at our time, one at STS's: {counts:?}"
    );
    let skew = status_json(&env)["clock_skew_secs"].as_i64().unwrap();
    assert!((148..=152).contains(&skew), "{skew}");
    let table = String::from_utf8(env.run(&["status"], "").stdout).unwrap();
    assert!(
        table.contains(&format!("clock skew to STS {skew:+}s")),
        "{table}"
    );
    assert!(
        env.daemon_log().contains("clock skew of"),
        "{}",
        env.daemon_log()
    );
}

#[test]
fn without_a_terminal_or_code_source_the_caller_fails_at_once() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    let error = env.process_error("dev");
    assert!(
        error.contains("there is no terminal or desktop to ask on"),
        "{error}"
    );
    assert!(error.contains("mfad totp add"), "{error}");
    assert_eq!(sts.counts().get_session_token, 0);
}

#[test]
fn the_person_is_asked_on_the_terminal_and_gets_three_tries() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    let (child, mut pty) = env.process_on_a_terminal("dev");
    let prompt = format!("MFA code for profile dev ({SERIAL}): ");
    assert!(
        pty.expect(&prompt, Duration::from_secs(10)),
        "saw: {:?}",
        pty.seen
    );
    pty.type_line("12345");
    assert!(
        pty.expect(
            "That is not a 6-digit code (2 tries left)",
            Duration::from_secs(10)
        ),
        "{:?}",
        pty.seen
    );
    pty.type_line("000000");
    assert!(
        pty.expect(
            "AWS rejected that code (1 tries left)",
            Duration::from_secs(10)
        ),
        "{:?}",
        pty.seen
    );
    pty.type_line(&sts.code_now(KEY_ID));
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    let creds: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(sts.is_live_session(creds["AccessKeyId"].as_str().unwrap()));
    assert_eq!(sts.counts().wrong_codes, 1);
    // The prompt went to the terminal, never to the captured stderr.
    assert!(output.stderr.is_empty());
}

#[test]
fn only_one_waiting_caller_is_asked_and_the_next_if_it_goes_away() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    let (mut first, mut first_pty) = env.process_on_a_terminal("dev");
    assert!(first_pty.expect("MFA code for profile dev", Duration::from_secs(10)));
    let mut waiting = [
        env.process_on_a_terminal("dev"),
        env.process_on_a_terminal("dev"),
    ];
    // Waiting callers are not asked while the first one is.
    for (_, pty) in &mut waiting {
        assert!(!pty.expect("MFA code", Duration::from_millis(300)));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // The next in line is asked (either one: they raced to the daemon), and only it.
    let mut asked = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while asked.is_none() && Instant::now() < deadline {
        asked = (0..2).find(|&i| {
            waiting[i]
                .1
                .expect("MFA code for profile dev", Duration::from_millis(100))
        });
    }
    let asked = asked.expect("another waiting caller was asked");
    let other = 1 - asked;
    assert!(
        !waiting[other]
            .1
            .expect("MFA code", Duration::from_millis(300)),
        "only one is asked"
    );
    waiting[asked].1.type_line(&sts.code_now(KEY_ID));
    for (child, _) in waiting {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{:?} {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            env.daemon_log()
        );
    }
    assert_eq!(sts.counts().get_session_token, 1);
}

/// How STS fails in [`a_still_valid_session_is_served_while_sts_is_down`].
#[derive(Debug, Clone, Copy)]
enum Outage {
    Answers(Fault),
    Unreachable,
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_still_valid_session_is_served_while_sts_is_down() {
    for outage in [
        Outage::Answers(Fault::Throttle),
        Outage::Answers(Fault::ServerError(503)),
        Outage::Answers(Fault::ServerError(500)),
        Outage::Unreachable,
    ] {
        let sts = double_with_alice(2);
        // Inside the renewal window from the start: every request tries to renew.
        sts.set_session_lifetime(Some(Duration::from_secs(14 * 60)));
        let env = alice_env_with_totp(&sts, 2, "");
        let session = env.process("dev");
        let expected_error = match outage {
            Outage::Answers(fault) => {
                sts.set_fault(Some(fault));
                "STS"
            }
            Outage::Unreachable => {
                drop(sts);
                "could not reach STS"
            }
        };
        assert_eq!(
            env.process("dev")["AccessKeyId"],
            session["AccessKeyId"],
            "{outage:?}"
        );
        let status = status_json(&env);
        let last_error = status["sessions"][0]["last_error"].as_str().unwrap();
        assert!(
            last_error.contains(expected_error),
            "{outage:?}: {last_error}"
        );
    }
}

#[test]
fn an_expired_session_fails_within_its_retries_with_a_clear_error_when_sts_is_down() {
    // Codes derived with 2 s steps: each retry waits for a fresh code, so the three
    // retries take seconds (with 30 s steps, a minute).
    const PERIOD: u64 = 2;
    let sts = double_with_alice(PERIOD);
    let env = alice_env_with_file_store(&sts, PERIOD, "");
    for (fault, expected) in [
        (Some(Fault::Throttle), "STS is throttling requests"),
        (Some(Fault::ServerError(503)), "STS failed (HTTP 503"),
    ] {
        sts.set_fault(fault);
        let started = Instant::now();
        let error = env.process_error("dev");
        assert!(error.contains(expected), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "{:?}",
            started.elapsed()
        );
        let presented = sts.counts().codes_presented;
        assert!(presented.len() >= 4, "retried: {presented:?}");
        let distinct: std::collections::HashSet<_> = presented.iter().collect();
        assert_eq!(
            distinct.len(),
            presented.len(),
            "a code went twice: {presented:?}"
        );
        env.stop_daemon();
    }
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    env.write_config(&alice_profile(
        "dev",
        &format!("http://{closed}"),
        "mfa_process = echo 123456",
    ));
    let error = env.process_error("dev");
    assert!(
        error.contains("could not reach STS at http://127.0.0.1"),
        "{error}"
    );
    assert!(error.contains("check the network"), "{error}");
}

#[test]
fn a_slow_sts_times_out_instead_of_hanging() {
    let sts = double_with_alice(30);
    sts.set_latency(Duration::from_secs(30));
    let env = alice_env(&sts, "");
    let started = Instant::now();
    let error = env.process_error("dev");
    assert!(error.contains("did not answer in time"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_wrong_serial_and_a_root_account_are_handled() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    let script = code_script(&env, 30);
    let wrong = alice_profile("dev", &sts.url, &format!("mfa_process = {script}"))
        .replace(SERIAL, "arn:aws:iam::123456789012:mfa/bob");
    env.write_config(&wrong);
    env.write_credentials(&alice_credentials());
    let error = env.process_error("dev");
    assert!(
        error.contains("could not validate MFA serial arn:aws:iam::123456789012:mfa/bob"),
        "{error}"
    );
    assert!(error.contains("check mfa_serial"), "{error}");
}

#[test]
fn config_edits_are_picked_up_without_restarting_the_daemon() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    env.process("dev");
    let pid = env.daemon_pid();
    let error = env.process_error("prod");
    assert!(error.contains("no profile \"prod\""), "{error}");
    let script = code_script(&env, 30);
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str(&alice_profile(
        "prod",
        &sts.url,
        &format!("mfa_process = {script}"),
    ));
    env.write_config(&config);
    let creds = env.process("prod");
    assert!(sts.is_live_session(creds["AccessKeyId"].as_str().unwrap()));
    assert_eq!(env.daemon_pid(), pid);
}
