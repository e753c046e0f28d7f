//! The line scanner the byte-preserving editors share: what a line of an AWS ini file is,
//! without parsing the file (the editors must keep every byte they do not change).

/// The lines of a text, each with its byte offset and its line ending.
pub fn with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, line| {
        let start = *offset;
        *offset += line.len();
        Some((start, line))
    })
}

/// The name between the brackets of a section header line.
pub fn header_name(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix('[')?;
    Some(rest.split_once(']')?.0.trim())
}

/// The key of a `key = value` line (`None` for blanks, comments and headers).
pub fn setting_key(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with(['#', ';', '[']) {
        return None;
    }
    Some(trimmed.split_once('=')?.0.trim())
}

/// The line ending the text already uses (LF for an empty text).
pub fn newline_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(at) if text[..at].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart_as_the_editors_need() {
        assert_eq!(header_name("  [profile dev] # x\r\n"), Some("profile dev"));
        assert_eq!(header_name("key = [x]"), None);
        assert_eq!(setting_key("  region = eu-west-1\n"), Some("region"));
        assert_eq!(setting_key("# region = x"), None);
        assert_eq!(setting_key("[default]"), None);
        assert_eq!(setting_key("no equals sign"), None);
        assert_eq!(newline_of("a\r\nb\n"), "\r\n");
        assert_eq!(newline_of(""), "\n");
        let offsets: Vec<_> = with_offsets("a\nbb\r\nc").collect();
        assert_eq!(offsets, [(0, "a\n"), (2, "bb\r\n"), (6, "c")]);
    }
}
