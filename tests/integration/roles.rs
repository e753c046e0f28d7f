//! Roles assumed with the MFA session: through real clients, many roles on one session,
//! the 1 h cap, status and logout.

use crate::support::*;
use std::process::Stdio;

const ADMIN: &str = "arn:aws:iam::123456789012:role/admin";

/// A test environment with [`role_config`], codes from `mfa_process` and alice's key.
fn role_env(sts: &sts_double::StsDouble, roles: &[&str], extra: &str) -> TestEnv {
    let env = TestEnv::new();
    let script = code_script(&env, 30);
    env.write_config(&role_config(&sts.url, &script, roles, extra));
    env.write_credentials(&alice_credentials());
    env
}

/// dev: alice's MFA session; one role profile per name, each on dev.
fn role_config(sts_url: &str, script: &str, roles: &[&str], extra: &str) -> String {
    let mut config = alice_profile("dev", sts_url, &format!("mfa_process = {script}"));
    for role in roles {
        config.push_str(&format!(
            "[profile {role}]\nmfad_source_profile = dev\nmfad_role_arn = arn:aws:iam::123456789012:role/{role}\nregion = us-east-1\nendpoint_url = {sts_url}\ncredential_process = {MFAD} process {role}\n{extra}\n"
        ));
    }
    config
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs the Debian AWS CLI, boto3 and moto: run tests/run.sh"
)]
fn aws_cli_v2_and_boto3_use_a_role_through_credential_process() {
    let sts = double_with_alice(30);
    let env = role_env(&sts, &["admin"], "mfad_external_id = shared-secret-id");

    let cli = env
        .command(AWS_CLI_V2)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "admin",
            "--output",
            "json",
        ])
        .args(["--endpoint-url", &sts.url])
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&cli.stderr),
        env.daemon_log()
    );
    let identity: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(
        identity["Arn"],
        "arn:aws:sts::123456789012:assumed-role/admin/mfad-admin"
    );

    let boto3 = env
        .command("python3")
        .args(["-c", "import boto3; print(boto3.Session(profile_name='admin').client('sts').get_caller_identity()['Arn'])"])
        .output()
        .unwrap();
    assert_success(&boto3);
    assert_eq!(
        String::from_utf8_lossy(&boto3.stdout).trim(),
        "arn:aws:sts::123456789012:assumed-role/admin/mfad-admin"
    );

    let counts = sts.counts();
    assert_eq!(counts.get_session_token, 1);
    assert_eq!(counts.assume_role, 1, "boto3 got the cached role session");
    let call = &counts.role_calls[0];
    assert!(
        call.signed_with_session,
        "AssumeRole was signed with the MFA session, not the long-term key"
    );
    assert_ne!(call.signer, KEY_ID);
    assert_eq!(call.role_arn, ADMIN);
    assert_eq!(call.external_id.as_deref(), Some("shared-secret-id"));
    assert_eq!(call.duration, 3600);
}

#[test]
fn many_roles_share_one_mfa_session() {
    let sts = double_with_alice(30);
    let roles = ["admin", "audit", "deploy", "billing", "network"];
    let env = role_env(&sts, &roles, "");
    // Ten callers per role, all at once, on a cold cache.
    let children: Vec<_> = roles
        .iter()
        .cycle()
        .take(50)
        .map(|role| {
            env.mfad(&["process", role])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            env.daemon_log()
        );
    }
    let counts = sts.counts();
    assert_eq!(
        counts.get_session_token, 1,
        "one code for all roles: {counts:?}"
    );
    assert_eq!(
        counts.assume_role,
        roles.len(),
        "one AssumeRole per role: {counts:?}"
    );
    let signers: std::collections::HashSet<_> =
        counts.role_calls.iter().map(|c| c.signer.clone()).collect();
    assert_eq!(
        signers.len(),
        1,
        "every role was assumed with the same MFA session"
    );

    let status = String::from_utf8(env.run(&["status"], "").stdout).unwrap();
    for role in roles {
        assert!(status.contains(&format!("role/{role}")), "{status}");
    }
    assert!(status.contains("mfa/alice"), "{status}");
}

