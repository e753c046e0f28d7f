//! STS calls in the caller's network: a TLS endpoint trusted through `AWS_CA_BUNDLE` or
//! the profile's `ca_bundle` (openssl certificates, socat in front of the STS double), and
//! an authenticating proxy (tinyproxy) from `HTTPS_PROXY` / `HTTP_PROXY`, bypassed by `NO_PROXY`.

use crate::support::network::{Certificates, Proxy, TlsFront};
use crate::support::*;
use std::process::Output;

const PROXY_USER: &str = "alice";
const PROXY_PASSWORD: &str = "pr0xy-s3cr3t";
/// alice's device steps every 2 s, so a second session waits little for a fresh code.
const STEP: u64 = 2;

/// alice's `dev` profile with STS at `sts_url`, plus `extra` lines.
fn write_dev(env: &TestEnv, sts_url: &str, extra: &str) {
    env.write_config(&alice_profile("dev", sts_url, extra));
}

/// A test environment (codes derived from alice's stored TOTP secret) whose STS double is
/// reached over TLS with a certificate of a test CA.
fn env_behind_tls(sts: &sts_double::StsDouble) -> (TestEnv, Certificates, TlsFront) {
    let env = alice_env_with_totp(sts, STEP, "");
    let certificates = Certificates::make(env.dir.path());
    let front = TlsFront::start(&certificates, &sts.url);
    write_dev(&env, &front.url, "");
    (env, certificates, front)
}

/// `mfad process dev` with extra variables in the caller's environment.
fn process_with(env: &TestEnv, vars: &[(&str, &str)]) -> Output {
    let mut command = env.mfad(&["process", "dev"]);
    command.envs(vars.iter().copied());
    command.output().unwrap()
}

fn assert_succeeded(env: &TestEnv, output: &Output) {
    assert!(
        output.status.success(),
        "{}\ndaemon log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        env.daemon_log()
    );
}

