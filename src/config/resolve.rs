//! Resolving a profile into its plan: which key, which MFA device, which role on which
//! source, which helper, checked against what STS accepts, each error naming its file and
//! line.

use super::endpoints::{region, sts_endpoint, sts_network};
use super::files::{AwsFiles, Setting};
use super::plan::*;
use super::{ConfigError, RoleOptions, aws_login, config_path, credentials_path, sso};
use crate::network::Network;
use crate::store::LongTermKey;
use crate::vocab::{CallerEnv, parse_duration};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::time::Duration;

/// Resolve a profile in the caller's environment.
pub fn resolve(profile: &str, env: &CallerEnv) -> Result<ProfilePlan, ConfigError> {
    resolve_in(&AwsFiles::load(env)?, profile, env)
}

/// Resolve many profiles, each in its caller's environment, reading each pair of files
/// once (a daemon loading a hundred saved sessions reads the config once, not a hundred
/// times); `None` for those that do not resolve.
pub fn resolve_each(wanted: &[(String, CallerEnv)]) -> Vec<Option<ProfilePlan>> {
    let mut files_of = std::collections::HashMap::new();
    wanted
        .iter()
        .map(|(profile, env)| {
            let paths = (config_path(env), credentials_path(env));
            let files = files_of.entry(paths).or_insert_with(|| AwsFiles::load(env));
            files
                .as_ref()
                .ok()
                .and_then(|files| resolve_in(files, profile, env).ok())
        })
        .collect()
}

/// Resolve a profile in files already read.
pub fn resolve_in(
    files: &AwsFiles,
    profile: &str,
    env: &CallerEnv,
) -> Result<ProfilePlan, ConfigError> {
    let settings = files.profile(profile).unwrap_or_default();
    let credentials = match settings.get("mfad_wrap_process") {
        Some(command) if command.value.trim().is_empty() => {
            return Err(ConfigError::BadValue {
                setting: "mfad_wrap_process",
                value: command.value.clone(),
                path: command.path.to_path_buf(),
                line: command.line,
                reason: "a command that prints credential_process JSON".into(),
            });
        }
        Some(command) => CredentialPlan::Wrapped(WrapPlan {
            profile: profile.to_owned(),
            command: command.value.clone(),
            config: files.config.path.to_path_buf(),
        }),
        None => credential_plan(files, profile, env, &mut Vec::new())?,
    };
    let write_profile = match settings.get("mfad_write_profile") {
        Some(out) if matches!(credentials, CredentialPlan::Wrapped(_)) => {
            return Err(ConfigError::BadValue {
                setting: "mfad_write_profile",
                value: out.value.clone(),
                path: out.path.to_path_buf(),
                line: out.line,
                reason: "not kept for a profile with mfad_wrap_process; remove one of them".into(),
            });
        }
        Some(out) => Some(write_target(profile, out, env)?),
        None => None,
    };
    Ok(ProfilePlan {
        credentials,
        write_profile,
        region: region(&settings, env),
    })
}

fn write_target(profile: &str, out: &Setting, env: &CallerEnv) -> Result<WriteTarget, ConfigError> {
    let bad = |reason: &str| ConfigError::BadValue {
        setting: "mfad_write_profile",
        value: out.value.clone(),
        path: out.path.to_path_buf(),
        line: out.line,
        reason: reason.to_owned(),
    };
    let name = out.value.as_str();
    if name.is_empty() || name.contains(['[', ']', '#', ';']) || name.contains(char::is_whitespace)
    {
        return Err(bad("a section name without spaces, brackets, # or ;"));
    }
    if name == profile {
        return Err(bad(
            "it names the profile itself; static keys in its own section would shadow credential_process",
        ));
    }
    Ok(WriteTarget {
        path: credentials_path(env),
        section: name.to_owned(),
    })
}

