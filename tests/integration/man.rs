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
    let man = clap_mangen::Man::new(command);
    let name = man.get_filename();
    let mut text = Vec::new();
    man.render(&mut text).unwrap();
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
    let mut text = String::from_utf8(text).unwrap();
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
