//! The desktop daemon: renewal ahead of time, notifications (seen by dbus-monitor on a
//! private bus), and desktop prompts (zenity under Xvfb, answered by xdotool; pinentry).

use crate::support::notifications::{Notice, NotificationService};
use crate::support::sts_double::Fault;
use crate::support::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn status_json(env: &TestEnv) -> serde_json::Value {
    serde_json::from_slice(&env.run(&["status", "--json"], "").stdout).unwrap()
}

/// Wait for a notification whose summary starts with `summary`.
fn wait_for_notice(service: &NotificationService, summary: &str) -> Notice {
    let mut found = None;
    wait_until(Duration::from_secs(15), || {
        found = service
            .notices()
            .into_iter()
            .find(|n| n.summary.starts_with(summary));
        found.is_some()
    });
    found.unwrap_or_else(|| panic!("no notification {summary:?}: {:?}", service.notices()))
}

/// A session obtained from a person at a terminal (a pty), typing alice's code.
fn session_from_a_person(env: &TestEnv, sts: &sts_double::StsDouble, first_code: &str) {
    let (child, mut pty) = env.process_on_a_terminal("dev");
    assert!(
        pty.expect("MFA code for profile dev", Duration::from_secs(10)),
        "{:?}",
        pty.seen
    );
    pty.type_line(first_code);
    if first_code != sts.code_now(KEY_ID) {
        assert!(
            pty.expect("AWS rejected that code", Duration::from_secs(10)),
            "{:?}",
            pty.seen
        );
        pty.type_line(&sts.code_now(KEY_ID));
    }
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, a notification service on dbus: run tests/run.sh"
)]
fn a_renewal_with_a_person_notifies_code_needed_rejected_and_renewed_without_secrets() {
    let sts = double_with_alice(30);
    let env = TestEnv::with_keyring();
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    let service = NotificationService::start(env.bus_address());
    let monitor = Monitor::notify_calls(env.bus_address(), env.dir.path().join("monitor.txt"));

    session_from_a_person(&env, &sts, "000000");
    wait_for_notice(&service, "MFA code needed for dev");
    let rejected = wait_for_notice(&service, "AWS rejected the MFA code for dev");
    assert!(rejected.body.contains(SERIAL), "{rejected:?}");
    let renewed = wait_for_notice(&service, "AWS session dev renewed");
    assert_eq!(renewed.app_name, "mfad");

    assert!(wait_until(Duration::from_secs(5), || monitor
        .seen()
        .contains("AWS session dev renewed")));
    let seen = monitor.seen();
    assert_eq!(seen.matches("member=Notify").count(), 3, "{seen}");
    let creds = env.process("dev");
    for secret in [
        SECRET,
        creds["SecretAccessKey"].as_str().unwrap(),
        creds["SessionToken"].as_str().unwrap(),
        "000000",
    ] {
        assert!(!seen.contains(secret), "a secret reached a notification");
    }
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, a notification service on dbus: run tests/run.sh"
)]
fn notifications_can_be_turned_off() {
    let sts = double_with_alice(30);
    let env = TestEnv::with_keyring();
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    env.write_daemon_config("[notifications]\nenabled = false\n");
    let service = NotificationService::start(env.bus_address());
    session_from_a_person(&env, &sts, "000000");
    // The daemon says what it did not show: code needed, rejected, renewed.
    let switched_off = wait_until(Duration::from_secs(10), || {
        env.daemon_log()
            .matches("notification switched off")
            .count()
            >= 3
    });
    assert!(switched_off, "{}", env.daemon_log());
    assert!(service.notices().is_empty(), "{:?}", service.notices());
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, a notification service on dbus: run tests/run.sh"
)]
fn a_session_that_needs_a_person_is_announced_and_renew_now_asks_on_the_desktop() {
    let sts = double_with_alice(30);
    sts.set_session_lifetime(Some(Duration::from_secs(20 * 60)));
    let env = TestEnv::with_keyring();
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    let pinentry = fake_pinentry(&env, 30);
    env.write_daemon_config(&format!(
        "[notifications]\nexpiry_lead = \"19m57s\"\n[prompt]\ndriver = \"pinentry\"\npinentry = \"{pinentry}\"\n"
    ));
    let service = NotificationService::start(env.bus_address());
    session_from_a_person(&env, &sts, &sts.code_now(KEY_ID));
    assert_eq!(status_json(&env)["sessions"][0]["code_source"], "terminal");

    let expiring = wait_for_notice(&service, "AWS session dev ends in 19m");
    assert_eq!(expiring.actions, ["renew", "Renew now"]);
    // The person clicks "Renew now" (again, if the first click came before mfad listened
    // for it) and types the next code into the desktop prompt.
    let clicked = wait_until(Duration::from_secs(15), || {
        service.invoke(expiring.id, "renew");
        wait_until(Duration::from_secs(2), || {
            env.daemon_log().contains("now, as asked")
        })
    });
    assert!(clicked, "{}", env.daemon_log());
    let renewed = wait_until(Duration::from_secs(15), || {
        sts.counts().sessions_issued == 2
    });
    assert!(renewed, "{:?}\n{}", sts.counts(), env.daemon_log());
    assert!(wait_until(
        Duration::from_secs(5),
        || status_json(&env)["sessions"][0]["code_source"] == "desktop"
    ));
    assert_eq!(sts.counts().reused_codes, 0);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn sessions_renew_ahead_of_time_and_no_caller_waits() {
    let sts = double_with_alice(1);
    sts.set_session_lifetime(Some(Duration::from_secs(20 * 60)));
    let env = alice_env_with_totp(&sts, 1, "mfad_write_profile = dev-mfa");
    env.write_daemon_config("renew_before = \"19m57s\"\n");
    let first = env.process("dev");
    let mut keys = std::collections::BTreeSet::new();
    let started = Instant::now();
    // Callers keep coming until three sessions have been obtained in the background.
    while sts.counts().sessions_issued < 3 && started.elapsed() < Duration::from_secs(20) {
        keys.insert(
            env.process("dev")["AccessKeyId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let status = status_json(&env);
    assert_eq!(
        status["sessions"][0]["callers_waited"], 1,
        "only the cold start waited: {status}"
    );
    assert!(sts.counts().sessions_issued >= 3, "{:?}", sts.counts());
    assert!(
        keys.len() >= 2,
        "callers got the renewed sessions: {keys:?}"
    );
    assert!(
        env.daemon_log().contains("ahead of time"),
        "{}",
        env.daemon_log()
    );

    // With nobody asking, renewals go on and keep the written profile current.
    let issued = sts.counts().sessions_issued;
    assert!(wait_until(Duration::from_secs(10), || sts
        .counts()
        .sessions_issued
        >= issued + 2));
    let text = std::fs::read_to_string(env.credentials_path()).unwrap();
    let written = mfad::config::credfile::written_key_id(&text, "dev-mfa").unwrap();
    assert_ne!(written, first["AccessKeyId"].as_str().unwrap());
    assert!(sts.is_live_session(&written));
    assert_eq!(sts.counts().reused_codes, 0);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, a notification service on dbus: run tests/run.sh"
)]
fn a_failed_renewal_ahead_of_time_is_notified_and_the_session_still_served() {
    let sts = double_with_alice(1);
    sts.set_session_lifetime(Some(Duration::from_secs(20 * 60)));
    let env = alice_env_with_totp(&sts, 1, "");
    env.write_daemon_config("renew_before = \"19m58s\"\n");
    let service = NotificationService::start(env.bus_address());
    let session = env.process("dev");
    sts.set_fault(Some(Fault::Throttle));
    let failed = wait_for_notice(&service, "Renewing AWS session dev failed");
    assert!(
        failed.body.contains("STS is throttling requests"),
        "{failed:?}"
    );
    assert_eq!(env.process("dev")["AccessKeyId"], session["AccessKeyId"]);
}

/// 20 callers without a terminal, on a desktop: one zenity dialog.
fn callers_on_the_desktop(env: &TestEnv, count: usize) -> Vec<std::process::Child> {
    (0..count)
        .map(|_| {
            env.mfad(&["process", "dev"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

fn desktop_env(sts: &sts_double::StsDouble, display: &Display, daemon_config: &str) -> TestEnv {
    let env = TestEnv::new().on_display(display);
    env.write_config(&alice_profile("dev", &sts.url, ""));
    env.write_credentials(&alice_credentials());
    env.write_daemon_config(&format!("[prompt]\ndriver = \"zenity\"\n{daemon_config}"));
    env
}

/// The one dialog the callers wait on; explains what happened when none appears.
fn the_dialog(display: &Display, env: &TestEnv, callers: &mut [std::process::Child]) -> String {
    if display
        .wait_for_windows("mfad", Duration::from_secs(20))
        .is_empty()
    {
        let ended: Vec<String> = callers
            .iter_mut()
            .filter_map(|c| {
                c.try_wait()
                    .ok()
                    .flatten()
                    .map(|status| format!("{status:?}"))
            })
            .collect();
        panic!(
            "no dialog appeared; callers ended: {ended:?}\n{}",
            env.daemon_log()
        );
    }
    // Every caller has joined the one renewal (a second renewal would be a second
    // dialog), and still there is one window.
    let joined = wait_until(Duration::from_secs(20), || {
        status_json(env)["sessions"][0]["callers_waited"].as_u64() == Some(callers.len() as u64)
    });
    assert!(joined, "{}", status_json(env));
    let windows = display.windows_named("mfad");
    assert_eq!(
        windows.len(),
        1,
        "one dialog however many callers wait: {windows:?}"
    );
    windows[0].clone()
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs an X display: Xvfb, zenity and xdotool: run tests/run.sh"
)]
fn twenty_callers_without_a_terminal_get_one_zenity_dialog() {
    let sts = double_with_alice(30);
    let display = Display::start();
    let env = desktop_env(&sts, &display, "");
    let mut callers = callers_on_the_desktop(&env, 20);
    let dialog = the_dialog(&display, &env, &mut callers);
    display.xdotool(&["windowfocus", "--sync", &dialog]);
    display.xdotool(&["type", "--delay", "20", &sts.code_now(KEY_ID)]);
    display.xdotool(&["key", "Return"]);
    for caller in callers {
        let output = caller.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            env.daemon_log()
        );
    }
    assert_eq!(sts.counts().get_session_token, 1);
    assert_eq!(status_json(&env)["sessions"][0]["code_source"], "desktop");
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs an X display: Xvfb, zenity and xdotool: run tests/run.sh"
)]
fn a_cancelled_dialog_fails_the_waiting_callers_at_once() {
    let sts = double_with_alice(30);
    let display = Display::start();
    let env = desktop_env(&sts, &display, "");
    let mut callers = callers_on_the_desktop(&env, 5);
    let dialog = the_dialog(&display, &env, &mut callers);
    display.xdotool(&["windowfocus", "--sync", &dialog]);
    let cancelled = Instant::now();
    display.xdotool(&["key", "Escape"]);
    for caller in callers {
        let output = caller.wait_with_output().unwrap();
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains("the MFA prompt was cancelled"), "{error}");
    }
    assert!(
        cancelled.elapsed() < Duration::from_secs(5),
        "{:?}",
        cancelled.elapsed()
    );
    assert_eq!(sts.counts().get_session_token, 0);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs an X display: Xvfb, zenity and xdotool: run tests/run.sh"
)]
fn a_dialog_left_open_times_out() {
    let sts = double_with_alice(30);
    let display = Display::start();
    // Long enough for zenity to show its window on a loaded machine before it is closed.
    let env = desktop_env(&sts, &display, "timeout = \"8s\"\n");
    let mut callers = callers_on_the_desktop(&env, 3);
    the_dialog(&display, &env, &mut callers);
    for caller in callers {
        let output = caller.wait_with_output().unwrap();
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains("nobody typed an MFA code within 8s"),
            "{error}"
        );
    }
    assert!(
        wait_until(Duration::from_secs(5), || display
            .windows_named("mfad")
            .is_empty()),
        "the dialog was closed"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn roles_renew_ahead_of_time_on_their_mfa_session() {
    let sts = double_with_alice(1);
    sts.set_session_lifetime(Some(Duration::from_secs(20 * 60)));
    let env = alice_env_with_totp(&sts, 1, "");
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str(&format!(
        "[profile admin]\nmfad_source_profile = dev\nmfad_role_arn = arn:aws:iam::123456789012:role/admin\nendpoint_url = {}\n",
        sts.url
    ));
    env.write_config(&config);
    env.write_daemon_config("renew_before = \"19m57s\"\n");
    let first = env.process("admin");
    assert!(
        wait_until(Duration::from_secs(15), || sts.counts().assume_role >= 3),
        "{:?}\n{}",
        sts.counts(),
        env.daemon_log()
    );
    let renewed = env.process("admin");
    assert_ne!(renewed["AccessKeyId"], first["AccessKeyId"]);
    let status = status_json(&env);
    let role = status["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| !s["role_arn"].is_null())
        .unwrap();
    assert_eq!(role["callers_waited"], 1, "{status}");
    assert!(
        env.daemon_log()
            .contains("renewing role arn:aws:iam::123456789012:role/admin ahead of time")
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, a notification service on dbus: run tests/run.sh"
)]
fn a_profile_that_cannot_be_written_is_notified_once_and_the_session_still_served() {
    let sts = double_with_alice(2);
    let env = alice_env_with_totp(&sts, 2, "mfad_write_profile = dev-mfa");
    let theirs = format!(
        "{}[dev-mfa]\naws_access_key_id = AKIATHEIRS\n",
        alice_credentials()
    );
    env.write_credentials(&theirs);
    let service = NotificationService::start(env.bus_address());
    for _ in 0..3 {
        assert!(env.process("dev")["SessionToken"].is_string());
    }
    let notice = wait_for_notice(&service, "mfad cannot update [dev-mfa] for dev");
    assert!(
        notice
            .body
            .contains("Commands that run credential_process still work"),
        "{notice:?}"
    );
    assert!(
        notice.body.contains("was not written by mfad"),
        "{notice:?}"
    );
    // A later notification (the next renewal's) has arrived: no second one about the file.
    assert!(env.run(&["logout", "dev"], "").status.success());
    env.process("dev");
    wait_for_notice(&service, "AWS session dev renewed");
    let about_the_file = service
        .notices()
        .into_iter()
        .filter(|n| n.summary.starts_with("mfad cannot update"))
        .count();
    assert_eq!(about_the_file, 1, "{:?}", service.notices());
}
