//! `mfad mfa enroll|list` against moto server's IAM behind the project's double, which
//! checks the two consecutive codes moto accepts blindly and knows the device afterwards
//! for GetSessionToken; the AWS CLI v2 then reads the enrolled profile.

use crate::support::sts_double::StsDouble;
use crate::support::*;

/// Moto's IAM behind the double, an IAM user alice with an access key (made in moto),
/// that key stored with `mfad add dev`, and a profile without mfa_serial.
pub struct Enrolment {
    pub moto: moto::Moto,
    pub sts: StsDouble,
    pub env: TestEnv,
    pub config: String,
    /// alice's long-term key in moto and the double.
    pub key: (String, String),
}

const CONFIG_HEAD: &str = "# my settings\n[default]\nregion = eu-west-1\n\n";

pub fn alice_without_mfa() -> Enrolment {
    let moto = moto::Moto::start();
    let sts = StsDouble::start();
    sts.forward_iam_to(&moto.url);
    let made = moto_python(
        &moto,
        "iam.create_user(UserName='alice')\n\
         key = iam.create_access_key(UserName='alice')['AccessKey']\n\
         print(key['AccessKeyId'] + ' ' + key['SecretAccessKey'])",
    );
    let (key_id, secret) = made.trim().split_once(' ').unwrap();
    sts.add_user_without_device(USER, key_id, secret);
    let env = TestEnv::with_keyring();
    let config = format!(
        "{CONFIG_HEAD}[profile dev]\r\nregion  =  us-east-1\r\nendpoint_url = {}\r\ncredential_process = {MFAD} process dev\r\n\r\n# the end, no final newline\n[profile other]\nregion = us-west-2",
        sts.url
    );
    env.write_config(&config);
    assert_success(&env.run(&["add", "dev"], &format!("{key_id}\n{secret}\n")));
    Enrolment {
        moto,
        sts,
        env,
        config,
        key: (key_id.to_owned(), secret.to_owned()),
    }
}