fn credential_plan(
    files: &AwsFiles,
    name: &str,
    env: &CallerEnv,
    chain: &mut Vec<String>,
) -> Result<CredentialPlan, ConfigError> {
    let settings = files.known_profile(name)?;
    chain.push(name.to_owned());
    let sts = sts_endpoint(files, name, env);
    let network = sts_network(files, name, env, &sts);
    let sso_source = settings
        .get("mfad_source_profile")
        .and_then(|source| files.profile(&source.value))
        .is_some_and(|source| sso::is_standard_sso(&source));
    let base = match settings.get("mfad_source_profile") {
        _ if aws_login::is_aws_login(&settings) => {
            CredentialPlan::AwsLogin(aws_login::plan(files, name, &settings, env)?)
        }
        _ if sso::is_mfad_sso(&settings) || sso_source => {
            CredentialPlan::Sso(sso::plan(files, name, &settings, env)?)
        }
        Some(source) => {
            let source_name = source.value.as_str();
            if chain.iter().any(|seen| seen == source_name) {
                chain.push(source_name.to_owned());
                return Err(ConfigError::SourceLoop {
                    chain: chain.clone(),
                });
            }
            let source_settings = files.known_profile(source_name)?;
            match static_key(source_name, &source_settings)? {
                Some(key) => {
                    let key = KeySource::Static {
                        profile: source_name.to_owned(),
                        key,
                    };
                    CredentialPlan::Session(session_plan(
                        files,
                        name,
                        &settings,
                        key,
                        (sts.clone(), network.clone()),
                    )?)
                }
                // The source is itself an mfad profile: build on its credentials.
                None => credential_plan(files, source_name, env, chain)?,
            }
        }
        None => {
            let key = KeySource::Store {
                profile: name.to_owned(),
            };
            CredentialPlan::Session(session_plan(
                files,
                name,
                &settings,
                key,
                (sts.clone(), network.clone()),
            )?)
        }
    };
    match settings.get("mfad_role_arn") {
        Some(role_arn) => Ok(CredentialPlan::Role(role_plan(
            name,
            role_arn,
            &settings,
            (sts, network),
            base,
        )?)),
        None => Ok(base),
    }
}

fn role_plan(
    profile: &str,
    role_arn: &Setting,
    settings: &BTreeMap<String, Setting>,
    (sts, network): (StsEndpoint, Network),
    source: CredentialPlan,
) -> Result<RolePlan, ConfigError> {
    let (duration, note) = match settings.get("mfad_role_duration") {
        None => (CHAINED_ROLE_MAX_DURATION, None),
        Some(s) => {
            let asked =
                duration_in_range(s, "mfad_role_duration", ROLE_DURATION_RANGE, "AssumeRole")?;
            if asked > CHAINED_ROLE_MAX_DURATION {
                let note = format!(
                    "roles assumed with an MFA session last at most 1h (role chaining); asked for {}, using 1h",
                    humantime::format_duration(asked)
                );
                (CHAINED_ROLE_MAX_DURATION, Some(note))
            } else {
                (asked, None)
            }
        }
    };
    let session_name = match settings.get("mfad_role_session_name") {
        Some(name) => name.value.clone(),
        None => default_session_name(profile),
    };
    Ok(RolePlan {
        profile: profile.to_owned(),
        role_arn: role_arn.value.clone(),
        session_name,
        external_id: settings.get("mfad_external_id").map(|s| s.value.clone()),
        options: RoleOptions::parse(settings)?,
        duration,
        note,
        sts,
        network,
        source: Box::new(source),
    })
}

