//! The Device Code flow against the real provider: used when no redirect URI is configured.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{Clock, Context, escape_html, login_required};
use reqwest::StatusCode;
use serde_json::json;
use support::JsonAnswer;
use support::app::{TestApp, launch};
use support::browser::{Browser, Page, device_code_on};

/// A token encryption key: the base64 of 32 bytes.
const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

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
    let page = browser.get_device_code(format!("{}/", app.base)).await;
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

    // The user signs in on their phone, typing the code; the page completes by itself at its
    // next reload (after the provider's interval).
    let landed = browser
        .sign_in_on_another_device(
            &verification_uri,
            &code,
            "grace",
            &format!("{}/login/device", app.base),
        )
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
    let first = browser.get_device_code(format!("{}/", app.base)).await;
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
    let other = Browser::new()
        .get_device_code(format!("{}/", app.base))
        .await;
    assert_ne!(shown(&other).0, code);
}

#[tokio::test]
async fn a_denied_code_shows_a_clear_page() {
    let app = start(json!({})).await;
    let browser = Browser::new();
    let page = browser.get_device_code(format!("{}/", app.base)).await;
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
    let page = browser.get_device_code(format!("{}/", app.base)).await;
    assert_eq!(page.url.path(), "/login/device");
    clock.advance(Duration::from_secs(61));
    let page = browser.get(format!("{}/login/device", app.base)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("expired"), "{}", page.body);
    // Signing in again starts over with a new code.
    let page = browser.get_device_code(format!("{}/", app.base)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.url.path(), "/login/device");
}

/// A request that could not keep a device code (no session cookie yet, a `HEAD`, a prefetch)
/// starts no device authorization: 50 cookie-less requests and the prefetches of a browser
/// that has a session cost the provider nothing; the click on the page's button costs one.
#[tokio::test]
async fn cookieless_requests_head_and_prefetch_start_no_device_authorization() {
    let app = start(json!({})).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..50 {
        let response = client.get(app.url("/login")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.unwrap();
        assert!(body.contains("Get a sign-in code"), "{body}");
    }
    let browser = Browser::new();
    let first = browser.get(app.url("/login")).await;
    assert!(first.body.contains("Get a sign-in code"));
    // With the session cookie now: a HEAD and two kinds of prefetch still start nothing.
    for (method, header) in [
        (reqwest::Method::HEAD, None),
        (reqwest::Method::GET, Some(("sec-purpose", "prefetch"))),
        (reqwest::Method::GET, Some(("purpose", "prefetch"))),
    ] {
        let mut request = browser.client.request(method.clone(), app.url("/login"));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method} {header:?}");
    }
    let stats = app.provider().stats().await;
    assert_eq!(
        support::provider::requests(&stats, "device_authorization"),
        0,
        "{stats}"
    );
    // The person's click starts one.
    let page = browser.start_device_code(first).await;
    assert_eq!(page.url.path(), "/login/device", "{}", page.body);
    let stats = app.provider().stats().await;
    assert_eq!(
        support::provider::requests(&stats, "device_authorization"),
        1,
        "{stats}"
    );
}

/// Past the configured starts per minute, a visitor gets 429 with `Retry-After`, and the
/// provider is not asked.
#[tokio::test]
async fn device_code_starts_past_the_limit_get_a_429() {
    let app = launch(Router::new().route("/", get(index)))
        .device()
        .client("device-app", "")
        .auth(|b| b.device_code_starts_per_minute(2))
        .start()
        .await;
    for _ in 0..2 {
        let page = Browser::new().get_device_code(app.url("/")).await;
        assert_eq!(page.url.path(), "/login/device", "{}", page.body);
    }
    let refused = Browser::new().get_device_code(app.url("/")).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert!(
        refused.body.contains("try again in a minute"),
        "{}",
        refused.body
    );
    let stats = app.provider().stats().await;
    assert_eq!(
        support::provider::requests(&stats, "device_authorization"),
        2,
        "{stats}"
    );
}

/// With a token encryption key, the device code in the session store is sealed: what the
/// store holds cannot redeem the sign-in at the provider, and the sign-in still completes.
#[tokio::test]
async fn the_pending_device_code_is_sealed_in_the_store() {
    use tower_sessions::SessionStore as _;
    for sealed in [false, true] {
        let store = tower_sessions::MemoryStore::default();
        let mut builder = launch(Router::new().route("/", get(index)))
            .device()
            .client("device-app", "")
            .store(store.clone());
        if sealed {
            builder = builder.auth(|b| b.token_encryption_key(TOKEN_KEY));
        }
        let app = builder.start().await;
        let browser = Browser::new();
        let page = browser.get_device_code(app.url("/")).await;
        let (code, links) = device_code_on(&page);
        let id = browser.cookie(&app.base, "identity.sid").unwrap();
        let record = store
            .load(&id.parse().unwrap())
            .await
            .unwrap()
            .expect("the session is stored");
        let stored = record.data["axum_identity"]["device"]["device_code"]
            .as_str()
            .unwrap()
            .to_owned();
        // What the store holds, sent to the provider's token endpoint as the app would.
        let token_endpoint = format!("{}/token", app.provider().issuer);
        let answer: serde_json::Value = reqwest::Client::new()
            .post(&token_endpoint)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", stored.as_str()),
                ("client_id", "device-app"),
            ])
            .json_answer()
            .await;
        let expected = if sealed {
            "invalid_grant"
        } else {
            "authorization_pending"
        };
        assert_eq!(answer["error"], expected, "sealed {sealed}: {answer}");
        let landed = browser
            .sign_in_on_another_device(&links[0], &code, "grace", &app.url("/login/device"))
            .await;
        assert_eq!(landed.body, "Welcome Grace", "sealed {sealed}");
    }
}
