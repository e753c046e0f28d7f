//! Byte-preserving edits of `~/.aws/config`: one `key = value` line set in one profile's
//! section, every other byte (comments, spacing, order, CRLF) kept as it was. The write
//! itself is [`super::credfile::edit`]'s (atomic, locked, re-read before the rename).

use super::lines::{header_name, newline_of, setting_key};

/// The header of a profile's section in the config file.
pub fn header_of(profile: &str) -> String {
    if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    }
}

/// `text` with `key = value` in `[header]`: the existing line of that key rewritten, else
/// a line added after the section's last setting, else a new section at the end. `None`
/// when the value is already there.
pub fn set(text: &str, header: &str, key: &str, value: &str) -> Option<String> {
    let newline = newline_of(text);
    let wanted = format!("{key} = {value}");
    let mut offset = 0;
    let mut in_section = false;
    let mut insert_at = None;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if let Some(name) = header_name(line) {
            if in_section {
                break;
            }
            in_section = name == header;
            if in_section {
                insert_at = Some(offset);
            }
            continue;
        }
        if !in_section {
            continue;
        }
        match setting_key(line) {
            Some(found) if found == key => {
                let content = line.trim_end_matches(['\r', '\n']);
                let old_value = content.split_once('=').map_or("", |(_, v)| v.trim());
                if old_value == value {
                    return None;
                }
                let ending = &line[content.len()..];
                return Some(format!(
                    "{}{wanted}{ending}{}",
                    &text[..start],
                    &text[offset..]
                ));
            }
            Some(_) => insert_at = Some(offset),
            None => {}
        }
    }
    match insert_at {
        Some(at) => {
            let before = &text[..at];
            // The line ending of the line it follows, in a file that mixes them.
            let newline = if before.ends_with("\r\n") {
                "\r\n"
            } else if before.ends_with('\n') {
                "\n"
            } else {
                newline
            };
            let gap = if before.ends_with('\n') { "" } else { newline };
            Some(format!("{before}{gap}{wanted}{newline}{}", &text[at..]))
        }
        None => {
            let gap = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                newline
            };
            Some(format!("{text}{gap}[{header}]{newline}{wanted}{newline}"))
        }
    }
}

/// `text` without the `key` lines of `[header]`; `None` when there are none.
pub fn unset(text: &str, header: &str, key: &str) -> Option<String> {
    let mut kept = String::with_capacity(text.len());
    let mut in_section = false;
    let mut removed = false;
    for line in text.split_inclusive('\n') {
        if let Some(name) = header_name(line) {
            in_section = name == header;
        } else if in_section && setting_key(line) == Some(key) {
            removed = true;
            continue;
        }
        kept.push_str(line);
    }
    removed.then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

    #[test]
    fn a_line_is_added_after_the_last_setting_and_nothing_else_moves() {
        let text = "# mine\r\n[profile dev]\r\nregion = eu-west-1 ; kept\r\n\r\n# about prod\r\n[profile prod]\r\nregion = us-east-1";
        let edited = set(text, "profile dev", "mfa_serial", SERIAL).unwrap();
        assert_eq!(
            edited,
            format!(
                "# mine\r\n[profile dev]\r\nregion = eu-west-1 ; kept\r\nmfa_serial = {SERIAL}\r\n\r\n# about prod\r\n[profile prod]\r\nregion = us-east-1"
            )
        );
        assert_eq!(unset(&edited, "profile dev", "mfa_serial").unwrap(), text);
        assert_eq!(set(&edited, "profile dev", "mfa_serial", SERIAL), None);
    }

    #[test]
    fn an_existing_value_is_replaced_in_place_and_a_missing_section_appended() {
        let text = "[default]\nmfa_serial=old\nregion = x\n";
        assert_eq!(
            set(text, "default", "mfa_serial", SERIAL).unwrap(),
            format!("[default]\nmfa_serial = {SERIAL}\nregion = x\n")
        );
        assert_eq!(
            set("[default]\nregion = x", "profile dev", "mfa_serial", SERIAL).unwrap(),
            format!("[default]\nregion = x\n[profile dev]\nmfa_serial = {SERIAL}\n")
        );
        assert_eq!(
            set("[profile dev]", "profile dev", "mfa_serial", SERIAL).unwrap(),
            format!("[profile dev]\nmfa_serial = {SERIAL}\n")
        );
        assert_eq!(unset(text, "profile dev", "mfa_serial"), None);
    }
}
