//! Session security: fixation, cookie attributes, callback headers, timeouts, and return paths
//! from a corpus of tricky forms.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use axum_identity::{Context, login_required, safe_return_path};
use reqwest::StatusCode;
use support::app::{TestApp, launch};
use support::browser::Browser;

#[login_required]
async fn index(context: Context) -> String {
    format!("hello {}", context.user.subject())
}

async fn public(context: Option<Context>) -> String {
    context.map_or_else(
        || "anonymous".to_owned(),
        |c| format!("signed in as {}", c.user.subject()),
    )
}

fn routes() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/public", get(public))
}

async fn start() -> TestApp {
    launch(routes()).start().await
}

#[tokio::test]
async fn a_planted_session_cookie_is_replaced_at_sign_in_and_dead_afterwards() {
    let app = start().await;
    // The attacker starts a sign-in to get a real session id, and plants it in the victim's browser.
    let attacker = Browser::new();
    let _ = attacker.get_no_follow(app.url("/login")).await;
    let planted = attacker
        .cookie(&app.base, "identity.sid")
        .expect("a session id");

    let victim = Browser::new();
    let url: url::Url = app.base.parse().unwrap();
    victim
        .jar
        .add_cookie_str(&format!("identity.sid={planted}; Path=/"), &url);
    let page = victim
        .sign_in(victim.get(app.url("/")).await, "victim")
        .await;
    assert_eq!(page.body, "hello victim");
    let current = victim.cookie(&app.base, "identity.sid").unwrap();
    assert_ne!(current, planted, "the planted id survived sign-in");

    // The planted id signs nobody in.
    let page = attacker.get(app.url("/public")).await;
    assert_eq!(page.body, "anonymous");
}

#[tokio::test]
async fn cookies_and_callback_headers() {
    let app = start().await;
    let browser = Browser::new();
    let start = browser.get_no_follow(app.url("/login")).await;
    let cookie = start
        .header("set-cookie")
        .expect("sign-in starts a session")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain-http development must work: {cookie}"
    );
    assert!(!cookie.contains("eyJ"), "no token in a cookie: {cookie}");

    browser.stop_at(app.redirect_uri());
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "alice")
        .await;
    browser.clear_stops();
    let callback = browser
        .get_no_follow(page.stopped_at.unwrap().as_str())
        .await;
    assert_eq!(callback.status, StatusCode::SEE_OTHER);
    assert_eq!(callback.header("cache-control"), Some("no-store"));
    assert_eq!(callback.header("referrer-policy"), Some("no-referrer"));
    let location = callback.header("location").unwrap();
    assert_eq!(location, "/", "no token in a URL the browser keeps");
}

#[tokio::test]
async fn cookies_are_secure_when_the_app_is_served_over_https() {
    // The app is reached over plain http here, but configured with an https redirect URI, as
    // behind a TLS-terminating proxy: the cookie must be Secure.
    let app = launch(routes())
        .auth(|b| b.redirect_uri("https://localhost:8443/redirect"))
        .start()
        .await;
    let start = Browser::new().get_no_follow(app.url("/login")).await;
    let cookie = start.header("set-cookie").unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = launch(routes())
        .auth(|b| b.idle_timeout(Duration::from_secs(2)))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "idle")
        .await;
    assert_eq!(page.body, "hello idle");
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert_eq!(browser.get(app.url("/public")).await.body, "anonymous");
    let page = browser.get_no_follow(app.url("/")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_end_after_their_lifetime_however_active() {
    let app = launch(routes())
        .auth(|b| {
            b.session_lifetime(Duration::from_secs(3))
                .idle_timeout(Duration::from_secs(60))
        })
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "busy")
        .await;
    assert_eq!(page.body, "hello busy");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(
            browser.get(app.url("/public")).await.body,
            "signed in as busy"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(browser.get(app.url("/public")).await.body, "anonymous");
}

/// Return paths that must never leave the app, written here so the test runs everywhere.
const TRICKY: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/%09/evil.example",
    "/%5cevil.example",
    "/%2f%2fevil.example",
    "/%252f%252fevil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "/\r\n/evil.example",
    "/%0d%0a/evil.example",
    "http:/evil.example",
    "/%E3%80%80/evil.example",
    " //evil.example",
    "/.%2f/evil.example",
];

fn assert_local(path: &str, candidate: &str) {
    let base = url::Url::parse("http://app.test/").unwrap();
    let joined = base
        .join(path)
        .unwrap_or_else(|_| panic!("{candidate:?} -> unparseable {path:?}"));
    assert_eq!(
        joined.origin(),
        base.origin(),
        "{candidate:?} escaped to {joined}"
    );
    assert!(
        path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'),
        "{candidate:?} -> {path:?}"
    );
}

#[test]
fn tricky_return_paths_stay_local() {
    for candidate in TRICKY {
        assert_eq!(safe_return_path(candidate), "/", "{candidate:?}");
    }
    assert_eq!(safe_return_path(&format!("/{}", "x".repeat(5000))), "/");
}

/// The open-redirect corpus from `../shared/testdata/openredirects.txt`, where this machine has it.
#[test]
fn the_open_redirect_corpus_stays_local() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/openredirects.txt");
    let Ok(corpus) = std::fs::read_to_string(&path) else {
        println!(
            "open-redirect corpus not found at {}: ran the hand-written cases only",
            path.display()
        );
        return;
    };
    let mut kept = 0;
    let lines: Vec<&str> = corpus.lines().filter(|l| !l.is_empty()).collect();
    for candidate in &lines {
        let result = safe_return_path(candidate);
        if result != "/" {
            kept += 1;
        }
        assert_local(&result, candidate);
    }
    println!(
        "open-redirect corpus: ran {} payloads, {kept} kept as local paths, the rest fell back to /",
        lines.len()
    );
}

#[tokio::test]
async fn return_paths_from_the_corpus_end_on_a_local_page() {
    let app = start().await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "redirects")
        .await;
    assert_eq!(page.body, "hello redirects");
    // Signed in, each /login?next=... goes through the provider (already signed in there) and back.
    for candidate in TRICKY.iter().take(6) {
        let url = format!(
            "{}?next={}",
            app.url("/login"),
            url::form_urlencoded::byte_serialize(candidate.as_bytes()).collect::<String>()
        );
        let page = browser.get(url).await;
        let page = if page.url.as_str().starts_with(&app.provider().issuer) {
            browser.sign_in(page, "redirects").await
        } else {
            page
        };
        assert!(
            page.url.as_str().starts_with(&app.base),
            "{candidate:?} ended on {}",
            page.url
        );
        assert_eq!(page.url.path(), "/", "{candidate:?}");
    }
}
