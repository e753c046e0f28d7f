//! IAM Identity Center: mfad's calls through the AWS SDK crates against the project's
//! double of sso-oidc and the portal.

use crate::support::sso_double::SsoDouble;
use crate::support::*;
use base64::Engine;
use mfad::config::SsoSession;
use mfad::network::Network;
use mfad::sso::{self, AwsSso, Flow, Grant, Route, Sso, SsoError};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub(crate) fn session(double: &SsoDouble) -> SsoSession {
    SsoSession {
        name: "corp".into(),
        start_url: "https://corp.awsapps.com/start".into(),
        region: "eu-central-1".into(),
        scopes: vec!["sso:account:access".into()],
        oidc_url: Some(double.url.clone()),
        portal_url: Some(double.url.clone()),
        legacy: false,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_sdk_calls_speak_the_doubles_routes_through_every_grant() {
    let double = SsoDouble::start();
    double.assign("111122223333", "prod", "Admin");
    double.assign("111122223333", "prod", "ReadOnly");
    double.assign("444455556666", "dev", "Dev");
    let (session, network) = (session(&double), Network::default());
    let route = Route {
        session: &session,
        network: &network,
    };
    runtime().block_on(async {
        // The device flow: pending until the person approves, then a token.
        let device = AwsSso.register(route, Flow::Device).await.unwrap();
        let authorization = AwsSso
            .start_device_authorization(route, &device)
            .await
            .unwrap();
        let pending = AwsSso
            .create_token(
                route,
                &device,
                Grant::DeviceCode(&authorization.device_code),
            )
            .await;
        assert!(
            matches!(pending, Err(SsoError::AuthorizationPending)),
            "{pending:?}"
        );
        assert!(double.approve(&authorization.user_code));
        let token = AwsSso
            .create_token(
                route,
                &device,
                Grant::DeviceCode(&authorization.device_code),
            )
            .await
            .unwrap();
        assert!(double.accepts(token.access_token.expose_secret()));
        // The role's credentials, and what the person may take.
        let credentials = AwsSso
            .role_credentials(route, &token.access_token, "111122223333", "Admin")
            .await
            .unwrap();
        assert!(credentials.access_key_id.starts_with("ASIASSO"));
        // Both listings page (one item a page at the double), and are followed to the end.
        let accounts = sso::accounts(route, &token.access_token).await.unwrap();
        assert_eq!(accounts.len(), 2);
        let roles = sso::account_roles(route, &token.access_token, "111122223333")
            .await
            .unwrap();
        assert_eq!(roles, ["Admin", "ReadOnly"]);
        assert_eq!(double.counts().list_accounts, 2);
        assert_eq!(double.counts().list_account_roles, 2);
        // A portal that pages for ever is followed only so far, and named.
        double.page_endlessly();
        let endless = sso::accounts(route, &token.access_token).await;
        assert!(
            matches!(
                endless,
                Err(SsoError::TooManyPages {
                    action: "ListAccounts",
                    ..
                })
            ),
            "{endless:?}"
        );
        assert_eq!(double.counts().list_accounts, 2 + sso::MAX_PAGES);
        // A refresh rotates the refresh token; the used one is refused.
        let old = token.refresh_token.clone().unwrap();
        let refreshed = AwsSso
            .create_token(route, &device, Grant::RefreshToken(&old))
            .await
            .unwrap();
        let reused = AwsSso
            .create_token(route, &device, Grant::RefreshToken(&old))
            .await;
        assert!(
            matches!(reused, Err(SsoError::InvalidGrant { .. })),
            "{reused:?}"
        );
        // An expired token is refused by the portal.
        double.expire_tokens();
        let refused = AwsSso
            .role_credentials(route, &refreshed.access_token, "111122223333", "Admin")
            .await;
        assert!(
            matches!(refused, Err(SsoError::Unauthorized { .. })),
            "{refused:?}"
        );

        // Authorization code with PKCE, the double redirecting to the loopback.
        let browser = AwsSso.register(route, Flow::Browser).await.unwrap();
        let verifier =
            SecretString::from("a-verifier-of-enough-length-for-pkce-0123456789".to_owned());
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.expose_secret().as_bytes()));
        let redirect = "http://127.0.0.1:4567/oauth/callback";
        let url = sso::authorize_url(route, &browser, redirect, "state-1", &challenge);
        let location = redirect_of(&url);
        assert!(
            location.starts_with(&format!("{redirect}?code=")),
            "{location}"
        );
        assert!(location.ends_with("&state=state-1"), "{location}");
        let code = SecretString::from(
            location
                .split("code=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_owned(),
        );
        let wrong = SecretString::from("not-the-verifier".to_owned());
        let refused = AwsSso
            .create_token(
                route,
                &browser,
                Grant::AuthorizationCode {
                    code: &code,
                    verifier: &wrong,
                    redirect_uri: redirect,
                },
            )
            .await;
        assert!(
            matches!(refused, Err(SsoError::InvalidGrant { .. })),
            "{refused:?}"
        );
        let location = redirect_of(&sso::authorize_url(
            route, &browser, redirect, "state-2", &challenge,
        ));
        let code = SecretString::from(
            location
                .split("code=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_owned(),
        );
        let token = AwsSso
            .create_token(
                route,
                &browser,
                Grant::AuthorizationCode {
                    code: &code,
                    verifier: &verifier,
                    redirect_uri: redirect,
                },
            )
            .await
            .unwrap();
        assert!(double.accepts(token.access_token.expose_secret()));
    });
    let counts = double.counts();
    assert_eq!(counts.register_client, 2);
    assert_eq!(counts.token_by_device_code, 2);
    assert_eq!(counts.token_by_refresh, 2);
    assert_eq!(counts.token_by_code, 2);
    assert_eq!(counts.pkce_failures, 1);
}

/// Where the double's authorize endpoint sends the browser.
fn redirect_of(url: &str) -> String {
    let address = url.trim_start_matches("http://");
    let (host, target) = address.split_once('/').unwrap();
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 302"), "{response}");
    response
        .lines()
        .find_map(|line| line.strip_prefix("location: "))
        .unwrap()
        .trim()
        .to_owned()
}

/// A config with the sso-session `corp` and mfad profiles `role1`…`role3` of it (three
/// roles of one account).
pub(crate) fn sso_config(extra: &str) -> String {
    let mut config = String::from(
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-central-1\nsso_registration_scopes = sso:account:access\n",
    );
    for n in 1..=3 {
        config.push_str(&format!(
            "[profile role{n}]\nmfad_sso_session = corp\nmfad_sso_account_id = 111122223333\nmfad_sso_role_name = Role{n}\nregion = eu-west-1\ncredential_process = {MFAD} process role{n}\n{extra}"
        ));
    }
    config
}

/// A `$BROWSER` that follows the authorize redirect to mfad's loopback, as a person's
/// browser would, and keeps the page it was shown in `page.html`.
pub(crate) fn following_browser(env: &TestEnv) -> String {
    let path = env.dir.path().join("browser.sh");
    let page = env.dir.path().join("page.html");
    write_script(
        &path,
        &format!(
            "#!/bin/sh\necho opened >> {opened}\nexec python3 -c 'import sys, urllib.request; open(sys.argv[2], \"w\").write(urllib.request.urlopen(sys.argv[1]).read().decode())' \"$1\" {page}\n",
            opened = env.dir.path().join("opened").display(),
            page = page.display()
        ),
    );
    path.display().to_string()
}

/// The page at `url` as a browser shows it, redirects followed.
pub(crate) fn follow(env: &TestEnv, url: &str) -> String {
    let page = env
        .command("python3")
        .args([
            "-c",
            "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            url,
        ])
        .output()
        .unwrap();
    assert_success(&page);
    String::from_utf8_lossy(&page.stdout).into_owned()
}

pub(crate) fn sso_env(double: &SsoDouble) -> TestEnv {
    for n in 1..=3 {
        double.assign("111122223333", "prod", &format!("Role{n}"));
    }
    let env = TestEnv::new();
    env.write_config(&sso_config(""));
    env
}

#[test]
fn a_hundred_cold_callers_over_three_roles_cause_one_sign_in() {
    let double = SsoDouble::start();
    let env = sso_env(&double);
    let browser = following_browser(&env);
    let callers: Vec<_> = (0..100)
        .map(|i| {
            env.mfad(&["process", &format!("role{}", i % 3 + 1)])
                .env("BROWSER", &browser)
                .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
                .env("AWS_ENDPOINT_URL_SSO", &double.url)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut keys = std::collections::HashSet::new();
    for caller in callers {
        let output = caller.wait_with_output().unwrap();
        assert_success(&output);
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(answer["Expiration"].as_str().unwrap().ends_with('Z'));
        keys.insert(answer["AccessKeyId"].as_str().unwrap().to_owned());
    }
    assert_eq!(keys.len(), 3, "one set of credentials per role: {keys:?}");
    let counts = double.counts();
    assert_eq!(counts.register_client, 1, "{counts:?}");
    assert_eq!(counts.authorize, 1, "{counts:?}");
    assert_eq!(counts.create_token(), 1, "{counts:?}");
    assert_eq!(counts.role_credentials, 3, "{counts:?}");
    assert_eq!(counts.pkce_failures, 0, "{counts:?}");
    let page = std::fs::read_to_string(env.dir.path().join("page.html")).unwrap();
    assert!(page.contains("You may close this tab"), "{page}");
    let opened = std::fs::read_to_string(env.dir.path().join("opened")).unwrap();
    assert_eq!(
        opened.lines().count(),
        1,
        "one browser tab for a hundred callers"
    );
}

#[test]
fn a_browser_that_does_not_open_leaves_the_page_named_on_the_callers_terminal() {
    let double = SsoDouble::start();
    let env = sso_env(&double);
    let silent = env.dir.path().join("silent-browser.sh");
    write_script(&silent, "#!/bin/sh\nexit 0\n");
    let mut process = env.mfad(&["process", "role1"]);
    process
        .env("BROWSER", &silent)
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
        .env("AWS_ENDPOINT_URL_SSO", &double.url)
        .stdout(std::process::Stdio::piped());
    let mut pty = pty::Pty::attach(&mut process);
    let child = process.spawn().unwrap();
    assert!(
        pty.expect("if none opened, open ", Duration::from_secs(20))
            && pty.expect("\n", Duration::from_secs(5)),
        "{}\n{}",
        pty.seen,
        env.daemon_log()
    );
    let url = pty.last_url();
    // The person opens it in a browser here: it comes back to mfad's loopback port.
    let page = follow(&env, &url);
    assert!(page.contains("You may close this tab"), "{page}");
    assert_success(&child.wait_with_output().unwrap());
    assert_eq!(double.counts().authorize, 1);
}

#[test]
fn sign_in_with_a_code_on_the_terminal_then_populate_and_sign_out() {
    let double = SsoDouble::start();
    let env = sso_env(&double);
    let with_double = |command: &mut std::process::Command| {
        command
            .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
            .env("AWS_ENDPOINT_URL_SSO", &double.url);
    };
    // No browser, no desktop: the device flow, its code shown on this terminal.
    let mut login = env.mfad(&["sso", "login", "corp"]);
    with_double(&mut login);
    login.stdout(std::process::Stdio::piped());
    let mut pty = pty::Pty::attach(&mut login);
    let child = login.spawn().unwrap();
    assert!(
        pty.expect("confirm the code ", Duration::from_secs(20)),
        "{}",
        pty.seen
    );
    assert!(pty.expect("\n", Duration::from_secs(5)));
    let line = pty
        .seen
        .lines()
        .rev()
        .find(|l| l.contains("confirm the code"))
        .unwrap()
        .to_owned();
    let code = line.rsplit(' ').next().unwrap().trim().to_owned();
    assert!(
        line.contains("https://device.sso.example/?user_code="),
        "{line}"
    );
    // The person confirms it after a moment: mfad polls until then.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(double.approve(&code), "{code}");
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("signed in to sso-session corp until"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let counts = double.counts();
    assert_eq!(counts.start_device_authorization, 1, "{counts:?}");
    assert!(counts.pending_polls >= 1, "{counts:?}");
    assert_eq!(
        counts.slow_downs, 0,
        "mfad polled faster than asked: {counts:?}"
    );

    // A caller without a terminal now rides on that sign-in.
    let mut process = env.mfad(&["process", "role2"]);
    with_double(&mut process);
    let output = process.output().unwrap();
    assert_success(&output);
    // Status shows the sso-session's token and the role.
    let status = env.run(&["status"], "");
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(said.contains("sso-session corp: signed in until"), "{said}");
    assert!(
        said.contains("role2: Identity Center role Role2 in 111122223333 (sso-session corp)"),
        "{said}"
    );
    let prompt = env.run(&["prompt", "role2"], "");
    assert!(
        String::from_utf8_lossy(&prompt.stdout).starts_with("role2 "),
        "{prompt:?}"
    );
    let sso_status = env.run(&["sso", "status", "corp"], "");
    assert_success(&sso_status);
    let said = String::from_utf8_lossy(&sso_status.stdout);
    assert!(
        said.starts_with("sso-session corp: signed in until"),
        "{said}"
    );
    assert!(
        said.contains("  Role2 in 111122223333 (sso-session corp) (role2): until"),
        "{said}"
    );

    // Profiles for every account and role, byte-preservingly, once.
    double.assign("444455556666", "Dev [EU]", "PowerUser");
    let before = std::fs::read_to_string(env.config_path()).unwrap();
    let populate = |prefix: &str| {
        let mut command = env.mfad(&[
            "sso",
            "populate",
            "corp",
            "--prefix",
            prefix,
            "--region",
            "eu-west-1",
        ]);
        with_double(&mut command);
        command.output().unwrap()
    };
    let output = populate("corp-");
    assert_success(&output);
    let after = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(after.starts_with(&before), "nothing before was changed");
    assert!(after.contains("[profile corp-dev-eu-poweruser]\nmfad_sso_session = corp\nmfad_sso_account_id = 444455556666\nmfad_sso_role_name = PowerUser\nregion = eu-west-1\ncredential_process = mfad process corp-dev-eu-poweruser\n"), "{after}");
    assert_eq!(after.matches("[profile corp-").count(), 4, "{after}");
    assert_success(&populate("corp-"));
    assert_eq!(
        std::fs::read_to_string(env.config_path()).unwrap(),
        after,
        "idempotent"
    );

    // Signing out revokes the token and drops the roles' credentials: a caller without a
    // terminal or desktop is then told at once how to sign in again.
    let mut logout = env.mfad(&["sso", "logout", "corp"]);
    with_double(&mut logout);
    let output = logout.output().unwrap();
    assert_success(&output);
    assert_eq!(double.counts().logouts, 1);
    let mut process = env.mfad(&["process", "role2"]);
    with_double(&mut process);
    let output = process.output().unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("`mfad sso login corp`"), "{error}");
    // A script can test for a sign-in before it asks for one.
    let sso_status = env.run(&["sso", "status", "corp"], "");
    assert!(!sso_status.status.success());
    assert!(
        String::from_utf8_lossy(&sso_status.stdout).starts_with("sso-session corp: not signed in"),
        "{sso_status:?}"
    );
    assert!(
        String::from_utf8_lossy(&sso_status.stderr).contains("`mfad sso login corp`"),
        "{sso_status:?}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI and boto3: run tests/run.sh"
)]
fn the_aws_cli_boto3_and_the_rust_sdk_sign_with_the_roles_credentials() {
    let double = SsoDouble::start();
    let sts = sts_double::StsDouble::start();
    double.valid_at(&sts);
    let env = sso_env(&double);
    let browser = following_browser(&env);
    let client = |program: &str| {
        let mut command = env.command(program);
        command
            .env("BROWSER", &browser)
            .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
            .env("AWS_ENDPOINT_URL_SSO", &double.url)
            .env("STS", &sts.url);
        command
    };
    let cli = client(AWS_CLI_V2)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "role1",
            "--output",
            "text",
        ])
        .args(["--query", "Arn", "--endpoint-url", &sts.url])
        .output()
        .unwrap();
    assert_success(&cli);
    assert_eq!(
        String::from_utf8_lossy(&cli.stdout).trim(),
        "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Role1/person"
    );
    let boto3 = client("python3")
        .args([
            "-c",
            "import boto3, os\nprint(boto3.Session(profile_name='role2').client('sts', endpoint_url=os.environ['STS']).get_caller_identity()['Arn'])",
        ])
        .output()
        .unwrap();
    assert_success(&boto3);
    assert!(String::from_utf8_lossy(&boto3.stdout).contains("AWSReservedSSO_Role2"));
    // The Rust SDK's own credential_process provider, in this process's environment.
    let arn = {
        let _env = PROCESS_ENV.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: see PROCESS_ENV.
        unsafe {
            std::env::set_var("AWS_CONFIG_FILE", env.config_path());
            std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", env.credentials_path());
            std::env::set_var("XDG_RUNTIME_DIR", env.runtime_dir());
            std::env::set_var("HOME", env.home());
            std::env::set_var("AWS_ENDPOINT_URL_SSO_OIDC", &double.url);
            std::env::set_var("AWS_ENDPOINT_URL_SSO", &double.url);
            std::env::set_var("AWS_ENDPOINT_URL_STS", &sts.url);
            std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
            std::env::remove_var("MFAD_SOCKET");
        }
        let identity = runtime().block_on(async {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .profile_name("role3")
                .load()
                .await;
            aws_sdk_sts::Client::new(&config)
                .get_caller_identity()
                .send()
                .await
        });
        // SAFETY: see PROCESS_ENV.
        unsafe {
            for name in [
                "AWS_ENDPOINT_URL_SSO_OIDC",
                "AWS_ENDPOINT_URL_SSO",
                "AWS_ENDPOINT_URL_STS",
            ] {
                std::env::remove_var(name);
            }
        }
        identity
            .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)))
            .arn
            .unwrap_or_default()
    };
    assert!(arn.contains("AWSReservedSSO_Role3"), "{arn}");
    let counts = sts.counts();
    assert_eq!(counts.bad_signatures, 0, "{counts:?}");
    assert_eq!(counts.get_caller_identity, 3, "{counts:?}");
    // One sign-in served the three clients.
    assert_eq!(double.counts().authorize, 1);
    assert_eq!(double.counts().role_credentials, 3);
}

