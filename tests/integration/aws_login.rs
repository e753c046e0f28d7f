//! `aws login` sign-ins served by mfad: the cache the CLI leaves, refreshed by mfad once
//! for all callers against the project's sign-in double (DPoP proofs checked, refresh
//! tokens rotated), and shared with the Rust SDK's own login provider.

use crate::sso::follow;
use crate::support::signin_double::{self, Refusal, SigninDouble, age_cache};
use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

pub(crate) const ARN: &str = "arn:aws:iam::111122223333:user/alice";

pub(crate) struct World {
    pub(crate) sts: sts_double::StsDouble,
    pub(crate) signin: SigninDouble,
    pub(crate) env: TestEnv,
    pub(crate) cache: std::path::PathBuf,
}

/// A person signed in with `aws login --profile console`, its credentials ending in
/// `left`; `dev` bridges it, `admin` assumes a role with it.
pub(crate) fn signed_in(left: Duration) -> World {
    let sts = sts_double::StsDouble::start();
    let signin = SigninDouble::start(ARN, &sts);
    let env = TestEnv::new();
    env.write_config(&format!(
        "[profile console]\nlogin_session = {ARN}\nregion = eu-west-1\n\
         [profile dev]\ncredential_process = {MFAD} process dev\nmfad_login_profile = console\nregion = eu-west-1\n\
         [profile admin]\ncredential_process = {MFAD} process admin\nmfad_login_profile = console\nregion = eu-west-1\n\
         mfad_role_arn = arn:aws:iam::222233334444:role/admin\nendpoint_url = {sts}\n",
        sts = sts.url
    ));
    let cache = signin.sign_in(&env.home().join(".aws/login/cache"), left);
    World {
        sts,
        signin,
        env,
        cache,
    }
}

impl World {
    fn mfad(&self, args: &[&str]) -> std::process::Command {
        let mut command = self.env.mfad(args);
        command.env("AWS_ENDPOINT_URL_SIGNIN", &self.signin.url);
        command
    }

    fn process(&self, profile: &str) -> serde_json::Value {
        let output = self.mfad(&["process", profile]).output().unwrap();
        assert!(
            output.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.env.daemon_log()
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// The ARN boto3 signs as with `profile` (its own providers, credential_process
    /// included).
    fn boto3_arn(&self, profile: &str) -> String {
        let output = self
            .env
            .command("python3")
            .env("STS", &self.sts.url)
            .env("AWS_ENDPOINT_URL_SIGNIN", &self.signin.url)
            .env("PROFILE", profile)
            .args([
                "-c",
                "import boto3, os\nprint(boto3.Session(profile_name=os.environ['PROFILE']).client('sts', endpoint_url=os.environ['STS']).get_caller_identity()['Arn'])",
            ])
            .output()
            .unwrap();
        assert_success(&output);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn cached(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&self.cache).unwrap()).unwrap()
    }
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI and boto3: run tests/run.sh"
)]
fn the_aws_cli_and_boto3_sign_with_a_browser_sign_in_refreshed_once() {
    let world = signed_in(Duration::from_secs(180));
    let before = world.cached();
    let cli = world
        .env
        .command(AWS_CLI_V2)
        .env("AWS_ENDPOINT_URL_SIGNIN", &world.signin.url)
        .args(["sts", "get-caller-identity", "--profile", "dev"])
        .args(["--endpoint-url", &world.sts.url, "--output", "text"])
        .args(["--query", "Arn"])
        .output()
        .unwrap();
    assert_success(&cli);
    assert_eq!(String::from_utf8_lossy(&cli.stdout).trim(), ARN);
    // Three minutes left is too little to hand out: refreshed once, with a DPoP proof the
    // double verified, and the rotated refresh token written back, 0600.
    let counts = world.signin.counts();
    assert_eq!(counts.token_by_refresh, 1, "{counts:?}");
    assert_eq!(counts.bad_proofs + counts.replays, 0, "{counts:?}");
    let after = world.cached();
    assert_ne!(after["refreshToken"], before["refreshToken"]);
    assert_ne!(
        after["accessToken"]["accessKeyId"],
        before["accessToken"]["accessKeyId"]
    );
    assert_eq!(after["dpopKey"], before["dpopKey"]);
    assert_eq!(after["accessToken"]["accountId"], "111122223333");
    let mode = std::fs::metadata(&world.cache)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // boto3, and a role assumed with the sign-in's credentials: no second refresh.
    assert!(world.boto3_arn("admin").contains("assumed-role/admin"));
    assert_eq!(world.signin.counts().token_by_refresh, 1);
    // The prompt knows that 15-minute credentials are renewed in their last 10 only.
    let prompt = world.mfad(&["prompt", "dev"]).output().unwrap();
    let prompt = String::from_utf8_lossy(&prompt.stdout);
    assert!(
        prompt.starts_with("dev 1") && !prompt.contains('!'),
        "{prompt}"
    );
    let status = world.mfad(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains(&format!("dev: the aws login sign-in of {ARN}")),
        "{status}"
    );
    assert!(status.contains("on the aws login sign-in of"), "{status}");
}

