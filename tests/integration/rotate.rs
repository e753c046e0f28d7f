//! `mfad rotate` against moto's IAM behind the double, which acts as an enforce-MFA
//! policy (key actions need the MFA session) and, like IAM, refuses a new key for its
//! first calls.

use crate::mfa::{Enrolment, alice_enrolled, moto_python, stderr};
use crate::support::*;

fn alice_keys(moto: &moto::Moto) -> Vec<String> {
    let listed = moto_python(
        moto,
        "print(' '.join(k['AccessKeyId'] for k in iam.list_access_keys(UserName='alice')['AccessKeyMetadata']))",
    );
    listed.split_whitespace().map(str::to_owned).collect()
}

fn process_key_id(env: &TestEnv) -> String {
    env.process("dev")["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3, the Debian AWS CLI and a Secret Service: run tests/run.sh"
)]
fn rotate_replaces_the_key_with_the_mfa_session_and_keeps_the_sessions() {
    let Enrolment {
        moto,
        sts,
        env,
        key: (old_key, _),
        ..
    } = alice_enrolled();
    sts.enforce_mfa_for(USER);
    sts.delay_new_keys(2);
    // The daemon starts here, logging at trace: the new key passes through it.
    let first = env
        .mfad(&["process", "dev"])
        .env("MFAD_LOG", "trace")
        .output()
        .unwrap();
    assert_success(&first);
    let session_before = process_key_id(&env);

    let rotated = env.run(&["rotate", "dev"], "");
    assert_success(&rotated);
    let keys = alice_keys(&moto);
    assert_eq!(keys.len(), 1);
    let new_key = keys[0].clone();
    assert_ne!(new_key, old_key);
    assert!(
        String::from_utf8_lossy(&rotated.stdout)
            .contains(&format!("profile dev now uses {new_key}")),
        "{}",
        String::from_utf8_lossy(&rotated.stdout)
    );
    // Signed with the MFA session (the enforce policy denied nothing), no second code,
    // and proven through two refusals of the new key.
    let counts = sts.counts();
    assert!(counts.denied_without_mfa.is_empty(), "{counts:?}");
    for action in ["ListAccessKeys", "CreateAccessKey", "DeleteAccessKey"] {
        assert!(
            counts.iam_calls_with_mfa.contains(&action.to_owned()),
            "{action}: {counts:?}"
        );
    }
    assert_eq!(counts.not_yet_valid, 2);
    assert_eq!(counts.sessions_issued, 1);
    assert!(!sts.knows_key(&old_key) && sts.knows_key(&new_key));
    let new_secret = sts.secret_of(&new_key).unwrap();
    let log = env.daemon_log();
    assert!(log.contains("KeyRotated"), "the request was logged: {log}");
    assert!(
        !log.contains(&new_secret)
            && !String::from_utf8_lossy(&rotated.stderr).contains(&new_secret),
        "the new key's secret reached the log or stderr"
    );

    // The cached session stays in use: no new code, the AWS CLI served from it, status
    // naming the new key.
    assert_eq!(process_key_id(&env), session_before);
    let cli = env
        .command(AWS_CLI_V2)
        .args(["sts", "get-caller-identity", "--profile", "dev"])
        .args(["--endpoint-url", &sts.url, "--output", "json"])
        .output()
        .unwrap();
    assert_success(&cli);
    assert_eq!(sts.counts().sessions_issued, 1);
    let status = env.run(&["status", "--json"], "");
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains(&new_key[..4]) && !status.contains(&old_key[old_key.len() - 4..]),
        "{status}"
    );

    // The next session is made with the new key.
    assert_success(&env.run(&["logout", "dev"], ""));
    assert_ne!(process_key_id(&env), session_before);
    assert_eq!(
        sts.counts().session_token_signers.last(),
        Some(&new_key),
        "GetSessionToken signed with the new key"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn a_failed_rotation_keeps_the_old_key_and_deletes_the_new_one() {
    let Enrolment {
        moto,
        sts,
        env,
        key: (old_key, _),
        ..
    } = alice_enrolled();
    sts.enforce_mfa_for(USER);
    process_key_id(&env);

    // STS throttles the proof: the new key is deleted, the old one stays.
    sts.set_fault(Some(sts_double::Fault::Throttle));
    let throttled = env.run(&["rotate", "dev"], "");
    sts.set_fault(None);
    assert!(!throttled.status.success());
    let error = stderr(&throttled);
    assert!(
        error.contains("could not be proven to work")
            && error.contains(&format!("the old key {old_key} is kept"))
            && error.contains("was deleted again"),
        "{error}"
    );
    assert_eq!(alice_keys(&moto), std::slice::from_ref(&old_key));

    // IAM refuses to delete the old key: the old key is stored again, the new deleted.
    sts.fail_iam(
        "DeleteAccessKey",
        403,
        "AccessDenied",
        "not authorized to perform: iam:DeleteAccessKey",
    );
    let denied = env.run(&["rotate", "dev"], "");
    assert!(!denied.status.success());
    assert!(
        stderr(&denied).contains("iam:DeleteAccessKey"),
        "{}",
        stderr(&denied)
    );
    sts.clear_iam_faults();
    // The new key could not be deleted either (the same refusal): it is named.
    let keys = alice_keys(&moto);
    assert!(keys.contains(&old_key));
    assert!(
        stderr(&denied).contains("could not be deleted"),
        "{}",
        stderr(&denied)
    );
    let leftover: Vec<&String> = keys.iter().filter(|k| **k != old_key).collect();
    assert!(stderr(&denied).contains(leftover[0].as_str()));
    // Still working with the old key: a new session is signed with it.
    assert_success(&env.run(&["logout", "dev"], ""));
    process_key_id(&env);
    assert_eq!(sts.counts().session_token_signers.last(), Some(&old_key));

    // Two keys: refused, naming both, nothing created.
    let created_before = sts.counts().iam_calls_of("CreateAccessKey");
    let two = env.run(&["rotate", "dev"], "");
    assert!(!two.status.success());
    assert!(
        stderr(&two).contains("already has two access keys")
            && stderr(&two).contains(&old_key)
            && stderr(&two).contains(leftover[0].as_str()),
        "{}",
        stderr(&two)
    );
    let created_after = sts.counts().iam_calls_of("CreateAccessKey");
    assert_eq!(created_before, created_after);
}
