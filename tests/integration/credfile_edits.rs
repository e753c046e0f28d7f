//! Property tests of the credentials-file editor over generated files: whatever the file
//! holds, mfad's edits change only its own section, byte for byte.

use mfad::config::IniFile;
use mfad::config::credfile::{NotOurs, SectionValues, remove, upsert, written_key_id};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

const OUT: &str = "dev-mfa";

/// One line of a generated credentials file, without its line ending.
fn line() -> impl Strategy<Value = String> {
    let name = "[a-z][a-z0-9_-]{0,8}";
    let spaces = "[ \t]{0,2}";
    prop_oneof![
        Just(String::new()),
        ("[#;]", "[ -~]{0,20}").prop_map(|(mark, text)| format!("{mark}{text}")),
        (spaces, name, spaces).prop_map(|(a, n, b)| format!("{a}[{n}]{b}")),
        (spaces, "[a-z_]{1,12}", spaces, spaces, "[!-~]{0,16}")
            .prop_map(|(a, key, b, c, value)| format!("{a}{key}{b}={c}{value}")),
    ]
}

/// A file: lines, one line-ending style (or a mix), with or without a final newline.
fn file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..30),
        prop_oneof![Just("\n"), Just("\r\n")],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, newline, final_newline, mixed)| {
            let mut text = String::new();
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    text.push_str(if mixed && i % 3 == 0 { "\n" } else { newline });
                }
                text.push_str(line);
            }
            if final_newline && !text.is_empty() {
                text.push_str(newline);
            }
            text
        })
}

fn values(key: &str) -> SectionValues<'_> {
    SectionValues {
        profile: "dev",
        access_key_id: key,
        secret_access_key: "wJalr/secret+key",
        session_token: "FQoGZXIvYXdzE=token",
        expiration: "2026-11-23T17:00:00Z",
    }
}

/// Section -> settings, as the AWS tools would read them, leaving out mfad's section.
fn others(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let Ok(file) = IniFile::parse(Path::new("credentials"), text) else {
        return BTreeMap::new();
    };
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for section in file.sections.iter().filter(|s| s.header != OUT) {
        let entries = section
            .entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()));
        sections
            .entry(section.header.clone())
            .or_default()
            .extend(entries);
    }
    sections
}

/// A file as mfad may find it: the user's text, possibly with a section mfad wrote
/// earlier and sections added after it (as `aws configure set` appends them). Also
/// returns the same file without mfad's section.
fn found_file() -> impl Strategy<Value = (String, String)> {
    let appended = ("[a-z]{1,8}", file()).prop_map(|(name, rest)| {
        if rest.is_empty() {
            format!("[{name}]")
        } else {
            format!("[{name}]\n{rest}")
        }
    });
    let after = prop_oneof![Just(String::new()), appended];
    (file(), after, any::<bool>()).prop_map(|(before, after, with_ours)| {
        // What separates `before` from `after` when `before` lacks a final newline.
        let separator = |newline: &'static str| {
            if before.is_empty() || before.ends_with('\n') || after.is_empty() {
                ""
            } else {
                newline
            }
        };
        if !with_ours {
            let text = format!("{before}{}{after}", separator("\n"));
            return (text.clone(), text);
        }
        // mfad's section ends with a line break, and the one it added before its header
        // (in the file's style) stays when text follows it.
        let ours = upsert(&before, OUT, &values("ASIA0")).unwrap();
        let newline = if before.split('\n').next().is_some_and(|l| l.ends_with('\r'))
            && before.contains('\n')
        {
            "\r\n"
        } else {
            "\n"
        };
        (
            format!("{ours}{after}"),
            format!("{before}{}{after}", separator(newline)),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn writing_then_removing_gives_back_the_exact_bytes((original, without_ours) in found_file()) {
        let added = upsert(&original, OUT, &values("ASIA1")).unwrap();
        let renewed = upsert(&added, OUT, &values("ASIA2")).unwrap();
        prop_assert_eq!(written_key_id(&renewed, OUT), Some("ASIA2".to_owned()));
        prop_assert_eq!(remove(&renewed, OUT).unwrap().unwrap_or_else(|| renewed.clone()), without_ours);
    }

    #[test]
    fn other_sections_read_the_same_after_a_write((original, without_ours) in found_file()) {
        let written = upsert(&original, OUT, &values("ASIA1")).unwrap();
        if IniFile::parse(Path::new("credentials"), &without_ours).is_ok() {
            prop_assert!(IniFile::parse(Path::new("credentials"), &written).is_ok());
        }
        prop_assert_eq!(others(&written), others(&without_ours));
    }

    #[test]
    fn a_section_mfad_did_not_write_is_never_touched(original in file(), key in "[A-Z0-9]{16}") {
        let foreign = format!("{original}\n[{OUT}]\naws_access_key_id = {key}\n");
        prop_assert_eq!(upsert(&foreign, OUT, &values("ASIA1")), Err(NotOurs));
        prop_assert_eq!(remove(&foreign, OUT), Err(NotOurs));
    }
}