#[test]
fn a_hundred_cold_callers_cause_one_refresh() {
    let world = signed_in(Duration::from_secs(60));
    let callers: Vec<_> = (0..100)
        .map(|_| {
            world
                .mfad(&["process", "dev"])
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
        keys.insert(answer["AccessKeyId"].as_str().unwrap().to_owned());
    }
    assert_eq!(keys.len(), 1, "{keys:?}");
    let counts = world.signin.counts();
    assert_eq!(counts.token_by_refresh, 1, "{counts:?}");
    assert_eq!(
        world.cached()["accessToken"]["accessKeyId"].as_str(),
        keys.iter().next().map(String::as_str)
    );
}

#[test]
fn a_cache_that_lasts_is_taken_and_a_refresh_done_meanwhile_is_not_repeated() {
    let world = signed_in(Duration::from_secs(14 * 60));
    let first = world.process("dev");
    assert_eq!(world.signin.counts().token_by_refresh, 0);
    assert_eq!(
        first["AccessKeyId"],
        world.cached()["accessToken"]["accessKeyId"]
    );
    // Another tool refreshed the file (as the CLI would): after a logout mfad reads it
    // again and takes its credentials instead of refreshing.
    assert_success(&world.mfad(&["logout", "dev"]).output().unwrap());
    let other = world.signin.sign_in(
        &world.env.home().join(".aws/login/cache"),
        Duration::from_secs(900),
    );
    assert_eq!(other, world.cache);
    let second = world.process("dev");
    assert_eq!(
        second["AccessKeyId"],
        world.cached()["accessToken"]["accessKeyId"]
    );
    assert_ne!(second["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(world.signin.counts().token_by_refresh, 0);
}

#[test]
fn a_refresh_done_while_mfad_waits_for_the_lock_is_taken_not_repeated() {
    let world = signed_in(Duration::from_secs(60));
    // Another mfad process holds the file's lock while it refreshes.
    let held = std::fs::File::create(mfad::files::sibling(&world.cache, ".mfad-lock")).unwrap();
    held.lock().unwrap();
    let caller = world
        .mfad(&["process", "dev"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        world.env.daemon_log().contains("waiting for the lock of")
    }));
    let other = world.signin.sign_in(
        &world.env.home().join(".aws/login/cache"),
        Duration::from_secs(900),
    );
    assert_eq!(other, world.cache);
    drop(held);
    let output = caller.wait_with_output().unwrap();
    assert_success(&output);
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        answer["AccessKeyId"],
        world.cached()["accessToken"]["accessKeyId"]
    );
    assert_eq!(world.signin.counts().token_by_refresh, 0);
}

#[test]
fn a_refresh_that_cannot_be_written_back_is_held_and_written_at_the_next_use() {
    let world = signed_in(Duration::from_secs(60));
    let before = std::fs::read(&world.cache).unwrap();
    // A directory where the temporary file goes: the write fails, even as root.
    let blocker = std::path::PathBuf::from(format!("{}.mfad-tmp", world.cache.display()));
    std::fs::create_dir_all(blocker.join("in-the-way")).unwrap();
    // The refresh spent the old refresh token: its caller is served all the same.
    let served = world.process("dev");
    assert_eq!(std::fs::read(&world.cache).unwrap(), before);
    let log = world.env.daemon_log();
    assert!(log.contains("could not be written back"), "{log}");
    // At the session's next use, once the file can be written, the rotated refresh token
    // is written back, and the session goes on from it.
    std::fs::remove_dir_all(&blocker).unwrap();
    assert_success(&world.mfad(&["logout", "dev"]).output().unwrap());
    let again = world.process("dev");
    assert_eq!(again["AccessKeyId"], served["AccessKeyId"]);
    assert_eq!(
        world.cached()["accessToken"]["accessKeyId"],
        served["AccessKeyId"]
    );
    age_cache(&world.cache, Duration::from_secs(60));
    assert_success(&world.mfad(&["logout", "dev"]).output().unwrap());
    world.process("dev");
    let counts = world.signin.counts();
    assert_eq!(
        (counts.token_by_refresh, counts.used_refresh_tokens),
        (2, 0),
        "{counts:?}"
    );
}

#[test]
fn a_refusal_is_named_once_with_its_remedy_and_nothing_is_lost() {
    let world = signed_in(Duration::from_secs(60));
    let before = std::fs::read(&world.cache).unwrap();
    for (refusal, words) in [
        (Refusal::TokenExpired, "the sign-in has expired"),
        (Refusal::UserCredentialsChanged, "password changed"),
        (Refusal::InsufficientPermissions, "signin:CreateOAuth2Token"),
    ] {
        assert_success(&world.mfad(&["logout", "dev"]).output().unwrap());
        world.signin.refuse_next(refusal);
        let output = world.mfad(&["process", "dev"]).output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(words), "{stderr}");
        assert!(
            stderr.contains("aws login --profile console")
                || stderr.contains("SignInLocalDevelopmentAccess"),
            "{stderr}"
        );
        // The cache is as it was: the next attempt can still refresh.
        assert_eq!(std::fs::read(&world.cache).unwrap(), before);
    }
    // Callers right after a refusal get it without another call to the service.
    let refreshes = world.signin.counts().token_by_refresh;
    let again = world.mfad(&["process", "dev"]).output().unwrap();
    assert!(!again.status.success());
    assert_eq!(world.signin.counts().token_by_refresh, refreshes);
    assert_no_secret_in(&world.env.daemon_log());
    // Without a cache: what to run.
    std::fs::remove_file(&world.cache).unwrap();
    assert_success(&world.mfad(&["logout", "dev"]).output().unwrap());
    let output = world.mfad(&["process", "dev"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no sign-in cached"), "{stderr}");
    assert!(stderr.contains("aws login --profile console"), "{stderr}");
}

#[test]
fn an_ended_sign_in_is_offered_again_in_the_callers_browser_once_for_all() {
    let world = signed_in(Duration::from_secs(60));
    let before = world.cached();
    world.signin.refuse_next(Refusal::TokenExpired);
    let browser = crate::sso::following_browser(&world.env);
    let callers: Vec<_> = (0..5)
        .map(|_| {
            world
                .mfad(&["process", "dev"])
                .env("BROWSER", &browser)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let served: Vec<serde_json::Value> = callers
        .into_iter()
        .map(|caller| {
            let output = caller.wait_with_output().unwrap();
            assert_success(&output);
            serde_json::from_slice(&output.stdout).unwrap()
        })
        .collect();
    // One sign-in for all five, in one browser tab.
    let counts = world.signin.counts();
    assert_eq!(
        (counts.authorize, counts.token_by_code, counts.bad_codes),
        (1, 1, 0),
        "{counts:?}"
    );
    let opened = std::fs::read_to_string(world.env.dir.path().join("opened")).unwrap();
    assert_eq!(opened.lines().count(), 1);
    // Kept where the CLI reads it: a new session of the same identity, 0600.
    let after = world.cached();
    assert_ne!(after["refreshToken"], before["refreshToken"]);
    assert_ne!(after["dpopKey"], before["dpopKey"]);
    assert!(
        served
            .iter()
            .all(|s| s["AccessKeyId"] == after["accessToken"]["accessKeyId"])
    );
    let mode = std::fs::metadata(&world.cache)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(world.boto3_arn("dev"), ARN);
    assert_no_secret_in(&world.env.daemon_log());
}

#[test]
fn a_browser_that_does_not_open_leaves_the_page_named_on_the_callers_terminal() {
    let world = signed_in(Duration::from_secs(60));
    world.signin.refuse_next(Refusal::TokenExpired);
    let silent = world.env.dir.path().join("silent-browser.sh");
    write_script(&silent, "#!/bin/sh\nexit 0\n");
    let mut process = world.mfad(&["process", "dev"]);
    process
        .env("BROWSER", &silent)
        .stdout(std::process::Stdio::piped());
    let mut pty = pty::Pty::attach(&mut process);
    let child = process.spawn().unwrap();
    assert!(
        pty.expect("if none opened, open ", Duration::from_secs(20))
            && pty.expect("\n", Duration::from_secs(5)),
        "{}\n{}",
        pty.seen,
        world.env.daemon_log()
    );
    let url = pty.last_url();
    // The person opens it in a browser here: it comes back to mfad's loopback port.
    follow(&world.env, &url);
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    let counts = world.signin.counts();
    assert_eq!(
        (counts.authorize, counts.token_by_code),
        (1, 1),
        "{counts:?}"
    );
}

#[test]
fn a_renewal_ahead_of_time_never_opens_a_sign_in() {
    let world = signed_in(Duration::from_secs(60));
    // The refreshed credentials enter their renewal window (10 minutes) 2 s after.
    world.signin.set_lifetime(Duration::from_secs(10 * 60 + 2));
    let browser = crate::sso::following_browser(&world.env);
    let served = world
        .mfad(&["process", "dev"])
        .env("BROWSER", &browser)
        .output()
        .unwrap();
    assert_success(&served);
    world.signin.refuse_next(Refusal::TokenExpired);
    assert!(
        wait_until(Duration::from_secs(30), || world
            .env
            .daemon_log()
            .contains("the sign-in has expired")),
        "{}",
        world.env.daemon_log()
    );
    // Nobody asked for it: the browser stays closed until a caller comes.
    assert!(!world.env.dir.path().join("opened").exists());
    assert_eq!(world.signin.counts().authorize, 0);
}

#[test]
fn a_caller_with_only_a_terminal_signs_in_with_a_browser_elsewhere() {
    let world = signed_in(Duration::from_secs(60));
    world.signin.refuse_next(Refusal::UserCredentialsChanged);
    let mut process = world.mfad(&["process", "dev"]);
    process.stdout(std::process::Stdio::piped());
    let mut pty = pty::Pty::attach(&mut process);
    let child = process.spawn().unwrap();
    assert!(
        pty.expect("paste the code it shows: ", Duration::from_secs(20)),
        "{}\n{}",
        pty.seen,
        world.env.daemon_log()
    );
    let url = pty.last_url();
    pty.type_line(&code_shown_at(&world.env, &url));
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    let served: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        served["AccessKeyId"],
        world.cached()["accessToken"]["accessKeyId"]
    );
    assert_eq!(
        world.cached()["clientId"],
        signin_double::CROSS_DEVICE_CLIENT_ID
    );
    assert_no_secret_in(&world.env.daemon_log());
}

#[test]
fn a_sign_in_as_another_identity_is_refused_and_nothing_kept() {
    let sts = sts_double::StsDouble::start();
    let signin = SigninDouble::start(ARN, &sts);
    let env = TestEnv::new();
    let bob = "arn:aws:iam::111122223333:user/bob";
    env.write_config(&format!(
        "[profile console]\nlogin_session = {bob}\nregion = eu-west-1\n\
         [profile dev]\ncredential_process = {MFAD} process dev\nmfad_login_profile = console\n"
    ));
    let browser = crate::sso::following_browser(&env);
    let output = env
        .mfad(&["process", "dev"])
        .env("AWS_ENDPOINT_URL_SIGNIN", &signin.url)
        .env("BROWSER", &browser)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("the sign-in was as {ARN}")) && stderr.contains("sign in as"),
        "{stderr}"
    );
    assert_eq!(signin.counts().token_by_code, 1);
    let kept = walk(&env.home().join(".aws/login"));
    assert!(
        !kept
            .iter()
            .any(|path| path.extension().is_some_and(|e| e == "json")),
        "{kept:?}"
    );
}

#[test]
fn the_rust_sdks_login_provider_and_mfad_share_one_cache() {
    let world = signed_in(Duration::from_secs(120));
    shares_one_cache(&world, || {
        rust_sdk_arn(&world.env, &world.signin.url, &world.sts.url)
    });
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs boto3 with awscrt: run tests/run.sh"
)]
fn botocores_login_provider_and_mfad_share_one_cache() {
    let world = signed_in(Duration::from_secs(120));
    shares_one_cache(&world, || world.boto3_arn("console"));
}

