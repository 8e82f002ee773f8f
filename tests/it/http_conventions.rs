//! HTTP conventions and the first-run trap, end to end against the real OpenID provider: a
//! sign-in started on `localhost` while the redirect URI says `127.0.0.1` still signs the user
//! in; a script gets a `401` with a challenge where a page load is redirected.

use axum_identity_testkit as support;

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use support::app::{launch, welcome};
use support::browser::Browser;

fn routes() -> Router {
    Router::new()
        .route("/", get(welcome))
        .route("/page", get(welcome))
}

#[tokio::test]
async fn a_sign_in_opened_on_localhost_completes_on_the_redirect_uris_origin() {
    let app = launch(routes()).start().await;
    // The app listens on 127.0.0.1 and its redirect URI says 127.0.0.1; the person types
    // localhost (which resolves to the same loopback interface).
    let port = app.base.rsplit(':').next().unwrap();
    let browser = Browser::new();
    let page = browser
        .get(format!("http://localhost:{port}/page?x=1"))
        .await;
    assert!(
        page.chain
            .iter()
            .any(|(status, url)| *status == StatusCode::SEE_OTHER
                && url.as_str() == format!("http://localhost:{port}/login?next=%2Fpage%3Fx%3D1")),
        "the login page on localhost moved on: {:?}",
        page.chain
    );
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Welcome Alice"), "{}", page.body);
    assert_eq!(
        page.url.as_str(),
        app.url("/page?x=1"),
        "back where it asked"
    );
    assert!(
        browser.cookie(&app.url("/"), "identity.sid").is_some(),
        "the session cookie lives on the redirect URI's origin"
    );
}

#[tokio::test]
async fn a_script_gets_a_challenge_and_a_page_load_a_redirect() {
    let app = launch(routes()).start().await;
    let browser = Browser::new();
    let fetch = browser.script_fetch(app.url("/page")).await;
    assert_eq!(fetch.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        fetch.headers()["www-authenticate"],
        r#"Cookie realm="Test app", form-action="/login?next=%2Fpage""#
    );
    let body: serde_json::Value = fetch.json().await.unwrap();
    assert_eq!(body["login_url"], "/login?next=%2Fpage");

    let navigation = browser
        .client
        .get(app.url("/page"))
        .header("accept", "*/*")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .unwrap();
    assert_eq!(navigation.status(), StatusCode::SEE_OTHER);
    assert_eq!(navigation.headers()["location"], "/login?next=%2Fpage");
}
