//! The README's first command: the quickstart example, run as users run it, lets a person sign
//! in with no configuration, and keeps them signed in across a restart (SQLite sessions).

use axum_identity_testkit as support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use support::browser::Browser;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The quickstart's executable: `target/<profile>/examples/quickstart` (`cargo build
/// --examples`, which scripts/test.sh runs first), or the newest `quickstart-<hash>` that
/// `cargo test --all-targets` leaves there.
fn quickstart_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let examples = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("examples");
    let plain = examples.join("quickstart");
    if plain.is_file() {
        return plain;
    }
    let newest = std::fs::read_dir(&examples)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with("quickstart-") && !name.contains('.')
        })
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok());
    match newest {
        Some(entry) => entry.path(),
        None => panic!(
            "no quickstart executable in {}: run `cargo build --examples` (scripts/test.sh does)",
            examples.display()
        ),
    }
}

/// Starts the quickstart with no provider configured and waits until it listens.
async fn start(port: u16, session_file: &std::path::Path) -> (Child, String) {
    start_with(port, session_file, None).await
}

/// Like [`start`], with `CLIENT_CERTIFICATE` set to `certificate` when given.
async fn start_with(
    port: u16,
    session_file: &std::path::Path,
    certificate: Option<&std::path::Path>,
) -> (Child, String) {
    let mut command = Command::new(quickstart_binary());
    match certificate {
        Some(path) => command.env("CLIENT_CERTIFICATE", path),
        None => command.env_remove("CLIENT_CERTIFICATE"),
    };
    let mut child = command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PORT", port.to_string())
        .env("SESSION_FILE", session_file)
        .env("RUST_LOG", "warn")
        .env_remove("CLIENT_ID")
        .env_remove("AUTHORITY")
        .env_remove("OIDC_AUTHORITY")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the quickstart starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut said = String::new();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            said.push_str(&line);
            said.push('\n');
            if line.starts_with("Listening on") {
                return;
            }
        }
        panic!("the quickstart exited: {said}");
    })
    .await;
    assert!(ready.is_ok(), "the quickstart did not start listening");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, said)
}

#[tokio::test]
async fn the_quickstart_signs_a_person_in_with_no_configuration() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("axum-identity-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let session_file = dir.join("sessions.sqlite3");
    let base = format!("http://127.0.0.1:{port}");

    let (child, said) = start(port, &session_file).await;
    assert!(
        said.contains("using the local OpenID provider"),
        "it says so: {said}"
    );
    let browser = Browser::new();
    let page = browser.get(format!("{base}/")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Welcome Alice"), "{}", page.body);

    // Restart: the session is in the SQLite file, so the user is still signed in.
    drop(child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_child, _) = start(port, &session_file).await;
    let page = browser.get(format!("{base}/")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Welcome Alice"),
        "signed in after a restart: {}",
        page.body
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_quickstart_signs_in_with_client_certificate() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!(
        "axum-identity-quickstart-certificate-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let certificate = dir.join("app.pem");
    std::fs::write(&certificate, support::credentials::certificate_pem(0, 0)).unwrap();
    let base = format!("http://127.0.0.1:{port}");

    let (_child, said) =
        start_with(port, std::path::Path::new(":memory:"), Some(&certificate)).await;
    assert!(
        said.contains("Authenticating with the certificate"),
        "{said}"
    );
    let browser = Browser::new();
    let page = browser.get(format!("{base}/")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Welcome Alice"), "{}", page.body);
    let _ = std::fs::remove_dir_all(&dir);
}