/// `mfad process` of a profile, with the double's endpoints and a `$BROWSER`.
fn sso_caller(
    env: &TestEnv,
    double: &SsoDouble,
    browser: &str,
    profile: &str,
) -> std::process::Command {
    let mut command = env.mfad(&["process", profile]);
    command
        .env("BROWSER", browser)
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
        .env("AWS_ENDPOINT_URL_SSO", &double.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

#[test]
fn a_token_near_its_end_is_refreshed_ahead_with_no_caller() {
    let double = SsoDouble::start();
    // Tokens of 9 s: refreshed in their last third, 3 s before they end.
    double.set_lifetimes(Duration::from_secs(9), Duration::from_secs(3600));
    let env = sso_env(&double);
    let browser = following_browser(&env);
    assert_success(
        &sso_caller(&env, &double, &browser, "role1")
            .output()
            .unwrap(),
    );
    assert!(
        wait_until(Duration::from_secs(20), || double.counts().token_by_refresh
            >= 2),
        "{:?}\n{}",
        double.counts(),
        env.daemon_log()
    );
    let counts = double.counts();
    assert_eq!(counts.authorize, 1, "nobody was asked again: {counts:?}");
    assert!(
        env.daemon_log()
            .contains("refreshed the token of sso-session corp")
    );
}

#[test]
fn a_token_the_portal_refuses_is_refreshed_and_a_revoked_sign_in_asked_once_for_all() {
    let double = SsoDouble::start();
    // Role credentials of 14 minutes: inside the 15 the SDKs keep, so each caller renews.
    double.set_lifetimes(Duration::from_secs(8 * 3600), Duration::from_secs(14 * 60));
    let env = sso_env(&double);
    let browser = following_browser(&env);
    assert_success(
        &sso_caller(&env, &double, &browser, "role1")
            .output()
            .unwrap(),
    );
    // The access token dies at the portal; its refresh token still works: no person.
    double.expire_tokens();
    assert_success(
        &sso_caller(&env, &double, &browser, "role1")
            .output()
            .unwrap(),
    );
    let counts = double.counts();
    assert_eq!(
        (counts.authorize, counts.token_by_refresh),
        (1, 1),
        "{counts:?}"
    );
    // The sign-in is revoked (refresh tokens too): twenty callers, one new sign-in.
    double.revoke_all();
    let callers: Vec<_> = (0..20)
        .map(|i| {
            sso_caller(&env, &double, &browser, &format!("role{}", i % 3 + 1))
                .spawn()
                .unwrap()
        })
        .collect();
    for caller in callers {
        assert_success(&caller.wait_with_output().unwrap());
    }
    let counts = double.counts();
    assert_eq!(
        counts.authorize, 2,
        "one new sign-in for twenty callers: {counts:?}"
    );
    assert_eq!(counts.token_by_code, 2, "{counts:?}");
    let opened = std::fs::read_to_string(env.dir.path().join("opened")).unwrap();
    assert_eq!(opened.lines().count(), 2);
}

#[test]
fn the_token_survives_a_restart_in_the_store_and_never_in_plaintext() {
    let double = SsoDouble::start();
    for n in 1..=3 {
        double.assign("111122223333", "prod", &format!("Role{n}"));
    }
    let env = TestEnv::new().with_file_store();
    env.write_config(&sso_config(""));
    let browser = following_browser(&env);
    let first = sso_caller(&env, &double, &browser, "role1")
        .output()
        .unwrap();
    assert_success(&first);
    env.stop_daemon();
    // A new daemon, a caller with neither browser nor terminal: the saved token serves.
    let mut later = env.mfad(&["process", "role2"]);
    later
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
        .env("AWS_ENDPOINT_URL_SSO", &double.url);
    assert_success(&later.output().unwrap());
    let counts = double.counts();
    assert_eq!(counts.authorize, 1, "no second sign-in: {counts:?}");
    assert!(
        env.daemon_log()
            .contains("took the saved token of sso-session corp")
    );
    // A sign-in after the restart uses the registration kept with the token.
    let first_tokens = double.issued_tokens();
    double.revoke_all();
    assert_success(
        &sso_caller(&env, &double, &browser, "role3")
            .output()
            .unwrap(),
    );
    let counts = double.counts();
    assert_eq!(
        (counts.register_client, counts.authorize),
        (1, 2),
        "{counts:?}"
    );
    // Not in plaintext anywhere under the home (the store is encrypted), nor in the
    // runtime directory, which holds the daemon's log.
    let tokens: Vec<String> = first_tokens
        .into_iter()
        .chain(double.issued_tokens())
        .collect();
    assert!(!tokens.is_empty());
    assert!(!env.daemon_log().is_empty());
    let mut files = Vec::new();
    collect_files(&env.home(), &mut files);
    collect_files(&env.runtime_dir(), &mut files);
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "{} holds a token",
                file.display()
            );
        }
    }
}

