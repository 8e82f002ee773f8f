//! Each misuse of `#[login_required]`, `#[authorization_required]` or `identity_routes!` in
//! `tests/ui/fail/*.rs`, compiled by trybuild, with the exact compiler output it must produce in
//! the `.stderr` file next to it. (The shapes that must compile are `tests/pass`, an ordinary
//! test target: with compile-fail cases only, trybuild checks without generating code.)
//!
//! Compiler output changes between Rust releases, so the `.stderr` files are tied to the compiler
//! they were recorded with, [`RECORDED_RUSTC`]. With any other compiler the compile-fail
//! comparison is skipped, loudly, and the test says so. To record them again with the
//! compiler at hand: `TRYBUILD=overwrite cargo test -p axum-identity-ui-tests --test ui`, read every changed `.stderr`,
//! and set [`RECORDED_RUSTC`] to the new `rustc --version`.

use std::io::Write;
use std::process::Command;

/// The release of the compiler the `.stderr` files were recorded with: the version number in
/// `rustc --version` (`rustc 1.95.0 (59807616e 2026-04-14)`). A beta or nightly compiler
/// (`1.96.0-nightly`) never matches.
const RECORDED_RUSTC: &str = "1.95.0";

/// The version number of the compiler cargo builds with (`$RUSTC`, else `rustc`), or why it is
/// not known.
fn rustc_release() -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .arg("--version")
        .output()
        .map_err(|e| format!("`{rustc} --version` did not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`{rustc} --version` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    // `rustc 1.95.0 (59807616e 2026-04-14)`
    stdout
        .split_whitespace()
        .nth(1)
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected `{rustc} --version` output: {:?}", stdout.trim()))
}

/// Written straight to the terminal: the test harness captures `println!` and `eprintln!` of
/// passing tests, and this must be seen.
fn shout(message: &str) {
    let bar = "=".repeat(78);
    let _ = writeln!(std::io::stderr(), "\n{bar}\n{message}\n{bar}\n");
}

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    let overwrite = std::env::var_os("TRYBUILD").is_some_and(|v| v == "overwrite");
    match rustc_release() {
        Ok(release) if release == RECORDED_RUSTC => t.compile_fail("tests/ui/fail/*.rs"),
        Ok(release) if overwrite => {
            shout(&format!(
                "tests/ui.rs: recording the compile-fail .stderr files with rustc {release}, \
                 not {RECORDED_RUSTC}.\nRead every changed .stderr, then set RECORDED_RUSTC in \
                 tests/ui.rs to \"{release}\"."
            ));
            t.compile_fail("tests/ui/fail/*.rs");
        }
        found => {
            let found = match found {
                Ok(release) => format!("this compiler is rustc {release}"),
                Err(why) => why,
            };
            shout(&format!(
                "WARNING: tests/ui.rs SKIPPED the compile-fail UI tests (tests/ui/fail/*.rs).\n\
                 Their .stderr files record the exact messages of rustc {RECORDED_RUSTC}, and \
                 {found}:\nthe output of another compiler differs in wording and layout, so the \
                 comparison would fail for no fault of the macros.\n\
                 The shapes that must compile (tests/pass) are checked regardless.\n\
                 To check the diagnostics, run `cargo +{RECORDED_RUSTC} test -p axum-identity-ui-tests --test ui`; to \
                 record them anew, see the top of tests/ui.rs."
            ));
        }
    }
}
