//! Byte-preserving edits of the shared credentials file.
//!
//! mfad owns only the sections it wrote, recognised by the marker comment on the line
//! after their header. An edit replaces or removes exactly the lines of such a section —
//! header, marker and the `key = value` lines after it — and keeps every other byte:
//! comments, blank lines, spacing, key order, CRLF, other sections, a missing final
//! newline. (`rust-ini` and configparser rewrite all of these, hence this module.)
//!
//! Writes are atomic under a lock shared by mfad writers (see [`crate::files`]).
//! Other programs (`aws configure set`) do not lock, so a write re-reads the file just
//! before the rename and starts over if it changed meanwhile. A symbolic link is written
//! through; a file with other hard links is refused (the rename would leave the other
//! names with stale credentials). The file keeps its mode when stricter than 0600.

use super::lines::{header_name, newline_of, setting_key, with_offsets};
use crate::failure::{Explain, FailureKind};
use crate::files;
use std::fs;
use std::io;
use std::ops::Range;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The comment that marks a section as mfad's, on the line after its header.
pub const MARKER: &str = "# written by mfad";

/// The values mfad keeps in its section.
pub struct SectionValues<'a> {
    /// The profile whose session this is (named in the marker comment).
    pub profile: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: &'a str,
    /// RFC 3339 with `Z`, as starship and the SDKs read it.
    pub expiration: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum CredfileError {
    #[error("[{section}] in {} was not written by mfad (it holds settings of its own, such as static keys)", .path.display())]
    NotOurs { section: String, path: PathBuf },
    #[error("cannot update {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: crate::bounded::FileError,
    },
    #[error("{} has {links} hard links; replacing it would leave the other names with stale credentials", .path.display())]
    HardLinked { path: PathBuf, links: u64 },
    #[error("{} kept changing while mfad tried to update it", .path.display())]
    KeptChanging { path: PathBuf },
}

impl Explain for CredfileError {
    fn kind(&self) -> FailureKind {
        FailureKind::Config
    }

    fn remedy(&self) -> String {
        let remedy = match self {
            Self::NotOurs { .. } => {
                "mfad does not overwrite it: rename or remove that section, or set mfad_write_profile to another name"
            }
            Self::Io { .. } => {
                "check that the directory is writable and the disk not full; the file was left as it was"
            }
            Self::KeptChanging { .. } => "another program rewrites it continuously; try again",
            Self::Read { .. } => {
                "point AWS_SHARED_CREDENTIALS_FILE at a readable text file of a few MiB at most"
            }
            Self::HardLinked { .. } => {
                "remove the other links (keep one name, or make the others symbolic links), or set mfad_write_profile in a profile whose AWS_SHARED_CREDENTIALS_FILE has one"
            }
        };
        remedy.into()
    }
}

/// The text was not changed because a section of that name is not mfad's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOurs;

/// Whether a line is a `key = value` setting (as opposed to blank, comment or header).
fn is_setting(line: &str) -> bool {
    setting_key(line).is_some()
}

/// How mfad's marker says that mfad also wrote the line break before the header (the
/// file had no final newline), so that removing the section gives that byte back too.
const ADDED_BREAK: &str = ", after the line break it added,";

/// A section of the wanted name.
struct Found {
    /// mfad's section: header, marker and the settings after them. Another's: its header
    /// line only.
    range: Range<usize>,
    ours: bool,
    added_break: bool,
    /// The length of the line break mfad added before the header, if it is still there.
    break_len: usize,
}

impl Found {
    /// The range with the line break mfad added before it.
    fn with_break(&self) -> Range<usize> {
        self.range.start - self.break_len..self.range.end
    }
}

/// Every section named `section`, in file order.
fn find_sections(text: &str, section: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut lines = with_offsets(text).peekable();
    while let Some((start, line)) = lines.next() {
        if header_name(line) != Some(section) {
            continue;
        }
        let mut end = start + line.len();
        let marker = lines
            .peek()
            .map(|(_, next)| next.trim_start())
            .filter(|next| next.starts_with(MARKER));
        let ours = marker.is_some();
        let added_break = marker.is_some_and(|m| m.contains(ADDED_BREAK));
        if ours {
            while let Some((offset, next)) = lines.peek() {
                let is_marker = next.trim_start().starts_with(MARKER);
                if !(is_marker || is_setting(next)) {
                    break;
                }
                end = offset + next.len();
                lines.next();
            }
        }
        let newline = if line.ends_with("\r\n") { "\r\n" } else { "\n" };
        let break_len = if added_break && text[..start].ends_with(newline) {
            newline.len()
        } else {
            0
        };
        found.push(Found {
            range: start..end,
            ours,
            added_break,
            break_len,
        });
    }
    found
}

