//! The README's first command: the quickstart example, run as users run it, lets a person sign
//! in with no configuration, and keeps them signed in across a restart (SQLite sessions).

use axum_identity_testkit as support;

use std::time::Duration;

use reqwest::StatusCode;
use support::browser::Browser;
use tokio::process::Child;

/// Starts the quickstart with no provider configured (and `env` set) and waits until it
/// listens.
async fn start(port: u16, session_file: &std::path::Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut all = vec![
        ("PORT", port.to_string()),
        ("SESSION_FILE", session_file.display().to_string()),
    ];
    all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
    support::example::start("quickstart", &all).await
}

#[tokio::test]
async fn the_quickstart_signs_a_person_in_with_no_configuration() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = support::scratch_dir(&format!("quickstart-{}", std::process::id()));
    let session_file = dir.join("sessions.sqlite3");
    let base = format!("http://127.0.0.1:{port}");

    let (child, said) = start(port, &session_file, &[]).await;
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
    let (_child, _) = start(port, &session_file, &[]).await;
    let page = browser.get(format!("{base}/")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Welcome Alice"),
        "signed in after a restart: {}",
        page.body
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The quickstart under a path prefix, as the issue describes it: with `APPLICATION_ROOT=/app`
/// and `REDIRECT_URI=http://127.0.0.1:<port>/app/redirect`, `/app/` signs in and greets, `/app`
/// too, and signing out comes back under `/app/`.
#[tokio::test]
async fn the_quickstart_runs_under_an_application_root() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let redirect_uri = format!("{base}/app/redirect");
    let dir = support::scratch_dir(&format!("quickstart-root-{}", std::process::id()));
    let (_child, said) = start(
        port,
        &dir.join("sessions.sqlite3"),
        &[
            ("APPLICATION_ROOT", "/app"),
            ("REDIRECT_URI", &redirect_uri),
        ],
    )
    .await;
    assert!(said.contains(&format!("open {base}/app/")), "{said}");

    let browser = Browser::new();
    let page = browser.get(format!("{base}/app/")).await;
    assert!(
        page.chain.iter().any(|(_, url)| url.path() == "/app/login"),
        "{:?}",
        page.chain
    );
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), format!("{base}/app/"));
    assert!(page.body.contains("Welcome Alice"), "{}", page.body);
    assert!(page.body.contains("href=\"/app/logout\""), "{}", page.body);
    let page = browser.get(format!("{base}/app")).await;
    assert!(
        page.body.contains("Welcome Alice"),
        "/app too: {}",
        page.body
    );

    let page = browser.get(format!("{base}/app/logout")).await;
    let page = browser.confirm_logout(page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), format!("{base}/app/logout/done"));
    assert!(page.body.contains("signed out"), "{}", page.body);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_quickstart_signs_in_with_client_certificate() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = support::scratch_dir(&format!("quickstart-certificate-{}", std::process::id()));
    let certificate = dir.join("app.pem");
    std::fs::write(&certificate, support::credentials::certificate_pem(0, 0)).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        // A key file only its owner reads: the start refuses one every user can read.
        std::fs::set_permissions(&certificate, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let base = format!("http://127.0.0.1:{port}");

    let certificate_path = certificate.to_str().unwrap().to_owned();
    let (_child, said) = start(
        port,
        std::path::Path::new(":memory:"),
        &[("CLIENT_CERTIFICATE", &certificate_path)],
    )
    .await;
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
