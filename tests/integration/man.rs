//! The man pages in `man/` are generated from the clap definitions; this test fails when
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

#[test]
fn man_pages_are_current() {
    let generated = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(mfad::cli::Cli::command(), generated.path()).unwrap();
    let fresh = pages_in(generated.path());
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