#[test]
fn a_role_asked_for_more_than_an_hour_gets_one_with_a_note() {
    let sts = double_with_alice(30);
    let env = role_env(&sts, &["admin"], "mfad_role_duration = 8h");
    env.process("admin");
    assert_eq!(sts.counts().role_calls[0].duration, 3600);
    let status = String::from_utf8(env.run(&["status"], "").stdout).unwrap();
    assert!(
        status.contains("at most 1h (role chaining); asked for 8h, using 1h"),
        "{status}"
    );
}

#[test]
fn logging_out_of_a_role_keeps_the_mfa_session_and_logging_out_of_it_drops_the_roles() {
    let sts = double_with_alice(30);
    let env = role_env(&sts, &["admin", "audit"], "");
    env.process("admin");
    env.process("audit");
    let out = env.run(&["logout", "admin"], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "logged out: admin"
    );
    env.process("admin");
    assert_eq!(sts.counts().get_session_token, 1);
    assert_eq!(sts.counts().assume_role, 3);
    let out = env.run(&["logout", "dev"], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "logged out: admin, audit"
    );
    let status = String::from_utf8(env.run(&["status"], "").stdout).unwrap();
    assert!(status.contains("no sessions"), "{status}");
}

#[test]
fn a_role_the_trust_policy_refuses_is_named() {
    let sts = double_with_alice(30);
    sts.deny_role(ADMIN);
    let env = role_env(&sts, &["admin"], "");
    let error = env.process_error("admin");
    assert!(
        error.starts_with(&format!("mfad process admin: AWS refused to assume {ADMIN} (AccessDenied: User: arn:aws:iam::123456789012:user/alice is not authorized")),
        "{error}"
    );
    assert!(
        error.contains("check mfad_role_arn, and that the role's trust policy"),
        "{error}"
    );
    // The MFA session itself was fine and stays cached.
    assert_eq!(sts.counts().sessions_issued, 1);
}

#[test]
fn source_identity_and_session_tags_reach_assume_role_and_bad_values_are_named() {
    let sts = double_with_alice(30);
    let env = role_env(
        &sts,
        &["admin"],
        "mfad_source_identity = alice@example.com\nmfad_session_tags = team=platform, cost-center = 42 \nmfad_transitive_tag_keys = team",
    );
    // The profiles rewritten below use the same code script.
    let script = code_script(&env, 30);
    let creds = env.process("admin");
    assert_eq!(creds["AccountId"], "123456789012", "the role's account");
    let call = &sts.counts().role_calls[0];
    assert_eq!(call.source_identity.as_deref(), Some("alice@example.com"));
    assert_eq!(
        call.tags,
        [
            ("team".to_owned(), "platform".to_owned()),
            ("cost-center".to_owned(), "42".to_owned())
        ]
    );
    assert_eq!(call.transitive_tag_keys, ["team"]);

    // A role without options sends none.
    env.write_config(&role_config(&sts.url, &script, &["plain"], ""));
    env.process("plain");
    let plain = &sts.counts().role_calls[1];
    assert!(plain.source_identity.is_none() && plain.tags.is_empty());

    for (extra, said, line) in [
        ("mfad_source_identity = a", "mfad_source_identity = a (", 14),
        ("mfad_session_tags = team", "\"team\" is not key=value", 14),
        (
            "mfad_session_tags = aws:team=x",
            "the prefix aws: is reserved",
            14,
        ),
        (
            "mfad_session_tags = team=a,Team=b",
            "the key Team is given twice",
            14,
        ),
        (
            "mfad_session_tags = team=a\nmfad_transitive_tag_keys = project",
            "project is not a key of mfad_session_tags",
            15,
        ),
    ] {
        env.write_config(&role_config(&sts.url, &script, &["bad"], extra));
        let output = env.run(&["process", "bad"], "");
        assert!(!output.status.success(), "{extra}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains(said), "{extra}: {error}");
        assert!(
            error.contains(&format!("{}, line {line})", env.config_path().display())),
            "{error}"
        );
    }
    assert_eq!(sts.counts().assume_role, 2, "no bad value reached STS");
}
