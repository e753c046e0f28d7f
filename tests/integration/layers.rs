//! The arrows between modules point one way: every module uses only modules on lower
//! lines of the layer lists in the README (the crate's top-level modules, and the
//! daemon's), and no module anywhere reaches itself through the modules it uses.
//!
//! The code is parsed (syn), so every arrow counts: `use` trees with groups and
//! renames, paths in code and in macro arguments, `super::` and `self::` paths, child
//! modules named from their parent, and names a module re-exports (an arrow to
//! `config::AwsFiles` points at `config::files`, where it lives). Test modules and
//! `#[cfg(test)]` items may use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A module's path (`daemon::codes`) and its parsed code.
type Modules = BTreeMap<String, syn::File>;
type Edges = BTreeSet<(String, String)>;

/// The crate's modules, but its roots (`lib.rs`, `main.rs` and the binaries in `bin/`,
/// which may use anything).
fn modules() -> Modules {
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
    let sources = files.into_iter().filter_map(|file| {
        let relative = file.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts == ["lib"]
            || parts == ["main"]
            || parts.first().is_some_and(|p| p == "bin")
            || parts.last().is_some_and(|p| p == "tests")
        {
            return None;
        }
        Some((parts.join("::"), std::fs::read_to_string(&file).unwrap()))
    });
    parse(sources)
}

fn parse(sources: impl IntoIterator<Item = (String, String)>) -> Modules {
    sources
        .into_iter()
        .map(|(name, text)| {
            let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, file)
        })
        .collect()
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

/// Every path a module's code names, as segments (`crate`, `super`, `self` kept), and the
/// names it re-exports with `pub use` (name, or `*`, and the path it comes from).
#[derive(Default)]
struct Names {
    paths: Vec<Vec<String>>,
    reexports: Vec<(String, Vec<String>)>,
}

/// The paths of a `use` tree, each with the name it binds (`*` for a glob).
fn flatten(tree: &syn::UseTree, prefix: &[String], out: &mut Vec<(String, Vec<String>)>) {
    let with = |name: String| {
        let mut path = prefix.to_vec();
        path.push(name);
        path
    };
    match tree {
        syn::UseTree::Path(p) => flatten(&p.tree, &with(p.ident.to_string()), out),
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let path = if name == "self" {
                prefix.to_vec()
            } else {
                with(name.clone())
            };
            let bound = path.last().cloned().unwrap_or(name);
            out.push((bound, path));
        }
        syn::UseTree::Rename(r) => out.push((r.rename.to_string(), with(r.ident.to_string()))),
        syn::UseTree::Glob(_) => out.push(("*".into(), prefix.to_vec())),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                flatten(tree, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Names {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            _ => &[],
        };
        if !is_test_only(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut found = Vec::new();
        flatten(&item.tree, &[], &mut found);
        if !matches!(item.vis, syn::Visibility::Inherited) {
            self.reexports.extend(found.iter().cloned());
        }
        self.paths.extend(found.into_iter().map(|(_, path)| path));
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.paths
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    /// Macro arguments are tokens to syn: read them as expressions where they are.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        use syn::parse::Parser;
        let exprs = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = exprs.parse2(mac.tokens.clone()) {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
        syn::visit::visit_macro(self, mac);
    }
}

fn names_of(file: &syn::File) -> Names {
    let mut names = Names::default();
    names.visit_file(file);
    names
}

/// The items a file defines at its top (to find which glob re-export a name comes from).
fn defines(file: &syn::File, name: &str) -> bool {
    file.items.iter().any(|item| {
        let ident = match item {
            syn::Item::Fn(f) => Some(&f.sig.ident),
            syn::Item::Struct(s) => Some(&s.ident),
            syn::Item::Enum(e) => Some(&e.ident),
            syn::Item::Const(c) => Some(&c.ident),
            syn::Item::Static(s) => Some(&s.ident),
            syn::Item::Type(t) => Some(&t.ident),
            syn::Item::Trait(t) => Some(&t.ident),
            syn::Item::Mod(m) => Some(&m.ident),
            _ => None,
        };
        ident.is_some_and(|ident| ident == name)
    })
}

/// Where module `module` points with `path`: the module that defines what the path names
/// (through re-exports), or `None` for other crates, std and local items.
fn resolve(
    modules: &Modules,
    reexports: &BTreeMap<String, Names>,
    module: &str,
    path: &[String],
) -> Option<String> {
    let mut base: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) => {
            // A child module named from its parent; anything else is not ours.
            let mut child = base.clone();
            child.push(first.to_owned());
            if !modules.contains_key(&child.join("::")) {
                return None;
            }
        }
        None => return None,
    }
    let mut full = base;
    full.extend(rest.iter().cloned());
    follow(modules, reexports, &full, 0)
}

/// The longest prefix of `full` that is a module, followed through what it re-exports.
fn follow(
    modules: &Modules,
    reexports: &BTreeMap<String, Names>,
    full: &[String],
    depth: usize,
) -> Option<String> {
    let n = (1..=full.len())
        .rev()
        .find(|&n| modules.contains_key(&full[..n].join("::")))?;
    let found = full[..n].join("::");
    let Some(name) = full.get(n) else {
        return Some(found);
    };
    if depth > 8 {
        return Some(found);
    }
    let exported = reexports.get(&found).map(|r| &r.reexports);
    for (bound, source) in exported.into_iter().flatten() {
        let from = if bound == "*" {
            let mut glob = source.clone();
            glob.push(name.clone());
            glob
        } else if bound == name {
            source.clone()
        } else {
            continue;
        };
        if let Some(target) = resolve(modules, reexports, &found, &from)
            && target != found
            && (bound != "*" || modules.get(&target).is_some_and(|f| defines(f, name)))
        {
            return follow(
                modules,
                reexports,
                &[
                    target.split("::").map(str::to_owned).collect::<Vec<_>>(),
                    full[n + 1..].to_vec(),
                ]
                .concat(),
                depth + 1,
            )
            .or(Some(target));
        }
    }
    Some(found)
}

