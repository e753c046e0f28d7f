//! The caller's shared config and credentials files, read with line numbers: which files
//! (see [`crate::paths`]), and a profile's settings merged from both as the SDKs merge them.

use super::{ConfigError, IniFile};
use crate::vocab::CallerEnv;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A setting and where it was read.
#[derive(Debug, Clone)]
pub struct Setting {
    pub value: String,
    pub path: Arc<Path>,
    pub line: usize,
}

/// The shared config and credentials files as the caller sees them.
#[derive(Debug)]
pub struct AwsFiles {
    pub config: IniFile,
    pub credentials: IniFile,
}

impl AwsFiles {
    /// Read both files; a missing file reads as empty, as the SDKs treat it.
    pub fn load(env: &CallerEnv) -> Result<Self, ConfigError> {
        Ok(Self {
            config: read_ini(&config_path(env))?,
            credentials: read_ini(&credentials_path(env))?,
        })
    }

    /// The settings of a profile that must exist.
    pub(super) fn known_profile(
        &self,
        name: &str,
    ) -> Result<BTreeMap<String, Setting>, ConfigError> {
        self.profile(name)
            .ok_or_else(|| ConfigError::UnknownProfile {
                profile: name.to_owned(),
                config: self.config.path.to_path_buf(),
            })
    }

    /// The settings of a profile: its config section merged with its credentials
    /// section, the credentials file winning as in the SDKs. `None` if neither has it.
    pub fn profile(&self, name: &str) -> Option<BTreeMap<String, Setting>> {
        let config_header = if name == "default" {
            "default".to_owned()
        } else {
            format!("profile {name}")
        };
        let mut found = false;
        let mut settings = BTreeMap::new();
        let config_sections = self.config.sections_named(&config_header);
        let default_alias = (name == "default")
            .then(|| self.config.sections_named("profile default"))
            .into_iter()
            .flatten();
        let sources = default_alias
            .chain(config_sections)
            .map(|s| (&self.config.path, s))
            .chain(
                self.credentials
                    .sections_named(name)
                    .map(|s| (&self.credentials.path, s)),
            );
        for (path, section) in sources {
            found = true;
            for entry in &section.entries {
                settings.insert(
                    entry.key.clone(),
                    Setting {
                        value: entry.value.clone(),
                        path: path.clone(),
                        line: entry.line,
                    },
                );
            }
        }
        found.then_some(settings)
    }

    pub(super) fn services_setting(&self, services: &str, key: &str) -> Option<String> {
        let header = format!("services {services}");
        self.config
            .sections_named(&header)
            .flat_map(|s| &s.entries)
            .filter(|e| e.key == key)
            .last()
            .map(|e| e.value.clone())
    }
}

/// `AWS_CONFIG_FILE`, else `~/.aws/config` (see [`crate::paths`]).
pub fn config_path(env: &CallerEnv) -> PathBuf {
    crate::paths::aws_config_file(env)
}

/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials` (see [`crate::paths`]).
pub fn credentials_path(env: &CallerEnv) -> PathBuf {
    crate::paths::aws_credentials_file(env)
}

/// Read a file with a size cap, never blocking on a FIFO; a missing file is empty.
fn read_ini(path: &Path) -> Result<IniFile, ConfigError> {
    let text = crate::bounded::read_text(path, crate::bounded::MAX_FILE_BYTES)
        .map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?
        .unwrap_or_default();
    IniFile::parse(path, &text).map_err(ConfigError::Syntax)
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn default_profile_and_credentials_file_sections() {
        let files = Files::new(
            &format!("[default]\nmfa_serial = {SERIAL}\nregion = eu-north-1\n"),
            "[default]\nregion = eu-central-1\n",
        );
        let plan = resolve_session("default", &files.env(&[])).unwrap();
        assert_eq!(plan.sts.region, "eu-central-1");
    }
}