/// `mfad-PROFILE`, reduced to the characters and length STS accepts.
fn default_session_name(profile: &str) -> String {
    let cleaned: String = format!("mfad-{profile}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    cleaned
}

fn session_plan(
    files: &AwsFiles,
    name: &str,
    settings: &BTreeMap<String, Setting>,
    key: KeySource,
    (sts, network): (StsEndpoint, Network),
) -> Result<SessionPlan, ConfigError> {
    let serial = settings
        .get("mfa_serial")
        .ok_or_else(|| ConfigError::MissingSerial {
            profile: name.to_owned(),
            config: files.config.path.to_path_buf(),
        })?;
    if serial.value.contains(":u2f/") {
        return Err(ConfigError::SecurityKey {
            profile: name.to_owned(),
            serial: serial.value.clone(),
            path: serial.path.to_path_buf(),
            line: serial.line,
        });
    }
    let (duration, note) = session_duration(settings.get("mfad_session_duration"), &serial.value)?;
    Ok(SessionPlan {
        profile: name.to_owned(),
        key,
        mfa_serial: serial.value.clone(),
        mfa_process: settings.get("mfa_process").map(|s| s.value.clone()),
        duration,
        note,
        sts,
        network,
    })
}

pub(super) fn static_key(
    profile: &str,
    settings: &BTreeMap<String, Setting>,
) -> Result<Option<LongTermKey>, ConfigError> {
    let Some(id) = settings.get("aws_access_key_id") else {
        return Ok(None);
    };
    let secret = settings
        .get("aws_secret_access_key")
        .ok_or_else(|| ConfigError::HalfKey {
            profile: profile.to_owned(),
            path: id.path.to_path_buf(),
        })?;
    Ok(Some(LongTermKey {
        access_key_id: id.value.clone(),
        secret_access_key: SecretString::from(secret.value.clone()),
    }))
}

/// Whether a serial names the root account's MFA device (sessions capped at 1 h).
pub fn is_root_serial(serial: &str) -> bool {
    serial.ends_with(":mfa/root-account-mfa-device") || serial.ends_with(":root")
}

fn session_duration(
    setting: Option<&Setting>,
    serial: &str,
) -> Result<(Duration, Option<String>), ConfigError> {
    let asked = match setting {
        None => DEFAULT_SESSION_DURATION,
        Some(s) => duration_in_range(
            s,
            "mfad_session_duration",
            SESSION_DURATION_RANGE,
            "GetSessionToken",
        )?,
    };
    if is_root_serial(serial) && asked > ROOT_MAX_DURATION {
        let note = format!(
            "root account sessions last at most 1h; asked for {}, using 1h",
            humantime::format_duration(asked)
        );
        return Ok((ROOT_MAX_DURATION, Some(note)));
    }
    Ok((asked, None))
}

/// A duration setting within the range the STS action `action` accepts.
fn duration_in_range(
    setting: &Setting,
    name: &'static str,
    range: std::ops::RangeInclusive<u64>,
    action: &str,
) -> Result<Duration, ConfigError> {
    let bad = |reason: String| ConfigError::BadValue {
        setting: name,
        value: setting.value.clone(),
        path: setting.path.to_path_buf(),
        line: setting.line,
        reason,
    };
    let duration = parse_duration(&setting.value).map_err(bad)?;
    if !range.contains(&duration.as_secs()) {
        return Err(bad(format!(
            "{} seconds is outside what {action} allows ({} to {})",
            duration.as_secs(),
            range.start(),
            range.end()
        )));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::*;
    use crate::failure::Explain;

    #[test]
    fn a_plain_profile_uses_its_store_entry_and_defaults() {
        let files = Files::new(&format!("[profile dev]\nmfa_serial = {SERIAL}\n"), "");
        let plan = resolve_session("dev", &files.env(&[])).unwrap();
        assert!(matches!(plan.key, KeySource::Store { ref profile } if profile == "dev"));
        assert_eq!(plan.mfa_serial, SERIAL);
        assert_eq!(plan.duration, DEFAULT_SESSION_DURATION);
        assert_eq!(plan.sts.region, "us-east-1");
        assert_eq!(plan.sts.url, None);
    }

    #[test]
    fn source_profile_with_static_keys_supplies_the_key() {
        let files = Files::new(
            &format!(
                "[profile dev]\nmfa_serial = {SERIAL}\nmfad_source_profile = base\nmfad_session_duration = 1h30m\nmfa_process = echo 1\n"
            ),
            "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s3cr3t\n",
        );
        let plan = resolve_session("dev", &files.env(&[])).unwrap();
        let KeySource::Static { profile, key } = plan.key else {
            panic!("expected static keys")
        };
        assert_eq!(profile, "base");
        assert_eq!(key.access_key_id, "AKIABASE");
        assert_eq!(plan.duration, Duration::from_secs(5400));
        assert_eq!(plan.mfa_process.as_deref(), Some("echo 1"));
    }

    #[test]
    fn errors_name_the_file_line_or_profile() {
        let files = Files::new("[profile dev]\nmfa_serial\n", "");
        let err = resolve_session("dev", &files.env(&[])).unwrap_err();
        assert!(err.to_string().contains("config, line 2"), "{err}");

        let files = Files::new(&format!("[profile dev]\nmfa_serial = {SERIAL}\n"), "");
        let err = resolve_session("prod", &files.env(&[])).unwrap_err();
        assert!(err.to_string().contains("no profile \"prod\""), "{err}");
        assert!(err.remedy().contains("[profile prod]"));

        let files = Files::new("[profile dev]\nregion = x\n", "");
        let err = resolve_session("dev", &files.env(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::MissingSerial { .. }));
    }

    #[test]
    fn security_keys_are_refused_with_a_remedy() {
        let files = Files::new(
            "[profile dev]\nmfa_serial = arn:aws:iam::123456789012:u2f/user/alice/key-ABC\n",
            "",
        );
        let err = resolve_session("dev", &files.env(&[])).unwrap_err();
        assert!(err.to_string().contains("security key"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(err.remedy().contains("virtual (TOTP)"));
    }

    #[test]
    fn durations_are_checked_and_root_is_capped() {
        for (value, ok) in [
            ("900", true),
            ("36h", true),
            ("899", false),
            ("37h", false),
            ("soon", false),
        ] {
            let files = Files::new(
                &format!("[profile dev]\nmfa_serial = {SERIAL}\nmfad_session_duration = {value}\n"),
                "",
            );
            let result = resolve_session("dev", &files.env(&[]));
            assert_eq!(result.is_ok(), ok, "{value}");
            if let Err(err) = result {
                assert!(err.to_string().contains("line 3"), "{err}");
                assert!(err.remedy().contains("900 to 129600"));
            }
        }
        let files = Files::new(
            "[profile root]\nmfa_serial = arn:aws:iam::123456789012:mfa/root-account-mfa-device\n",
            "",
        );
        let plan = resolve_session("root", &files.env(&[])).unwrap();
        assert_eq!(plan.duration, ROOT_MAX_DURATION);
        assert!(plan.note.unwrap().contains("at most 1h"));
    }

    #[test]
    fn source_loops_are_named() {
        let files = Files::new(
            "[profile a]\nmfad_source_profile = b\n[profile b]\nmfad_source_profile = a\n",
            "",
        );
        let err = resolve_session("a", &files.env(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mfad_source_profile goes round in a loop: a -> b -> a"
        );
    }

    #[test]
    fn roles_build_on_the_session_of_their_source() {
        let files = Files::new(
            &format!(
                "[profile dev]\nmfa_serial = {SERIAL}\n\n[profile admin]\nmfad_source_profile = dev\nmfad_role_arn = arn:aws:iam::1:role/admin\nmfad_external_id = ext\nregion = eu-west-1\n\n[profile audit]\nmfad_source_profile = admin\nmfad_role_arn = arn:aws:iam::2:role/audit\nmfad_role_session_name = me\nmfad_role_duration = 30m\n"
            ),
            "",
        );
        let admin = resolve("admin", &files.env(&[])).unwrap();
        let role = role_of(&admin);
        assert_eq!(role.role_arn, "arn:aws:iam::1:role/admin");
        assert_eq!(role.session_name, "mfad-admin");
        assert_eq!(role.external_id.as_deref(), Some("ext"));
        assert_eq!(role.duration, CHAINED_ROLE_MAX_DURATION);
        assert_eq!(role.sts.region, "eu-west-1");
        assert_eq!(admin.region.as_deref(), Some("eu-west-1"));
        assert!(
            matches!(admin.credentials.session().unwrap().key, KeySource::Store { ref profile } if profile == "dev")
        );

        let audit = resolve("audit", &files.env(&[])).unwrap();
        let role = role_of(&audit);
        assert_eq!(role.session_name, "me");
        assert_eq!(role.duration, Duration::from_secs(1800));
        assert!(
            matches!(&*role.source, CredentialPlan::Role(inner) if inner.role_arn.ends_with("admin"))
        );
        assert_eq!(audit.credentials.session().unwrap().mfa_serial, SERIAL);
    }

    #[test]
    fn a_role_on_its_own_key_and_the_one_hour_cap() {
        let files = Files::new(
            &format!(
                "[profile ops]\nmfa_serial = {SERIAL}\nmfad_role_arn = arn:aws:iam::1:role/ops\nmfad_role_duration = 8h\n[profile bad]\nmfa_serial = {SERIAL}\nmfad_role_arn = arn:aws:iam::1:role/ops\nmfad_role_duration = 13h\n"
            ),
            "",
        );
        let ops = resolve("ops", &files.env(&[])).unwrap();
        let role = role_of(&ops);
        assert_eq!(role.duration, CHAINED_ROLE_MAX_DURATION);
        assert!(
            role.note
                .as_ref()
                .unwrap()
                .contains("at most 1h (role chaining); asked for 8h")
        );
        assert!(
            matches!(ops.credentials.session().unwrap().key, KeySource::Store { ref profile } if profile == "ops")
        );
        let err = resolve("bad", &files.env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("mfad_role_duration = 13h"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("outside what AssumeRole allows (900 to 43200)"),
            "{err}"
        );
    }

    #[test]
    fn write_profile_names_a_section_of_the_credentials_file() {
        let files = Files::new(
            &format!(
                "[profile dev]\nmfa_serial = {SERIAL}\nmfad_write_profile = dev-mfa\n[profile self]\nmfa_serial = {SERIAL}\nmfad_write_profile = self\n"
            ),
            "",
        );
        let env = files.env(&[]);
        let target = resolve("dev", &env).unwrap().write_profile.unwrap();
        assert_eq!(target.section, "dev-mfa");
        assert_eq!(target.path, credentials_path(&env));
        let err = resolve("self", &env).unwrap_err();
        assert!(
            err.to_string().contains("names the profile itself"),
            "{err}"
        );
    }
}
