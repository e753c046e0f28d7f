//! The man pages in `man/` are generated from the clap definitions and the sections
//! `mfad::cli` adds (ENVIRONMENT, FILES, CONFIGURATION, EXAMPLES); this test fails when
//! they are stale. Regenerate with: MFAD_UPDATE_MAN=1 cargo test --test integration man::

use clap::CommandFactory;
use std::collections::BTreeMap;
use std::path::Path;

fn pages_in(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "1"))
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(e.path()).unwrap())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A man page: clap's sections, then mfad's own.
fn page(command: clap::Command) -> (String, String) {
    use mfad::cli::manual::{ENVIRONMENT, FILES, ManSection, PROFILE_KEYS, examples};
    let valued: Vec<(String, String)> = command
        .get_arguments()
        .filter(|arg| !arg.is_positional() && arg.get_action().takes_values())
        .filter_map(|arg| {
            let value = arg
                .get_value_names()
                .and_then(|names| names.first())
                .map_or_else(|| arg.get_id().as_str().to_uppercase(), |n| n.to_string());
            Some((arg.get_long()?.to_owned(), value))
        })
        .collect();
    let man = clap_mangen::Man::new(command);
    let name = man.get_filename();
    let mut rendered = Vec::new();
    man.render(&mut rendered).unwrap();
    let mut text = String::from_utf8(rendered).unwrap();
    // clap_mangen leaves option values out of the synopsis (`[--port]`): put them in.
    for (long, value) in valued {
        let flag = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
        text = text.replacen(&format!("{flag}]"), &format!("{flag} \\fI{value}\\fR]"), 1);
    }
    let title = name.trim_end_matches(".1");
    let mut roff = roff::Roff::new();
    let mut section = |section: &ManSection| {
        roff.control("SH", [section.title]);
        for (term, text) in section.entries {
            roff.control("TP", [])
                .text([roff::bold(*term)])
                .text([roff::roman(*text)]);
        }
    };
    if title == "mfad" {
        section(&PROFILE_KEYS);
    }
    section(&ENVIRONMENT);
    section(&FILES);
    let examples = examples(title);
    if !examples.is_empty() {
        section(&ManSection {
            title: "EXAMPLES",
            entries: examples,
        });
    }
    text.push_str(&roff.to_roff());
    (name, text)
}

fn pages(command: clap::Command, into: &mut BTreeMap<String, String>) {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages(sub.clone(), into);
    }
    let (name, text) = page(command);
    into.insert(name, text);
}

#[test]
fn man_pages_are_current() {
    let mut command = mfad::cli::Cli::command().disable_help_subcommand(true);
    command.build();
    let mut fresh = BTreeMap::new();
    pages(command, &mut fresh);
    let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    if std::env::var_os("MFAD_UPDATE_MAN").is_some() {
        std::fs::create_dir_all(&committed_dir).unwrap();
        for stale in pages_in(&committed_dir).keys() {
            std::fs::remove_file(committed_dir.join(stale)).unwrap();
        }
        for (name, text) in &fresh {
            std::fs::write(committed_dir.join(name), text).unwrap();
        }
    }
    let committed = pages_in(&committed_dir);
    assert!(fresh.contains_key("mfad.1") && fresh.contains_key("mfad-process.1"));
    for section in [
        "ENVIRONMENT",
        "FILES",
        "CONFIGURATION",
        "EXAMPLES",
        "mfad_write_profile",
    ] {
        assert!(fresh["mfad.1"].contains(section), "mfad.1 lacks {section}");
    }
    assert!(fresh["mfad-process.1"].contains("EXAMPLES"));
    // A newcomer reading `mfad process --help` learns what it prints and what it starts.
    assert!(fresh["mfad-process.1"].contains("starts the daemon if none runs"));
    assert!(fresh["mfad-process.1"].contains("SecretAccessKey"));
    let stale: Vec<_> = fresh
        .keys()
        .chain(committed.keys())
        .filter(|name| fresh.get(*name) != committed.get(*name))
        .collect();
    assert!(
        stale.is_empty(),
        "man pages out of date: {stale:?}; run MFAD_UPDATE_MAN=1 cargo test --test integration man:: and commit man/"
    );
}

#[test]
fn the_readme_documents_every_profile_key_the_man_page_does() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for (keys, _) in mfad::cli::manual::PROFILE_KEYS.entries {
        for key in keys.split(", ") {
            assert!(readme.contains(&format!("`{key}`")), "README lacks `{key}`");
        }
    }
}

#[test]
fn every_positional_argument_is_described() {
    fn undescribed(command: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in command.get_positionals() {
            if arg.get_help().is_none() {
                found.push(format!("{path} <{}>", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            undescribed(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }
    let mut found = Vec::new();
    undescribed(&mfad::cli::Cli::command(), "mfad", &mut found);
    assert!(
        found.is_empty(),
        "positional arguments without a description: {found:?}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "system-tests"),
    ignore = "needs groff: run tests/run.sh"
)]
fn man_pages_render_without_groff_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = pages_in(&dir);
    assert!(pages.len() > 20);
    for (name, text) in &pages {
        assert!(
            text.is_ascii(),
            "{name} holds raw non-ASCII text, which groff warns about"
        );
        let output = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The check would notice a warning.
    let broken = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(broken.path(), ".TH X 1\n.SH NAME\nx \u{2026}\n").unwrap();
    let output = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(broken.path())
        .output()
        .unwrap();
    assert!(!output.stderr.is_empty());
}