/// The ARN the Rust SDK's own login provider signs as, for profile `console` of `env` (in
/// this process's environment, held under `PROCESS_ENV`).
fn rust_sdk_arn(env: &TestEnv, signin_url: &str, sts_url: &str) -> String {
    let _env = PROCESS_ENV.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: see PROCESS_ENV.
    unsafe {
        std::env::set_var("AWS_CONFIG_FILE", env.config_path());
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", env.credentials_path());
        std::env::set_var("HOME", env.home());
        std::env::set_var("AWS_ENDPOINT_URL_SIGNIN", signin_url);
        std::env::set_var("AWS_ENDPOINT_URL_STS", sts_url);
        std::env::remove_var("AWS_LOGIN_CACHE_DIRECTORY");
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .profile_name("console")
            .load()
            .await;
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map(|identity| identity.arn().unwrap_or_default().to_owned())
            .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(e)))
    })
}

/// An SDK's own login provider (`client` signs once and says as whom) and mfad, taking
/// turns with one cache: the client refreshes the CLI's cache (two minutes left) and mfad
/// takes what it wrote; mfad refreshes and the client uses what mfad wrote, then
/// refreshes it with the refresh token mfad rotated. Nothing is refused on the way.
fn shares_one_cache(world: &World, client: impl Fn() -> String) {
    assert_eq!(client(), ARN);
    assert_eq!(world.signin.counts().token_by_refresh, 1);
    let taken = world.process("dev");
    assert_eq!(
        taken["AccessKeyId"],
        world.cached()["accessToken"]["accessKeyId"]
    );
    assert_eq!(world.signin.counts().token_by_refresh, 1);
    assert_success(&world.mfad(&["logout", "dev"]).output().unwrap());
    age_cache(&world.cache, Duration::from_secs(120));
    let refreshed = world.process("dev");
    assert_eq!(world.signin.counts().token_by_refresh, 2);
    assert_eq!(
        refreshed["AccessKeyId"],
        world.cached()["accessToken"]["accessKeyId"]
    );
    assert_eq!(client(), ARN);
    assert_eq!(
        world.signin.counts().token_by_refresh,
        2,
        "mfad's file used as it is"
    );
    age_cache(&world.cache, Duration::from_secs(120));
    assert_eq!(client(), ARN);
    let counts = world.signin.counts();
    assert_eq!(counts.token_by_refresh, 3, "{counts:?}");
    assert_eq!(
        counts.used_refresh_tokens + counts.bad_proofs + counts.replays,
        0,
        "{counts:?}"
    );
}

