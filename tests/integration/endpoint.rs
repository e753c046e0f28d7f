//! The local credential endpoint: `mfad exec --server` and `mfad serve`. SDKs refresh from
//! it by themselves through renewals; only the token opens it; it listens on loopback only.

use crate::support::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A session shorter than the 15 minutes the daemon and botocore keep in hand, so every
/// refresh is a renewal; a stored TOTP secret with one-second steps, so a renewal waits at
/// most a second for a code not used yet.
fn renewing_env(sts: &sts_double::StsDouble) -> TestEnv {
    sts.set_session_lifetime(Some(Duration::from_secs(14 * 60)));
    alice_env_with_file_store(sts, 1, "")
}

/// `mfad serve dev` running, and the variables it printed.
fn serve(env: &TestEnv) -> (Child, HashMap<String, String>) {
    let mut child = env
        .mfad(&["serve", "dev"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut vars = HashMap::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !vars.contains_key("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        || !vars.contains_key("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    {
        line.clear();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "serve ended early");
        let (name, value) = line.trim_end().split_once('=').unwrap();
        vars.insert(name.to_owned(), value.to_owned());
    }
    (child, vars)
}

/// One raw HTTP GET; the status code and body.
fn get(uri: &str, authorization: Option<&str>) -> (u16, String) {
    let address = uri
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = TcpStream::connect(address).unwrap();
    let header = authorization.map_or(String::new(), |t| format!("Authorization: {t}\r\n"));
    write!(stream, "GET / HTTP/1.1\r\nHost: x\r\n{header}\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn stop(mut child: Child) -> String {
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI and boto3: run tests/run.sh"
)]
fn boto3_and_the_aws_cli_refresh_through_renewals_under_exec_server() {
    let sts = double_with_alice(1);
    let env = renewing_env(&sts);
    let boto3 = "import boto3, os\n\
        session = boto3.Session()\n\
        client = session.client('sts', endpoint_url=os.environ['STS'])\n\
        for _ in range(2):\n\
        \x20   client.get_caller_identity()\n\
        \x20   print(session.get_credentials().get_frozen_credentials().access_key)\n";
    let script = format!(
        "test -z \"$AWS_ACCESS_KEY_ID$AWS_PROFILE\" || exit 3\n\
         python3 -c \"$BOTO3\" || exit 4\n\
         for i in 1 2; do {AWS_CLI_V2} sts get-caller-identity --endpoint-url \"$STS\" --query Arn --output text || exit 5; done\n\
         exit 7"
    );
    let output = env
        .mfad(&["exec", "--server", "dev", "--", "sh", "-c", &script])
        .env("STS", &sts.url)
        .env("BOTO3", boto3)
        .env("AWS_PROFILE", "dev")
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(7),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        env.daemon_log()
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_ne!(lines[0], lines[1], "boto3 refreshed to the renewed session");
    assert_eq!(&lines[2..], ["arn:aws:iam::123456789012:user/alice"; 2]);
    let signers = sts.counts().caller_identity_signers;
    assert_eq!(signers.len(), 4);
    let distinct: std::collections::HashSet<_> = signers.iter().collect();
    assert_eq!(distinct.len(), 4, "each call used a renewed session");
    assert!(signers.iter().all(|key| key != KEY_ID));
}

#[test]
fn the_rust_sdk_refreshes_from_mfad_serve_through_a_renewal() {
    let sts = double_with_alice(1);
    let env = renewing_env(&sts);
    let (child, vars) = serve(&env);
    let _env = PROCESS_ENV.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: see PROCESS_ENV.
    unsafe {
        for (name, value) in &vars {
            std::env::set_var(name, value);
        }
        std::env::set_var("AWS_CONFIG_FILE", env.config_path());
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", env.credentials_path());
        std::env::remove_var("AWS_PROFILE");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let arns = runtime.block_on(async {
        // The SDK's own cache, refreshing at least 15 minutes ahead as botocore does (it
        // jitters the buffer down by up to half).
        let cache = aws_config::identity::IdentityCache::lazy()
            .buffer_time(Duration::from_secs(30 * 60))
            .build();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .identity_cache(cache)
            .endpoint_url(&sts.url)
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        let client = aws_sdk_sts::Client::new(&config);
        let mut arns = Vec::new();
        for _ in 0..2 {
            let identity = client.get_caller_identity().send().await;
            let identity = identity.unwrap_or_else(|e| {
                panic!(
                    "{}\n{}",
                    aws_sdk_sts::error::DisplayErrorContext(&e),
                    env.daemon_log()
                )
            });
            arns.push(identity.arn().unwrap().to_owned());
        }
        arns
    });
    stop(child);
    assert_eq!(arns, ["arn:aws:iam::123456789012:user/alice"; 2]);
    let signers = sts.counts().caller_identity_signers;
    assert_eq!(signers.len(), 2);
    assert_ne!(
        signers[0], signers[1],
        "the SDK refreshed to the renewed session"
    );
}

#[test]
fn concurrent_refreshes_of_a_due_session_make_one_renewal() {
    let sts = double_with_alice(1);
    let env = renewing_env(&sts);
    let (child, vars) = serve(&env);
    let (uri, token) = (
        &vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
        &vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"],
    );
    // The first session (14 minutes) is due; the next ones last the usual 12 hours.
    assert_eq!(sts.counts().sessions_issued, 1);
    sts.set_session_lifetime(None);
    let bodies: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| get(uri, Some(token))))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                let (status, body) = handle.join().unwrap();
                assert_eq!(status, 200, "{body}");
                body
            })
            .collect()
    });
    stop(child);
    assert_eq!(
        sts.counts().sessions_issued,
        2,
        "one renewal for twenty callers"
    );
    let first: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert!(bodies.iter().all(|body| *body == bodies[0]));
    assert!(sts.is_live_session(first["AccessKeyId"].as_str().unwrap()));
    assert!(first["Token"].is_string() && first["SecretAccessKey"].is_string());
    assert_eq!(first["AccountId"], "123456789012");
    assert!(humantime::parse_rfc3339(first["Expiration"].as_str().unwrap()).is_ok());
}

