//! Client authentication and resource indicators as settings: `RESOURCE` (RFC 8707) is sent
//! with the sign-in, the code exchange and every refresh, so a provider that would otherwise
//! issue a token for its own userinfo issues one for the API; a resource it does not know is a
//! configuration mistake naming `RESOURCE`.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::routing::get;
use axum_identity::{Clock, Context, login_required};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, launch};
use support::browser::Browser;
use support::credentials::jwt_claims;
use support::logs::reason_of;

const API: &str = "https://orders.example/api";
const TTL: u64 = 60;

#[login_required(scopes = ["api.read"])]
async fn read(context: Context) -> Json<Value> {
    Json(json!({ "access_token": context.access_token }))
}

async fn start(resource: &'static str, clock: Clock) -> TestApp {
    launch(Router::new().route("/read", get(read)))
        .provider_config(json!({
            "accessTokenTtl": TTL,
            "apiResource": { "indicator": API, "scopes": ["api.read"] },
        }))
        .auth(move |b| b.resource(resource).clock(clock))
        .start()
        .await
}

#[tokio::test]
async fn the_resource_setting_gets_tokens_for_that_api_at_sign_in_and_after_a_refresh() {
    let clock = Clock::manual_from_now();
    let app = start(API, clock.clone()).await;
    let browser = Browser::new();
    browser.stop_at(app.provider().url("/auth"));
    let page = browser.get(app.url("/read")).await;
    let authorization = page.stopped_at.clone().expect("sent to the provider");
    let resources: Vec<String> = authorization
        .query_pairs()
        .filter(|(name, _)| name == "resource")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(resources, [API]);
    browser.clear_stops();
    let page = browser.resume(page).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let first = page.json()["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&first);
    assert_eq!(claims["aud"], API, "{claims}");

    clock.advance(Duration::from_secs(TTL + 1));
    let page = browser.get(app.url("/read")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let refreshed = page.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(refreshed, first, "not refreshed");
    let claims = jwt_claims(&refreshed);
    assert_eq!(claims["aud"], API, "{claims}");
}

#[tokio::test]
async fn a_resource_the_provider_does_not_know_is_a_configuration_error_naming_resource() {
    let app = start("https://unknown.example/api", Clock::manual_from_now()).await;
    let browser = Browser::new();
    let page = browser.get(app.url("/read")).await;
    // The provider refuses at its authorization endpoint and sends the browser back.
    let page = if page.url.as_str().starts_with(&app.provider().issuer) {
        browser.sign_in(page, "alice").await
    } else {
        page
    };
    assert_eq!(
        page.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        page.body
    );
    let logged = reason_of(&page.body);
    assert!(logged.contains("invalid_target"), "{logged}");
    assert!(logged.contains("RESOURCE"), "{logged}");
}
