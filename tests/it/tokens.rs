//! Calling APIs on the user's behalf: scoped handlers, the token cache, silent refresh with
//! single flight, revoked grants and incremental consent — against the real provider.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::routing::get;
use axum_identity::{Clock, Context, login_required};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::JsonAnswer;
use support::app::{CLIENT_ID, CLIENT_SECRET, TestApp, launch};
use support::browser::Browser;
use support::provider::{requests, token_requests};
use tower_sessions::{MemoryStore, SessionStore, session::Id};

fn token_json(context: &Context) -> Json<Value> {
    Json(json!({
        "sub": context.user.subject(),
        "access_token": context.access_token,
        "token_type": context.token_type,
        "expires_in": context.expires_in,
        "scopes": context.scopes,
    }))
}

#[login_required(scopes = ["api.read"])]
async fn read(context: Context) -> Json<Value> {
    token_json(&context)
}

#[login_required(scopes = ["api.write"])]
async fn write(context: Context) -> Json<Value> {
    token_json(&context)
}

#[login_required(scopes = ["api.unknown"])]
async fn unknown(context: Context) -> Json<Value> {
    token_json(&context)
}

fn routes() -> Router {
    Router::new()
        .route("/read", get(read))
        .route("/write", get(write))
        .route("/unknown", get(unknown))
}

async fn start(provider: Value) -> TestApp {
    launch(routes()).provider_config(provider).start().await
}

/// The app with a manual clock: a test moves it past a token's lifetime instead of sleeping.
async fn start_with_clock(provider: Value) -> (TestApp, Clock) {
    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(routes())
        .provider_config(provider)
        .auth(move |b| b.clock(app_clock))
        .start()
        .await;
    (app, clock)
}

/// How long the provider's access tokens live in the tests that let them expire, and how far
/// their clock moves to get there.
const SHORT_TTL: u64 = 60;
const PAST_THE_TTL: Duration = Duration::from_secs(SHORT_TTL + 1);

/// Asks the provider whether `token` is active, as a resource server would (RFC 7662).
async fn introspect(app: &TestApp, token: &str) -> Value {
    reqwest::Client::new()
        .post(app.provider().url("/token/introspection"))
        .basic_auth(form(CLIENT_ID), Some(form(CLIENT_SECRET)))
        .form(&[("token", token)])
        .json_answer()
        .await
}

fn form(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn signed_in(app: &TestApp, path: &str, user: &str) -> (Browser, Value) {
    let browser = Browser::new();
    let page = browser.get(app.url(path)).await;
    let page = browser.sign_in(page, user).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), app.url(path));
    let body = page.json();
    (browser, body)
}

#[tokio::test]
async fn a_scoped_handler_gets_a_token_that_works_at_a_resource() {
    let app = start(json!({})).await;
    let (_browser, body) = signed_in(&app, "/read", "alice").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scopes"], json!(["api.read"]));
    assert!(body["expires_in"].as_u64().unwrap() > 3000);
    let token = body["access_token"].as_str().unwrap();
    let info = introspect(&app, token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["sub"], "alice");
    assert!(
        info["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "api.read"),
        "{info}"
    );
}

#[tokio::test]
async fn cached_tokens_make_no_provider_calls() {
    let app = start(json!({})).await;
    let (browser, first) = signed_in(&app, "/read", "bob").await;
    app.provider().reset_stats().await;
    for _ in 0..100 {
        let page = browser.get(app.url("/read")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.json()["access_token"], first["access_token"]);
    }
    let stats = app.provider().stats().await;
    let token_calls =
        token_requests(&stats, "authorization_code") + token_requests(&stats, "refresh_token");
    println!("token requests for 100 hits on a scoped page: {token_calls}");
    assert_eq!(token_calls, 0, "{stats}");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_for_50_concurrent_requests() {
    let (app, clock) =
        start_with_clock(json!({"accessTokenTtl": SHORT_TTL, "rotateRefreshTokens": true})).await;
    let (browser, first) = signed_in(&app, "/read", "carol").await;
    for round in 1..=2 {
        clock.advance(PAST_THE_TTL);
        app.provider().reset_stats().await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let client = browser.client.clone();
            let url = app.url("/read");
            tasks.spawn(async move {
                let response = client
                    .get(url)
                    .header("accept", "application/json")
                    .send()
                    .await
                    .unwrap();
                (response.status(), response.json::<Value>().await.ok())
            });
        }
        let mut tokens = std::collections::HashSet::new();
        while let Some(result) = tasks.join_next().await {
            let (status, body) = result.unwrap();
            assert_eq!(status, StatusCode::OK, "round {round}: {body:?}");
            tokens.insert(body.unwrap()["access_token"].as_str().unwrap().to_owned());
        }
        let refreshes = token_requests(&app.provider().stats().await, "refresh_token");
        println!(
            "round {round}: 50 concurrent hits on an expired token -> {refreshes} refresh request(s)"
        );
        assert_eq!(refreshes, 1, "round {round}");
        assert_eq!(
            tokens.len(),
            1,
            "all 50 requests got the same refreshed token"
        );
        assert!(!tokens.contains(first["access_token"].as_str().unwrap()));
        // The refreshed token (and the rotated refresh token) were stored: no more refreshes.
        let page = browser.get(app.url("/read")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(tokens.contains(page.json()["access_token"].as_str().unwrap()));
        assert_eq!(
            token_requests(&app.provider().stats().await, "refresh_token"),
            1
        );
    }
}

#[tokio::test]
async fn a_revoked_grant_sends_page_loads_through_sign_in_and_apis_get_401() {
    let (app, clock) = start_with_clock(json!({"accessTokenTtl": SHORT_TTL})).await;
    let (browser, _) = signed_in(&app, "/read", "dave").await;
    app.provider().revoke_all("dave").await;
    clock.advance(PAST_THE_TTL);

    let api = browser.api_get(app.url("/read")).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["login_url"], "/login?next=%2Fread&scope=api.read");

    let page = browser.get(app.url("/read")).await;
    assert!(
        page.url.as_str().starts_with(&app.provider().issuer),
        "{}",
        page.url
    );
    let page = browser.sign_in(page, "dave").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), app.url("/read"));
    assert_eq!(page.json()["sub"], "dave");
}

