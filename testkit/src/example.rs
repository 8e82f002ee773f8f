//! The examples' executables, for the tests that run them as users do.

use std::path::PathBuf;

/// The example's executable: `target/<profile>/examples/<name>` (`cargo build --examples`, or a
/// plain `cargo test`), or the newest `<name>-<hash>` that `cargo test` leaves there.
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
                "no {name} executable in {}: run `cargo build --examples` (the `cargo test` of scripts/test.sh builds them)",
                examples.display()
            )
        })
}

/// The settings through which an example finds a provider, cleared before it starts so that
/// the test's own environment (or a developer's shell) does not leak into the run.
pub const PROVIDER_SETTINGS: &[&str] = &[
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CLIENT_CERTIFICATE",
    "AUTHORITY",
    "OIDC_AUTHORITY",
    "B2C_TENANT_NAME",
    "REDIRECT_URI",
    "APPLICATION_ROOT",
    "SCOPE",
    "ENDPOINT",
    "ALLOWED_EMAIL_DOMAINS",
    "ALLOWED_TENANTS",
    "IDENTITY_PROVIDERS",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MANAGED_IDENTITY_CLIENT_ID",
    "CLIENT_ASSERTION_MANAGED_IDENTITY",
    "AZURE_FEDERATED_TOKEN_FILE",
];

/// Starts example `name` as a user does — from the repository root, with none of the provider
/// settings but those in `env`, `RUST_LOG=warn` unless `env` says otherwise — and waits until
/// it prints `Listening on`. Returns the process (killed when dropped) and what it printed up
/// to then; its further output is drained.
pub async fn start(name: &str, env: &[(&str, String)]) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut command = tokio::process::Command::new(binary(name));
    command
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    for variable in PROVIDER_SETTINGS {
        command.env_remove(variable);
    }
    for (variable, value) in env {
        command.env(variable, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("the {name} example starts: {e}"));
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut said = String::new();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            said.push_str(&line);
            said.push('\n');
            if line.starts_with("Listening on") {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        ready == Ok(true),
        "the {name} example did not start listening; it printed:\n{said}"
    );
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, said)
}