fn stderr(output: &Output) -> String {
    assert!(!output.status.success(), "unexpectedly succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// How many codes the user's record holds as sent.
fn codes_marked_used(env: &TestEnv) -> usize {
    let file = env.used_codes_file();
    std::fs::read(file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Vec<serde_json::Value>>(&bytes).ok())
        .map_or(0, |codes| codes.len())
}

fn logout(env: &TestEnv) {
    assert!(env.run(&["logout", "dev"], "").status.success());
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, openssl, socat and tinyproxy: run tests/run.sh"
)]
fn a_tls_endpoint_is_trusted_through_the_callers_ca_bundle() {
    let sts = double_with_alice(STEP);
    let (env, certificates, front) = env_behind_tls(&sts);

    // The test CA is not in the system's store: the error says what to set.
    let untrusted = stderr(&process_with(&env, &[]));
    assert!(untrusted.contains("does not trust"), "{untrusted}");
    assert!(untrusted.contains("AWS_CA_BUNDLE"), "{untrusted}");
    assert_eq!(sts.counts().get_session_token, 0);
    assert_eq!(
        codes_marked_used(&env),
        0,
        "a code that never left is not spent"
    );

    // The caller's AWS_CA_BUNDLE works at once: a failure of the caller's own settings is
    // not replayed to the next caller, and the code of the failed attempt never reached
    // STS, so it is sent now rather than waited out.
    let ca = certificates.ca.display().to_string();
    assert_succeeded(&env, &process_with(&env, &[("AWS_CA_BUNDLE", &ca)]));
    assert_eq!(sts.counts().get_session_token, 1);
    assert_eq!(sts.counts().wrong_codes + sts.counts().reused_codes, 0);

    // The profile's ca_bundle does the same.
    logout(&env);
    write_dev(&env, &front.url, &format!("ca_bundle = {ca}"));
    assert_succeeded(&env, &process_with(&env, &[]));
    assert_eq!(sts.counts().get_session_token, 2);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, openssl, socat and tinyproxy: run tests/run.sh"
)]
fn a_bad_ca_bundle_is_named_and_the_daemon_keeps_serving() {
    let sts = double_with_alice(STEP);
    let (env, certificates, _front) = env_behind_tls(&sts);
    let not_pem = env.dir.path().join("not-a-bundle.pem");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let not_pem = not_pem.display().to_string();
    let missing = env.dir.path().join("missing.pem").display().to_string();
    for (bundle, reason) in [
        (not_pem.as_str(), "holds no certificate"),
        (missing.as_str(), "it does not exist"),
    ] {
        let error = stderr(&process_with(&env, &[("AWS_CA_BUNDLE", bundle)]));
        assert!(error.contains(bundle), "{error}");
        assert!(error.contains(reason), "{error}");
        assert!(error.contains("point AWS_CA_BUNDLE"), "{error}");
    }
    assert_eq!(sts.counts().get_session_token, 0);
    let ca = certificates.ca.display().to_string();
    assert_succeeded(&env, &process_with(&env, &[("AWS_CA_BUNDLE", &ca)]));
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus, openssl, socat and tinyproxy: run tests/run.sh"
)]
fn sts_calls_go_through_the_callers_proxy_and_its_password_never_shows() {
    let sts = double_with_alice(STEP);
    let (env, certificates, front) = env_behind_tls(&sts);
    let proxy = Proxy::start(env.dir.path(), PROXY_USER, PROXY_PASSWORD);
    let ca = certificates.ca.display().to_string();
    let proxy_url = proxy.url(PROXY_USER, PROXY_PASSWORD);

    // HTTPS through the proxy: a CONNECT tunnel, with the proxy's Basic credentials.
    let through = process_with(&env, &[("AWS_CA_BUNDLE", &ca), ("HTTPS_PROXY", &proxy_url)]);
    assert_succeeded(&env, &through);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1, "{}", proxy.log());
    assert!(
        requests[0].contains(&format!(
            "CONNECT {}",
            front.url.trim_start_matches("https://")
        )),
        "{requests:?}"
    );

    // NO_PROXY sends the call straight to STS.
    logout(&env);
    let direct = process_with(
        &env,
        &[
            ("AWS_CA_BUNDLE", &ca),
            ("HTTPS_PROXY", &proxy_url),
            ("NO_PROXY", "127.0.0.1"),
        ],
    );
    assert_succeeded(&env, &direct);
    assert_eq!(proxy.requests().len(), 1, "{}", proxy.log());
    assert_eq!(sts.counts().get_session_token, 2);

    // A plain-HTTP endpoint goes through HTTP_PROXY, which forwards the request itself.
    logout(&env);
    write_dev(&env, &sts.url, "");
    let forwarded = process_with(&env, &[("HTTP_PROXY", &proxy_url)]);
    assert_succeeded(&env, &forwarded);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 2, "{}", proxy.log());
    assert!(
        requests[1].contains(&format!("POST {}/", sts.url.trim_end_matches('/'))),
        "{requests:?}"
    );
    assert_eq!(sts.counts().get_session_token, 3);
    write_dev(&env, &front.url, "");

    // A wrong password: the proxy refuses, the error says so without the password.
    logout(&env);
    let wrong_url = proxy.url(PROXY_USER, "wr0ng-pa55");
    let refused = stderr(&process_with(
        &env,
        &[("AWS_CA_BUNDLE", &ca), ("HTTPS_PROXY", &wrong_url)],
    ));
    assert!(refused.contains("the proxy refused"), "{refused}");
    assert!(refused.contains("check the user and password"), "{refused}");
    assert_eq!(sts.counts().get_session_token, 3);

    // Neither password ever reaches stderr, the daemon's log or its status.
    let status = env.run(&["status", "--json"], "");
    for text in [
        refused,
        String::from_utf8_lossy(&through.stderr).into_owned(),
        String::from_utf8_lossy(&forwarded.stderr).into_owned(),
        env.daemon_log(),
        String::from_utf8_lossy(&status.stdout).into_owned(),
    ] {
        assert!(!text.contains(PROXY_PASSWORD), "{text}");
        assert!(!text.contains("wr0ng-pa55"), "{text}");
    }
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs a Secret Service: gnome-keyring and dbus: run tests/run.sh"
)]
fn a_proxy_that_is_down_fails_fast_and_names_the_network() {
    let sts = double_with_alice(STEP);
    let env = alice_env_with_totp(&sts, STEP, "");
    let closed = format!("http://127.0.0.1:{}", network::free_port());
    let error = stderr(&process_with(&env, &[("HTTP_PROXY", &closed)]));
    assert!(error.contains("could not reach STS"), "{error}");
    assert!(error.contains("check the network, proxy"), "{error}");
    assert_eq!(sts.counts().get_session_token, 0);
    assert_eq!(
        codes_marked_used(&env),
        0,
        "a code that never left is not spent"
    );
    // The code was never spent: without the proxy it goes to STS at once.
    logout(&env);
    assert_succeeded(&env, &process_with(&env, &[]));
    assert_eq!(sts.counts().get_session_token, 1);
    assert_eq!(sts.counts().wrong_codes + sts.counts().reused_codes, 0);
    assert_eq!(codes_marked_used(&env), 1);
}
