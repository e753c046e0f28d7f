//! `aws login` profiles. The AWS CLI (2.32+) signs a person in through the browser and
//! writes `login_session = ARN` into a profile; mfad serves that sign-in to every tool
//! through a profile of its own that names it:
//!
//! ```ini
//! [profile console]            # written by `aws login --profile console`
//! login_session = arn:aws:iam::111122223333:user/alice
//! region = eu-west-1
//!
//! [profile dev]
//! credential_process = mfad process dev
//! mfad_login_profile = console
//! ```
//!
//! The login profile itself is left to the CLI and the SDKs that read it.

use super::ConfigError;
use super::endpoints::{network, service_endpoint};
use super::files::{AwsFiles, Setting};
use super::plan::{AwsLoginPlan, AwsLoginSession, AwsLoginTarget};
use crate::paths::caller_home;
use crate::vocab::CallerEnv;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Whether a profile's settings make it an `aws login` bridge.
pub(super) fn is_aws_login(settings: &BTreeMap<String, Setting>) -> bool {
    settings.contains_key("mfad_login_profile")
}

/// The plan of a profile with `mfad_login_profile`.
pub(super) fn plan(
    files: &AwsFiles,
    profile: &str,
    settings: &BTreeMap<String, Setting>,
    env: &CallerEnv,
) -> Result<AwsLoginPlan, ConfigError> {
    let source = settings["mfad_login_profile"].value.trim();
    let source_settings = files.known_profile(source)?;
    let login_session = source_settings
        .get("login_session")
        .map(|s| s.value.trim().to_owned())
        .filter(|arn| !arn.is_empty())
        .ok_or_else(|| ConfigError::NotAwsLogin {
            profile: profile.to_owned(),
            login_profile: source.to_owned(),
        })?;
    let endpoint = service_endpoint(files, source, env, "signin");
    let https = !endpoint
        .url
        .as_deref()
        .is_some_and(|url| url.to_ascii_lowercase().starts_with("http://"));
    let directory = cache_directory(env);
    Ok(AwsLoginPlan {
        profile: profile.to_owned(),
        login_profile: source.to_owned(),
        session: AwsLoginSession {
            cache_file: cache_file(&directory, &login_session),
            login_session,
            region: endpoint.region,
            url: endpoint.url,
            in_store: source_settings
                .get("mfad_login_store")
                .is_some_and(|s| s.value.trim().eq_ignore_ascii_case("true")),
        },
        network: network(&source_settings, env, https),
    })
}

/// Where `mfad aws-login PROFILE` signs in: the profile's region (or the caller's, else
/// us-east-1), the sign-in endpoint, the network, and where the cache goes. The profile
/// need not exist yet: the sign-in writes it.
pub fn sign_in_target(files: &AwsFiles, profile: &str, env: &CallerEnv) -> AwsLoginTarget {
    let endpoint = service_endpoint(files, profile, env, "signin");
    let https = !endpoint
        .url
        .as_deref()
        .is_some_and(|url| url.to_ascii_lowercase().starts_with("http://"));
    let settings = files.profile(profile).unwrap_or_default();
    AwsLoginTarget {
        profile: profile.to_owned(),
        config: files.config.path.to_path_buf(),
        cache_directory: cache_directory(env),
        region: endpoint.region,
        region_missing: !settings.contains_key("region"),
        url: endpoint.url,
        network: network(&settings, env, https),
    }
}

/// The cache file of the session a sign-in returned.
pub fn cache_file_of(target: &AwsLoginTarget, login_session: &str) -> PathBuf {
    cache_file(&target.cache_directory, login_session)
}

/// The caller's directory of login caches: `AWS_LOGIN_CACHE_DIRECTORY`, else
/// `~/.aws/login/cache`.
fn cache_directory(env: &CallerEnv) -> PathBuf {
    match env
        .get("AWS_LOGIN_CACHE_DIRECTORY")
        .filter(|d| !d.is_empty())
    {
        Some(dir) => PathBuf::from(dir),
        None => caller_home(env).join(".aws/login/cache"),
    }
}

/// A login session's cache file, named as the CLI and the SDKs name it: the hex SHA-256
/// of the trimmed `login_session`.
fn cache_file(directory: &Path, login_session: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(login_session.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    directory.join(format!("{digest}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::Files;
    use crate::config::{CredentialPlan, resolve};

    #[test]
    fn the_cache_file_is_named_as_the_sdks_name_it() {
        // The Rust SDK's own test vector (aws-config's login cache).
        let dir = Path::new("/home/someuser/.aws/login/cache");
        let expected = "/home/someuser/.aws/login/cache/36db1d138ff460920374e4c3d8e01f53f9f73537e89c88d639f68393df0e2726.json";
        for arn in [
            "arn:aws:iam::0123456789012:user/Admin",
            "  arn:aws:iam::0123456789012:user/Admin  ",
        ] {
            assert_eq!(cache_file(dir, arn), Path::new(expected));
        }
    }

    #[test]
    fn a_bridge_profile_resolves_to_its_login_and_a_role_builds_on_it() {
        let config = "[profile console]\nlogin_session = arn:aws:iam::111122223333:user/alice\nregion = eu-west-1\n\
             [profile dev]\nmfad_login_profile = console\n\
             [profile admin]\nmfad_login_profile = console\nmfad_role_arn = arn:aws:iam::222233334444:role/admin\n\
             [profile broken]\nmfad_login_profile = dev\n";
        let files = Files::new(config, "");
        let env = files.env(&[("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:1")]);
        let CredentialPlan::AwsLogin(plan) = resolve("dev", &env).unwrap().credentials else {
            panic!("an aws login plan")
        };
        assert_eq!(
            plan.session.login_session,
            "arn:aws:iam::111122223333:user/alice"
        );
        assert_eq!(plan.session.region, "eu-west-1");
        assert_eq!(plan.session.url.as_deref(), Some("http://127.0.0.1:1"));
        let home = caller_home(&env);
        assert!(
            plan.session
                .cache_file
                .starts_with(home.join(".aws/login/cache"))
        );
        let moved = files.env(&[("AWS_LOGIN_CACHE_DIRECTORY", "/elsewhere")]);
        let CredentialPlan::AwsLogin(plan) = resolve("dev", &moved).unwrap().credentials else {
            panic!("an aws login plan")
        };
        assert!(plan.session.cache_file.starts_with("/elsewhere"));

        let CredentialPlan::Role(role) = resolve("admin", &env).unwrap().credentials else {
            panic!("a role")
        };
        assert!(matches!(*role.source, CredentialPlan::AwsLogin(_)));

        let error = resolve("broken", &env).unwrap_err();
        assert!(matches!(error, ConfigError::NotAwsLogin { .. }), "{error}");
        assert!(
            crate::failure::Explain::remedy(&error).contains("aws login --profile dev"),
            "{error}"
        );
    }
}
