//! Tokens never reach a log line, a cookie, or a URL the browser keeps; request input never
//! forges a log line; and refreshing tokens does not extend a session past its absolute
//! lifetime.

use axum_identity_testkit as support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::routing::get;
use axum_identity::{Clock, Context, login_required};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::launch;
use support::browser::Browser;
use tracing_subscriber::util::SubscriberInitExt;

#[login_required(scopes = ["api.read"])]
async fn read(context: Context) -> Json<Value> {
    Json(json!({"access_token": context.access_token, "sub": context.user.subject()}))
}

/// Every log line of the test's thread, at every level: the test, its app and the clients all
/// run on it (the test's runtime has one thread), other tests' lines stay out.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Captures every line of this thread, at every level, until the guard is dropped.
    fn start() -> (Captured, tracing::subscriber::DefaultGuard) {
        let logs = Captured::default();
        let writer = logs.clone();
        let guard = tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .set_default();
        (logs, guard)
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_reaches_a_log_line_a_cookie_or_a_kept_url() {
    let (logs, _capturing) = Captured::start();

    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(Router::new().route("/read", get(read)))
        .provider_config(json!({"accessTokenTtl": 60}))
        .auth(move |b| b.clock(app_clock))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/read")).await, "ivan")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let first = page.json()["access_token"].as_str().unwrap().to_owned();
    // Expire the token so a refresh (and its rotated refresh token) happens too.
    clock.advance(Duration::from_secs(61));
    let second = browser.get(app.url("/read")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let mut kept_urls: Vec<String> = page.chain.iter().map(|(_, url)| url.to_string()).collect();
    kept_urls.push(page.url.to_string());
    let cookies = browser.cookies_for(&app.base).unwrap_or_default();

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("refreshing an access token"),
        "the capture works: {}",
        &logs[..logs.len().min(2000)]
    );
    for (what, token) in [
        ("first access token", &first),
        ("refreshed access token", &second),
    ] {
        assert!(
            !logs.contains(token.as_str()),
            "the {what} is in a log line"
        );
        assert!(
            !cookies.contains(token.as_str()),
            "the {what} is in a cookie"
        );
        assert!(
            !kept_urls.iter().any(|u| u.contains(token.as_str())),
            "the {what} is in a URL"
        );
    }
    // No JWT (ID token) either: they start with `eyJ`.
    assert!(!logs.contains("eyJ"), "a JWT is in a log line");
    assert!(!cookies.contains("eyJ"));
    assert!(!kept_urls.iter().any(|u| u.contains("eyJ")));
}

/// CR, LF and escape sequences in what an unauthenticated request sends (a callback's
/// `error_description`, an unknown `error`, a forged `state`, a bad bearer token's claims)
/// reach the log escaped, never as a line break or a terminal command of their own.
#[tokio::test]
async fn request_input_never_forges_a_log_line() {
    let (logs, _capturing) = Captured::start();

    let app = launch(Router::new().route("/read", get(read)))
        .start()
        .await;
    let browser = Browser::new();
    let forged =
        "\r\n2026-12-01T00:00:00.000000Z  INFO axum_identity: signed in sub=\"admin\"\u{1b}[2J";
    let encode =
        |text: &str| -> String { url::form_urlencoded::byte_serialize(text.as_bytes()).collect() };
    let (forged, iss) = (encode(forged), encode(&app.provider().issuer));
    let mut callbacks = vec![format!("/redirect?state={forged}&code=abc&iss={iss}")];
    for answer in [
        format!("error=server_error&error_description={forged}"),
        format!("error={forged}"),
    ] {
        // A pending sign-in of this browser's, answered with the forged text.
        let started = browser.get_no_follow(app.url("/login")).await;
        let state = started
            .location()
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        callbacks.push(format!("/redirect?state={state}&{answer}&iss={iss}"));
    }
    for callback in &callbacks {
        let page = browser.get_no_follow(app.url(callback)).await;
        assert!(page.status.is_client_error(), "{callback}: {}", page.status);
    }

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("sign-in rejected"),
        "the capture works: {}",
        &logs[..logs.len().min(2000)]
    );
    assert!(!logs.contains('\r'), "a raw CR is in the log");
    assert!(!logs.contains('\u{1b}'), "a raw escape is in the log");
    for line in logs.lines() {
        assert!(
            !line.starts_with("2026-12-01T00:00:00.000000Z"),
            "a forged line: {line}"
        );
    }
    // The description was logged, escaped.
    assert!(logs.contains(r"\r\n2026-12-01T00:00:00.000000Z"), "{logs}");
}

#[tokio::test]
async fn token_refreshes_do_not_extend_the_absolute_session_lifetime() {
    // The app's clock moves instead of the test sleeping: tokens live 60 s, the session 200 s.
    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(Router::new().route("/read", get(read)))
        .provider_config(json!({"accessTokenTtl": 60}))
        .auth(move |b| {
            b.session_lifetime(Duration::from_secs(200))
                .clock(app_clock)
        })
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/read")).await, "judy")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    // Keep refreshing (each token has expired) until the session is close to its lifetime.
    let mut refreshed_ok = 0;
    for _ in 0..3 {
        clock.advance(Duration::from_secs(61));
        let response = browser.api_get(app.url("/read")).await;
        if response.status() == StatusCode::OK {
            refreshed_ok += 1;
        }
    }
    assert_eq!(
        refreshed_ok, 3,
        "the refreshes worked while the session was young"
    );
    // 183 s old, with a token refreshed just now: 20 s later the session's 200 s have run out.
    clock.advance(Duration::from_secs(20));
    let response = browser.api_get(app.url("/read")).await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the session outlived its lifetime"
    );
}
