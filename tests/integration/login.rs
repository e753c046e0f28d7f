//! `mfad login`: the console sign-in URL through the federation endpoint (the STS double
//! serves `/federation` for the sessions it issued).

use crate::support::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/admin";

/// dev (alice's MFA profile) and admin (a role on dev's session); sign-in at the double.
fn login_env(sts: &sts_double::StsDouble) -> TestEnv {
    let env = TestEnv::new();
    let script = code_script(&env, 30);
    let mut config = alice_profile("dev", &sts.url, &format!("mfa_process = {script}"));
    config.push_str(&format!(
        "[profile admin]\nmfad_source_profile = dev\nmfad_role_arn = {ROLE}\nregion = eu-west-1\nendpoint_url = {}\ncredential_process = {MFAD} process admin\n",
        sts.url
    ));
    env.write_config(&config);
    env.write_credentials(&alice_credentials());
    env
}

fn login(env: &TestEnv, sts: &sts_double::StsDouble, args: &[&str]) -> std::process::Output {
    let mut all = vec!["login"];
    all.extend_from_slice(args);
    env.mfad(&all)
        .env("MFAD_SIGNIN_URL", format!("{}/federation", sts.url))
        .env("MFAD_LOG", "trace")
        .output()
        .unwrap()
}

#[test]
fn a_role_profile_signs_in_with_its_role_session_and_the_url_is_never_logged() {
    let sts = double_with_alice(30);
    let env = login_env(&sts);
    let output = login(&env, &sts, &["admin", "--print"]);
    assert_success(&output);
    let url = String::from_utf8(output.stdout).unwrap();
    let grants = sts.counts().signin_tokens;
    assert_eq!(grants.len(), 1);
    assert!(grants[0].arn.contains(":assumed-role/admin/"), "{grants:?}");
    assert_eq!(
        url,
        format!(
            "{}/federation?Action=login&Issuer=mfad&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1&SigninToken={}\n",
            sts.url, grants[0].token
        )
    );
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("carries no MFA"),
        "a role session is made with the MFA session"
    );
    assert!(sts.counts().federation_tokens.is_empty());
    let status = env.run(&["status", "--json"], "");
    assert_success(&status);
    for place in [
        env.daemon_log(),
        String::from_utf8_lossy(&status.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ] {
        assert!(!place.contains(&grants[0].token), "{place}");
    }
}

#[test]
fn a_profile_without_a_role_signs_in_as_a_federated_user_and_is_told_it_has_no_mfa() {
    let sts = double_with_alice(30);
    let env = login_env(&sts);
    let destination = "https://console.aws.amazon.com/s3/home?region=eu-west-1";
    let output = login(
        &env,
        &sts,
        &["dev", "--print", "--destination", destination],
    );
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("carries no MFA") && stderr.contains("role profile"),
        "{stderr}"
    );
    let counts = sts.counts();
    assert_eq!(counts.get_session_token, 0, "no MFA code was spent");
    assert_eq!(counts.federation_tokens.len(), 1);
    let (name, policy) = &counts.federation_tokens[0];
    assert_eq!(name, USER);
    assert!(
        policy
            .as_deref()
            .is_some_and(|p| p.contains("\"Action\":\"*\""))
    );
    assert_eq!(counts.signin_tokens.len(), 1);
    let grant = &counts.signin_tokens[0];
    assert_eq!(grant.arn, "arn:aws:sts::123456789012:federated-user/alice");
    assert!(!grant.mfa);
    let url = String::from_utf8(output.stdout).unwrap();
    assert!(
        url.contains(
            "&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Deu-west-1&"
        ),
        "{url}"
    );
    assert!(
        url.trim_end()
            .ends_with(&format!("SigninToken={}", grant.token))
    );
}

#[test]
fn without_print_the_url_goes_to_the_browser_opener_and_not_to_stdout() {
    let sts = double_with_alice(30);
    let env = login_env(&sts);
    let bin = env.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let opened = env.dir.path().join("opened");
    let opener = bin.join("xdg-open");
    write_script(
        &opener,
        &format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > {}\nexit \"${{OPENER_EXIT:-0}}\"\n",
            opened.display()
        ),
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = env
        .mfad(&["login", "admin"])
        .env("PATH", &path)
        .env("MFAD_SIGNIN_URL", format!("{}/federation", sts.url))
        .output()
        .unwrap();
    assert_success(&output);
    assert!(output.stdout.is_empty());
    let token = &sts.counts().signin_tokens[0].token;
    let url = std::fs::read_to_string(&opened).unwrap();
    assert!(url.ends_with(&format!("SigninToken={token}")), "{url}");

    let failed = env
        .mfad(&["login", "admin"])
        .env("PATH", &path)
        .env("OPENER_EXIT", "3")
        .env("MFAD_SIGNIN_URL", format!("{}/federation", sts.url))
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("could not open a browser with xdg-open")
            && stderr.contains("mfad login PROFILE --print"),
        "{stderr}"
    );
    assert!(!stderr.contains("SigninToken"));
}

#[test]
fn an_unreachable_sign_in_endpoint_is_named_without_the_session() {
    let sts = double_with_alice(30);
    let env = login_env(&sts);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/federation", closed.local_addr().unwrap());
    drop(closed);
    let output = env
        .mfad(&["login", "admin", "--print"])
        .env("MFAD_SIGNIN_URL", &endpoint)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the console sign-in endpoint {endpoint} gave no sign-in token"
        )) && stderr.contains("run the command again"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("sessionKey") && !stderr.contains("secret-"),
        "{stderr}"
    );
}

#[test]
fn a_sign_in_endpoint_over_plain_http_is_refused() {
    let sts = double_with_alice(30);
    let env = login_env(&sts);
    let endpoint = "http://signin.example.invalid/federation";
    let output = env
        .mfad(&["login", "admin", "--print"])
        .env("MFAD_SIGNIN_URL", endpoint)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "mfad sends nothing signed with a key or session to {endpoint}"
        )) && stderr.contains("only https is used"),
        "{stderr}"
    );
    // Refused before any session was made for it.
    assert_eq!(sts.counts().sessions_issued, 0);
}
