//! The arrows between modules point one way: every module uses only modules on lower
//! lines of the layer lists in the README (the crate's top-level modules, and the
//! daemon's), and no module anywhere imports from a module that imports from it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A module's path (`daemon::codes`) and its code, without comments and test modules.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            // The crate roots, and test modules, may use anything.
            if parts == ["lib"] || parts == ["main"] || parts.last().is_some_and(|p| p == "tests") {
                return None;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap()
                .lines()
                .map(|line| line.split("//").next().unwrap())
                .collect::<Vec<_>>()
                .join("\n");
            Some((parts.join("::"), code))
        })
        .collect()
}

/// The modules each module refers to: `crate::a::b` paths and `super::x` names.
fn edges(modules: &BTreeMap<String, String>) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    for (module, code) in modules {
        let parts: Vec<&str> = module.split("::").collect();
        let parent = &parts[..parts.len() - 1];
        let mut targets = Vec::new();
        for path in code.split("crate::").skip(1) {
            let words: Vec<&str> = path
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap()
                .split("::")
                .collect();
            targets.push(words.iter().map(|w| w.to_string()).collect::<Vec<_>>());
        }
        for path in code.split("super::").skip(1) {
            let names: Vec<&str> = match path.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap().split(',').collect(),
                None => vec![
                    path.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap(),
                ],
            };
            for name in names {
                let name = name.trim().split("::").next().unwrap().trim();
                let mut target: Vec<String> = parent.iter().map(|p| p.to_string()).collect();
                target.push(name.to_owned());
                targets.push(target);
            }
        }
        for target in targets {
            // The longest prefix of the path that is a module.
            let found = (1..=target.len())
                .rev()
                .map(|n| target[..n].join("::"))
                .find(|candidate| modules.contains_key(candidate))
                .or_else(|| (!parent.is_empty()).then(|| parent.join("::")));
            if let Some(found) = found
                && &found != module
            {
                edges.insert((module.clone(), found));
            }
        }
    }
    edges
}

/// The layers of a ```text NAME block of the README, top first.
fn layers(name: &str) -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let start = readme
        .find(&format!("```text {name}\n"))
        .unwrap_or_else(|| panic!("README has no ```text {name} block"));
    readme[start..]
        .lines()
        .skip(1)
        .take_while(|line| !line.starts_with("```"))
        .map(|line| line.split(',').map(|m| m.trim().to_owned()).collect())
        .collect()
}

fn check_layers(name: &str, prefix: &str, edges: &BTreeSet<(String, String)>) -> Vec<String> {
    let layers = layers(name);
    let line_of = |module: &str| {
        let top = module
            .strip_prefix(prefix)
            .unwrap_or(module)
            .split("::")
            .next()
            .unwrap();
        layers.iter().position(|line| line.iter().any(|m| m == top))
    };
    let mut wrong = Vec::new();
    for (from, to) in edges {
        if !from.starts_with(prefix) || !to.starts_with(prefix) {
            continue;
        }
        let (from_top, to_top) = (
            from.strip_prefix(prefix)
                .unwrap()
                .split("::")
                .next()
                .unwrap(),
            to.strip_prefix(prefix).unwrap().split("::").next().unwrap(),
        );
        if from_top == to_top || to_top.is_empty() || from_top.is_empty() {
            continue;
        }
        match (line_of(from), line_of(to)) {
            (Some(a), Some(b)) if a < b => {}
            (None, _) => wrong.push(format!("{from} is in no line of the {name} block")),
            (_, None) => wrong.push(format!("{to} is in no line of the {name} block")),
            _ => wrong.push(format!("{from} -> {to} points up or sideways")),
        }
    }
    wrong
}

#[test]
fn every_arrow_points_down_the_readmes_layers() {
    let modules = modules();
    let edges = edges(&modules);
    assert!(edges.len() > 50, "only {} arrows found", edges.len());
    let mut wrong = check_layers("layers", "", &edges);
    wrong.extend(check_layers("daemon layers", "daemon::", &edges));
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_module_imports_from_a_module_that_imports_from_it() {
    let edges = edges(&modules());
    let cycles: Vec<_> = edges
        .iter()
        .filter(|(a, b)| edges.contains(&(b.clone(), a.clone())))
        .collect();
    assert!(cycles.is_empty(), "{cycles:?}");
}