fn collect_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// A token of the double, signed in to with the device flow through mfad's library.
pub(crate) fn device_token(double: &SsoDouble) -> (sso::Token, sso::Registration) {
    let (session, network) = (session(double), Network::default());
    let route = Route {
        session: &session,
        network: &network,
    };
    double.approve_devices_at_once();
    runtime().block_on(async {
        let registration = AwsSso.register(route, Flow::Device).await.unwrap();
        let authorization = AwsSso
            .start_device_authorization(route, &registration)
            .await
            .unwrap();
        let token = AwsSso
            .create_token(
                route,
                &registration,
                Grant::DeviceCode(&authorization.device_code),
            )
            .await
            .unwrap();
        (token, registration)
    })
}

#[test]
fn a_token_aws_sso_login_left_in_the_cli_cache_is_taken() {
    let double = SsoDouble::start();
    let env = sso_env(&double);
    let (token, registration) = device_token(&double);
    let cache = sso::cache::cli_cache_file(&env.home(), &session(&double));
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(
        &cache,
        sso::cache::to_json(&session(&double), &token, &registration).expose_secret(),
    )
    .unwrap();
    let mut caller = env.mfad(&["process", "role1"]);
    caller
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
        .env("AWS_ENDPOINT_URL_SSO", &double.url);
    assert_success(&caller.output().unwrap());
    let counts = double.counts();
    assert_eq!(
        (counts.authorize, counts.token_by_code),
        (0, 0),
        "{counts:?}"
    );
    assert_eq!(counts.role_credentials, 1);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs boto3: run tests/run.sh"
)]
fn with_share_cli_cache_botocores_own_sso_profile_rides_on_mfads_sign_in() {
    let double = SsoDouble::start();
    let sts = sts_double::StsDouble::start();
    double.valid_at(&sts);
    let env = sso_env(&double);
    env.write_daemon_config("share_cli_cache = true\n");
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str("[profile cli]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Role1\nregion = eu-west-1\n");
    env.write_config(&config);
    let browser = following_browser(&env);
    assert_success(
        &sso_caller(&env, &double, &browser, "role1")
            .output()
            .unwrap(),
    );
    let cache = sso::cache::cli_cache_file(&env.home(), &session(&double));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&cache).unwrap().mode() & 0o777, 0o600);
    // botocore's own SSO provider (as the AWS CLI v2 has it) reads the token mfad wrote.
    let boto3 = env
        .command("python3")
        .env("AWS_ENDPOINT_URL_SSO", &double.url)
        .env("STS", &sts.url)
        .args([
            "-c",
            "import boto3, os\nprint(boto3.Session(profile_name='cli').client('sts', endpoint_url=os.environ['STS']).get_caller_identity()['Arn'])",
        ])
        .output()
        .unwrap();
    assert_success(&boto3);
    assert!(String::from_utf8_lossy(&boto3.stdout).contains("AWSReservedSSO_Role1"));
    assert_eq!(
        double.counts().authorize,
        1,
        "one sign-in for mfad and botocore"
    );
    // Signing out takes the shared file away too.
    let mut logout = env.mfad(&["sso", "logout", "corp"]);
    logout
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
        .env("AWS_ENDPOINT_URL_SSO", &double.url);
    assert_success(&logout.output().unwrap());
    assert!(!cache.exists());
}

