//! The OpenID scopes a handler asks for explicitly are scopes its token keeps: at a provider
//! other than Microsoft's, `#[login_required(scopes = ["openid", "api.read"])]` gets a token
//! that opens userinfo, and still does after a silent refresh, because the refresh asks for
//! `openid` too (a provider narrows a refreshed token to the scopes asked).

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

#[login_required(scopes = ["openid", "api.read"])]
async fn with_userinfo(context: Context) -> Json<Value> {
    Json(json!({ "access_token": context.access_token, "scopes": context.scopes }))
}

#[login_required(scopes = ["openid"])]
async fn openid_only(context: Context) -> Json<Value> {
    Json(json!({ "access_token": context.access_token, "scopes": context.scopes }))
}

const TTL: u64 = 60;

async fn start() -> (TestApp, Clock) {
    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(
        Router::new()
            .route("/userinfo", get(with_userinfo))
            .route("/openid", get(openid_only)),
    )
    .provider_config(json!({ "accessTokenTtl": TTL }))
    .auth(move |b| b.clock(app_clock))
    .start()
    .await;
    (app, clock)
}

/// The provider's userinfo answer to `token`: its status and the `sub` it names.
async fn userinfo(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(app.provider().url("/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_openid_scope_a_handler_asks_for_stays_in_its_token_through_a_refresh() {
    let (app, clock) = start().await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/userinfo")).await, "alice")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let first = page.json();
    assert_eq!(first["scopes"], json!(["api.read", "openid"]), "{first}");
    let (status, claims) = userinfo(&app, first["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], "alice");

    // Past the token's lifetime: the next request refreshes it, asking for both scopes again.
    clock.advance(Duration::from_secs(TTL + 1));
    let refreshed = browser.get(app.url("/userinfo")).await.json();
    assert_ne!(
        refreshed["access_token"], first["access_token"],
        "not refreshed"
    );
    assert_eq!(
        refreshed["scopes"],
        json!(["api.read", "openid"]),
        "{refreshed}"
    );
    let (status, claims) = userinfo(&app, refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the refreshed token lost `openid`: {claims}"
    );
}

#[tokio::test]
async fn a_handler_asking_only_for_openid_scopes_gets_an_access_token() {
    let (app, _clock) = start().await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/openid")).await, "bob")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = page.json();
    assert_eq!(body["scopes"], json!(["openid"]), "{body}");
    let (status, claims) = userinfo(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], "bob");
}
