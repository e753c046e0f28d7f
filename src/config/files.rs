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
    /// Whether the config file exists (a missing one reads as empty).
    pub config_exists: bool,
}

impl AwsFiles {
    /// Read both files; a missing file reads as empty, as the SDKs treat it.
    pub fn load(env: &CallerEnv) -> Result<Self, ConfigError> {
        let (config, config_exists) = read_ini(&config_path(env))?;
        Ok(Self {
            config,
            credentials: read_ini(&credentials_path(env))?.0,
            config_exists,
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
                config_exists: self.config_exists,
                similar: closest(name, &self.profile_names()),
            })
    }

    /// Every profile either file has.
    pub fn profile_names(&self) -> Vec<String> {
        let in_config = self.config.sections.iter().filter_map(|s| {
            (s.header == "default")
                .then_some("default")
                .or_else(|| s.header.strip_prefix("profile "))
        });
        let in_credentials = self.credentials.sections.iter().map(|s| s.header.as_str());
        let mut names: Vec<String> = in_config
            .chain(in_credentials)
            .map(|n| n.trim().to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
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
/// The file, and whether it exists.
fn read_ini(path: &Path) -> Result<(IniFile, bool), ConfigError> {
    let text =
        crate::bounded::read_text(path, crate::bounded::MAX_FILE_BYTES).map_err(|source| {
            ConfigError::Read {
                path: path.to_owned(),
                source,
            }
        })?;
    let exists = text.is_some();
    let file = IniFile::parse(path, &text.unwrap_or_default()).map_err(ConfigError::Syntax)?;
    Ok((file, exists))
}

/// The name among `names` a typo of `wanted` most likely meant: the nearest by edit
/// distance, if within a third of its length (at least one edit).
fn closest(wanted: &str, names: &[String]) -> Option<String> {
    let allowed = (wanted.chars().count() / 3).max(1);
    names
        .iter()
        .map(|name| (edit_distance(wanted, name), name))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name.clone())
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn an_unknown_profile_is_told_the_nearest_name_or_that_the_file_is_missing() {
        let files = Files::new(
            "[profile dev]\nmfa_serial = x\n[profile production]\n[default]\n",
            "[staging]\n",
        );
        let said = |name: &str| {
            let error = resolve_session(name, &files.env(&[])).unwrap_err();
            (error.to_string(), crate::failure::Explain::remedy(&error))
        };
        assert!(
            said("devv").0.ends_with("(did you mean \"dev\"?)"),
            "{:?}",
            said("devv")
        );
        assert!(said("prodution").0.contains("did you mean \"production\""));
        assert!(said("stagin").0.contains("did you mean \"staging\""));
        assert!(!said("ops").0.contains("did you mean"), "{:?}", said("ops"));
        let missing = Files::new("", "");
        std::fs::remove_file(missing.config_path()).unwrap();
        let error = resolve_session("dev", &missing.env(&[])).unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
        assert!(
            crate::failure::Explain::remedy(&error).starts_with("create "),
            "{}",
            crate::failure::Explain::remedy(&error)
        );
    }

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(super::edit_distance("dev", "dev"), 0);
        assert_eq!(super::edit_distance("dev", "devv"), 1);
        assert_eq!(super::edit_distance("kitten", "sitting"), 3);
        assert_eq!(super::edit_distance("", "abc"), 3);
    }

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