fn render(section: &str, values: &SectionValues<'_>, newline: &str, added_break: bool) -> String {
    let lines = [
        format!("[{section}]"),
        format!(
            "{MARKER}{} for profile {}; rewritten on renewal, removed by mfad logout",
            if added_break { ADDED_BREAK } else { "" },
            values.profile
        ),
        format!("aws_access_key_id = {}", values.access_key_id),
        format!("aws_secret_access_key = {}", values.secret_access_key),
        format!("aws_session_token = {}", values.session_token),
        format!("expiration = {}", values.expiration),
    ];
    let block: String = lines
        .iter()
        .map(|line| format!("{line}{newline}"))
        .collect();
    if added_break {
        format!("{newline}{block}")
    } else {
        block
    }
}

/// Put mfad's section into the text, in place of an existing one, else at the end.
pub fn upsert(text: &str, section: &str, values: &SectionValues<'_>) -> Result<String, NotOurs> {
    let found = find_sections(text, section);
    if found.iter().any(|f| !f.ours) {
        return Err(NotOurs);
    }
    let newline = newline_of(text);
    let Some(first) = found.first() else {
        let added_break = !text.is_empty() && !text.ends_with('\n');
        return Ok(format!(
            "{text}{}",
            render(section, values, newline, added_break)
        ));
    };
    let mut out = text.to_owned();
    for duplicate in found.iter().skip(1).rev() {
        out.replace_range(duplicate.range.clone(), "");
    }
    out.replace_range(
        first.with_break(),
        &render(section, values, newline, first.added_break),
    );
    Ok(out)
}

/// Remove every section of that name mfad wrote. `Ok(None)` if there was none.
pub fn remove(text: &str, section: &str) -> Result<Option<String>, NotOurs> {
    let found = find_sections(text, section);
    if found.iter().any(|f| !f.ours) {
        return Err(NotOurs);
    }
    if found.is_empty() {
        return Ok(None);
    }
    let mut out = text.to_owned();
    for section in found.iter().rev() {
        // The break mfad added goes too, unless text now follows that needs it.
        let range = if section.range.end == out.len() {
            section.with_break()
        } else {
            section.range.clone()
        };
        out.replace_range(range, "");
    }
    Ok(Some(out))
}

/// The `aws_access_key_id` in mfad's section, if the text has one.
pub fn written_key_id(text: &str, section: &str) -> Option<String> {
    let found = find_sections(text, section).into_iter().next()?;
    if !found.ours {
        return None;
    }
    text[found.range].lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "aws_access_key_id").then(|| value.trim().to_owned())
    })
}

/// What identifies a version of a file on disk, to notice that another program wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    inode: u64,
    len: u64,
    modified_ns: i128,
}

pub fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = fs::metadata(path).ok()?;
    Some(FileStamp {
        inode: meta.ino(),
        len: meta.len(),
        modified_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
    })
}

/// How many times a write starts over when another program changes the file under it.
const ATTEMPTS: usize = 20;
/// Two reads this far apart must agree before mfad edits what it read: a program that
/// truncates and rewrites the file in place (as `aws configure set` does) is not caught
/// half-way.
const SETTLE: Duration = Duration::from_millis(5);