/// POST a refresh to the double with `proof` as the DPoP header; the HTTP status.
fn post_refresh(url: &str, proof: &str, refresh_token: &str) -> u16 {
    use std::io::{BufRead, Write};
    let body = serde_json::json!({
        "clientId": signin_double::CLIENT_ID,
        "grantType": "refresh_token",
        "refreshToken": refresh_token,
    })
    .to_string();
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /v1/token HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\nDPoP: {proof}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut status = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut status)
        .unwrap();
    status.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn the_double_refuses_bad_proofs_replays_and_used_refresh_tokens() {
    use mfad::aws_login::dpop;
    use std::time::SystemTime;
    let world = signed_in(Duration::from_secs(60));
    let cache = world.cached();
    let key = dpop::key(cache["dpopKey"].as_str().unwrap()).unwrap();
    let refresh_token = cache["refreshToken"].as_str().unwrap();
    let token_url = format!("{}/v1/token", world.signin.url);
    let now = SystemTime::now();
    let other_key = dpop::key(
        &std::fs::read_to_string(
            world
                .signin
                .sign_in(&world.env.dir.path().join("other"), Duration::from_secs(60)),
        )
        .map(|text| {
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["dpopKey"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .unwrap(),
    )
    .unwrap();
    let counts = || world.signin.counts();

    // Another URL, a stale time, a tampered signature, a key the token is not bound to.
    let elsewhere = dpop::proof(&key, "http://127.0.0.1:1/v1/token", now).unwrap();
    assert_eq!(
        post_refresh(&world.signin.url, &elsewhere, refresh_token),
        400
    );
    let stale = dpop::proof(&key, &token_url, now - Duration::from_secs(3600)).unwrap();
    assert_eq!(post_refresh(&world.signin.url, &stale, refresh_token), 400);
    let mut tampered = dpop::proof(&key, &token_url, now).unwrap();
    // A character well inside the signature, so that it still decodes.
    let at = tampered.len() - 10;
    let flipped = if &tampered[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, flipped);
    assert_eq!(
        post_refresh(&world.signin.url, &tampered, refresh_token),
        400
    );
    let unbound = dpop::proof(&other_key, &token_url, now).unwrap();
    assert_eq!(
        post_refresh(&world.signin.url, &unbound, refresh_token),
        400
    );
    assert_eq!(counts().bad_proofs, 4, "{:?}", counts());

    // A good proof refreshes once; the same proof again is a replay; the used token is
    // refused even with a fresh proof.
    let good = dpop::proof(&key, &token_url, now).unwrap();
    assert_eq!(post_refresh(&world.signin.url, &good, refresh_token), 200);
    assert_eq!(post_refresh(&world.signin.url, &good, refresh_token), 400);
    assert_eq!(counts().replays, 1, "{:?}", counts());
    let fresh = dpop::proof(&key, &token_url, now).unwrap();
    assert_eq!(post_refresh(&world.signin.url, &fresh, refresh_token), 401);
    assert_eq!(counts().used_refresh_tokens, 1, "{:?}", counts());
}

#[test]
fn mfad_aws_login_signs_in_in_the_browser_for_mfad_and_the_sdks() {
    let sts = sts_double::StsDouble::start();
    let signin = SigninDouble::start(ARN, &sts);
    let env = TestEnv::new();
    env.write_config(&format!(
        "[profile dev]\ncredential_process = {MFAD} process dev\nmfad_login_profile = console\nregion = eu-west-1\n"
    ));
    let browser = crate::sso::following_browser(&env);
    let output = env
        .mfad(&["aws-login", "console"])
        .env("BROWSER", &browser)
        .env("AWS_ENDPOINT_URL_SIGNIN", &signin.url)
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert_success(&output);
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains(&format!("signed in as {ARN}")), "{said}");
    let counts = signin.counts();
    assert_eq!(
        (counts.authorize, counts.token_by_code),
        (1, 1),
        "{counts:?}"
    );
    assert_eq!(counts.bad_codes + counts.bad_proofs, 0, "{counts:?}");
    let page = std::fs::read_to_string(env.dir.path().join("page.html")).unwrap();
    assert!(
        page.contains("you are signed in to AWS (profile console)"),
        "{page}"
    );
    // As `aws login` leaves it: the profile, and the cache (0600 in a 0700 directory).
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        config.ends_with(&format!(
            "[profile console]\nlogin_session = {ARN}\nregion = eu-west-1\n"
        )),
        "{config}"
    );
    let directory = env.home().join(".aws/login/cache");
    let cache = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&directory), mode(&cache)), (0o700, 0o600));
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert_eq!(cached["clientId"], signin_double::CLIENT_ID);
    assert_eq!(cached["accessToken"]["accountId"], "111122223333");

    // mfad serves it as it is.
    let served = env
        .mfad(&["process", "dev"])
        .env("AWS_ENDPOINT_URL_SIGNIN", &signin.url)
        .output()
        .unwrap();
    assert_success(&served);
    let served: serde_json::Value = serde_json::from_slice(&served.stdout).unwrap();
    assert_eq!(served["AccessKeyId"], cached["accessToken"]["accessKeyId"]);
    // The Rust SDK's login provider takes the cache mfad wrote, and refreshes it with the
    // key mfad made.
    age_cache(&cache, Duration::from_secs(120));
    assert_eq!(rust_sdk_arn(&env, &signin.url, &sts.url), ARN);
    let counts = signin.counts();
    assert_eq!(counts.token_by_refresh, 1, "{counts:?}");
    assert_eq!(
        counts.bad_proofs + counts.used_refresh_tokens,
        0,
        "{counts:?}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs boto3: run tests/run.sh"
)]
fn a_tool_that_reads_only_the_container_endpoint_uses_a_browser_sign_in() {
    // As Terraform would under `mfad exec --server`: no profile, no keys, only the
    // loopback endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI and its token).
    let world = signed_in(Duration::from_secs(60));
    let script = "import boto3, os\nprint(boto3.Session().client('sts', endpoint_url=os.environ['STS']).get_caller_identity()['Arn'])";
    let output = world
        .mfad(&["exec", "--server", "dev", "--", "python3", "-c", script])
        .env("STS", &world.sts.url)
        .output()
        .unwrap();
    assert_success(&output);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), ARN);
    assert_eq!(world.signin.counts().token_by_refresh, 1);
}

