//! IAM Identity Center profiles. An mfad profile names an sso-session and a role in an
//! account with `mfad_` keys (the SDKs would take `sso_session` and bypass mfad):
//!
//! ```ini
//! [sso-session corp]
//! sso_start_url = https://corp.awsapps.com/start
//! sso_region = us-east-1
//! sso_registration_scopes = sso:account:access
//!
//! [profile prod]
//! credential_process = mfad process prod
//! mfad_sso_session = corp
//! mfad_sso_account_id = 111122223333
//! mfad_sso_role_name = Admin
//! ```
//!
//! or points with `mfad_source_profile` at a standard SSO profile (`sso_session`, or the
//! legacy `sso_start_url` form), so that profiles made by `aws configure sso` are reused.

use super::ConfigError;
use super::endpoints::{network, service_endpoint};
use super::files::{AwsFiles, Setting};
use super::plan::{SsoFlow, SsoPlan, SsoSession};
use crate::vocab::CallerEnv;
use std::collections::BTreeMap;

/// Whether a profile's settings make it an mfad SSO profile.
pub(super) fn is_mfad_sso(settings: &BTreeMap<String, Setting>) -> bool {
    settings.contains_key("mfad_sso_session")
}

/// Whether a profile is a standard SSO profile (as `aws configure sso` writes them).
pub(super) fn is_standard_sso(settings: &BTreeMap<String, Setting>) -> bool {
    settings.contains_key("sso_session") || settings.contains_key("sso_start_url")
}

/// The plan of an SSO profile: `profile` defines it (its `mfad_sso_*` keys), or `source`
/// does (a standard SSO profile named by `mfad_source_profile`).
pub(super) fn plan(
    files: &AwsFiles,
    profile: &str,
    settings: &BTreeMap<String, Setting>,
    env: &CallerEnv,
) -> Result<SsoPlan, ConfigError> {
    let flow = flow(settings)?;
    let (session, account_id, role_name) = if is_mfad_sso(settings) {
        let account_id = required(settings, profile, "mfad_sso_account_id")?;
        let role_name = required(settings, profile, "mfad_sso_role_name")?;
        let name = &settings["mfad_sso_session"];
        (
            named_session(files, profile, name, env)?,
            account_id,
            role_name,
        )
    } else {
        let source = &settings["mfad_source_profile"].value;
        let source_settings = files.known_profile(source)?;
        let account_id = required(&source_settings, source, "sso_account_id")?;
        let role_name = required(&source_settings, source, "sso_role_name")?;
        let session = match source_settings.get("sso_session") {
            Some(name) => named_session(files, source, name, env)?,
            None => legacy_session(files, source, &source_settings, env)?,
        };
        (session, account_id, role_name)
    };
    Ok(SsoPlan {
        profile: profile.to_owned(),
        session,
        account_id,
        role_name,
        flow,
        network: network(settings, env, true),
    })
}

fn required(
    settings: &BTreeMap<String, Setting>,
    profile: &str,
    key: &'static str,
) -> Result<String, ConfigError> {
    settings
        .get(key)
        .map(|s| s.value.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConfigError::MissingSsoSetting {
            profile: profile.to_owned(),
            setting: key,
        })
}

fn flow(settings: &BTreeMap<String, Setting>) -> Result<SsoFlow, ConfigError> {
    match settings.get("mfad_sso_flow") {
        None => Ok(SsoFlow::Browser),
        Some(s) => match s.value.trim() {
            "pkce" | "browser" => Ok(SsoFlow::Browser),
            "device" => Ok(SsoFlow::Device),
            _ => Err(ConfigError::BadValue {
                setting: "mfad_sso_flow",
                value: s.value.clone(),
                path: s.path.to_path_buf(),
                line: s.line,
                reason:
                    "pkce (the browser, the default) or device (a code typed in a browser anywhere)"
                        .into(),
            }),
        },
    }
}

/// An `[sso-session NAME]` section.
pub(super) fn named_session(
    files: &AwsFiles,
    profile: &str,
    name: &Setting,
    env: &CallerEnv,
) -> Result<SsoSession, ConfigError> {
    let header = format!("sso-session {}", name.value.trim());
    let mut section = BTreeMap::new();
    for found in files.config.sections_named(&header) {
        for entry in &found.entries {
            section.insert(entry.key.clone(), entry.value.clone());
        }
    }
    if section.is_empty() {
        return Err(ConfigError::UnknownSsoSession {
            profile: profile.to_owned(),
            session: name.value.trim().to_owned(),
            path: name.path.to_path_buf(),
            line: name.line,
        });
    }
    let get = |key: &'static str| {
        section
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ConfigError::MissingSsoSetting {
                profile: format!("sso-session {}", name.value.trim()),
                setting: key,
            })
    };
    let scopes = section
        .get("sso_registration_scopes")
        .map(|s| {
            s.split(',')
                .map(|scope| scope.trim().to_owned())
                .filter(|scope| !scope.is_empty())
                .collect()
        })
        .unwrap_or_else(|| vec!["sso:account:access".to_owned()]);
    Ok(SsoSession {
        name: name.value.trim().to_owned(),
        start_url: get("sso_start_url")?,
        region: get("sso_region")?,
        scopes,
        oidc_url: service_endpoint(files, profile, env, "sso_oidc").url,
        portal_url: service_endpoint(files, profile, env, "sso").url,
        legacy: false,
    })
}

