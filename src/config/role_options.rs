//! The AssumeRole options peers' users rely on: `mfad_source_identity`,
//! `mfad_session_tags = key=value,…` and `mfad_transitive_tag_keys = key,…`, checked
//! against STS's limits so that a bad value is named with its file and line instead of
//! coming back from STS as a refusal.

use super::{ConfigError, Setting};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// STS takes at most 50 session tags.
const MAX_TAGS: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// (key, value), in the order written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_tags: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
}

impl RoleOptions {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn parse(settings: &BTreeMap<String, Setting>) -> Result<Self, ConfigError> {
        let source_identity = settings
            .get("mfad_source_identity")
            .map(source_identity)
            .transpose()?;
        let session_tags = match settings.get("mfad_session_tags") {
            Some(setting) => session_tags(setting)?,
            None => Vec::new(),
        };
        let transitive_tag_keys = match settings.get("mfad_transitive_tag_keys") {
            Some(setting) => transitive_keys(setting, &session_tags)?,
            None => Vec::new(),
        };
        Ok(Self {
            source_identity,
            session_tags,
            transitive_tag_keys,
        })
    }
}

fn bad(setting: &Setting, name: &'static str, reason: String) -> ConfigError {
    ConfigError::BadValue {
        setting: name,
        value: setting.value.clone(),
        path: setting.path.to_path_buf(),
        line: setting.line,
        reason,
    }
}

fn source_identity(setting: &Setting) -> Result<String, ConfigError> {
    let value = setting.value.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c);
    if !(2..=64).contains(&value.len()) || !value.chars().all(allowed) {
        return Err(bad(
            setting,
            "mfad_source_identity",
            "STS takes 2 to 64 characters of letters, digits and +=,.@-_".into(),
        ));
    }
    if value.to_ascii_lowercase().starts_with("aws:") {
        return Err(bad(
            setting,
            "mfad_source_identity",
            "the prefix aws: is reserved by AWS".into(),
        ));
    }
    Ok(value.to_owned())
}

/// Characters STS allows in tag keys and values.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

fn session_tags(setting: &Setting) -> Result<Vec<(String, String)>, ConfigError> {
    let name = "mfad_session_tags";
    let mut tags: Vec<(String, String)> = Vec::new();
    for item in setting
        .value
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let Some((key, value)) = item.split_once('=') else {
            return Err(bad(setting, name, format!("{item:?} is not key=value")));
        };
        let (key, value) = (key.trim(), value.trim());
        if !(1..=128).contains(&key.chars().count()) || value.chars().count() > 256 {
            return Err(bad(
                setting,
                name,
                format!("in {item:?}: a key is 1 to 128 characters, a value at most 256"),
            ));
        }
        if !key.chars().all(tag_char) || !value.chars().all(tag_char) {
            return Err(bad(
                setting,
                name,
                format!("in {item:?}: keys and values take letters, digits, spaces and _.:/=+-@"),
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad(
                setting,
                name,
                format!("{key}: the prefix aws: is reserved by AWS"),
            ));
        }
        if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(bad(
                setting,
                name,
                format!("the key {key} is given twice (keys ignore case)"),
            ));
        }
        tags.push((key.to_owned(), value.to_owned()));
    }
    if tags.len() > MAX_TAGS {
        return Err(bad(
            setting,
            name,
            format!("{} tags; STS takes at most {MAX_TAGS}", tags.len()),
        ));
    }
    Ok(tags)
}

fn transitive_keys(
    setting: &Setting,
    tags: &[(String, String)],
) -> Result<Vec<String>, ConfigError> {
    let mut keys = Vec::new();
    for key in setting
        .value
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        if !tags.iter().any(|(tag, _)| tag.eq_ignore_ascii_case(key)) {
            return Err(bad(
                setting,
                "mfad_transitive_tag_keys",
                format!(
                    "{key} is not a key of mfad_session_tags; only session tags can be transitive"
                ),
            ));
        }
        keys.push(key.to_owned());
    }
    Ok(keys)
}