/// alice with a virtual device enabled through the double (as the console would), its
/// seed stored with `mfad totp add` and `mfa_serial` in the profile: what `mfad mfa
/// enroll` leaves, without waiting for the first session's code step.
pub fn alice_enrolled() -> Enrolment {
    let enrolment = alice_without_mfa();
    let (key_id, secret) = &enrolment.key;
    let as_alice = |body: &str| {
        let script = format!(
            "import boto3\niam = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='{key_id}', aws_secret_access_key='{secret}')\n{body}\n",
            enrolment.sts.url
        );
        let output = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_success(&output);
        String::from_utf8(output.stdout).unwrap()
    };
    let seed = as_alice(
        "d = iam.create_virtual_mfa_device(VirtualMFADeviceName='alice')['VirtualMFADevice']\n\
         print(d['Base32StringSeed'].decode())",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let codes = [now - 30, now].map(|t| enrolment.sts.device_code_at(SERIAL, t));
    as_alice(&format!(
        "iam.enable_mfa_device(UserName='alice', SerialNumber='{SERIAL}', AuthenticationCode1='{}', AuthenticationCode2='{}')",
        codes[0], codes[1]
    ));
    assert_success(
        &enrolment
            .env
            .run(&["totp", "add", SERIAL], &format!("{}\n", seed.trim())),
    );
    let config = enrolment.config.replace(
        &format!("credential_process = {MFAD} process dev\r\n"),
        &format!("credential_process = {MFAD} process dev\r\nmfa_serial = {SERIAL}\r\n"),
    );
    enrolment.env.write_config(&config);
    Enrolment {
        config,
        ..enrolment
    }
}

/// Run boto3 against moto (any key: moto does not check signatures) and return stdout.
pub fn moto_python(moto: &moto::Moto, body: &str) -> String {
    let script = format!(
        "import boto3\niam = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='AKIAADMIN', aws_secret_access_key='admin')\n{body}\n",
        moto.url
    );
    let output = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_success(&output);
    String::from_utf8(output.stdout).unwrap()
}

pub fn virtual_devices_in_moto(moto: &moto::Moto) -> String {
    moto_python(
        moto,
        "print(sorted(d['SerialNumber'] for d in iam.list_virtual_mfa_devices()['VirtualMFADevices']))",
    )
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3, the Debian AWS CLI and a Secret Service: run tests/run.sh"
)]
fn enroll_takes_a_user_from_no_mfa_to_a_session_the_aws_cli_uses() {
    let Enrolment {
        moto,
        sts,
        env,
        config,
        ..
    } = alice_without_mfa();
    let enrolled = env.run(&["mfa", "enroll", "dev"], "");
    assert_success(&enrolled);
    let said = String::from_utf8_lossy(&enrolled.stdout);
    assert!(
        said.contains(&format!("created the virtual MFA device {SERIAL}")),
        "{said}"
    );
    assert!(said.contains("has an MFA session until"), "{said}");
    // Without a terminal the QR code (which holds the seed) is not printed anywhere.
    assert!(
        !said.contains("secret=") && !said.contains(['▀', '▄', '█']),
        "{said}"
    );

    // IAM saw two consecutive current codes; the device is alice's; one session.
    let counts = sts.counts();
    assert_eq!(counts.rejected_device_codes, 0);
    assert_eq!(
        counts.iam_calls,
        [
            "GetUser",
            "ListMFADevices",
            "CreateVirtualMFADevice",
            "EnableMFADevice"
        ]
    );
    assert_eq!(sts.devices_of(USER), [SERIAL]);
    assert_eq!(counts.sessions_issued, 1);
    let listed = moto_python(
        &moto,
        "print([d['SerialNumber'] for d in iam.list_mfa_devices(UserName='alice')['MFADevices']])",
    );
    assert_eq!(listed.trim(), format!("['{SERIAL}']"));

    // One line added to the profile, every other byte as it was.
    let edited = std::fs::read_to_string(env.config_path()).unwrap();
    let with_line = config.replace(
        &format!("credential_process = {MFAD} process dev\r\n"),
        &format!("credential_process = {MFAD} process dev\r\nmfa_serial = {SERIAL}\r\n"),
    );
    assert_eq!(edited, with_line);

    // The seed is in the store: its code is the device's.
    let code = env.run(&["totp", "code", SERIAL], "");
    assert_success(&code);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let shown = String::from_utf8_lossy(&code.stdout).trim().to_owned();
    assert!(
        (0..=10).any(|ahead| sts.device_code_at(SERIAL, now + ahead * 30) == shown),
        "{shown}"
    );

    // The AWS CLI uses the profile: credential_process answers from the first session.
    let cli = env
        .command(AWS_CLI_V2)
        .args(["sts", "get-caller-identity", "--profile", "dev"])
        .args(["--endpoint-url", &sts.url, "--output", "json"])
        .output()
        .unwrap();
    assert_success(&cli);
    let identity: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(identity["Arn"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(
        sts.counts().sessions_issued,
        1,
        "the CLI used the cached session"
    );

    // mfad mfa list knows the device, the profile's use of it and the stored seed.
    let list = env.run(&["mfa", "list", "dev", "--json"], "");
    assert_success(&list);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["serial"], SERIAL);
    assert_eq!(list[0]["kind"], "virtual");
    assert_eq!(list[0]["used_by_profile"], true);
    assert_eq!(list[0]["secret_in_mfad"], true);

    // A second enrol without --additional is refused before anything is created.
    let again = env.run(&["mfa", "enroll", "dev"], "");
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already has 1 MFA device(s)")
            && stderr(&again).contains("--additional"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        virtual_devices_in_moto(&moto).trim(),
        format!("['{SERIAL}']")
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn a_failure_after_the_device_exists_deletes_it_and_keeps_nothing() {
    let Enrolment {
        moto,
        sts,
        env,
        config,
        ..
    } = alice_without_mfa();

    // IAM refuses to enable it: the device is deleted, nothing stored or written.
    sts.fail_iam(
        "EnableMFADevice",
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:EnableMFADevice",
    );
    let denied = env.run(&["mfa", "enroll", "dev"], "");
    assert!(!denied.status.success());
    let error = stderr(&denied);
    assert!(
        error.contains("IAM refused EnableMFADevice")
            && error.contains("iam:EnableMFADevice")
            && error.contains("was deleted again and nothing was kept"),
        "{error}"
    );
    assert_eq!(virtual_devices_in_moto(&moto).trim(), "[]");
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), config);
    assert!(!env.run(&["totp", "code", SERIAL], "").status.success());

    // Two codes that are not consecutive current ones (typed, --no-store): refused by
    // the double, undone the same way.
    sts.clear_iam_faults();
    let wrong = env.run(&["mfa", "enroll", "dev", "--no-store"], "000000\n111111\n");
    assert!(!wrong.status.success());
    let error = stderr(&wrong);
    assert!(
        error.contains("AWS did not accept the two codes")
            && error.contains("was deleted again and nothing was kept"),
        "{error}"
    );
    assert_eq!(sts.counts().rejected_device_codes, 1);
    assert_eq!(virtual_devices_in_moto(&moto).trim(), "[]");
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), config);

    // The last step, the first session, fails (STS refuses): the device is enabled,
    // stored and named in the profile by then, and all of it is undone, device first.
    sts.set_fault(Some(sts_double::Fault::Denied));
    let refused = env.run(&["mfa", "enroll", "dev"], "");
    assert!(!refused.status.success());
    let error = stderr(&refused);
    assert!(
        error.contains("explicit deny") && error.contains("was deleted again and nothing was kept"),
        "{error}"
    );
    assert!(sts.counts().iam_calls.ends_with(&[
        "EnableMFADevice".to_owned(),
        "DeactivateMFADevice".to_owned(),
        "DeleteVirtualMFADevice".to_owned()
    ]));
    assert_eq!(virtual_devices_in_moto(&moto).trim(), "[]");
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), config);
    assert!(!env.run(&["totp", "code", SERIAL], "").status.success());

    // Tried again at once, with STS fixed: a fresh attempt (the new device has the same
    // serial, and the daemon forgot the failure of the old one), not the old failure.
    sts.set_fault(None);
    let again = env.run(&["mfa", "enroll", "dev"], "");
    assert_success(&again);
    assert!(sts.counts().sessions_issued >= 1);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn a_device_aws_keeps_enabled_stays_usable_and_is_named_with_the_way_out() {
    let Enrolment { moto, sts, env, .. } = alice_without_mfa();
    // mfad's own enforce-MFA policy: deactivating needs an MFA session.
    sts.enforce_mfa_for(USER);
    sts.set_fault(Some(sts_double::Fault::Denied));
    let failed = env.run(&["mfa", "enroll", "dev"], "");
    assert!(!failed.status.success());
    let error = stderr(&failed);
    assert!(
        error.contains(&format!(
            "the device {SERIAL} is still enabled for IAM user alice"
        )) && error.contains("ready to use as it is")
            && error.contains("`mfad mfa remove dev`"),
        "{error}"
    );
    assert!(
        !sts.counts()
            .iam_calls
            .contains(&"DeleteVirtualMFADevice".to_owned())
    );
    // Its seed and mfa_serial are kept, so the device can be answered.
    assert!(env.run(&["totp", "code", SERIAL], "").status.success());
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(
        config.contains(&format!("mfa_serial = {SERIAL}")),
        "{config}"
    );
    assert_eq!(
        virtual_devices_in_moto(&moto).trim(),
        format!("['{SERIAL}']")
    );

    // The way out it names works at once, with an MFA session from the kept seed.
    sts.set_fault(None);
    let removed = env.run(&["mfa", "remove", "dev", "--yes"], "");
    assert_success(&removed);
    assert_eq!(virtual_devices_in_moto(&moto).trim(), "[]");
    assert!(
        sts.counts()
            .iam_calls_with_mfa
            .contains(&"DeactivateMFADevice".to_owned())
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn throttling_and_a_role_profile_are_refused_before_anything_is_created() {
    let Enrolment { moto, sts, env, .. } = alice_without_mfa();
    sts.fail_iam("ListMFADevices", 400, "Throttling", "Rate exceeded");
    let throttled = env.run(&["mfa", "enroll", "dev"], "");
    assert!(!throttled.status.success());
    assert!(
        stderr(&throttled).contains("IAM is throttling requests")
            && stderr(&throttled).contains("wait a minute"),
        "{}",
        stderr(&throttled)
    );
    assert!(
        !sts.counts()
            .iam_calls
            .contains(&"CreateVirtualMFADevice".to_owned())
    );

    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str("\n[profile admin]\nmfad_role_arn = arn:aws:iam::123456789012:role/admin\nmfad_source_profile = dev\n");
    env.write_config(&config);
    let role = env.run(&["mfa", "enroll", "admin"], "");
    assert!(!role.status.success());
    assert!(
        stderr(&role).contains("no IAM user of its own"),
        "{}",
        stderr(&role)
    );
    assert_eq!(virtual_devices_in_moto(&moto).trim(), "[]");
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn resync_sends_two_consecutive_codes_from_the_seed_or_typed() {
    let Enrolment {
        moto: _moto,
        sts,
        env,
        ..
    } = alice_enrolled();
    let derived = env.run(&["mfa", "resync", "dev"], "");
    assert_success(&derived);
    assert!(
        String::from_utf8_lossy(&derived.stdout).contains("resynchronised"),
        "{}",
        stderr(&derived)
    );
    assert_eq!(sts.counts().rejected_device_codes, 0);

    // Typed codes that are not consecutive current ones: AWS's refusal, in words.
    let wrong = env.run(&["mfa", "resync", "dev", "--ask"], "000000\n111111\n");
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("AWS did not accept the two codes")
            && stderr(&wrong).contains("two consecutive ones"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(sts.counts().rejected_device_codes, 1);

    // Typed from the phone: the previous and the current code.
    let now = unix_now();
    let typed = format!(
        "{}\n{}\n",
        sts.device_code_at(SERIAL, now - 30),
        sts.device_code_at(SERIAL, now)
    );
    assert_success(&env.run(&["mfa", "resync", "dev", "--ask"], &typed));
    assert_eq!(sts.counts().iam_calls_of("ResyncMFADevice"), 3);
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn remove_takes_the_device_away_with_the_mfa_session_and_forgets_it() {
    let Enrolment {
        moto,
        sts,
        env,
        config,
        ..
    } = alice_enrolled();
    // An enforce-MFA policy acts on alice (the double refuses what it denies), and one
    // is attached to her group in moto, where mfad can read it.
    sts.enforce_mfa_for(USER);
    moto_python(
        &moto,
        "import json\n\
         doc = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Deny', 'NotAction': 'iam:EnableMFADevice', 'Resource': '*', 'Condition': {'BoolIfExists': {'aws:MultiFactorAuthPresent': 'false'}}}]})\n\
         arn = iam.create_policy(PolicyName='require-mfa', PolicyDocument=doc)['Policy']['Arn']\n\
         iam.create_group(GroupName='developers')\n\
         iam.add_user_to_group(GroupName='developers', UserName='alice')\n\
         iam.attach_group_policy(GroupName='developers', PolicyArn=arn)",
    );

    // Without a terminal and without --yes nothing is removed.
    let unconfirmed = env.run(&["mfa", "remove", "dev"], "");
    assert!(!unconfirmed.status.success());
    assert!(
        stderr(&unconfirmed).contains("not confirmed; nothing was changed")
            && stderr(&unconfirmed).contains("--yes"),
        "{}",
        stderr(&unconfirmed)
    );
    assert_eq!(
        virtual_devices_in_moto(&moto).trim(),
        format!("['{SERIAL}']")
    );
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), config);

    // IAM throttles the deactivation: an error, and still nothing changed.
    sts.fail_iam("DeactivateMFADevice", 400, "Throttling", "Rate exceeded");
    let throttled = env.run(&["mfa", "remove", "dev", "--yes"], "");
    assert!(!throttled.status.success());
    assert!(
        stderr(&throttled).contains("throttling"),
        "{}",
        stderr(&throttled)
    );
    assert_eq!(sts.devices_of(USER), [SERIAL]);
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), config);
    assert_success(&env.run(&["totp", "code", SERIAL], ""));
    sts.clear_iam_faults();

    let removed = env.run(&["mfa", "remove", "dev", "--yes"], "");
    assert_success(&removed);
    let said = String::from_utf8_lossy(&removed.stdout);
    assert!(
        said.contains("warning: the enforce-MFA policy arn:aws:iam::123456789012:policy/require-mfa through group developers applies to alice")
            && said.contains(&format!("removed {SERIAL}")),
        "{said}"
    );
    // The device went away with calls signed by the MFA session, none denied.
    let counts = sts.counts();
    assert!(counts.denied_without_mfa.is_empty(), "{counts:?}");
    assert!(
        counts.iam_calls_with_mfa.ends_with(&[
            "DeactivateMFADevice".to_owned(),
            "DeleteVirtualMFADevice".to_owned()
        ]),
        "{counts:?}"
    );
    assert_eq!(virtual_devices_in_moto(&moto).trim(), "[]");
    assert!(sts.devices_of(USER).is_empty());
    // The seed, the mfa_serial line (byte for byte) and the sessions are gone.
    assert!(!env.run(&["totp", "code", SERIAL], "").status.success());
    let without_line = config.replace(&format!("mfa_serial = {SERIAL}\r\n"), "");
    assert_eq!(
        std::fs::read_to_string(env.config_path()).unwrap(),
        without_line
    );
    let status = env.run(&["status", "--json"], "");
    assert!(
        !String::from_utf8_lossy(&status.stdout).contains("\"dev\""),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn a_role_profile_and_a_missing_device_are_refused_by_every_command() {
    let Enrolment {
        moto: _moto,
        sts,
        env,
        config,
        ..
    } = alice_without_mfa();
    let with_role = format!(
        "{config}\n[profile admin]\nmfad_role_arn = arn:aws:iam::123456789012:role/admin\nmfad_source_profile = dev\n"
    );
    env.write_config(&with_role);
    for command in [
        &["mfa", "resync", "admin"][..],
        &["mfa", "remove", "admin", "--yes"],
        &["mfa", "list", "admin"],
        &["rotate", "admin"],
    ] {
        let refused = env.run(command, "");
        assert!(!refused.status.success(), "{command:?}");
        assert!(
            stderr(&refused).contains("no IAM user of its own"),
            "{command:?}: {}",
            stderr(&refused)
        );
    }
    // dev has a key but no device yet: resync, remove and rotate say how to get one.
    for command in [
        &["mfa", "resync", "dev"][..],
        &["mfa", "remove", "dev", "--yes"],
        &["rotate", "dev"],
    ] {
        let refused = env.run(command, "");
        assert!(!refused.status.success(), "{command:?}");
        assert!(
            stderr(&refused).contains("names no MFA device")
                && stderr(&refused).contains("mfad mfa enroll dev"),
            "{command:?}: {}",
            stderr(&refused)
        );
    }
    // Nothing was created or changed along the way.
    let calls = sts.counts().iam_calls;
    assert!(!calls.is_empty(), "IAM was never asked");
    assert!(
        calls
            .iter()
            .all(|a| matches!(a.as_str(), "GetUser" | "ListMFADevices")),
        "{calls:?}"
    );
    assert_eq!(
        std::fs::read_to_string(env.config_path()).unwrap(),
        with_role
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn the_device_limit_is_refused_before_anything_is_created() {
    let Enrolment { moto, sts, env, .. } = alice_without_mfa();
    // IAM's own refusal when the account or user is at its limit.
    sts.fail_iam(
        "CreateVirtualMFADevice",
        409,
        "LimitExceeded",
        "Cannot exceed quota for VirtualMFADevicesPerAccount",
    );
    let refused = env.run(&["mfa", "enroll", "dev"], "");
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("as many MFA devices as AWS allows")
            && stderr(&refused).contains("AWS allows 8 per user"),
        "{}",
        stderr(&refused)
    );
    sts.clear_iam_faults();

    // A user who has eight already is told before a device is created.
    moto_python(
        &moto,
        "for n in range(8):\n    d = iam.create_virtual_mfa_device(VirtualMFADeviceName=f'alice-{n}')['VirtualMFADevice']\n    iam.enable_mfa_device(UserName='alice', SerialNumber=d['SerialNumber'], AuthenticationCode1='123456', AuthenticationCode2='234567')",
    );
    let full = env.run(&["mfa", "enroll", "dev", "--additional"], "");
    assert!(!full.status.success());
    assert!(stderr(&full).contains("alice has 8"), "{}", stderr(&full));
    let created = sts.counts().iam_calls_of("CreateVirtualMFADevice");
    assert_eq!(created, 1, "only the refused attempt");
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs moto, boto3 and a Secret Service: run tests/run.sh"
)]
fn the_qr_code_is_shown_on_the_terminal_and_not_on_stdout() {
    let Enrolment {
        moto: _moto,
        sts: _sts,
        env,
        ..
    } = alice_without_mfa();
    let mut command = env.mfad(&["mfa", "enroll", "dev"]);
    let mut terminal = pty::Pty::attach(&mut command);
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    assert!(terminal.expect(
        "Scan this with your authenticator app",
        std::time::Duration::from_secs(30)
    ));
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    // The pty hands out bytes; a full block is three of them in UTF-8.
    let block: String = "█".bytes().map(char::from).collect();
    assert!(
        terminal.expect(&block, std::time::Duration::from_secs(5)),
        "{}",
        terminal.seen
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains('█') && !stdout.contains("Scan this"),
        "{stdout}"
    );
}