#[test]
fn a_wrong_or_missing_token_gets_403_and_is_logged_without_the_token() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let (child, vars) = serve(&env);
    let uri = &vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    let token = &vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
    // The same token but its last digit, which must differ.
    let last = if token.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &token[..token.len() - 1]);
    let sessions = sts.counts().sessions_issued;
    let (status, body) = get(uri, Some(&wrong));
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("AccessKeyId"));
    assert_eq!(get(uri, None).0, 403);
    assert_eq!(get(uri, Some(token)).0, 200);
    let stderr = stop(child);
    assert_eq!(sts.counts().sessions_issued, sessions);
    assert!(
        stderr.contains("refused a credential request from 127.0.0.1:")
            && stderr.contains("a wrong authorization token")
            && stderr.contains("no authorization token"),
        "{stderr}"
    );
    assert!(!stderr.contains(&wrong[..16]) && !stderr.contains(&token[..16]));
}

#[test]
fn the_endpoint_listens_on_loopback_only() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let (child, vars) = serve(&env);
    let uri = &vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    let port: u16 = uri
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // /proc/net/tcp: local address as hex IPv4:port, state 0A = listening.
    let listening: Vec<String> = std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .chain(
            std::fs::read_to_string("/proc/net/tcp6")
                .unwrap_or_default()
                .lines(),
        )
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let (_, hex_port) = local.split_once(':')?;
            (u16::from_str_radix(hex_port, 16).ok()? == port && fields[3] == "0A")
                .then(|| local.to_string())
        })
        .collect();
    stop(child);
    assert_eq!(listening, [format!("0100007F:{port:04X}")]);
    assert!(uri.starts_with("http://127.0.0.1:"));
}

#[test]
fn exec_server_passes_termination_on_and_exits_as_the_command_does() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    crate::exec::termination_reaches_the_command(&env, &["exec", "--server", "dev", "--"]);
    let killed = env
        .mfad(&["exec", "--server", "dev", "--", "sh", "-c", "kill -KILL $$"])
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), Some(128 + libc::SIGKILL));
}

/// Connections another local user holds open, more than the endpoint serves at once.
const HELD: usize = 600;

#[test]
fn the_endpoint_serves_its_owner_whatever_another_user_holds_open() {
    let sts = double_with_alice(1);
    let env = alice_env_with_file_store(&sts, 1, "");
    let (child, vars) = serve(&env);
    let uri = vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"].clone();
    let token = vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"].clone();
    let address = uri.trim_start_matches("http://").trim_end_matches('/');
    let (host, port) = address.split_once(':').unwrap();
    // Another uid holds HELD idle or half-sent connections.
    let mut holder = std::process::Command::new("setpriv")
        .args([
            "--reuid=12345",
            "--regid=12345",
            "--clear-groups",
            "--",
            "/usr/bin/python3",
        ])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/integration/support/idle_holder.py"
        ))
        .args([host, port, &HELD.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("setpriv (util-linux) runs python3 as another uid");
    let mut said = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    said.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "holding");
    // The owner is served: each request makes room by closing the oldest idle one.
    for _ in 0..8 {
        let (status, body) = get(&uri, Some(&token));
        assert_eq!(status, 200, "{body}");
    }
    // Every held connection is answered (503 when closed to make room, 400 when it ran
    // out of time), none reset.
    holder.stdin.take().unwrap().write_all(b"look\n").unwrap();
    line.clear();
    said.read_line(&mut line).unwrap();
    let ended: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ended["reset"], 0, "{ended}");
    assert_eq!(ended["open"], 0, "{ended}");
    assert!(ended["503"].as_u64().unwrap() >= 8, "{ended}");
    let _ = holder.wait();

    // A burst like Terraform's many providers: every request answered 200.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let requests: Vec<_> = (0..200)
            .map(|_| scope.spawn(|| get(&uri, Some(&token)).0))
            .collect();
        requests.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let stderr = stop(child);
    assert!(!stderr.contains(&token), "{stderr}");
}