/// Apply `edit` to the file atomically. `edit` returns `None` to leave the file as it is.
/// Returns the file's stamp afterwards.
pub fn edit(
    path: &Path,
    section: &str,
    edit: impl Fn(&str) -> Result<Option<String>, NotOurs>,
) -> Result<Option<FileStamp>, CredfileError> {
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let io_error = |source| CredfileError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error)?;
    }
    let mode = match fs::metadata(&path) {
        Ok(meta) if meta.nlink() > 1 => {
            return Err(CredfileError::HardLinked {
                links: meta.nlink(),
                path,
            });
        }
        // Never looser than 0600; stricter stays stricter.
        Ok(meta) => meta.mode() & 0o600,
        Err(_) => 0o600,
    };
    let _lock = files::lock(&path).map_err(io_error)?;
    for _ in 0..ATTEMPTS {
        let (text, before) = read_settled(&path)?;
        let Some(new_text) = edit(&text).map_err(|NotOurs| CredfileError::NotOurs {
            section: section.to_owned(),
            path: path.clone(),
        })?
        else {
            return Ok(before);
        };
        if new_text == text {
            return Ok(before);
        }
        let replacement =
            files::Replacement::write(&path, new_text.as_bytes(), mode).map_err(io_error)?;
        // Another writer may have finished in the meantime: start over from its text.
        let unchanged = stamp(&path) == before && read_text(&path)? == text;
        if !unchanged {
            continue;
        }
        replacement.commit().map_err(io_error)?;
        return Ok(stamp(&path));
    }
    Err(CredfileError::KeptChanging { path })
}

/// The file's text, with a size cap, never blocking on a FIFO; empty if it is missing.
fn read_text(path: &Path) -> Result<String, CredfileError> {
    crate::bounded::read_text(path, crate::bounded::MAX_FILE_BYTES)
        .map(Option::unwrap_or_default)
        .map_err(|source| CredfileError::Read {
            path: path.to_owned(),
            source,
        })
}

/// Read the file once it holds still: two reads a moment apart, same bytes, same stamp.
fn read_settled(path: &Path) -> Result<(String, Option<FileStamp>), CredfileError> {
    let mut text = read_text(path)?;
    let mut before = stamp(path);
    loop {
        std::thread::sleep(SETTLE);
        let again = read_text(path)?;
        let after = stamp(path);
        if again == text && after == before {
            return Ok((text, before));
        }
        (text, before) = (again, after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(key: &str) -> SectionValues<'_> {
        SectionValues {
            profile: "dev",
            access_key_id: key,
            secret_access_key: "secret",
            session_token: "token",
            expiration: "2026-11-23T17:00:00Z",
        }
    }

    #[test]
    fn appends_replaces_and_removes_only_its_lines() {
        let original = "# mine\r\n[default]\r\naws_access_key_id=AKIA\r\n\r\n; keep\r\n";
        let added = upsert(original, "dev-mfa", &values("ASIA1")).unwrap();
        assert!(added.starts_with(original));
        assert!(added.contains("[dev-mfa]\r\n# written by mfad for profile dev"));
        assert!(added.ends_with("expiration = 2026-11-23T17:00:00Z\r\n"));
        let replaced = upsert(&added, "dev-mfa", &values("ASIA2")).unwrap();
        assert_eq!(
            written_key_id(&replaced, "dev-mfa").as_deref(),
            Some("ASIA2")
        );
        assert_eq!(
            remove(&replaced, "dev-mfa").unwrap().as_deref(),
            Some(original)
        );
    }

    #[test]
    fn a_file_without_a_final_newline_gets_it_back_missing() {
        let original = "[default]\r\nregion = eu-west-1";
        let added = upsert(original, "out", &values("ASIA1")).unwrap();
        assert!(
            added.starts_with("[default]\r\nregion = eu-west-1\r\n[out]\r\n"),
            "{added:?}"
        );
        let renewed = upsert(&added, "out", &values("ASIA2")).unwrap();
        assert_eq!(remove(&renewed, "out").unwrap().as_deref(), Some(original));
    }

    #[test]
    fn a_section_mfad_did_not_write_is_left_alone() {
        let text = "[out]\naws_access_key_id = AKIASTATIC\n";
        assert_eq!(upsert(text, "out", &values("ASIA1")), Err(NotOurs));
        assert_eq!(remove(text, "out"), Err(NotOurs));
        assert_eq!(written_key_id(text, "out"), None);
    }

    #[test]
    fn comments_after_the_section_belong_to_what_follows() {
        let text = upsert("", "out", &values("ASIA1")).unwrap() + "\n# prod keys\n[prod]\nx = 1\n";
        let replaced = upsert(&text, "out", &values("ASIA2")).unwrap();
        assert!(
            replaced.ends_with("\n# prod keys\n[prod]\nx = 1\n"),
            "{replaced}"
        );
    }
}