/// Every arrow: module A names something that module B defines.
fn edges(modules: &Modules) -> Edges {
    let names: BTreeMap<String, Names> = modules
        .iter()
        .map(|(module, file)| (module.clone(), names_of(file)))
        .collect();
    let mut edges = Edges::new();
    for (module, found) in &names {
        for path in &found.paths {
            if let Some(target) = resolve(modules, &names, module, path)
                && &target != module
                // A parent holds its children; a child may name its parent's own items.
                && !target.starts_with(&format!("{module}::"))
            {
                edges.insert((module.clone(), target));
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

/// The arrows between top-level modules under `prefix` that do not point down `layers`.
fn upward(layers: &[Vec<String>], prefix: &str, edges: &Edges) -> Vec<String> {
    let top = |module: &str| {
        module
            .strip_prefix(prefix)
            .map(|rest| rest.split("::").next().unwrap().to_owned())
            .filter(|top| !top.is_empty())
    };
    let line_of = |top: &str| layers.iter().position(|line| line.iter().any(|m| m == top));
    let mut wrong = Vec::new();
    for (from, to) in edges {
        let (Some(from_top), Some(to_top)) = (top(from), top(to)) else {
            continue;
        };
        if from_top == to_top {
            continue;
        }
        match (line_of(&from_top), line_of(&to_top)) {
            (Some(a), Some(b)) if a < b => {}
            (None, _) => wrong.push(format!("{from_top} is in no line of the layers")),
            (_, None) => wrong.push(format!("{to_top} is in no line of the layers")),
            _ => wrong.push(format!("{from} -> {to} points up or sideways")),
        }
    }
    wrong.sort();
    wrong.dedup();
    wrong
}

/// Every cycle of arrows, as the modules on it (each strongly connected group once).
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges {
        next.entry(from).or_default().push(to);
    }
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(at) = stack.pop() {
            for &n in next.get(at).into_iter().flatten() {
                if n == to {
                    return true;
                }
                if seen.insert(n) {
                    stack.push(n);
                }
            }
        }
        false
    };
    let modules: BTreeSet<&str> = edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for &module in &modules {
        if groups.iter().any(|g| g.iter().any(|m| m == module)) || !reaches(module, module) {
            continue;
        }
        let group = modules
            .iter()
            .filter(|&&other| other == module || (reaches(module, other) && reaches(other, module)))
            .map(|m| m.to_string())
            .collect();
        groups.push(group);
    }
    groups
}

#[test]
fn every_arrow_points_down_the_readmes_layers() {
    let edges = edges(&modules());
    assert!(edges.len() > 150, "only {} arrows found", edges.len());
    let mut wrong = upward(&layers("layers"), "", &edges);
    wrong.extend(upward(&layers("daemon layers"), "daemon::", &edges));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_module_reaches_itself_through_the_modules_it_uses() {
    let cycles = cycles(&edges(&modules()));
    assert!(cycles.is_empty(), "{cycles:?}");
}

/// A small crate of `(module, code)` to try the checks on.
fn planted(sources: &[(&str, &str)]) -> Edges {
    edges(&parse(
        sources
            .iter()
            .map(|(m, code)| (m.to_string(), code.to_string())),
    ))
}

#[test]
fn a_planted_upward_import_in_a_group_is_caught() {
    let layers = vec![
        vec!["commands".to_owned()],
        vec!["config".to_owned(), "vocab".to_owned()],
    ];
    // A grouped import, a path in a macro argument, and a name re-exported by a parent.
    let edges = planted(&[
        ("commands", "pub fn run() {}"),
        ("config", "mod files; pub use files::AwsFiles;"),
        (
            "config::files",
            "pub struct AwsFiles; fn f() { let _ = crate::vocab::X; }",
        ),
        (
            "vocab",
            "use crate::{config::AwsFiles, commands};\nfn g() { println!(\"{}\", crate::commands::run()); }\npub const X: u8 = 0;",
        ),
    ]);
    assert!(
        edges.contains(&("vocab".into(), "config::files".into())),
        "{edges:?}"
    );
    assert!(
        edges.contains(&("vocab".into(), "commands".into())),
        "{edges:?}"
    );
    let wrong = upward(&layers, "", &edges);
    assert!(
        wrong
            .iter()
            .any(|w| w == "vocab -> commands points up or sideways"),
        "{wrong:?}"
    );
    assert!(
        wrong
            .iter()
            .any(|w| w == "vocab -> config::files points up or sideways"),
        "{wrong:?}"
    );
}

#[test]
fn a_planted_three_module_cycle_is_caught() {
    let edges = planted(&[
        ("a", "use crate::b::B; pub struct A;"),
        ("b", "pub struct B; fn f() -> super::c::C { todo!() }"),
        ("c", "pub struct C; fn g(_: crate::a::A) {}"),
        ("d", "use crate::a::A;"),
    ]);
    assert_eq!(
        cycles(&edges),
        [vec!["a".to_owned(), "b".into(), "c".into()]]
    );
}
