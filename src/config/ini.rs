//! A reader for the AWS shared config and credentials files that remembers where each
//! setting came from, so an error can name the file and line.
//!
//! The format is botocore's: `[section]` headers, `key = value` lines, `#` and `;` comment
//! lines, and indented lines under a key with an empty value as its sub-settings
//! (`sts =` / `  endpoint_url = …` in a `[services NAME]` section). Keys are
//! case-insensitive.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A parsed file: its sections in order, duplicates kept (later ones win on lookup).
#[derive(Debug)]
pub struct IniFile {
    pub path: Arc<Path>,
    pub sections: Vec<Section>,
}

#[derive(Debug)]
pub struct Section {
    /// The text between the brackets, trimmed: `profile dev`, `default`, `services local`.
    pub header: String,
    pub line: usize,
    pub entries: Vec<Entry>,
}

/// One setting. A sub-setting of `sts =` is stored with the key `sts.endpoint_url`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A line that is none of the above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl IniFile {
    pub fn parse(path: &Path, text: &str) -> Result<Self, SyntaxError> {
        let mut sections: Vec<Section> = Vec::new();
        // The key whose indented lines are being read: (key, value was empty).
        let mut open_key: Option<(String, bool)> = None;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |reason: &str| SyntaxError {
                path: path.to_owned(),
                line,
                reason: reason.to_owned(),
            };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let indented = raw.starts_with([' ', '\t']);
            if let Some(rest) = trimmed.strip_prefix('[') {
                let Some(header) = rest.split_once(']').map(|(h, _)| h.trim()) else {
                    return Err(error("a section header needs a closing `]`"));
                };
                if header.is_empty() {
                    return Err(error("a section header needs a name, e.g. [profile dev]"));
                }
                sections.push(Section {
                    header: header.to_owned(),
                    line,
                    entries: Vec::new(),
                });
                open_key = None;
                continue;
            }
            let Some(section) = sections.last_mut() else {
                return Err(error("a setting before the first [section] header"));
            };
            match (indented, &open_key) {
                (true, Some((parent, true))) => {
                    let Some((key, value)) = split_setting(trimmed) else {
                        return Err(error(
                            "an indented line under a setting must be `key = value`",
                        ));
                    };
                    section.entries.push(Entry {
                        key: format!("{parent}.{key}"),
                        value,
                        line,
                    });
                }
                (true, Some((parent, false))) => {
                    // A continuation of a multi-line value, as configparser reads it.
                    let parent = parent.clone();
                    if let Some(entry) = section.entries.iter_mut().rev().find(|e| e.key == parent)
                    {
                        entry.value.push('\n');
                        entry.value.push_str(trimmed);
                    }
                }
                _ => {
                    let Some((key, value)) = split_setting(trimmed) else {
                        return Err(error(
                            "expected `key = value`, a [section] header or a # comment",
                        ));
                    };
                    open_key = Some((key.clone(), value.is_empty()));
                    section.entries.push(Entry { key, value, line });
                }
            }
        }
        Ok(Self {
            path: Arc::from(path),
            sections,
        })
    }

    /// Sections with this header, in file order.
    pub fn sections_named<'a>(&'a self, header: &'a str) -> impl Iterator<Item = &'a Section> {
        self.sections.iter().filter(move |s| s.header == header)
    }
}

fn split_setting(line: &str) -> Option<(String, String)> {
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    Some((key.to_ascii_lowercase(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IniFile, SyntaxError> {
        IniFile::parse(Path::new("/home/u/.aws/config"), text)
    }

    #[test]
    fn reads_sections_settings_comments_and_crlf() {
        let file = parse(
            "# top\r\n[default]\r\nregion = eu-west-1\r\n\r\n[profile dev]\nMFA_Serial=arn:aws:iam::1:mfa/a\n; note\n",
        )
        .unwrap();
        assert_eq!(file.sections.len(), 2);
        assert_eq!(file.sections[0].entries[0].value, "eu-west-1");
        let dev = &file.sections[1];
        assert_eq!(dev.header, "profile dev");
        assert_eq!(dev.entries[0].key, "mfa_serial");
        assert_eq!(dev.entries[0].line, 6);
    }

    #[test]
    fn nested_settings_and_continuations() {
        let file = parse(
            "[services local]\nsts =\n  endpoint_url = http://127.0.0.1:1\n[profile p]\nmfa_process = a\n  b\n",
        )
        .unwrap();
        let services = &file.sections[0].entries;
        assert_eq!(services[1].key, "sts.endpoint_url");
        assert_eq!(services[1].value, "http://127.0.0.1:1");
        assert_eq!(file.sections[1].entries[0].value, "a\nb");
    }

    #[test]
    fn malformed_lines_are_named_by_line() {
        let err = parse("[profile dev]\nregion = x\nthis is not a setting\n").unwrap_err();
        assert_eq!(err.line, 3);
        let err = parse("region = x\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.reason.contains("before the first"));
        assert_eq!(parse("[profile dev\n").unwrap_err().line, 1);
        assert_eq!(parse("[]\n").unwrap_err().line, 1);
    }
}
