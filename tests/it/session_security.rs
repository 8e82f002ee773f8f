//! Session security: fixation, cookie attributes, callback headers, timeouts, and return paths
//! in thousands of tricky forms.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use axum_identity::{Clock, Context, login_required, safe_return_path};
use reqwest::StatusCode;
use support::app::{TestApp, launch, public};
use support::browser::Browser;
use support::redirects::{self, assert_local};

#[login_required]
async fn index(context: Context) -> String {
    format!("hello {}", context.user.subject())
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
    // The app's clock moves on instead of the test sleeping.
    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(routes())
        .auth(move |b| b.idle_timeout(Duration::from_secs(2)).clock(app_clock))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "idle")
        .await;
    assert_eq!(page.body, "hello idle");
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        browser.get(app.url("/public")).await.body,
        "signed in as idle",
        "exactly the idle timeout"
    );
    clock.advance(Duration::from_secs(3));
    assert_eq!(browser.get(app.url("/public")).await.body, "anonymous");
    let page = browser.get_no_follow(app.url("/")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_end_after_their_lifetime_however_active() {
    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(routes())
        .auth(move |b| {
            b.session_lifetime(Duration::from_secs(3))
                .idle_timeout(Duration::from_secs(60))
                .clock(app_clock)
        })
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "busy")
        .await;
    assert_eq!(page.body, "hello busy");
    for _ in 0..3 {
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            browser.get(app.url("/public")).await.body,
            "signed in as busy"
        );
    }
    clock.advance(Duration::from_secs(1));
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

#[test]
fn tricky_return_paths_stay_local() {
    for candidate in TRICKY {
        assert_eq!(safe_return_path(candidate), "/", "{candidate:?}");
    }
    assert_eq!(safe_return_path(&format!("/{}", "x".repeat(5000))), "/");
}

/// Thousands of generated open-redirect candidates ([`redirects::cases`]): whatever the library
/// keeps of each is a path of the app, as a browser reads it.
#[test]
fn generated_open_redirects_stay_local() {
    let cases = redirects::cases();
    let mut kept = 0;
    for candidate in &cases {
        let result = safe_return_path(candidate);
        if result != "/" {
            kept += 1;
        }
        assert_local(&result, candidate);
    }
    println!(
        "open-redirect cases: ran {}, {kept} kept as local paths, the rest fell back to /",
        cases.len()
    );
}

#[test]
fn the_generator_makes_thousands_of_distinct_cases_from_every_family() {
    let cases = redirects::cases();
    assert!(cases.len() > 5000, "{} cases", cases.len());
    for needle in [
        "//evil",
        "\\",
        "\t",
        "\r\n",
        "%252f",
        "@evil",
        "\u{ff0f}",
        "\u{3002}",
        "[::1]",
        "2130706433",
        "0177.0.0.1",
        "javascript:",
        "data:",
        "vbscript:",
        "/login?next=",
    ] {
        assert!(
            cases.iter().any(|c| c.contains(needle)),
            "no case with {needle:?}"
        );
    }
    assert!(cases.iter().any(|c| c.len() > 5000));
}

/// The generated cases are escapes: followed as they are, many of them would leave the app
/// (otherwise the generator would test nothing).
#[test]
fn generated_cases_taken_at_face_value_leave_the_app() {
    let base = url::Url::parse(redirects::APP).unwrap();
    let cases = redirects::cases();
    let escaping = cases
        .iter()
        .filter(|c| base.join(c).is_ok_and(|u| u.origin() != base.origin()))
        .count();
    assert!(
        escaping > 2000,
        "only {escaping} of {} cases leave the app when followed as they are",
        cases.len()
    );
}

#[test]
fn the_local_path_check_tells_paths_from_escapes() {
    assert_eq!(redirects::check_local("/"), Ok(()));
    assert_eq!(redirects::check_local("/orders?id=7"), Ok(()));
    for escape in [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/.//evil.example",
        "http://user@app.test/",
        "orders",
    ] {
        assert!(redirects::check_local(escape).is_err(), "{escape:?} passed");
    }
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
    // And a spread of the generated ones: the browser ends on the app, wherever it lands there.
    let cases: Vec<String> = redirects::cases()
        .into_iter()
        .filter(|c| c.len() < 200)
        .collect();
    for candidate in cases.iter().step_by(cases.len() / 24) {
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
        let app_url = url::Url::parse(&app.base).unwrap();
        assert_eq!(
            page.url.origin(),
            app_url.origin(),
            "{candidate:?} ended on {}",
            page.url
        );
    }
}
