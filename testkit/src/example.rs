//! The examples' executables, for the tests that run them as users do.

use std::path::PathBuf;

/// The example's executable: `target/<profile>/examples/<name>` (`cargo build --examples`), or
/// the newest `<name>-<hash>` that `cargo test` leaves there.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let examples = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("examples");
    let plain = examples.join(name);
    if plain.is_file() {
        return plain;
    }
    let prefix = format!("{name}-");
    std::fs::read_dir(&examples)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            file.strip_prefix(&prefix)
                .is_some_and(|hash| hash.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .map(|entry| entry.path())
        .unwrap_or_else(|| {
            panic!(
                "no {name} executable in {}: run `cargo build --examples` (scripts/test.sh does)",
                examples.display()
            )
        })
}