/// A legacy SSO profile: `sso_start_url` and `sso_region` in the profile itself. Its
/// sessions are named by their start URL (as the AWS CLI's cache names them).
fn legacy_session(
    files: &AwsFiles,
    profile: &str,
    settings: &BTreeMap<String, Setting>,
    env: &CallerEnv,
) -> Result<SsoSession, ConfigError> {
    let start_url = required(settings, profile, "sso_start_url")?;
    Ok(SsoSession {
        name: start_url.clone(),
        start_url,
        region: required(settings, profile, "sso_region")?,
        scopes: Vec::new(),
        oidc_url: service_endpoint(files, profile, env, "sso_oidc").url,
        portal_url: service_endpoint(files, profile, env, "sso").url,
        legacy: true,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;
    use crate::config::*;

    const SESSION: &str = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-central-1\nsso_registration_scopes = sso:account:access\n";

    fn sso_of(plan: &ProfilePlan) -> &SsoPlan {
        match &plan.credentials {
            CredentialPlan::Sso(sso) => sso,
            CredentialPlan::Role(role) => match role.source.as_ref() {
                CredentialPlan::Sso(sso) => sso,
                _ => panic!("expected an SSO source"),
            },
            _ => panic!("expected an SSO plan"),
        }
    }

    #[test]
    fn an_mfad_sso_profile_names_its_session_account_and_role() {
        let files = Files::new(
            &format!(
                "{SESSION}[profile prod]\nmfad_sso_session = corp\nmfad_sso_account_id = 111122223333\nmfad_sso_role_name = Admin\nregion = eu-west-1\n"
            ),
            "",
        );
        let plan = resolve("prod", &files.env(&[])).unwrap();
        let sso = sso_of(&plan);
        assert_eq!(sso.session.name, "corp");
        assert_eq!(sso.session.start_url, "https://corp.awsapps.com/start");
        assert_eq!(sso.session.region, "eu-central-1");
        assert_eq!(sso.session.scopes, ["sso:account:access"]);
        assert_eq!(
            (sso.account_id.as_str(), sso.role_name.as_str()),
            ("111122223333", "Admin")
        );
        assert_eq!(sso.flow, SsoFlow::Browser);
        assert_eq!(plan.region.as_deref(), Some("eu-west-1"));
        assert!(plan.credentials.session().is_none());
        // The endpoints resolve as the SDKs do.
        let env = files.env(&[
            ("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:1/oidc"),
            ("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:1/portal"),
        ]);
        let plan = resolve("prod", &env).unwrap();
        let sso = sso_of(&plan);
        assert_eq!(
            sso.session.oidc_url.as_deref(),
            Some("http://127.0.0.1:1/oidc")
        );
        assert_eq!(
            sso.session.portal_url.as_deref(),
            Some("http://127.0.0.1:1/portal")
        );
    }

    #[test]
    fn standard_sso_profiles_are_reused_and_roles_build_on_them() {
        let files = Files::new(
            &format!(
                "{SESSION}[profile cli-prod]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\n\
                 [profile legacy]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-west-2\nsso_account_id = 444455556666\nsso_role_name = Dev\n\
                 [profile prod]\nmfad_source_profile = cli-prod\nmfad_sso_flow = device\n\
                 [profile old]\nmfad_source_profile = legacy\n\
                 [profile admin]\nmfad_source_profile = cli-prod\nmfad_role_arn = arn:aws:iam::111122223333:role/admin\n"
            ),
            "",
        );
        let env = files.env(&[]);
        let plan = resolve("prod", &env).unwrap();
        let sso = sso_of(&plan);
        assert_eq!(sso.session.name, "corp");
        assert_eq!(sso.role_name, "ReadOnly");
        assert_eq!(sso.flow, SsoFlow::Device);
        let old = resolve("old", &env).unwrap();
        let legacy = sso_of(&old);
        assert!(legacy.session.legacy);
        assert_eq!(legacy.session.name, "https://old.awsapps.com/start");
        assert_eq!(legacy.account_id, "444455556666");
        let admin = resolve("admin", &env).unwrap();
        assert!(matches!(admin.credentials, CredentialPlan::Role(_)));
        assert_eq!(sso_of(&admin).role_name, "ReadOnly");
    }

    #[test]
    fn what_is_missing_is_named() {
        let files = Files::new(
            "[profile a]\nmfad_sso_session = nope\nmfad_sso_account_id = 1\nmfad_sso_role_name = R\n\
             [sso-session half]\nsso_region = us-east-1\n\
             [profile b]\nmfad_sso_session = half\nmfad_sso_account_id = 1\nmfad_sso_role_name = R\n\
             [profile c]\nmfad_sso_session = half\nmfad_sso_role_name = R\n\
             [profile d]\nmfad_sso_session = half\nmfad_sso_account_id = 1\nmfad_sso_role_name = R\nmfad_sso_flow = carrier-pigeon\n",
            "",
        );
        let env = files.env(&[]);
        let said = |profile: &str| resolve(profile, &env).unwrap_err().to_string();
        assert!(said("a").contains("no [sso-session nope]"), "{}", said("a"));
        assert!(said("b").contains("sso_start_url"), "{}", said("b"));
        assert!(said("c").contains("mfad_sso_account_id"), "{}", said("c"));
        assert!(said("d").contains("mfad_sso_flow"), "{}", said("d"));
    }
}
