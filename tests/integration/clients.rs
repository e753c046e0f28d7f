//! Real clients run `sts get-caller-identity` through `credential_process = mfad process …`:
//! the Debian AWS CLI v2 and boto3 against the STS double, and mfad against moto server.

use crate::support::*;
use std::time::Duration;

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI, boto3 and moto: run tests/run.sh"
)]
fn aws_cli_v2_gets_an_mfa_session_through_credential_process() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let output = env
        .command(AWS_CLI_V2)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "dev",
            "--output",
            "json",
        ])
        // Debian's CLI 2.9 ignores endpoint_url in the profile.
        .args(["--endpoint-url", &sts.url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "aws failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        env.daemon_log()
    );
    let identity: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(identity["Arn"], "arn:aws:iam::123456789012:user/alice");
    let counts = sts.counts();
    assert_eq!(counts.get_session_token, 1);
    assert_eq!(counts.get_caller_identity, 1);
    assert_eq!(counts.bad_signatures, 0);

    // The CLI signed with the session mfad handed out, not with the long-term key.
    let creds = env.process("dev");
    assert!(sts.is_live_session(creds["AccessKeyId"].as_str().unwrap()));
    assert_eq!(
        sts.counts().get_session_token,
        1,
        "the second call was served from the cache"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI, boto3 and moto: run tests/run.sh"
)]
fn boto3_gets_an_mfa_session_through_credential_process() {
    let sts = double_with_alice(30);
    let env = alice_env(&sts, "");
    let script = "import boto3, json\n\
        session = boto3.Session(profile_name='dev')\n\
        creds = session.get_credentials().get_frozen_credentials()\n\
        identity = session.client('sts').get_caller_identity()\n\
        print(json.dumps({'arn': identity['Arn'], 'key': creds.access_key}))";
    let output = env
        .command("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "boto3 failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        env.daemon_log()
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["arn"], "arn:aws:iam::123456789012:user/alice");
    assert!(sts.is_live_session(result["key"].as_str().unwrap()));
    assert_eq!(sts.counts().get_session_token, 1);
    assert_eq!(sts.counts().get_caller_identity, 1);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI, boto3 and moto: run tests/run.sh"
)]
fn mfad_speaks_sts_wire_format_with_moto_server() {
    let moto = moto::Moto::start();
    let url = moto.url.clone();
    let env = TestEnv::new();
    env.write_config(&alice_profile(
        "dev",
        &url,
        "mfa_process = echo 123456\nmfad_session_duration = 2h",
    ));
    env.write_credentials(&alice_credentials());
    let creds = env.process("dev");
    assert_eq!(creds["Version"], 1);
    assert_eq!(
        creds["AccountId"], "123456789012",
        "the MFA device's account"
    );
    assert!(!creds["SessionToken"].as_str().unwrap().is_empty());
    let expiration = creds["Expiration"].as_str().unwrap();
    assert!(expiration.ends_with('Z'), "{expiration}");
    let expires = humantime::parse_rfc3339(expiration).unwrap();
    let lasting = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        lasting > Duration::from_secs(7000) && lasting <= Duration::from_secs(7200),
        "{lasting:?}"
    );

    // And the AWS CLI accepts those credentials against moto.
    let output = env
        .command(AWS_CLI_V2)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "dev",
            "--endpoint-url",
            &url,
        ])
        .output()
        .unwrap();
    assert_success(&output);
    drop(moto);
}
