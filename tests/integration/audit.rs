//! `mfad audit` and `mfad policy` against moto's IAM behind the double: with a plain
//! static-key profile (not mfad's) and with an mfad profile whose calls need its MFA
//! session.

use crate::mfa::{Enrolment, alice_enrolled, moto_python, stderr};
use crate::support::sts_double::StsDouble;
use crate::support::*;

/// An account in moto: bob (console password and a key, no MFA, in group developers),
/// carol (with a virtual device), dave (with only a security key), a device nobody holds; and an admin profile with static keys.
fn account() -> (moto::Moto, StsDouble, TestEnv) {
    let moto = moto::Moto::start();
    let sts = StsDouble::start();
    sts.forward_iam_to(&moto.url);
    sts.add_user_without_device("admin", "AKIAADMINEXAMPLE0001", "admin-secret");
    moto_python(
        &moto,
        "iam.create_user(UserName='bob')\n\
         iam.create_login_profile(UserName='bob', Password='Correct-Horse-1')\n\
         iam.create_access_key(UserName='bob')\n\
         iam.create_group(GroupName='developers')\n\
         iam.add_user_to_group(GroupName='developers', UserName='bob')\n\
         iam.create_user(UserName='carol')\n\
         d = iam.create_virtual_mfa_device(VirtualMFADeviceName='carol')['VirtualMFADevice']\n\
         iam.enable_mfa_device(UserName='carol', SerialNumber=d['SerialNumber'], AuthenticationCode1='123456', AuthenticationCode2='234567')\n\
         iam.create_virtual_mfa_device(VirtualMFADeviceName='abandoned')\n\
         iam.create_user(UserName='dave')\n\
         iam.enable_mfa_device(UserName='dave', SerialNumber='arn:aws:iam::123456789012:u2f/user/dave/yubikey-ABCD', AuthenticationCode1='123456', AuthenticationCode2='234567')",
    );
    let env = TestEnv::new();
    env.write_config(&format!(
        "[profile admin]\nregion = eu-west-1\nendpoint_url = {}\n",
        sts.url
    ));
    env.write_credentials(
        "[admin]\naws_access_key_id = AKIAADMINEXAMPLE0001\naws_secret_access_key = admin-secret\n",
    );
    (moto, sts, env)
}

fn audit_json(env: &TestEnv, profile: &str) -> (i32, serde_json::Value) {
    let output = env.run(&["audit", "--profile", profile, "--json"], "");
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", stderr(&output)));
    (output.status.code().unwrap(), json)
}