#[tokio::test]
async fn a_second_scope_set_goes_through_incremental_consent_and_both_stay_cached() {
    let app = start(json!({})).await;
    let (browser, read_body) = signed_in(&app, "/read", "erin").await;

    let page = browser.get(app.url("/write")).await;
    assert!(
        page.url.as_str().starts_with(&app.provider().issuer),
        "consent at the provider: {}",
        page.url
    );
    let page = browser.sign_in(page, "erin").await;
    assert_eq!(page.url.as_str(), app.url("/write"), "{}", page.body);
    let write_body = page.json();
    assert!(
        write_body["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("api.write"))
    );

    app.provider().reset_stats().await;
    for _ in 0..5 {
        assert_eq!(
            browser.get(app.url("/read")).await.json()["access_token"],
            read_body["access_token"]
        );
        assert_eq!(
            browser.get(app.url("/write")).await.json()["access_token"],
            write_body["access_token"]
        );
    }
    let stats = app.provider().stats().await;
    assert_eq!(
        token_requests(&stats, "refresh_token") + token_requests(&stats, "authorization_code"),
        0,
        "{stats}"
    );
}

#[tokio::test]
async fn a_scope_the_provider_does_not_grant_shows_an_error_not_a_loop() {
    let app = start(json!({})).await;
    let browser = Browser::new();
    let page = browser.get(app.url("/unknown")).await;
    let page = browser.sign_in(page, "frank").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("api.unknown"), "{}", page.body);
    // Still signed in, and asking again shows the same page instead of another round trip.
    let again = browser.get(app.url("/unknown")).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert_eq!(again.chain.len(), 1);
}

/// The first string under a `refresh_token` key anywhere in `value`.
fn refresh_token_in(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, v)| match v {
            Value::String(token) if key == "refresh_token" => Some(token.clone()),
            other => refresh_token_in(other),
        }),
        Value::Array(items) => items.iter().find_map(refresh_token_in),
        Value::String(text) if text.starts_with('{') => {
            refresh_token_in(&serde_json::from_str(text).ok()?)
        }
        _ => None,
    }
}

/// RFC 7009: the refresh token dies with the session. Read from the session record (stored in
/// the clear without a token encryption key), it is active at the provider before sign-out and
/// refused after it, by introspection and by the refresh grant itself.
#[tokio::test]
async fn logout_revokes_the_refresh_token_at_the_provider() {
    let store = MemoryStore::default();
    let app = launch(routes()).store(store.clone()).start().await;
    let (browser, _) = signed_in(&app, "/read", "alice").await;
    let id: Id = browser
        .cookie(&app.base, "identity.sid")
        .expect("a session cookie")
        .parse()
        .unwrap();
    let record = store.load(&id).await.unwrap().expect("the session record");
    let refresh = refresh_token_in(&serde_json::to_value(&record.data).unwrap())
        .expect("a refresh token in the session");
    assert_eq!(introspect(&app, &refresh).await["active"], true);

    app.provider().reset_stats().await;
    let page = browser.get(app.url("/logout")).await;
    // Signed out here, and sent on to end the provider's session.
    assert_eq!(page.url.path(), "/session/end", "{:?}", page.chain);
    // The revocation runs beside the redirect, so that a slow provider does not hold it up.
    let mut revoked = false;
    for _ in 0..100 {
        if requests(&app.provider().stats().await, "revocation") == 1 {
            revoked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(revoked, "no revocation request");
    assert_eq!(introspect(&app, &refresh).await["active"], false);
    let refreshed = reqwest::Client::new()
        .post(app.provider().url("/token"))
        .basic_auth(form(CLIENT_ID), Some(form(CLIENT_SECRET)))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    let answer: Value = refreshed.json().await.unwrap();
    assert_eq!(answer["error"], "invalid_grant", "{answer}");
}
