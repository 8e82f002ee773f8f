//! The facade re-exports every public item of the runtime, so users depend on one crate: a
//! test reads both crates' `pub use` lists and fails when they disagree.

/// The names a crate root's `pub use` declarations export (the last segment of each path),
/// read from its source: `pub use a::b::{C, D};` and `pub use a::E;`.
fn exported(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = Vec::new();
    for declaration in code.split("pub use ").skip(1) {
        let Some(end) = declaration.find(';') else {
            continue;
        };
        let path = &declaration[..end];
        let list = match (path.find('{'), path.rfind('}')) {
            (Some(open), Some(close)) => &path[open + 1..close],
            _ => path.rsplit("::").next().unwrap_or_default(),
        };
        for item in list.split(',') {
            let name = item.trim().rsplit("::").next().unwrap_or_default().trim();
            // `x as y` exports `y`; `self` exports the module's name (not used here).
            let name = name.rsplit(" as ").next().unwrap_or(name).trim();
            if !name.is_empty() && name != "self" && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// The runtime's crate root: in the repository, `identity-runtime/src/lib.rs`; in a packaged
/// facade unpacked next to the packaged runtime (`target/package/`, where `cargo package` and
/// `scripts/package.sh` unpack them), the sibling's. Read at run time, as the packaged facade
/// has no path into the repository.
fn runtime_lib() -> String {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        here.join("identity-runtime/src/lib.rs"),
        here.join(concat!(
            "../axum-identity-runtime-",
            env!("CARGO_PKG_VERSION"),
            "/src/lib.rs"
        )),
    ];
    candidates
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_else(|| panic!("the runtime's lib.rs is at none of {candidates:?}"))
}

#[test]
fn the_facade_reexports_every_public_item_of_the_runtime() {
    let runtime = exported(&runtime_lib());
    let facade = exported(include_str!("lib.rs"));
    assert!(
        runtime.len() > 30,
        "the runtime's exports were read: {runtime:?}"
    );
    let missing: Vec<_> = runtime.iter().filter(|n| !facade.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "the runtime exports these and the facade does not: {missing:?} (re-export them in \
         src/lib.rs, under `__private` if only the macros use them)"
    );
    let foreign: Vec<_> = facade
        .iter()
        .filter(|n| !runtime.contains(n))
        .filter(|n| !["login_required", "authorization_required"].contains(&n.as_str()))
        .collect();
    assert!(
        foreign.is_empty(),
        "the facade re-exports what the runtime does not: {foreign:?}"
    );
}

#[test]
fn reading_the_exports_handles_lists_single_items_and_comments() {
    let source =
        "pub use a::{B, c::D, E as F};\n// pub use x::Hidden;\npub use g::H;\npub mod m {}";
    assert_eq!(exported(source), ["B", "D", "F", "H"]);
}