#[test]
fn mfad_aws_login_remote_takes_the_code_a_browser_elsewhere_shows() {
    use std::io::{BufRead, Write};
    let sts = sts_double::StsDouble::start();
    let signin = SigninDouble::start(ARN, &sts);
    let env = TestEnv::new();
    env.write_config("");
    let mut child = env
        .mfad(&["aws-login", "console", "--remote"])
        .env("AWS_ENDPOINT_URL_SIGNIN", &signin.url)
        .env("AWS_REGION", "eu-west-1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The page it names, opened "on another device", shows the code to paste.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "no URL was shown");
        if let Some(url) = line.trim().strip_prefix("http") {
            break format!("http{url}");
        }
    };
    let code = code_shown_at(&env, &url);
    writeln!(child.stdin.take().unwrap(), "{code}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("signed in as {ARN}")));
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        config.contains(&format!("login_session = {ARN}")),
        "{config}"
    );
    let counts = signin.counts();
    assert_eq!(
        (counts.authorize, counts.token_by_code, counts.bad_codes),
        (1, 1, 0),
        "{counts:?}"
    );

    // A code of another sign-in (its state differs) is refused, and nothing is written.
    let again = env
        .mfad(&["aws-login", "other", "--remote"])
        .env("AWS_ENDPOINT_URL_SIGNIN", &signin.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(again.stdin.as_ref().unwrap(), "{code}").unwrap();
    let refused = again.wait_with_output().unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("not the code of this sign-in"), "{said}");
    assert!(
        !std::fs::read_to_string(env.config_path())
            .unwrap()
            .contains("[profile other]")
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs gnome-keyring in a private D-Bus session: run tests/run.sh"
)]
fn a_sign_in_kept_in_the_secret_store_is_served_and_refreshed_there_only() {
    let sts = sts_double::StsDouble::start();
    let signin = SigninDouble::start(ARN, &sts);
    // Credentials that last a minute: the first caller has to refresh.
    signin.set_lifetime(Duration::from_secs(60));
    let env = TestEnv::with_keyring();
    env.write_config(&format!(
        "[profile dev]\ncredential_process = {MFAD} process dev\nmfad_login_profile = console\nregion = eu-west-1\n"
    ));
    let browser = crate::sso::following_browser(&env);
    let signed_in = env
        .mfad(&["aws-login", "console", "--store"])
        .env("BROWSER", &browser)
        .env("AWS_ENDPOINT_URL_SIGNIN", &signin.url)
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert_success(&signed_in);
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(config.contains("mfad_login_store = true"), "{config}");
    assert!(
        !env.home().join(".aws/login/cache").exists(),
        "no plaintext cache"
    );
    signin.set_lifetime(Duration::from_secs(900));
    let process = || {
        let output = env
            .mfad(&["process", "dev"])
            .env("AWS_ENDPOINT_URL_SIGNIN", &signin.url)
            .output()
            .unwrap();
        assert_success(&output);
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let first = process();
    assert_eq!(
        signin.counts().token_by_refresh,
        1,
        "a minute left: refreshed"
    );
    // The rotated token went back to the store: after a logout the next caller takes it
    // from there, and a restarted daemon too.
    assert_success(&env.mfad(&["logout", "dev"]).output().unwrap());
    env.stop_daemon();
    assert_eq!(process()["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(signin.counts().token_by_refresh, 1);
    // Nothing of the session is in a file of the user's.
    let secret = first["SecretAccessKey"].as_str().unwrap();
    for entry in walk(&env.home()) {
        let text = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains(secret),
            "{} holds the secret",
            entry.display()
        );
    }
}

/// None of the double's secrets (credentials, refresh tokens, authorization codes) nor a
/// DPoP key is in `log`.
fn assert_no_secret_in(log: &str) {
    for secret in [
        "signin-secret-",
        "signin-token-",
        "refresh-",
        "code-0",
        "PRIVATE KEY",
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

/// The code the sign-in page at `url` shows once the person signed in, as a browser on
/// another device would show it.
fn code_shown_at(env: &TestEnv, url: &str) -> String {
    let page = follow(env, url);
    page.trim().strip_prefix("Your code: ").unwrap().to_owned()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
