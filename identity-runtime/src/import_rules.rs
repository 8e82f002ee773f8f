//! The folders of `src` are floors: a file may import from its own folder and from the folders
//! below, never from one above, and the files import each other without a cycle. This test
//! reads the folders on disk and the crate root's `pub use` lines, so a new file or export needs
//! no list kept by hand; a new folder must be given its floor here and its paragraph in
//! `ARCHITECTURE.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The folders, bottom up.
const FLOORS: &[&str] = &["core", "store", "oidc", "services", "web_app", "web_api"];

/// The most lines of code a file may have (tests in their own files do not count).
const MAX_LINES: usize = 400;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir` that is not a test file, as (path from `src`, source).
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            let name = path
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            found.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    found
}

/// The code of a file without its `#[cfg(test)]` tail, comments and doc comments.
fn code(source: &str) -> String {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate root's exports and the file each comes from (`Auth` → `web_app/auth`), read from
/// its `pub use folder::file::{..}` lines.
fn root_exports() -> BTreeMap<String, String> {
    let lib = code(&std::fs::read_to_string(src().join("lib.rs")).unwrap());
    let mut exports = BTreeMap::new();
    for declaration in lib.split("pub use ").skip(1) {
        let declaration = &declaration[..declaration.find(';').unwrap_or(declaration.len())];
        let (path, list) = match declaration.find("::{") {
            Some(at) => (&declaration[..at], &declaration[at + 3..]),
            None => declaration
                .rsplit_once("::")
                .unwrap_or((declaration, declaration)),
        };
        for item in list.trim_end_matches('}').split(',') {
            let item = item.trim();
            if !item.is_empty() {
                exports.insert(item.to_owned(), path.replace("::", "/"));
            }
        }
    }
    exports
}

/// The files a source names through `crate::`: `crate::store::session::X` names
/// `store/session`, `crate::Auth` the file that `Auth` comes from, `crate::{Auth, Error}` both.
fn imports(source: &str, exports: &BTreeMap<String, String>) -> BTreeSet<String> {
    let code = code(source);
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let paths: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(str::trim)
                .collect(),
            None => vec![rest],
        };
        for path in paths {
            let segments: Vec<String> = path
                .split("::")
                .take(2)
                .map(|s| {
                    s.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect()
                })
                .collect();
            match segments.as_slice() {
                [folder, file, ..] if FLOORS.contains(&folder.as_str()) => {
                    found.insert(format!("{folder}/{file}"));
                }
                [item, ..] => {
                    if let Some(file) = exports.get(item) {
                        found.insert(file.clone());
                    }
                }
                [] => {}
            }
        }
    }
    found
}

/// Every file of the folders with what it imports, by its module path (`store/session`).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let exports = root_exports();
    let mut graph = BTreeMap::new();
    for folder in FLOORS {
        for (path, source) in sources(&src().join(folder)) {
            let module = path
                .trim_end_matches(".rs")
                .trim_end_matches("/mod")
                .to_owned();
            let mut imported = imports(&source, &exports);
            imported.remove(&module);
            graph.insert(module, imported);
        }
    }
    graph
}

fn floor_of(module: &str) -> usize {
    let folder = module.split('/').next().unwrap_or_default();
    FLOORS
        .iter()
        .position(|f| *f == folder)
        .unwrap_or_else(|| panic!("`{module}` is in no folder of FLOORS"))
}

#[test]
fn every_folder_imports_only_from_itself_and_the_folders_below() {
    let mut upward = Vec::new();
    for (module, imported) in graph() {
        for import in imported {
            if floor_of(&import) > floor_of(&module) {
                upward.push(format!("{module} imports {import}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up (the floors, bottom up: {FLOORS:?}):\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_files_import_each_other_without_a_cycle() {
    let graph = graph();
    // Depth-first search; a file met again while on the path closes a cycle.
    fn visit<'a>(
        module: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(at) = path.iter().position(|m| *m == module) {
            return Some(format!("{} -> {module}", path[at..].join(" -> ")));
        }
        if !done.insert(module) {
            return None;
        }
        path.push(module);
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(module, &graph, &mut path, &mut done) {
            panic!("a cycle of imports: {cycle}");
        }
    }
}

#[test]
fn every_folder_has_a_floor_and_the_root_holds_no_module_but_these() {
    let mut on_disk: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut floors: Vec<String> = FLOORS.iter().map(|f| f.to_string()).collect();
    floors.sort();
    assert_eq!(
        on_disk, floors,
        "a folder without a floor, or a floor without a folder"
    );
    let mut root: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    root.sort();
    assert_eq!(
        root,
        ["import_rules.rs", "lib.rs"],
        "code belongs in a folder"
    );
}

#[test]
fn architecture_md_describes_every_folder() {
    let map = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&map).unwrap_or_else(|e| panic!("{}: {e}", map.display()));
    for folder in FLOORS {
        let heading = format!("### `identity-runtime/src/{folder}/`");
        assert!(
            text.contains(&heading),
            "ARCHITECTURE.md has no `{heading}`"
        );
    }
}

#[test]
fn no_file_is_over_400_lines_of_code() {
    let mut long = Vec::new();
    for folder in FLOORS {
        for (path, source) in sources(&src().join(folder)) {
            let lines = code(&source)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count();
            if lines > MAX_LINES {
                long.push(format!("{path}: {lines}"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines of code:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_sees_direct_grouped_and_root_imports() {
    let exports = BTreeMap::from([("Auth".to_owned(), "web_app/auth".to_owned())]);
    let source = "use crate::store::session::{self, Record};\nuse crate::{Auth, core::params};\n\
                  fn f() { crate::services::tokens::keep(); }\n// use crate::web_app::routes;\n\
                  #[cfg(test)]\nmod tests { use crate::web_app::config; }";
    assert_eq!(
        imports(source, &exports).into_iter().collect::<Vec<_>>(),
        [
            "core/params",
            "services/tokens",
            "store/session",
            "web_app/auth"
        ]
    );
}

#[test]
fn the_root_exports_are_read_with_their_files() {
    let exports = root_exports();
    assert_eq!(
        exports.get("Auth").map(String::as_str),
        Some("web_app/auth")
    );
    assert_eq!(
        exports.get("ApiAuth").map(String::as_str),
        Some("web_api/auth")
    );
    assert_eq!(exports.get("Error").map(String::as_str), Some("core/error"));
}