fn findings_of(audit: &serde_json::Value, subject: &str) -> Vec<(String, String)> {
    audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"] == subject)
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_owned(),
                f["finding"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto and boto3: run tests/run.sh"
)]
fn audit_finds_users_without_mfa_and_policy_enforces_it() {
    let (moto, sts, env) = account();

    let table = env.run(&["audit", "--profile", "admin"], "");
    assert_eq!(table.status.code(), Some(1), "{}", stderr(&table));
    let said = String::from_utf8_lossy(&table.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines[0].starts_with("CRITICAL  root user"), "{said}");
    assert!(said.contains("HIGH      user bob"), "{said}");
    assert!(said.contains("mfad policy --apply --user bob"), "{said}");
    assert!(!said.contains("user carol"), "{said}");
    assert!(
        said.contains("NOTE      1 user with a security key as the only MFA (dave)"),
        "{said}"
    );
    assert!(said.contains("aws login"), "{said}");

    let (_, audit) = audit_json(&env, "admin");
    assert_eq!(
        audit["users"], 3,
        "bob, carol and dave (admin is the double's)"
    );
    assert_eq!(audit["security_key_only"], serde_json::json!(["dave"]));
    assert!(findings_of(&audit, "user dave").is_empty());
    assert_eq!(
        findings_of(&audit, "user bob"),
        [
            ("high".into(), "console password without MFA".into()),
            ("high".into(), "active access keys without MFA".into())
        ]
    );
    assert_eq!(
        findings_of(&audit, "arn:aws:iam::123456789012:mfa/abandoned").len(),
        1
    );

    // The policy: printed, then applied to bob's group.
    let printed = env.run(&["policy"], "");
    assert_success(&printed);
    let document: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    let deny = &document["Statement"][4];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(
        deny["Condition"]["BoolIfExists"]["aws:MultiFactorAuthPresent"],
        "false"
    );
    let applied = env.run(
        &[
            "policy",
            "--apply",
            "--group",
            "developers",
            "--profile",
            "admin",
        ],
        "",
    );
    assert_success(&applied);
    let arn = "arn:aws:iam::123456789012:policy/mfad-enforce-mfa";
    assert!(
        String::from_utf8_lossy(&applied.stdout).contains(&format!("created the policy {arn}")),
        "{}",
        String::from_utf8_lossy(&applied.stdout)
    );
    let attached = moto_python(
        &moto,
        "print([p['PolicyArn'] for p in iam.list_attached_group_policies(GroupName='developers')['AttachedPolicies']])",
    );
    assert_eq!(attached.trim(), format!("['{arn}']"));

    // bob is now held by the policy: still a finding, less severe, naming it.
    let (status, audit) = audit_json(&env, "admin");
    assert_eq!(status, 1);
    let bob = &audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"] == "user bob")
        .unwrap();
    assert_eq!(bob["severity"], "medium");
    assert!(
        bob["remedy"]
            .as_str()
            .unwrap()
            .contains(&format!("{arn} through group developers applies")),
        "{bob}"
    );

    // Applying again changes nothing; an edited policy with five versions loses its
    // oldest and gets mfad's document as the new default.
    let again = env.run(
        &[
            "policy",
            "--apply",
            "--group",
            "developers",
            "--profile",
            "admin",
        ],
        "",
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("is up to date"));
    moto_python(
        &moto,
        &format!(
            "for n in range(4):\n    iam.create_policy_version(PolicyArn='{arn}', PolicyDocument='{{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\"}}]}}', SetAsDefault=True)"
        ),
    );
    let updated = env.run(
        &["policy", "--apply", "--user", "bob", "--profile", "admin"],
        "",
    );
    assert_success(&updated);
    let said = String::from_utf8_lossy(&updated.stdout);
    assert!(
        said.contains("deleted its oldest version v1") && said.contains("a new default version"),
        "{said}"
    );
    let versions = moto_python(
        &moto,
        &format!(
            "vs = iam.list_policy_versions(PolicyArn='{arn}')['Versions']\n\
             print(len(vs), [v['VersionId'] for v in vs if v['IsDefaultVersion']])"
        ),
    );
    assert_eq!(versions.trim(), "5 ['v6']");
    assert_eq!(sts.counts().bad_signatures, 0);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto and boto3: run tests/run.sh"
)]
fn an_audit_that_cannot_be_done_exits_2_naming_the_permission() {
    let (_moto, sts, env) = account();
    sts.fail_iam(
        "GenerateCredentialReport",
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/admin is not authorized to perform: iam:GenerateCredentialReport",
    );
    let denied = env.run(&["audit", "--profile", "admin"], "");
    assert_eq!(denied.status.code(), Some(2));
    assert!(
        stderr(&denied).contains("could not audit")
            && stderr(&denied).contains("the user needs iam:GenerateCredentialReport"),
        "{}",
        stderr(&denied)
    );
    assert!(denied.stdout.is_empty());

    sts.clear_iam_faults();
    sts.fail_iam(
        "ListAttachedUserPolicies",
        400,
        "Throttling",
        "Rate exceeded",
    );
    let throttled = env.run(&["audit", "--profile", "admin", "--json"], "");
    assert_eq!(throttled.status.code(), Some(2));
    assert!(
        stderr(&throttled).contains("IAM is throttling"),
        "{}",
        stderr(&throttled)
    );

    let unknown = env.run(&["audit", "--profile", "nobody"], "");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no credentials for profile nobody"),
        "{}",
        stderr(&unknown)
    );

    sts.fail_iam(
        "CreatePolicy",
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/admin is not authorized to perform: iam:CreatePolicy",
    );
    let denied = env.run(
        &["policy", "--apply", "--user", "bob", "--profile", "admin"],
        "",
    );
    assert!(!denied.status.success());
    assert!(
        stderr(&denied).contains("the user needs iam:CreatePolicy"),
        "{}",
        stderr(&denied)
    );
    sts.clear_iam_faults();

    let no_target = env.run(&["policy", "--apply"], "");
    assert!(!no_target.status.success());
    assert!(
        stderr(&no_target).contains("--group"),
        "{}",
        stderr(&no_target)
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn an_mfad_profile_audits_with_its_mfa_session() {
    let Enrolment {
        moto: _moto,
        sts,
        env,
        ..
    } = alice_enrolled();
    sts.enforce_mfa_for(USER);
    let (status, audit) = audit_json(&env, "dev");
    assert_eq!(status, 1, "the root user of moto's account has no MFA");
    assert_eq!(audit["profile"], "dev");
    assert!(findings_of(&audit, "user alice").is_empty(), "{audit}");
    let counts = sts.counts();
    assert!(counts.denied_without_mfa.is_empty(), "{counts:?}");
    assert!(
        counts
            .iam_calls_with_mfa
            .contains(&"GenerateCredentialReport".to_owned()),
        "{counts:?}"
    );
    assert_eq!(counts.sessions_issued, 1);
}
