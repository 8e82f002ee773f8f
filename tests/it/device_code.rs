//! The Device Code flow against the real provider: used when no redirect URI is configured.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{Clock, Context, escape_html, login_required};
use reqwest::StatusCode;
use serde_json::json;
use support::app::{TestApp, launch};
use support::browser::{Browser, Page, device_code_on};

#[login_required]
async fn index(context: Context) -> Html<String> {
    Html(format!(
        "Welcome {}",
        escape_html(context.user.display_name())
    ))
}

async fn start(provider_config: serde_json::Value) -> TestApp {
    // No redirect URI and no secret: a public client signing in with the Device Code flow.
    let app = launch(Router::new().route("/", get(index)))
        .device()
        .client("device-app", "")
        .provider_config(provider_config)
        .auth(|b| b.app_name("Device app"))
        .start()
        .await;
    assert!(app.auth.uses_device_code());
    app
}

/// The code and the links the Device Code page shows: `verification_uri` and
/// `verification_uri_complete`.
fn shown(page: &Page) -> (String, String, String) {
    let (code, links) = device_code_on(page);
    let complete = links
        .get(1)
        .cloned()
        .expect("verification_uri_complete link");
    (code, links[0].clone(), complete)
}

#[tokio::test]
async fn the_page_shows_the_code_and_completes_once_the_user_signed_in_elsewhere() {
    let app = start(json!({})).await;
    let browser = Browser::new();
    let page = browser.get(format!("{}/", app.base)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.path(), "/login/device");
    assert!(page.header("refresh").is_some(), "the page reloads itself");
    assert!(page.body.contains("http-equiv=\"refresh\""));
    let (code, verification_uri, complete) = shown(&page);
    assert!(
        verification_uri.starts_with(&app.provider().issuer),
        "{verification_uri}"
    );
    assert!(complete.contains("user_code="), "{complete}");

    // Before the user signs in, reloading keeps showing the same code.
    let again = browser.get(format!("{}/login/device", app.base)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(shown(&again).0, code);

    // The user signs in on their phone, typing the code.
    Browser::new()
        .approve_device_code(&verification_uri, &code, "grace")
        .await;

    // The page completes by itself at its next reload (after the provider's interval).
    let landed = browser
        .wait_for_device_sign_in(&format!("{}/login/device", app.base))
        .await;
    assert_eq!(landed.url.path(), "/");
    assert_eq!(landed.body, "Welcome Grace");
    let stats = app.provider().stats().await;
    assert!(
        support::provider::token_requests(&stats, "urn:ietf:params:oauth:grant-type:device_code")
            <= 4,
        "polled at the interval: {stats}"
    );
}

/// Reloading the protected page, or opening it in a second tab, while a code is pending shows
/// that code again: the provider is asked for one device authorization, not one per load.
#[tokio::test]
async fn a_pending_device_code_is_reused_across_reloads_and_tabs() {
    let app = start(json!({})).await;
    let browser = Browser::new();
    let first = browser.get(format!("{}/", app.base)).await;
    let (code, _, _) = shown(&first);
    for path in ["/", "/?tab=2", "/", "/login/device"] {
        let page = browser.get(format!("{}{path}", app.base)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert_eq!(shown(&page).0, code, "{path}");
    }
    let stats = app.provider().stats().await;
    assert_eq!(
        support::provider::requests(&stats, "device_authorization"),
        1,
        "{stats}"
    );
    // Another browser is another user: a code of its own.
    let other = Browser::new().get(format!("{}/", app.base)).await;
    assert_ne!(shown(&other).0, code);
}

#[tokio::test]
async fn a_denied_code_shows_a_clear_page() {
    let app = start(json!({})).await;
    let browser = Browser::new();
    let page = browser.get(format!("{}/", app.base)).await;
    let (_, _, complete) = shown(&page);
    let phone = Browser::new();
    let confirm = phone.get(&complete).await;
    let form = confirm
        .forms()
        .into_iter()
        .find(|f| f.has("user_code"))
        .expect("the confirmation form");
    let _ = phone.submit(&form, Some("abort")).await;
    let mut result = None;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let page = browser.get(format!("{}/login/device", app.base)).await;
        if page.status != StatusCode::OK {
            result = Some(page);
            break;
        }
    }
    let page = result.expect("the denial reached the page");
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("access_denied"), "{}", page.body);
    assert!(page.body.contains("Sign in again"));
}

#[tokio::test]
async fn an_expired_code_shows_a_clear_page() {
    // The code lives 60 s; the app's clock moves past that instead of the test sleeping.
    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(Router::new().route("/", get(index)))
        .device()
        .client("device-app", "")
        .provider_config(json!({"deviceCodeTtl": 60}))
        .auth(move |b| b.clock(app_clock))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser.get(format!("{}/", app.base)).await;
    assert_eq!(page.url.path(), "/login/device");
    clock.advance(Duration::from_secs(61));
    let page = browser.get(format!("{}/login/device", app.base)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("expired"), "{}", page.body);
    // Signing in again starts over with a new code.
    let page = browser.get(format!("{}/", app.base)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.url.path(), "/login/device");
}
