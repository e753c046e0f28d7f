//! What the tests of the config wing share: a pair of AWS files in a temporary directory.

use super::*;
use std::fs;

pub struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    pub fn new(config: &str, credentials: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("config"), config).unwrap();
        fs::write(dir.path().join("credentials"), credentials).unwrap();
        Self { dir }
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> std::path::PathBuf {
        self.dir.path().join("config")
    }

    pub fn env(&self, extra: &[(&str, &str)]) -> CallerEnv {
        let mut env = CallerEnv::default();
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        env.insert("AWS_CONFIG_FILE".into(), path("config"));
        env.insert("AWS_SHARED_CREDENTIALS_FILE".into(), path("credentials"));
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        env
    }
}

pub const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

pub fn resolve_session(profile: &str, env: &CallerEnv) -> Result<SessionPlan, ConfigError> {
    resolve(profile, env).map(|plan| plan.credentials.session().unwrap().clone())
}

pub fn role_of(plan: &ProfilePlan) -> &RolePlan {
    match &plan.credentials {
        CredentialPlan::Role(role) => role,
        _ => panic!("expected a role"),
    }
}