#[test]
fn with_mfad_sso_flow_device_the_browser_confirms_a_code_and_slow_down_is_honoured() {
    let double = SsoDouble::start();
    for n in 1..=3 {
        double.assign("111122223333", "prod", &format!("Role{n}"));
    }
    let env = TestEnv::new();
    env.write_config(&sso_config("mfad_sso_flow = device\n"));
    // The browser opens the verification page, where the person confirms the code.
    let approver = env.dir.path().join("approver.sh");
    write_script(
        &approver,
        &format!(
            "#!/bin/sh\nexec python3 -c 'import sys, urllib.parse, urllib.request\ncode = urllib.parse.parse_qs(urllib.parse.urlparse(sys.argv[1]).query)[\"user_code\"][0]\nurllib.request.urlopen(\"{}/device?user_code=\" + code).read()' \"$1\"\n",
            double.url
        ),
    );
    double.slow_down_once();
    let output = sso_caller(&env, &double, &approver.display().to_string(), "role1")
        .output()
        .unwrap();
    assert_success(&output);
    let counts = double.counts();
    assert_eq!(
        (counts.start_device_authorization, counts.authorize),
        (1, 0),
        "{counts:?}"
    );
    assert_eq!(
        counts.token_by_device_code, 2,
        "one SlowDown, then the token: {counts:?}"
    );
    assert_eq!(
        counts.slow_downs, 0,
        "a poll came sooner than asked: {counts:?}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs Debian's chromium: run tests/run.sh"
)]
fn headless_chromium_follows_the_sign_in_to_the_callback_page() {
    let double = SsoDouble::start();
    let env = sso_env(&double);
    let profile = env.dir.path().join("chromium-profile");
    let page = env.dir.path().join("page.html");
    let browser = env.dir.path().join("chromium.sh");
    // Headless and quiet: nothing beyond loopback is reachable from the test machine.
    write_script(
        &browser,
        &format!(
            "#!/bin/sh\nexec chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir={} --dump-dom \"$1\" > {} 2>/dev/null\n",
            profile.display(),
            page.display()
        ),
    );
    let output = sso_caller(&env, &double, &browser.display().to_string(), "role1")
        .output()
        .unwrap();
    assert_success(&output);
    assert_eq!(double.counts().authorize, 1);
    // The page Chromium was left on: mfad's callback, after the authorize redirect.
    assert!(
        wait_until(Duration::from_secs(30), || std::fs::read_to_string(&page)
            .is_ok_and(|p| p.contains("You may close this tab"))),
        "{}",
        std::fs::read_to_string(&page).unwrap_or_default()
    );
    let shown = std::fs::read_to_string(&page).unwrap();
    assert!(
        shown.contains("you are signed in to IAM Identity Center (corp)"),
        "{shown}"
    );
}
